"""qtcore-kernels: fused sampled-attention GPU kernels for qtcore (Triton), with their torch twin.

* :func:`qtcore_kernels.attention.fused_sampled_attention`: sampled attention with qtcore's
  ``topk`` or ``stratified`` estimator, forward and backward, streaming over key blocks
  without the N×N matrix; :mod:`qtcore_kernels.reference` holds the torch functions it is
  tested against.
* :func:`sampled_attention`: what :func:`qtcore.nn.functional.sampled_attention` calls on
  CUDA tensors; it returns ``None`` for a case the kernel does not cover, and the torch path
  runs instead.
* :func:`gpu_status`: whether this machine can run the kernels.

Importing this package imports neither torch nor Triton.

Example:
    >>> import qtcore_kernels
    >>> isinstance(qtcore_kernels.gpu_status(), str)
    True
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

__version__ = "0.1.0"
__all__ = ["gpu_status", "sampled_attention"]


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


def _kernel_sampler(sampler: Any) -> tuple[str, bool] | None:
    """``(name, systematic)`` when the kernel implements ``sampler``'s estimator, else None.

    ``None`` is ``sampled_attention``'s default, ``"topk"``. Only qtcore's own
    :class:`~qtcore.sampling.StratifiedSampler` and :class:`~qtcore.sampling.TopKSampler`
    (not subclasses, whose estimator may differ) are taken, and ``topk`` only with
    ``value_aware=False``: the kernel samples on p alone, without the value-aware sizes and
    key order (:class:`qtcore.nn.functional.ValueDesign`) of the default ``"topk"``.
    """
    from qtcore.sampling import StratifiedSampler, TopKSampler

    if sampler is None or isinstance(sampler, str):
        name = sampler or "topk"
        defaults = {"topk": TopKSampler(), "stratified": StratifiedSampler()}
        if name not in defaults:
            return None
        sampler = defaults[name]
    if getattr(sampler, "value_aware", False):
        return None
    if type(sampler) in (StratifiedSampler, TopKSampler):
        return sampler.name, bool(sampler.systematic)
    return None


def sampled_attention(
    q: Any,
    k: Any,
    v: Any,
    attn_mask: Any = None,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    sampler: Any = None,
    num_samples: int | None = 32,
    generator: Any = None,
) -> Any:
    """The fused kernel for a call of ``qtcore.nn.functional.sampled_attention``, or ``None``.

    Covered: CUDA tensors of one dtype (float32, float16, bfloat16), qtcore's
    ``TopKSampler(value_aware=False)`` and ``"stratified"`` samplers, systematic or jittered
    (the default ``"topk"`` is value-aware and runs the torch path), no ``attn_mask``
    (``is_causal`` allowed), an int ``num_samples``. Anything else returns ``None`` and the
    caller runs its torch path. ``QTCORE_KERNELS=0`` in the environment switches the kernel off.

    Args:
        q, k, v, attn_mask, is_causal, scale, sampler, num_samples, generator: as
            :func:`qtcore.nn.functional.sampled_attention`.

    Returns:
        The output (…, L, Ev), or ``None`` when the kernel does not cover the call.

    Example:
        >>> import torch
        >>> import qtcore_kernels
        >>> x = torch.zeros(1, 4, 8)              # CPU tensors: not the kernel's case
        >>> qtcore_kernels.sampled_attention(x, x, x, sampler="stratified") is None
        True
    """
    if os.environ.get("QTCORE_KERNELS", "1") == "0":
        return None
    if attn_mask is not None or isinstance(num_samples, bool) or not isinstance(num_samples, int):
        return None
    if not (q.is_cuda and k.is_cuda and v.is_cuda) or not (q.dtype == k.dtype == v.dtype):
        return None
    if str(q.dtype) not in ("torch.float32", "torch.float16", "torch.bfloat16"):
        return None
    chosen = _kernel_sampler(sampler)
    if chosen is None or gpu_status() != "ok":
        return None
    from qtcore_kernels.attention import fused_sampled_attention

    return fused_sampled_attention(
        q,
        k,
        v,
        num_samples=num_samples,
        sampler=chosen[0],
        is_causal=is_causal,
        scale=scale,
        systematic=chosen[1],
        generator=generator,
    )
