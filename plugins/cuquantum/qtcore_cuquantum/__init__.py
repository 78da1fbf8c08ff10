"""qtcore-cuquantum: the ``cuquantum.statevec`` backend on NVIDIA cuStateVec.

The backend class is imported lazily, so registering the plugin (``qtcore backends``) does
not import cuquantum-python or CuPy; :func:`unavailable_reason` says why the backend cannot
run on this machine (no GPU, driver or CUDA library), or ``None``.

Example:
    >>> import qtcore_cuquantum
    >>> qtcore_cuquantum.__version__
    '0.1.0'
"""

from __future__ import annotations

from typing import Any

from qtcore_cuquantum.device import unavailable_reason

__version__ = "0.1.0"

__all__ = ["CuStateVecBackend", "__version__", "to_cuquantum_noise", "unavailable_reason"]

_LAZY = {
    "CuStateVecBackend": "qtcore_cuquantum.backend",
    "to_cuquantum_noise": "qtcore_cuquantum.noise",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qtcore_cuquantum' has no attribute {name!r}")
