"""Turning uniform points into unbiased attention weights by inverting each row's CDF.

Every classical sampler in :mod:`qtcore.sampling` draws points ``u`` in [0, 1) per row, maps
each to the key whose CDF interval contains it, and gives that key a weight per point. If
every point is marginally uniform, key ``j`` is hit with probability ``p_j`` per point, so
with weight ``1/S`` per point ``E[W] = p`` whatever the dependence between points (that is
where variance is reduced).

Example:
    >>> import torch
    >>> from qtcore.sampling.inverse_cdf import inverse_cdf, scatter_weights
    >>> p = torch.tensor([[0.25, 0.0, 0.75]])
    >>> idx, total = inverse_cdf(p, torch.tensor([[0.125, 0.375, 0.625, 0.875]]))
    >>> scatter_weights(p, idx, (total / 4).expand(1, 4)).tolist()
    [[0.25, 0.0, 0.75]]
"""

from __future__ import annotations

import torch

__all__ = ["inverse_cdf", "locate", "scatter_weights", "stratified_points", "uniform"]


def locate(x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The key whose interval of ``x``'s cumulative sum holds each target: (R, S) indices.

    Key ``j`` owns ``[Σ_{i<j} x_i, Σ_{i≤j} x_i)``; ``targets`` must lie in ``[0, Σ x)``. Keys
    with ``x_j = 0`` own nothing and are never returned (a row of zeros returns N − 1, which
    the caller weights by zero), even where float round-off puts a target at or past the
    end of the cumulative sum. One cumulative sum per row and a binary search per target:
    on CPU this measured 4× faster than a two-level (chunk sums, then the chunks hit) search
    at N = 2048, S = 32, because ``cumsum`` and ``searchsorted`` stream while gathering the
    chunks does not.

    Example:
        >>> import torch
        >>> from qtcore.sampling.inverse_cdf import locate
        >>> locate(torch.tensor([[1.0, 0.0, 2.0, 1.0]]), torch.tensor([[0.5, 1.0, 3.5]])).tolist()
        [[0, 2, 3]]
    """
    N = x.shape[-1]
    cdf = torch.cumsum(x, dim=-1)
    # The sequential cumulative sum can end a little below the pairwise Σx the caller scaled
    # its targets by; a target past the end belongs to the last key with mass, so targets
    # are held strictly below the end rather than clamped onto key N − 1 (which may be
    # masked).
    last = cdf[..., -1:]
    targets = torch.minimum(targets, torch.nextafter(last, torch.zeros_like(last)))
    return torch.searchsorted(cdf, targets.contiguous(), right=True).clamp_(max=N - 1)


def inverse_cdf(p: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The key each point selects, and the row totals: ``(idx (R, S), total (R, 1))``.

    Point ``u_s`` in [0, 1) selects the key whose interval of the row's CDF, scaled to
    [0, total), contains ``u_s · total`` (see :func:`locate`). Keys with ``p = 0`` are never
    selected, except in a row of zeros (total 0), whose points the caller must weight by
    ``total`` (zero).

    Example:
        >>> import torch
        >>> from qtcore.sampling.inverse_cdf import inverse_cdf
        >>> idx, total = inverse_cdf(torch.tensor([[0.25, 0.0, 0.75]]),
        ...                          torch.tensor([[0.1, 0.3, 0.9]]))
        >>> idx.tolist(), total.tolist()
        ([[0, 2, 2]], [[1.0]])
    """
    total = p.sum(dim=-1, keepdim=True)
    return locate(p, u * total), total


def scatter_weights(like: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Dense weights (…, N) shaped like ``like``: ``W[..., j] = Σ_s weight_s·[idx_s = j]``.

    Example:
        >>> import torch
        >>> from qtcore.sampling.inverse_cdf import scatter_weights
        >>> scatter_weights(torch.zeros(3), torch.tensor([2, 2, 0]),
        ...                 torch.tensor([0.25, 0.25, 0.5])).tolist()
        [0.5, 0.0, 0.5]
    """
    return torch.zeros_like(like).scatter_add_(-1, idx, weight.to(like.dtype))


def stratified_points(
    shape: tuple[int, ...],
    num: torch.Tensor | int,
    *,
    systematic: bool,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Points ``(i + U_i) / num`` for i < num: one per stratum of width 1/num (…, S).

    Args:
        shape: (…, S), with S ≥ max(num).
        num: strata per row, an int or a (…, 1) integer tensor (rows may use fewer points;
            points with i ≥ num lie at or beyond 1 and the caller switches them off).
        systematic: one U per row shared by all strata (systematic sampling) instead of one
            independent U per stratum (jittered stratification).
        generator, device, dtype: where the uniforms come from and live.

    Example:
        >>> import torch
        >>> from qtcore.sampling.inverse_cdf import stratified_points
        >>> g = torch.Generator().manual_seed(0)
        >>> u = stratified_points((1, 4), 4, systematic=False, generator=g,
        ...                       device=torch.device("cpu"), dtype=torch.float64)
        >>> (u * 4).floor().tolist()
        [[0.0, 1.0, 2.0, 3.0]]
    """
    ushape = (*shape[:-1], 1) if systematic else shape
    jitter = uniform(ushape, generator=generator, device=device, dtype=dtype)
    i = torch.arange(shape[-1], device=device, dtype=dtype)
    if isinstance(num, int):
        return (i + jitter) / num
    return (i + jitter) / num.to(dtype).clamp(min=1)


def uniform(
    shape: tuple[int, ...],
    *,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """U[0, 1) draws on ``device``, taken from ``generator`` on the generator's own device.

    A CPU generator can seed work on a GPU (the draws are moved), so one seed gives the
    same weights on every device.

    Example:
        >>> import torch
        >>> from qtcore.sampling.inverse_cdf import uniform
        >>> g = torch.Generator().manual_seed(1)
        >>> uniform((2,), generator=g, device=torch.device("cpu"), dtype=torch.float32).shape
        torch.Size([2])
    """
    source = generator.device if generator is not None else device
    draws = torch.rand(shape, generator=generator, device=source, dtype=dtype)
    return draws.to(device)
