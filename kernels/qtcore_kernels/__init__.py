"""qtcore-kernels: fused sampled-attention GPU kernels for qtcore.

The kernels themselves arrive with the GPU issue; this distribution already installs, and
:func:`gpu_status` says whether this machine could run them.

Example:
    >>> import qtcore_kernels
    >>> isinstance(qtcore_kernels.gpu_status(), str)
    True
"""

from __future__ import annotations

import importlib.util

__version__ = "0.0.1"
__all__ = ["gpu_status"]


def gpu_status() -> str:
    """``"ok"`` when torch sees a CUDA device and Triton is installed, else the reason.

    Example:
        >>> import qtcore_kernels
        >>> status = qtcore_kernels.gpu_status()
        >>> status == "ok" or status.startswith(("torch is not", "no CUDA", "triton is not"))
        True
    """
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed (pip install torch)"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device is visible to torch"
    if importlib.util.find_spec("triton") is None:
        return "triton is not installed (pip install 'qtcore-kernels[gpu]')"
    return "ok"
