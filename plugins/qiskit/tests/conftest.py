"""Shared statistics for qtcore-qiskit's tests: one G-test helper with a stated error rate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

#: False-failure rate of one statistical assertion made through ``g_test``: a correct
#: backend fails a given assertion with probability at most ALPHA (a test making k
#: assertions splits ALPHA over them, Bonferroni).
ALPHA = 1e-6


def g_test_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    """p-value of a G-test of ``counts`` against ``probs``; bins with expected < 5 pooled.

    Outcomes with probability 0 must have no counts (support containment is deterministic
    and asserted first).
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    zero = probs <= 1e-15
    stray = np.flatnonzero(zero & (counts > 0))
    assert stray.size == 0, f"counts on outcomes of probability 0: {stray.tolist()}"
    shots = counts.sum()
    expected = probs[~zero] / probs[~zero].sum() * shots
    observed = counts[~zero]
    small = expected < 5
    if small.any():
        expected = np.append(expected[~small], expected[small].sum())
        observed = np.append(observed[~small], observed[small].sum())
    if expected.size < 2:
        return 1.0
    return float(stats.power_divergence(observed, expected, lambda_="log-likelihood").pvalue)


@pytest.fixture
def assert_fits() -> Callable[[np.ndarray, np.ndarray], None]:
    """``assert_fits(counts (B, K), probs (B, K))``: every row passes a G-test at ALPHA / B."""

    def check(counts: np.ndarray, probs: np.ndarray) -> None:
        counts = np.atleast_2d(counts)
        probs = np.atleast_2d(probs)
        alpha = ALPHA / counts.shape[0]
        for row, (c, p) in enumerate(zip(counts, probs)):
            pvalue = g_test_pvalue(c, p)
            assert pvalue > alpha, f"row {row}: G-test p = {pvalue:.3g} ≤ {alpha:.3g}"

    return check


@pytest.fixture
def g_pvalue() -> Callable[[np.ndarray, np.ndarray], float]:
    """:func:`g_test_pvalue`, for tests that check their own power."""
    return g_test_pvalue
