"""Shared fixtures of qtcore-pennylane's tests: the backends and the one statistical helper."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import qtcore

pytest.importorskip("pennylane")

#: False-failure budget of ONE call of ``check_counts`` (all its rows together, Bonferroni).
ALPHA = 1e-6
#: Cells whose expected count is below this are pooled, so the χ² law of G holds.
MIN_EXPECTED = 5.0


def _assert_counts_follow(
    counts: np.ndarray, probs: np.ndarray, *, alpha: float = ALPHA, what: str = ""
) -> float:
    """Assert every row of ``counts`` is a multinomial draw from the row of ``probs``.

    Two parts: (1) support: no count where the probability is exactly 0 (deterministic);
    (2) a G-test per row (``scipy.stats.power_divergence``, log-likelihood), cells with
    expected count < 5 pooled into one cell, each row at level ``alpha / rows``
    (Bonferroni), so a call fails falsely with probability ≤ ``alpha``.

    Returns:
        The smallest per-row p-value.
    """
    from scipy.stats import power_divergence

    counts = np.asarray(counts, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    assert counts.shape == probs.shape, (counts.shape, probs.shape)
    rows = counts.shape[0]
    smallest = 1.0
    for i in range(rows):
        shots = int(counts[i].sum())
        impossible = probs[i] == 0.0
        assert not np.any(counts[i][impossible]), (
            f"{what} row {i}: counts on outcomes of probability 0: "
            f"{np.flatnonzero(impossible & (counts[i] > 0)).tolist()}"
        )
        expected = shots * probs[i][~impossible]
        observed = counts[i][~impossible]
        small = expected < MIN_EXPECTED
        if small.any():
            expected = np.append(expected[~small], expected[small].sum())
            observed = np.append(observed[~small], observed[small].sum())
        if expected.size < 2:
            continue
        _, p = power_divergence(observed, expected, lambda_="log-likelihood")
        smallest = min(smallest, float(p))
        assert p > alpha / rows, (
            f"{what} row {i}: G-test p = {p:.3g} ≤ {alpha / rows:.3g}; counts "
            f"{counts[i].tolist()} vs probabilities {np.round(probs[i], 5).tolist()}"
        )
    return smallest


@pytest.fixture
def check_counts() -> Callable[..., float]:
    """The G-test helper (false-failure rate ≤ 1e-6 per call; see ``_assert_counts_follow``)."""
    return _assert_counts_follow


@pytest.fixture(scope="session")
def reference() -> qtcore.ReferenceBackend:
    """The exact ground truth."""
    return qtcore.ReferenceBackend()


@pytest.fixture(scope="session")
def pl_default() -> qtcore.Backend:
    """``pennylane.default`` through the registry."""
    return qtcore.get_backend("pennylane.default")


@pytest.fixture(scope="session")
def pl_lightning() -> qtcore.Backend:
    """``pennylane.lightning`` through the registry."""
    return qtcore.get_backend("pennylane.lightning")


@pytest.fixture(scope="session", params=["pennylane.default", "pennylane.lightning"])
def pl_backend(request: pytest.FixtureRequest) -> qtcore.Backend:
    """Each of the two named backends."""
    return qtcore.get_backend(request.param)
