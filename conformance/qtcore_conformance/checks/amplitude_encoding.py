"""Amplitude encoding: sampled distributions against the reference, and boundary rows.

Example:
    >>> from qtcore_conformance.catalog import CHECKS
    >>> import qtcore_conformance.checks
    >>> CHECKS["encoding_dirichlet_rows"].slots
    2
"""

from __future__ import annotations

import numpy as np

from qtcore import amplitude_encoding
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext

#: The smallest TVD the distribution checks are sized to detect (power 0.99).
EFFECT_TVD = 0.02


@check("amplitude encoding", slots=2)
def encoding_dirichlet_rows(ctx: CheckContext) -> None:
    """Random Dirichlet rows (α ∈ {0.1, 1, 10}), n = 1 … min(max, 6), fit the reference."""
    rng = ctx.rng("dirichlet")
    plan = [(n, a) for n in range(1, ctx.max_n(6) + 1) for a in (0.1, 1.0, 10.0)]
    rows_per = 2
    n_cases = len(plan) * rows_per
    shots = ctx.shots_for(EFFECT_TVD, 2 ** ctx.max_n(6) - 1, n_cases)
    cases = []
    for n, a in plan:
        P = rng.dirichlet(np.full(2**n, a), size=rows_per)
        counts = ctx.sample(P, shots=shots, seed=ctx.seed + n)
        exact = ctx.reference.distribution_probabilities(P)
        for r in range(rows_per):
            cases.append((f"n={n} Dirichlet α={a:g} row {r}", counts[r], exact[r]))
    ctx.assert_fit(cases, effect=EFFECT_TVD)


@check("amplitude encoding", slots=1)
def encoding_padded_rows(ctx: CheckContext) -> None:
    """Rows of width N not a power of two are zero-padded: no shot on a padded outcome."""
    rng = ctx.rng("padded")
    widths = [w for w in (3, 5, 6, 7, 12, 13, 24, 33) if w <= 2 ** ctx.max_n(6)]
    shots = ctx.shots_for(EFFECT_TVD, max(widths) - 1, len(widths))
    cases = []
    for w in widths:
        P = rng.dirichlet(np.ones(w), size=1)
        counts = ctx.sample(P, shots=shots, seed=ctx.seed + w)
        exact = ctx.reference.distribution_probabilities(P)
        cases.append((f"width {w} padded to {counts.shape[1]}", counts[0], exact[0]))
    ctx.assert_fit(cases, effect=EFFECT_TVD)


@check("amplitude encoding", slots=1)
def encoding_boundary_rows(ctx: CheckContext) -> None:
    """Exact zeros, 1e-12 entries, float32 rows and sums 1 ± 1e-9 sample correctly."""
    n = ctx.max_n(3)
    K = 2**n
    rows = {
        "exact zeros (half the support)": np.r_[np.full(K // 2, 2.0 / K), np.zeros(K - K // 2)],
        "one 1e-12 entry": np.r_[1e-12, np.full(K - 1, (1 - 1e-12) / (K - 1))],
        "1 - 1e-12 and 1e-12": np.r_[1 - 1e-12, 1e-12, np.zeros(K - 2)],
        "sum 1 + 1e-9": np.full(K, (1 + 1e-9) / K),
        "sum 1 - 1e-9": np.full(K, (1 - 1e-9) / K),
        "alternating zeros": np.where(np.arange(K) % 2 == 1, 2.0 / K, 0.0),
    }
    shots = ctx.shots_for(EFFECT_TVD, K - 1, len(rows) + 1)
    cases = []
    for label, row in rows.items():
        counts = ctx.sample(row[None], shots=shots, seed=ctx.seed)
        exact = ctx.reference.distribution_probabilities(row[None] / row.sum())
        cases.append((f"n={n} {label}", counts[0], exact[0]))
    row32 = ctx.rng("f32").dirichlet(np.ones(K)).astype(np.float32)
    counts = ctx.sample(row32[None], shots=shots, seed=ctx.seed)
    exact = ctx.reference.distribution_probabilities(row32[None].astype(np.float64))
    cases.append((f"n={n} float32 row", counts[0], exact[0]))
    ctx.assert_fit(cases, effect=EFFECT_TVD)


@check("amplitude encoding", tier="exact")
def encoding_exact_probabilities(ctx: CheckContext) -> None:
    """Declared exact probabilities of amplitude_encoding(P) equal P to 1e-9."""
    ctx.require(ctx.caps.exact_probabilities, "does not declare exact_probabilities")
    probabilities = getattr(ctx.backend, "probabilities", None)
    if not callable(probabilities):
        ctx.fail("declares exact_probabilities but has no probabilities(circuits, noise) method")
        return
    rng = ctx.rng("exact")
    for n in range(1, ctx.max_n(6) + 1):
        P = rng.dirichlet(np.full(2**n, 0.5), size=3)
        got = np.asarray(probabilities(amplitude_encoding(P), noise=None))
        if got.shape != P.shape or not np.allclose(got, P, atol=1e-9, rtol=0):
            err = float(np.max(np.abs(got - P))) if got.shape == P.shape else float("nan")
            ctx.fail(f"n={n}: probabilities(amplitude_encoding(P)) differs from P by {err:.3g}"
                     f" (shape {got.shape}), tolerance 1e-9")


@check("amplitude encoding", slots=1)
def sample_distributions_matches_run(ctx: CheckContext) -> None:
    """sample_distributions(P) has the law of run(amplitude_encoding(P)), row by row."""
    rng = ctx.rng("rows")
    n = ctx.max_n(4)
    P = rng.dirichlet(np.ones(2**n), size=4)
    # Two samples of S shots: non-centrality 4δ²·S/2, so twice a goodness of fit's shots.
    shots = 2 * ctx.shots_for(0.03, 2**n - 1, 4)
    fast = ctx.sample(P, shots=shots, seed=ctx.seed)
    slow = ctx.run(amplitude_encoding(P), shots=shots, seed=ctx.seed + 1)
    cases = [(f"n={n} row {r}: sample_distributions vs run", np.stack([fast[r], slow[r]]))
             for r in range(len(P))]
    ctx.assert_homogeneous(cases, effect=0.03)
