"""``topk``: take-all (certainty) keys weighted exactly, the rest sampled stratified.

This is sampling with inclusion probabilities proportional to ``p`` capped at 1 (πps), with
the Horvitz–Thompson weights. Sort a row's keys by ``p`` (descending) and give key ``i``
certainty when ``p_i (S − i) ≥ R_i``, with ``R_i = 1 − Σ_{k<i} p_k`` the mass left: its
share of the remaining budget would be at least one whole sample. Because the keys are
sorted the test fails for every key after the first that fails, so the split is a per-row
count ``t`` found in one pass, adaptive (a flat row gets ``t = 0``, a peaked one many).

Certain keys get ``W_j = p_j`` exactly (no variance). The residual mass ``R = R_t`` is
estimated from the remaining ``S' = S − t`` samples by stratified (default: systematic)
inverse-CDF sampling of ``p_res / R``: ``W_j = R · c_j / S'``. Since the certainty set is a
deterministic function of ``p``, ``E[W] = p``. With systematic residual sampling no key
below the threshold is hit twice, so every key's inclusion probability is
``π_j = min(1, c·p_j)`` and ``W_j = p_j / π_j`` when included: the Horvitz–Thompson
estimator of πps sampling, the design that minimises variance for a budget of S distinct
keys when the values are proportional to ``p``. If ``t = S`` the residual mass is zero (the
last certain key held all that was left), and a row with N ≤ S is computed exactly.

Example:
    >>> import torch
    >>> from qtcore.samplers import TopKSampler
    >>> p = torch.tensor([0.6, 0.2, 0.1, 0.05, 0.05])
    >>> W = TopKSampler().sample_weights(p, 3, generator=torch.Generator().manual_seed(0))
    >>> W[0].item(), round(float(W.sum()), 6)  # 0.6 is certain: weighted exactly
    (0.6000000238418579, 1.0)
"""

from __future__ import annotations

import torch

from qtcore.errors import InvalidInput
from qtcore.samplers.base import SamplerBase
from qtcore.samplers.inverse_cdf import inverse_cdf_weights, stratified_points

__all__ = ["TopKSampler"]


class TopKSampler(SamplerBase):
    """Adaptive take-all keys plus stratified sampling of the residual (πps, Horvitz–Thompson).

    Args:
        systematic: residual points share one offset per row (systematic πps, default), or
            each stratum gets its own offset (jittered; a key may then be hit twice).

    Example:
        >>> from qtcore.samplers import TopKSampler
        >>> TopKSampler()
        <TopKSampler 'topk' systematic=True>
    """

    name: str = "topk"

    def __init__(self, *, systematic: bool = True) -> None:
        if not isinstance(systematic, bool):
            raise InvalidInput(f"systematic must be True or False, got {systematic!r}")
        self.systematic = systematic

    def certain(self, p: torch.Tensor, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The take-all keys of each row: indices (R, k) sorted by p, and their count (R, 1).

        Only the first ``count`` indices of a row are certain; ``k = min(S, N)``.

        Example:
            >>> import torch
            >>> from qtcore.samplers import TopKSampler
            >>> idx, t = TopKSampler().certain(torch.tensor([[0.1, 0.7, 0.2]]), 2)
            >>> idx[0, : int(t)].tolist()
            [1]
        """
        k = min(num_samples, p.shape[-1])
        vals, idx = torch.topk(p, k, dim=-1, sorted=True)
        total = p.sum(dim=-1, keepdim=True)
        before = torch.cumsum(vals, dim=-1) - vals  # mass of the keys ranked above
        left = num_samples - torch.arange(k, device=p.device, dtype=p.dtype)
        ok = vals * left >= (total - before)
        count = torch.cumprod(ok.to(torch.int32), dim=-1).sum(dim=-1, keepdim=True)
        return idx, count

    def _weights(
        self, p: torch.Tensor, num_samples: int, generator: torch.Generator | None
    ) -> torch.Tensor:
        idx, count = self.certain(p, num_samples)
        rank = torch.arange(idx.shape[-1], device=p.device)
        is_certain = rank < count
        certain_p = torch.where(is_certain, p.gather(-1, idx), torch.zeros((), dtype=p.dtype))
        residual = p.scatter(-1, idx, torch.where(is_certain, 0.0, p.gather(-1, idx)))
        left = num_samples - count  # S' = S − t samples for the residual
        u = stratified_points(
            (p.shape[0], num_samples),
            left,
            systematic=self.systematic,
            generator=generator,
            device=p.device,
            dtype=p.dtype,
        )
        live = torch.arange(num_samples, device=p.device) < left
        weight = torch.where(live, 1.0 / left.clamp(min=1).to(p.dtype), 0.0)
        W = inverse_cdf_weights(residual, u.clamp(max=1.0 - torch.finfo(p.dtype).eps), weight)
        return W.scatter_add_(-1, idx, certain_p)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} systematic={self.systematic}>"
