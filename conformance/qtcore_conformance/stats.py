"""The statistics of the conformance suite: goodness of fit, homogeneity, power, Holm.

Every test here returns a :class:`TestResult` with a p-value that is *valid*: under the null
hypothesis ``P(p ≤ α) ≤ α`` for every ``α`` the suite uses, so an α-share of the false-failure
budget is a real bound on the false-failure rate of that assertion.

* :func:`goodness_of_fit`: counts against exact reference probabilities. Outcomes with
  probability 0 must never appear (support containment: a deterministic failure). Cells whose
  expected count is below 5 are pooled into one tail cell. If every expected count is then
  ≥ 5 it is a G-test with the χ² approximation; otherwise ("expected counts are small") an
  exact multinomial p-value: Monte-Carlo with ``R`` draws when ``1/(R+1)`` can reach α, else
  the finite-sample bound ``P(G ≥ g) ≤ e^{-g/2} (e g / 2(K-1))^{K-1}`` (Agrawal 2020, the
  multinomial's concentration in relative entropy; ``G = 2 S KL``), which is never smaller
  than the exact p-value.
* :func:`tvd_bound`: a distribution-free bound on the TVD between counts and their own law:
  ``E[TVD] ≤ ½√((K-1)/S)`` and McDiarmid (one shot moves the TVD by at most ``1/S``) give
  ``TVD ≤ ½√((K-1)/S) + √(ln(1/α)/(2S))`` with probability ≥ ``1-α``.
* :func:`binomial_test`: exact two-sided binomial test (scipy).
* :func:`homogeneity_test`: two-sample (r-sample) G-test of homogeneity.
* :func:`shots_for_power`: the shots that detect every alternative at TVD ≥ δ with the stated
  power: the G/χ² statistic's non-centrality is ``S·χ²(q‖p) ≥ 4Sδ²``.
* :func:`holm_adjust`: weighted Holm step-down adjusted p-values.

Example:
    >>> import numpy as np
    >>> from qtcore_conformance.stats import goodness_of_fit
    >>> r = goodness_of_fit(np.array([498, 502]), np.array([0.5, 0.5]), alpha=1e-6)
    >>> r.method, r.p_value > 0.5
    ('G-test (χ² approximation)', True)
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

__all__ = [
    "MIN_EXPECTED",
    "TestResult",
    "agrawal_bound",
    "binomial_test",
    "chi2_power",
    "g_statistic",
    "goodness_of_fit",
    "holm_adjust",
    "homogeneity_test",
    "mc_exact_pvalue",
    "shots_for_power",
    "tvd",
    "tvd_bound",
    "tvd_tolerance_test",
]

#: Cochran's rule: below this expected count the χ² approximation is not trusted.
MIN_EXPECTED = 5.0
#: Most Monte-Carlo draws an exact multinomial p-value may use.
MAX_MC_DRAWS = 200_000


@dataclass(frozen=True)
class TestResult:
    """One statistical assertion's outcome.

    Attributes:
        statistic: the test statistic (G, TVD, or successes).
        p_value: a valid p-value (an upper bound where ``method`` says so).
        method: how the p-value was computed.
        df: degrees of freedom (0 where none apply).
        tvd: observed total-variation distance to the reference, where it applies.
        tvd_bound: the distribution-free shot-noise bound on that TVD at level α.
        detail: extra numbers for the report (expected vs observed, pooled cells…).
    """

    __test__ = False  # not a pytest test class

    statistic: float
    p_value: float
    method: str
    df: int = 0
    tvd: float | None = None
    tvd_bound: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def tvd(counts: np.ndarray, probs: np.ndarray) -> float:
    """Total-variation distance between the empirical law of ``counts`` and ``probs``.

    Example:
        >>> import numpy as np
        >>> from qtcore_conformance.stats import tvd
        >>> round(tvd(np.array([6, 4]), np.array([0.5, 0.5])), 12)
        0.1
    """
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    return float(0.5 * np.abs(c / total - np.asarray(probs, dtype=np.float64)).sum())


def tvd_bound(shots: int, cells: int, alpha: float) -> float:
    """Distribution-free (1-α) bound on the TVD of ``shots`` draws from their own law.

    Args:
        shots: number of draws S.
        cells: number of outcomes K with non-zero probability.
        alpha: the probability that the bound is exceeded.

    Example:
        >>> from qtcore_conformance.stats import tvd_bound
        >>> round(tvd_bound(10_000, 8, 1e-6), 4)
        0.0395
    """
    k = max(int(cells), 1)
    return 0.5 * math.sqrt((k - 1) / shots) + math.sqrt(math.log(1.0 / alpha) / (2.0 * shots))


def g_statistic(counts: np.ndarray, expected: np.ndarray) -> float:
    """The log-likelihood-ratio statistic ``G = 2 Σ c ln(c / e)`` (cells with c = 0 add 0).

    Example:
        >>> import numpy as np
        >>> from qtcore_conformance.stats import g_statistic
        >>> g_statistic(np.array([5.0, 5.0]), np.array([5.0, 5.0]))
        0.0
    """
    c = np.asarray(counts, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    mask = c > 0
    return float(max(0.0, 2.0 * np.sum(c[mask] * np.log(c[mask] / e[mask]))))


def agrawal_bound(g: float, cells: int) -> float:
    """Finite-sample upper bound on ``P(G ≥ g)`` for a multinomial on ``cells`` outcomes.

    ``P(KL(p̂‖p) ≥ ε) ≤ e^{-Sε} (e S ε/(K-1))^{K-1}`` for ``ε > (K-1)/S`` (Agrawal 2020),
    written with ``G = 2 S KL``. Valid for every S and p, no asymptotics.

    Example:
        >>> from qtcore_conformance.stats import agrawal_bound
        >>> agrawal_bound(1.0, 4), agrawal_bound(200.0, 4) < 1e-30
        (1.0, True)
    """
    k1 = cells - 1
    if k1 < 1:
        return 1.0
    if g <= 2.0 * k1:
        return 1.0
    log_b = -g / 2.0 + k1 * (1.0 + math.log(g / (2.0 * k1)))
    return float(min(1.0, math.exp(log_b)))


def mc_exact_pvalue(
    counts: np.ndarray, probs: np.ndarray, draws: int, rng: np.random.Generator
) -> float:
    """Monte-Carlo p-value of the exact multinomial test with the G statistic.

    ``(1 + #{G_sim ≥ G_obs}) / (1 + R)`` is a valid p-value for every R (it is the rank of the
    observation among R + 1 exchangeable draws under the null).

    Example:
        >>> import numpy as np
        >>> from qtcore_conformance.stats import mc_exact_pvalue
        >>> p = mc_exact_pvalue(np.array([3, 0, 0]), np.array([0.2, 0.4, 0.4]), 999,
        ...                     np.random.default_rng(0))
        >>> p < 0.02
        True
    """
    c = np.asarray(counts, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    shots = int(c.sum())
    expected = shots * p
    g_obs = g_statistic(c, expected)
    exceed = 0
    done = 0
    while done < draws:
        m = min(50_000, draws - done)
        sims = rng.multinomial(shots, p, size=m).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(sims > 0, sims * np.log(sims / expected), 0.0)
        g_sim = 2.0 * terms.sum(axis=1)
        # Ties count as exceedances (ulp-level noise must not make the p-value too small).
        exceed += int(np.sum(g_sim >= g_obs - 1e-9 * max(1.0, g_obs)))
        done += m
    return (1 + exceed) / (1 + draws)


def _pool(counts: np.ndarray, probs: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
    """Pool cells whose expected count is below MIN_EXPECTED into one tail cell.

    If the tail itself stays below MIN_EXPECTED it joins the smallest remaining cell, so every
    cell reaches MIN_EXPECTED unless the whole table is too small (then the exact route runs).
    """
    expected = shots * probs
    small = expected < MIN_EXPECTED
    if not small.any() or small.all():
        return counts, probs
    big_c, big_p = counts[~small].copy(), probs[~small].copy()
    tail_c, tail_p = int(counts[small].sum()), float(probs[small].sum())
    if shots * tail_p < MIN_EXPECTED:
        j = int(np.argmin(big_p))
        big_c[j] += tail_c
        big_p[j] += tail_p
        return big_c, big_p
    return np.r_[big_c, tail_c].astype(np.int64), np.r_[big_p, tail_p]


def goodness_of_fit(
    counts: np.ndarray,
    probs: np.ndarray,
    *,
    alpha: float,
    rng: np.random.Generator | None = None,
) -> TestResult:
    """Test counts against exact probabilities (see the module docstring for the method).

    Args:
        counts: (K,) non-negative integer counts.
        probs: (K,) exact reference probabilities (clipped at 0, renormalised).
        alpha: the level this assertion is tested at: picks Monte-Carlo vs the bound where
            expected counts are small, and sets the TVD bound.
        rng: generator for the Monte-Carlo draws (default: seeded from the counts).

    Returns:
        A :class:`TestResult`; ``p_value`` is 0 when an outcome of probability 0 appeared.

    Example:
        >>> import numpy as np
        >>> from qtcore_conformance.stats import goodness_of_fit
        >>> goodness_of_fit(np.array([0, 10]), np.array([1.0, 0.0]), alpha=1e-6).p_value
        0.0
    """
    c = np.asarray(counts, dtype=np.int64).reshape(-1)
    p = np.clip(np.asarray(probs, dtype=np.float64).reshape(-1), 0.0, None)
    p = p / p.sum()
    shots = int(c.sum())
    support = p > 1e-15
    dist = tvd(c, p)
    bound = tvd_bound(max(shots, 1), int(support.sum()), alpha)
    outside = int(c[~support].sum())
    if outside:
        idx = [int(i) for i in np.flatnonzero((~support) & (c > 0))[:8]]
        return TestResult(
            float("inf"),
            0.0,
            "support containment (an outcome of probability 0 appeared)",
            tvd=dist,
            tvd_bound=bound,
            detail={"outcomes_outside_support": idx, "counts_outside_support": outside},
        )
    cs, ps = _pool(c[support], p[support], shots)
    cells = int(cs.size)
    if cells <= 1 or shots == 0:
        return TestResult(0.0, 1.0, "deterministic (one outcome)", tvd=dist, tvd_bound=bound)
    expected = shots * ps
    g = g_statistic(cs, expected)
    detail: dict[str, Any] = {"cells": cells, "min_expected": float(expected.min())}
    if expected.min() >= MIN_EXPECTED:
        pval = float(sps.chi2.sf(g, cells - 1))
        return TestResult(
            g, pval, "G-test (χ² approximation)", cells - 1, dist, bound, detail
        )
    draws = math.ceil(20.0 / alpha)
    if draws <= MAX_MC_DRAWS:
        # Without a generator, seed from the data itself: the same counts, the same p-value.
        gen = rng if rng is not None else np.random.default_rng(zlib.crc32(cs.tobytes()))
        pval = mc_exact_pvalue(cs, ps, draws, gen)
        detail["draws"] = draws
        return TestResult(
            g, pval, f"exact multinomial (Monte-Carlo, {draws} draws)", cells - 1, dist, bound,
            detail,
        )
    pval = agrawal_bound(g, cells)
    return TestResult(
        g,
        pval,
        "exact multinomial (finite-sample bound, Agrawal 2020)",
        cells - 1,
        dist,
        bound,
        detail,
    )


def tvd_tolerance_test(
    counts: np.ndarray, probs: np.ndarray, *, tolerance: float, alpha: float
) -> TestResult:
    """One-sided test of ``H0: TVD(true law, probs) ≤ tolerance`` from counts.

    Under H0 the triangle inequality and :func:`tvd_bound` give
    ``P(TVD(counts, probs) > tolerance + tvd_bound(S, K, α)) ≤ α``, for every law: the
    p-value reported is the smallest such α, ``exp(-2S (TVD - tol - ½√((K-1)/S))²)``.

    Example:
        >>> import numpy as np
        >>> from qtcore_conformance.stats import tvd_tolerance_test
        >>> r = tvd_tolerance_test(np.array([560, 440]), np.array([0.5, 0.5]),
        ...                        tolerance=0.1, alpha=1e-6)
        >>> r.p_value
        1.0
    """
    c = np.asarray(counts, dtype=np.int64).reshape(-1)
    p = np.clip(np.asarray(probs, dtype=np.float64).reshape(-1), 0.0, None)
    p = p / p.sum()
    shots = int(c.sum())
    cells = int(p.size)
    dist = tvd(c, p)
    mean_bound = 0.5 * math.sqrt((cells - 1) / shots)
    excess = dist - tolerance - mean_bound
    pval = 1.0 if excess <= 0 else float(math.exp(-2.0 * shots * excess**2))
    return TestResult(
        dist,
        pval,
        f"TVD ≤ {tolerance:g} one-sided (McDiarmid bound)",
        tvd=dist,
        tvd_bound=tolerance + tvd_bound(shots, cells, alpha),
    )


def binomial_test(successes: int, trials: int, p: float) -> TestResult:
    """Exact two-sided binomial test of ``successes`` out of ``trials`` against ``p``.

    Example:
        >>> from qtcore_conformance.stats import binomial_test
        >>> binomial_test(150, 1000, 0.2).p_value < 1e-4
        True
    """
    if p <= 0.0 or p >= 1.0:
        ok = (successes == 0) if p <= 0.0 else (successes == trials)
        return TestResult(float(successes), 1.0 if ok else 0.0, "deterministic (p ∈ {0, 1})")
    res = sps.binomtest(int(successes), int(trials), float(p), alternative="two-sided")
    z = (successes - trials * p) / math.sqrt(trials * p * (1 - p))
    return TestResult(
        float(successes),
        float(res.pvalue),
        "exact binomial (two-sided)",
        detail={"expected": trials * p, "z": z},
    )


def homogeneity_test(table: np.ndarray) -> TestResult:
    """G-test that the rows of a count table (r, K) come from one distribution.

    Columns that are zero in every row are dropped; columns with a small expected count are
    pooled (as in :func:`goodness_of_fit`).

    Example:
        >>> import numpy as np
        >>> from qtcore_conformance.stats import homogeneity_test
        >>> homogeneity_test(np.array([[500, 500], [510, 490]])).p_value > 0.5
        True
    """
    t = np.asarray(table, dtype=np.int64)
    t = t[:, t.sum(axis=0) > 0]
    if t.shape[1] <= 1:
        return TestResult(0.0, 1.0, "deterministic (one outcome)")
    col = t.sum(axis=0)
    expected_min = col * (t.sum(axis=1).min() / t.sum())
    small = expected_min < MIN_EXPECTED
    if small.sum() >= 1 and (~small).sum() >= 1:
        t = np.concatenate([t[:, ~small], t[:, small].sum(axis=1, keepdims=True)], axis=1)
    if t.shape[1] <= 1:
        return TestResult(0.0, 1.0, "deterministic (one outcome)")
    g, pval, dof, _ = sps.chi2_contingency(t, correction=False, lambda_="log-likelihood")
    return TestResult(float(g), float(pval), "G-test of homogeneity (χ² approximation)", int(dof))


def chi2_power(shots: int, effect: float, df: int, alpha: float) -> float:
    """Asymptotic power of the G/χ² test against every law at TVD ≥ ``effect``.

    The non-centrality is ``S·χ²(q‖p) ≥ 4 S δ²`` (Cauchy–Schwarz), so this is a lower bound
    on the power over all such alternatives.

    Example:
        >>> from qtcore_conformance.stats import chi2_power
        >>> chi2_power(100_000, 0.02, 7, 1e-8) > 0.99
        True
    """
    crit = sps.chi2.isf(alpha, df)
    return float(sps.ncx2.sf(crit, df, 4.0 * shots * effect**2))


def shots_for_power(effect: float, df: int, alpha: float, power: float = 0.99) -> int:
    """Smallest shots S with :func:`chi2_power` ≥ ``power`` (bisection).

    Example:
        >>> from qtcore_conformance.stats import shots_for_power
        >>> 40_000 < shots_for_power(0.02, 7, 1e-8) < 80_000
        True
    """
    lo, hi = 1, 1
    while chi2_power(hi, effect, df, alpha) < power:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if chi2_power(mid, effect, df, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return lo


def holm_adjust(p_values: list[float], weights: list[float]) -> list[float]:
    """Weighted Holm step-down adjusted p-values (Holm 1979).

    Hypotheses are ordered by ``p_i / w_i``; the adjusted value of the j-th is
    ``max_{l ≤ j} min(1, p_(l) · W_(l) / w_(l))`` with ``W_(l)`` the weight not yet rejected.
    Rejecting every hypothesis whose adjusted p-value is ≤ α controls the family-wise error
    at α. With equal weights this is ordinary Holm.

    Example:
        >>> from qtcore_conformance.stats import holm_adjust
        >>> [round(v, 3) for v in holm_adjust([0.01, 0.04, 0.03], [1, 1, 1])]
        [0.03, 0.06, 0.06]
    """
    if not p_values:
        return []
    w = np.asarray(weights, dtype=np.float64)
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p / w, kind="stable")
    remaining = float(w.sum())
    out = np.zeros_like(p)
    running = 0.0
    for i in order:
        running = max(running, min(1.0, p[i] * remaining / w[i]))
        out[i] = running
        remaining -= w[i]
    return [float(v) for v in out]
