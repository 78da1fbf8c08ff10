"""``multinomial``: S i.i.d. draws per row, what a quantum device's shots are.

``W = c / S`` with ``c ~ Multinomial(S, p)``: ``E[W] = p`` and
``Var(W_j) = p_j (1 − p_j) / S``. This is the baseline every other sampler improves on.

Example:
    >>> import torch
    >>> from qtcore.sampling import MultinomialSampler
    >>> g = torch.Generator().manual_seed(3)
    >>> W = MultinomialSampler().sample_weights(torch.tensor([0.2, 0.8]), 10, generator=g)
    >>> [round(float(w) * 10) for w in W]  # counts out of 10 shots
    [4, 6]
"""

from __future__ import annotations

import torch

from qtcore.sampling.base import SamplerBase
from qtcore.sampling.inverse_cdf import inverse_cdf, uniform

__all__ = ["MultinomialSampler"]


class MultinomialSampler(SamplerBase):
    """I.i.d. sampling: S independent inverse-CDF draws per row, weight 1/S each.

    Example:
        >>> from qtcore.sampling import MultinomialSampler
        >>> MultinomialSampler().name
        'multinomial'
    """

    name: str = "multinomial"

    def _indices(
        self, p: torch.Tensor, num_samples: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        u = uniform((p.shape[0], num_samples), generator=generator, device=p.device, dtype=p.dtype)
        idx, total = inverse_cdf(p, u)
        return idx, (total / num_samples).expand_as(idx)
