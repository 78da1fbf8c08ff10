"""The plain torch function the fused kernel must equal: stratified sampled attention.

For each query row, ``p = softmax(q·Kᵀ·scale)`` (causal: keys after the query masked), and
the S points ``u_s ∈ [s/S, (s+1)/S)`` select keys by the inverse CDF of ``p``
(:func:`qtcore.sampling.inverse_cdf.inverse_cdf`, the very function
:class:`qtcore.sampling.StratifiedSampler` uses). ``W_j = (number of points on j)/S``, so
``E[W] = p``, and the output is ``W·(p / stopgrad(p))·V``: value ``W·V``, gradient unbiased
(DESIGN.md, "The mathematics"). The points come from
:func:`qtcore.sampling.inverse_cdf.stratified_points` with the caller's generator, so one
seed gives the same points, hence the same keys, here, in the kernel and in
``StratifiedSampler``.

Example:
    >>> import torch
    >>> from qtcore_kernels.reference import stratified_attention_reference
    >>> q = k = v = torch.eye(4)[None]
    >>> u = torch.tensor([[[0.1, 0.6]] * 4])
    >>> out, idx = stratified_attention_reference(q, k, v, u)
    >>> out.shape, idx.shape
    (torch.Size([1, 4, 4]), torch.Size([1, 4, 2]))
"""

from __future__ import annotations

import torch

from qtcore.nn.functional import attention_probabilities
from qtcore.sampling.inverse_cdf import inverse_cdf, locate, scatter_weights
from qtcore.sampling.topk import TopKSampler

__all__ = ["stratified_attention_reference", "topk_attention_reference"]


def stratified_attention_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    points: torch.Tensor,
    *,
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified sampled attention in torch, with the points given: ``(out, idx)``.

    Args:
        q: (G, L, E); k: (G, N, E); v: (G, N, Ev).
        points: (G, L, S) in [0, 1), one per stratum: ``(s + U_s)/S``.
        is_causal: mask keys after the query (top-left aligned).
        scale: logit scale, ``1/sqrt(E)`` when None.

    Returns:
        The output (G, L, Ev) in ``v``'s dtype, differentiable in q, k and v, and the
        selected keys (G, L, S) int64.

    Example:
        >>> import torch
        >>> from qtcore_kernels.reference import stratified_attention_reference
        >>> q, k = torch.zeros(1, 1, 2), torch.zeros(1, 4, 2)
        >>> v = torch.arange(4.0).reshape(1, 4, 1)
        >>> u = torch.tensor([[[0.1, 0.3, 0.6, 0.9]]])
        >>> out, idx = stratified_attention_reference(q, k, v, u)
        >>> idx.tolist(), out.item()
        ([[[0, 1, 2, 3]]], 1.5)
    """
    S = points.shape[-1]
    p = attention_probabilities(q.float(), k.float(), None, is_causal, scale)
    rows = p.detach().reshape(-1, p.shape[-1])
    idx, total = inverse_cdf(rows, points.reshape(-1, S).to(rows.dtype))
    W = scatter_weights(rows, idx, (total / S).expand_as(idx)).reshape(p.shape)
    ratio = p / torch.where(p > 0, p.detach(), torch.ones((), dtype=p.dtype))
    out = torch.matmul(W * ratio, v.float())
    return out.to(v.dtype), idx.reshape(points.shape)


def topk_attention_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    points: torch.Tensor,
    *,
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """topk (πps) sampled attention in torch, with the points given: ``(out, idx, weight)``.

    The steps of :meth:`qtcore.sampling.TopKSampler._indices` on the given points:
    ``π = min(1, c·p)`` from :meth:`~qtcore.sampling.TopKSampler.inclusion`, the lattice
    ``x_s = S·u_s`` stretched onto [0, Σπ) when Σπ = S up to round-off, points at or past
    Σπ switched off, keys by the inverse CDF of π, and weight ``p_j`` for a certain key,
    ``1/c`` otherwise (a test checks this equals ``TopKSampler`` for the same generator).

    Args:
        q, k, v, points, is_causal, scale: as :func:`stratified_attention_reference`.

    Returns:
        The output (G, L, Ev) (differentiable in q, k, v), the keys (G, L, S) int64 and the
        weights (G, L, S) in units of p (0 for a point switched off).

    Example:
        >>> import torch
        >>> from qtcore_kernels.reference import topk_attention_reference
        >>> q, k = torch.zeros(1, 1, 2), torch.zeros(1, 4, 2)
        >>> v = torch.arange(4.0).reshape(1, 4, 1)
        >>> out, idx, w = topk_attention_reference(q, k, v, torch.tensor([[[0.1, 0.6]]]))
        >>> idx.tolist(), w.tolist(), out.item()
        ([[[0, 2]]], [[[0.5, 0.5]]], 1.0)
    """
    S = points.shape[-1]
    p = attention_probabilities(q.float(), k.float(), None, is_causal, scale)
    rows = p.detach().reshape(-1, p.shape[-1])
    pi, c = TopKSampler().inclusion(rows, S)
    mass = pi.sum(dim=-1, keepdim=True)
    x = S * points.reshape(-1, S).to(rows.dtype)
    full = mass > S * (1 - 1e-4)
    x = torch.where(full, x * (mass / S), x)
    live = x < mass
    idx = locate(pi, torch.where(live, x, 0.0))
    chosen = rows.gather(-1, idx)
    weight = torch.where(live, torch.where(chosen * c >= 1, chosen, 1.0 / c), 0.0)
    W = scatter_weights(rows, idx, weight).reshape(p.shape)
    ratio = p / torch.where(p > 0, p.detach(), torch.ones((), dtype=p.dtype))
    out = torch.matmul(W * ratio, v.float())
    return out.to(v.dtype), idx.reshape(points.shape), weight.reshape(points.shape)
