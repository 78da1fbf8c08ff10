"""The qtcore hook implementations of qtcore-cuquantum: cheap, nothing of CUDA is imported.

``cuquantum.statevec`` is always registered. Its availability check
(:func:`qtcore_cuquantum.device.unavailable_reason`) looks for the packages, the driver and a
device without importing cuquantum-python or CuPy, so ``qtcore backends`` lists it as
``unavailable`` with the reason on a machine without a GPU.

Example:
    >>> from qtcore_cuquantum import plugin
    >>> [info.name for info in plugin.qtcore_backends()]
    ['cuquantum.statevec']
"""

from __future__ import annotations

from typing import Any

import qtcore
from qtcore_cuquantum.device import unavailable_reason

__all__ = ["qtcore_backends"]


def _statevec(**options: Any) -> qtcore.Backend:
    from qtcore_cuquantum.backend import CuStateVecBackend

    return CuStateVecBackend(**options)


@qtcore.hookimpl
def qtcore_backends() -> list[qtcore.BackendInfo]:
    """``cuquantum.statevec``: cuStateVec state vectors and sampler on one GPU, noiseless.

    Returns:
        One :class:`~qtcore.BackendInfo`; its factory imports cuquantum-python when called.

    Example:
        >>> from qtcore_cuquantum.plugin import qtcore_backends
        >>> reason = qtcore_backends()[0].availability()
        >>> reason is None or isinstance(reason, str)
        True
    """
    return [
        qtcore.BackendInfo(
            "cuquantum.statevec",
            factory=_statevec,
            description="NVIDIA cuStateVec on one GPU: amplitude load, its sampler, noiseless",
            availability=unavailable_reason,
        )
    ]
