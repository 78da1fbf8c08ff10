"""Seeded shot sampling with one random stream per batch row.

Row ``i`` of a batch draws from ``SeedSequence(seed, spawn_key=(i,))``: identical rows get
independent draws, and a row's counts do not depend on how the batch is chunked (pass the
chunk's first row index as ``row_offset``).

Example:
    >>> import numpy as np
    >>> from qtcore.shots import sample_counts
    >>> sample_counts(np.array([[0.0, 1.0], [1.0, 0.0]]), shots=5, seed=1).tolist()
    [[0, 5], [5, 0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["row_generators", "sample_counts"]


def row_generators(seed: int | None, rows: int, row_offset: int = 0) -> list[np.random.Generator]:
    """One independent generator per row; fresh OS entropy when ``seed`` is None.

    Example:
        >>> from qtcore.shots import row_generators
        >>> a, b = row_generators(3, 2)
        >>> int(a.integers(1 << 30)) != int(b.integers(1 << 30))
        True
    """
    root = np.random.SeedSequence() if seed is None else None
    gens = []
    for i in range(row_offset, row_offset + rows):
        if root is None:
            ss = np.random.SeedSequence(seed, spawn_key=(i,))
        else:
            ss = np.random.SeedSequence(root.entropy, spawn_key=(i,))
        gens.append(np.random.default_rng(ss))
    return gens


def sample_counts(
    probs: np.ndarray, shots: int, seed: int | None, row_offset: int = 0
) -> np.ndarray:
    """Multinomial counts (B, K) int64 for probability rows (B, K), one stream per row.

    Tiny negative round-off in ``probs`` is clipped and rows are renormalised: this is for
    probabilities computed by a simulator, not for user input (validate that first).
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, None)
    out = np.zeros(p.shape, dtype=np.int64)
    for i, rng in enumerate(row_generators(seed, p.shape[0], row_offset)):
        row = p[i] / p[i].sum()
        out[i] = rng.multinomial(shots, row)
    return out
