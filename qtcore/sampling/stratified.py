"""``stratified``: one inverse-CDF point in each of S equal strata of [0, 1).

Point ``s`` is ``u_s = (s + U_s)/S``. Each ``u_s`` is marginally uniform over its stratum, so
over the row key ``j`` gets weight ``E[W_j] = Σ_s |I_j ∩ stratum_s| = p_j`` (``I_j`` is key
``j``'s CDF interval). Its count is a sum of independent Bernoullis with means
``q_s = S·|I_j ∩ stratum_s|``, so ``Var(W_j) = Σ_s q_s (1 − q_s) / S²``, never more than the
multinomial ``p_j (1 − p_j)/S`` (Cauchy–Schwarz), and zero for a key whose interval covers
whole strata. ``systematic=True`` shares one ``U`` across the strata (systematic sampling):
then a key's count is ``⌊S p_j⌋`` or ``⌈S p_j⌉``, the smallest per-key variance, at the price
of correlated keys.

Example:
    >>> import torch
    >>> from qtcore.sampling import StratifiedSampler
    >>> StratifiedSampler().sample_weights(torch.tensor([0.5, 0.25, 0.25]), 8).tolist()
    [0.5, 0.25, 0.25]
"""

from __future__ import annotations

import torch

from qtcore.errors import InvalidInput
from qtcore.sampling.base import SamplerBase
from qtcore.sampling.inverse_cdf import inverse_cdf, stratified_points

__all__ = ["StratifiedSampler"]


class StratifiedSampler(SamplerBase):
    """Stratified inverse-CDF sampling: one point per stratum of width 1/S.

    Args:
        systematic: one shared offset per row (systematic sampling) instead of one
            independent offset per stratum.

    Example:
        >>> from qtcore.sampling import StratifiedSampler
        >>> StratifiedSampler(systematic=True)
        <StratifiedSampler 'stratified' systematic=True>
    """

    name: str = "stratified"

    def __init__(self, *, systematic: bool = False) -> None:
        if not isinstance(systematic, bool):
            raise InvalidInput(f"systematic must be True or False, got {systematic!r}")
        self.systematic = systematic

    def _indices(
        self, p: torch.Tensor, num_samples: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        u = stratified_points(
            (p.shape[0], num_samples),
            num_samples,
            systematic=self.systematic,
            generator=generator,
            device=p.device,
            dtype=p.dtype,
        )
        idx, total = inverse_cdf(p, u)
        return idx, (total / num_samples).expand_as(idx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} systematic={self.systematic}>"
