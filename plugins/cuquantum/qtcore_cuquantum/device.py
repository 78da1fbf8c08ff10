"""Whether ``cuquantum.statevec`` can run here, decided cheaply and without importing CUDA.

``cuquantum-python`` with its CUDA libraries is about 1.5 GB, and importing it (or CuPy) at
plugin load would make ``qtcore backends`` slow for everyone. The checks below only look
things up: the packages with :func:`importlib.util.find_spec` (no import), the NVIDIA driver
by opening ``libcuda.so.1`` with :mod:`ctypes` and asking it for a device count (``cuInit`` +
``cuDeviceGetCount``, a few milliseconds), and cuBLASLt, which cuStateVec loads when a handle
is created, as the ``nvidia-cublas-cu12`` wheel or a system library. The first failing check
is the reason; ``None`` means the backend should run. A failure the checks cannot foresee
(a broken CUDA install) is raised as :class:`qtcore.BackendUnavailable` when the backend is
created.

Example:
    >>> from qtcore_cuquantum.device import unavailable_reason
    >>> reason = unavailable_reason()
    >>> reason is None or isinstance(reason, str)
    True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
from collections.abc import Callable

__all__ = ["INSTALL_HINT", "cuda_device_count", "missing_package", "unavailable_reason"]

#: What to install for the GPU backend.
INSTALL_HINT = "pip install 'qtcore-cuquantum[gpu]'"

#: Distributions the backend imports, by the module they provide.
_PACKAGES = {"cuquantum": "cuquantum-python-cu12", "cupy": "cupy-cuda12x"}


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package that fails to resolve
        return False


def missing_package(has_module: Callable[[str], bool] = _has_module) -> str | None:
    """The reason a Python package the backend imports is missing, or ``None``.

    Args:
        has_module: ``name -> bool``, whether a module can be found (injectable for tests).

    Example:
        >>> from qtcore_cuquantum.device import missing_package
        >>> missing_package(lambda name: name != "cupy")
        "cupy-cuda12x is not installed (module 'cupy'): pip install 'qtcore-cuquantum[gpu]'"
    """
    for module, dist in _PACKAGES.items():
        if not has_module(module):
            return f"{dist} is not installed (module {module!r}): {INSTALL_HINT}"
    return None


def cuda_device_count(load: Callable[[str], ctypes.CDLL] = ctypes.CDLL) -> int | str:
    """The number of CUDA devices the driver sees, or the reason it cannot be asked.

    Args:
        load: opens a shared library by name (``ctypes.CDLL``; injectable for tests).

    Returns:
        An int ≥ 0, or a string saying why the driver could not be queried.

    Example:
        >>> from qtcore_cuquantum.device import cuda_device_count
        >>> def no_driver(name):
        ...     raise OSError(f"{name}: cannot open shared object file")
        >>> cuda_device_count(no_driver).split(" (")[0]
        'no NVIDIA driver: libcuda.so.1 cannot be loaded'
    """
    try:
        lib = load("libcuda.so.1")
    except OSError as exc:
        return f"no NVIDIA driver: libcuda.so.1 cannot be loaded ({exc})"
    status = lib.cuInit(0)
    if status != 0:
        # 100 is CUDA_ERROR_NO_DEVICE: a driver without a visible GPU.
        return f"the NVIDIA driver is present but cuInit failed with CUDA error {status}"
    count = ctypes.c_int(0)
    status = lib.cuDeviceGetCount(ctypes.byref(count))
    if status != 0:
        return f"cuDeviceGetCount failed with CUDA error {status}"
    return int(count.value)


def _has_cublaslt(
    has_module: Callable[[str], bool] = _has_module,
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
) -> bool:
    return has_module("nvidia.cublas") or find_library("cublasLt") is not None


def unavailable_reason(
    has_module: Callable[[str], bool] = _has_module,
    load: Callable[[str], ctypes.CDLL] = ctypes.CDLL,
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
) -> str | None:
    """Why ``cuquantum.statevec`` cannot run on this machine, or ``None`` when it can.

    Cheap and never raises (the registry calls it for every listing). The arguments are
    injection points for tests; callers pass none.

    Args:
        has_module: whether a module can be found without importing it.
        load: opens a shared library (``ctypes.CDLL``).
        find_library: finds a system library (``ctypes.util.find_library``).

    Returns:
        A reason naming what is missing and what to do, or ``None``.

    Example:
        >>> from qtcore_cuquantum.device import unavailable_reason
        >>> unavailable_reason(has_module=lambda name: False)[:40]
        'cuquantum-python-cu12 is not installed ('
    """
    try:
        missing = missing_package(has_module)
        if missing:
            return missing
        devices = cuda_device_count(load)
        if isinstance(devices, str):
            return devices
        if devices == 0:
            return "the NVIDIA driver sees no CUDA device"
        if not _has_cublaslt(has_module, find_library):
            return (
                "cuBLASLt (libcublasLt), which cuStateVec loads, is not installed: "
                f"{INSTALL_HINT} installs nvidia-cublas-cu12"
            )
    except Exception as exc:  # a listing must never break on an odd environment
        return f"the GPU check failed: {type(exc).__name__}: {exc}"
    return None
