"""``sobol``: randomised Sobol points (first Sobol dimension), independently scrambled per row.

The first dimension of the Sobol sequence is van der Corput's: point ``s`` is the bit
reversal of ``s``. Each row gets its own random linear matrix scramble (a lower-triangular
binary matrix with unit diagonal, as in Matoušek's LMS) and its own random digital shift
(an XOR with uniform random bits), the randomisation torch's ``SobolEngine(scramble=True)``
applies per dimension, vectorised here over rows (``SobolEngine`` builds its scrambles in a
loop and takes seconds for the ~10⁴ rows of one attention layer).

The digital shift makes every point marginally uniform, so ``E[W] = p`` as for any
inverse-CDF sampler, and independent scrambles make rows independent. The first ``2^m``
points of a (0, 1)-sequence in base 2 put one point in each stratum of width ``2^-m``, and
the linear scramble preserves that, so for a power-of-two S this is a stratified sample
whose within-stratum positions are linked by the scramble (between jittered stratification
and systematic sampling). For other S the first S points are used: unbiased, less even.
(In one dimension a fully nested Owen scramble of these points would be *exactly* jittered
stratification, which is why ``sobol`` and ``stratified`` measure alike.)

Example:
    >>> import torch
    >>> from qtcore.sampling import SobolSampler
    >>> g = torch.Generator().manual_seed(0)
    >>> SobolSampler().sample_weights(torch.tensor([0.5, 0.5]), 8, generator=g).tolist()
    [0.5, 0.5]
"""

from __future__ import annotations

import torch

from qtcore.sampling.base import SamplerBase
from qtcore.sampling.inverse_cdf import inverse_cdf

__all__ = ["SobolSampler", "scrambled_van_der_corput"]

#: Bits of precision of the scrambled points.
BITS = 30


def scrambled_van_der_corput(
    rows: int, num: int, *, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """The first ``num`` van der Corput points, LMS-scrambled and shifted per row (rows, num).

    Example:
        >>> import torch
        >>> from qtcore.sampling.sobol import scrambled_van_der_corput
        >>> u = scrambled_van_der_corput(2, 4, generator=torch.Generator().manual_seed(0),
        ...                              device=torch.device("cpu"))
        >>> (u * 4).floor().sort(dim=1).values.tolist()  # one point per quarter, every row
        [[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]
    """
    m = max(1, (num - 1).bit_length())
    source = generator.device if generator is not None else device
    # Column c of the lower-triangular scramble matrix, read as a BITS-bit integer (most
    # significant bit = first binary digit): the unit diagonal bit plus random bits below.
    # Point s has digit c equal to bit c of s (van der Corput reverses the bits), so its
    # scrambled digits are the XOR of the columns for the set bits of s: built by doubling.
    y = torch.zeros(rows, 1, dtype=torch.int64, device=source)
    for c in range(m):
        low = 1 << (BITS - 1 - c)
        column = low + torch.randint(0, low, (rows, 1), generator=generator, device=source)
        y = torch.cat([y, y ^ column], dim=1)
    shift = torch.randint(0, 1 << BITS, (rows, 1), generator=generator, device=source)
    return ((y[:, :num] ^ shift).to(torch.float64) / float(1 << BITS)).to(device)


class SobolSampler(SamplerBase):
    """Randomised quasi-Monte Carlo: scrambled Sobol (van der Corput) points per row.

    Example:
        >>> from qtcore.sampling import SobolSampler
        >>> SobolSampler().name
        'sobol'
    """

    name = "sobol"

    def _indices(
        self, p: torch.Tensor, num_samples: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        u = scrambled_van_der_corput(p.shape[0], num_samples, generator=generator, device=p.device)
        # 30-bit points rounded to float32 may land on 1.0; keep them in [0, 1).
        u = u.to(p.dtype).clamp_(max=1.0 - torch.finfo(p.dtype).eps)
        idx, total = inverse_cdf(p, u)
        return idx, (total / num_samples).expand_as(idx)
