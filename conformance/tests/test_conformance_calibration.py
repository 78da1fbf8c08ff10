"""Calibration: the suite's statistics are valid, and the honest reference stays in budget.

* Under the null, each p-value is super-uniform: the fraction of p ≤ 0.05 over many
  simulated null samples is tested with an exact one-sided binomial test at 1e-6 (false
  failure rate 1e-6 per assertion).
* Every stochastic check of the suite passes on ``reference`` for several base seeds at the
  default budget: a run fails falsely with probability ≤ 1e-6, so this test does with ≤ 4e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from qtcore_conformance import stats
from qtcore_conformance.base import DEFAULT_BUDGET, check_alpha
from qtcore_conformance.catalog import CHECKS
from qtcore_conformance.context import CheckContext, derive_seed
from scipy import stats as sps

import qtcore

FALSE_FAILURE = 1e-6


def _assert_super_uniform(pvals: list[float], level: float = 0.05) -> None:
    k = int(np.sum(np.asarray(pvals) <= level))
    p = sps.binomtest(k, len(pvals), level, alternative="greater").pvalue
    assert p > FALSE_FAILURE, f"{k}/{len(pvals)} null p-values ≤ {level}: anti-conservative"


def test_g_test_is_calibrated_under_the_null() -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(8))
    pvals = [stats.goodness_of_fit(rng.multinomial(2000, probs), probs, alpha=1e-6).p_value
             for _ in range(1500)]
    _assert_super_uniform(pvals)
    # And not absurdly conservative: the G-test is near-exact here (KS against U(0,1)).
    assert sps.kstest(pvals, "uniform").pvalue > FALSE_FAILURE


def test_monte_carlo_exact_path_is_calibrated_with_small_counts() -> None:
    rng = np.random.default_rng(2)
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    pvals = []
    for _ in range(300):
        res = stats.goodness_of_fit(rng.multinomial(8, probs), probs, alpha=0.01, rng=rng)
        assert res.method.startswith("exact multinomial (Monte-Carlo")
        pvals.append(res.p_value)
    _assert_super_uniform(pvals)


def test_finite_sample_bound_dominates_the_exact_tail() -> None:
    """Agrawal's bound is ≥ the Monte-Carlo tail of G at every threshold it certifies."""
    rng = np.random.default_rng(3)
    probs = np.array([0.4, 0.3, 0.2, 0.1])
    shots = 15
    sims = rng.multinomial(shots, probs, size=200_000)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(sims > 0, sims * np.log(sims / (shots * probs)), 0.0)
    g = 2 * terms.sum(axis=1)
    for threshold in (8.0, 12.0, 16.0, 20.0):
        tail = float(np.mean(g >= threshold))
        # Monte-Carlo error: 5 standard errors plus one draw.
        slack = 5 * np.sqrt(max(tail, 1e-6) / len(g)) + 1 / len(g)
        assert stats.agrawal_bound(threshold, 4) + slack >= tail


def test_homogeneity_and_binomial_are_calibrated() -> None:
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(6))
    hom = [stats.homogeneity_test(rng.multinomial(1000, probs, size=3)).p_value
           for _ in range(400)]
    _assert_super_uniform(hom)
    binom = [stats.binomial_test(int(rng.binomial(500, 0.2)), 500, 0.2).p_value
             for _ in range(1000)]
    _assert_super_uniform(binom)


def test_tvd_bound_holds() -> None:
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.full(16, 0.3))
    bound = stats.tvd_bound(400, 16, 0.01)
    tvds = [stats.tvd(rng.multinomial(400, probs), probs) for _ in range(2000)]
    k = int(np.sum(np.asarray(tvds) > bound))
    assert sps.binomtest(k, 2000, 0.01, alternative="greater").pvalue > FALSE_FAILURE


def test_power_sizing_detects_the_stated_effect() -> None:
    """Shots sized for TVD 0.02 at α reject a law 0.02 away in ≥ 95 of 100 trials."""
    rng = np.random.default_rng(6)
    p = np.full(8, 1 / 8)
    q = p.copy()
    q[0] += 0.02
    q[1] -= 0.02
    alpha = 1e-8
    shots = stats.shots_for_power(0.02, 7, alpha)
    rejected = sum(stats.goodness_of_fit(rng.multinomial(shots, q), p, alpha=alpha).p_value
                   <= alpha for _ in range(100))
    # Power ≥ 0.99 asymptotically; P(Bin(100, 0.99) < 95) ≈ 6e-4 is far below what a
    # miscalibrated sizing (power ≈ 0.5) would give; accept ≥ 90 (P < 1e-7).
    assert rejected >= 90


def test_holm_matches_a_direct_computation() -> None:
    p = [0.001, 0.02, 0.04, 0.3]
    assert stats.holm_adjust(p, [1, 1, 1, 1]) == pytest.approx([0.004, 0.06, 0.08, 0.3])
    # Weighted: the heavier hypothesis is tested at a larger share.
    adj = stats.holm_adjust([0.02, 0.02], [3, 1])
    # (step-down adjusted p-values are monotone: the second cannot fall below the first)
    assert adj == pytest.approx([0.02 * 4 / 3, 0.02 * 4 / 3])
    assert stats.holm_adjust([0.02, 0.03], [3, 1]) == pytest.approx([0.02 * 4 / 3, 0.03])


STOCHASTIC = sorted(n for n, c in CHECKS.items() if c.slots > 0 and c.kind == "backend")


@pytest.mark.parametrize("base_seed", [1, 2, 3, 4])
def test_reference_stays_within_budget_over_seeds(base_seed: int) -> None:
    backend = qtcore.ReferenceBackend()
    for name in STOCHASTIC:
        chk = CHECKS[name]
        ctx = CheckContext(backend, "reference", name, check_alpha(chk, DEFAULT_BUDGET),
                           derive_seed(base_seed, name), reproduce=f"--qtcore-seed {base_seed}")
        chk.func(ctx)
        assert all(r["passed"] for r in ctx.records)
