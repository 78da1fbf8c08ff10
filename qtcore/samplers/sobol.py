"""``sobol``: scrambled Sobol points per row, independent across rows.

Each row gets its own dimension of one scrambled Sobol sequence (torch's
``SobolEngine(scramble=True)``: a random linear matrix scramble and a random digital shift,
drawn independently per dimension). The digital shift makes every point marginally uniform,
so ``E[W] = p`` as for any inverse-CDF sampler; independent scrambles make rows independent.
Every one-dimensional projection of a Sobol sequence is a (0, 1)-sequence in base 2: its
first ``2^m`` points put exactly one point in each stratum of width ``2^-m``, so for a power
of two S this is a stratified sample whose points are further balanced by the nested
(scrambled) structure. For other S the first S points are used: still unbiased, less even.

Example:
    >>> import torch
    >>> from qtcore.samplers import SobolSampler
    >>> g = torch.Generator().manual_seed(0)
    >>> SobolSampler().sample_weights(torch.tensor([0.5, 0.5]), 8, generator=g).tolist()
    [0.5, 0.5]
"""

from __future__ import annotations

import torch

from qtcore.samplers.base import SamplerBase
from qtcore.samplers.inverse_cdf import inverse_cdf_weights

__all__ = ["SobolSampler"]


class SobolSampler(SamplerBase):
    """Randomised quasi-Monte Carlo: scrambled Sobol points, one Sobol dimension per row.

    Example:
        >>> from qtcore.samplers import SobolSampler
        >>> SobolSampler().name
        'sobol'
    """

    name: str = "sobol"

    def _weights(
        self, p: torch.Tensor, num_samples: int, generator: torch.Generator | None
    ) -> torch.Tensor:
        from torch.quasirandom import SobolEngine

        rows = p.shape[0]
        chunks = []
        for start in range(0, rows, SobolEngine.MAXDIM):
            dims = min(SobolEngine.MAXDIM, rows - start)
            source = generator.device if generator is not None else "cpu"
            # One engine per chunk, seeded from the caller's generator, so the whole
            # draw is reproducible from that one generator.
            seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=source))
            engine = SobolEngine(dims, scramble=True, seed=seed)  # type: ignore[no-untyped-call]
            chunks.append(engine.draw(num_samples, dtype=torch.float64).T)
        u = torch.cat(chunks).to(device=p.device, dtype=p.dtype)
        # float64 points rounded to float32 may land on 1.0; keep them in [0, 1).
        u = u.clamp_(max=1.0 - torch.finfo(p.dtype).eps)
        return inverse_cdf_weights(p, u, torch.tensor(1.0 / num_samples, device=p.device))
