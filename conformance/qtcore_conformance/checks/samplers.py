"""Samplers (classical path): shapes, support, reproducibility and unbiasedness E[W] = p.

A sampler's ``sample_weights(p, num_samples, generator=...)`` takes torch tensors (the
classical path is torch). Unbiasedness is tested without any assumption on the sampler's law:
weights of a probability row lie in [0, 1], so Hoeffding's inequality gives the exact
distribution-free p-value ``2·exp(-2R·d²)`` for a mean over R independent draws that misses
``p`` by d.

Example:
    >>> from qtcore_conformance.checks.samplers import hoeffding_pvalue
    >>> hoeffding_pvalue(0.0, 1000), hoeffding_pvalue(0.1, 1000) < 1e-8
    (1.0, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from qtcore_conformance import stats
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext

DRAWS = 50_000
BUDGETS = (1, 4, 16)


def hoeffding_pvalue(deviation: float, draws: int) -> float:
    """Two-sided Hoeffding p-value of a [0, 1]-valued mean off its expectation by ``deviation``."""
    return float(min(1.0, 2.0 * math.exp(-2.0 * draws * deviation**2)))


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        pytest.skip("samplers take torch tensors and torch is not installed")
    return torch


def _weights(ctx: CheckContext, p: np.ndarray, budget: int, seed: int, dtype: Any = None) -> Any:
    torch = _torch()
    tensor = torch.as_tensor(p, dtype=dtype or torch.float64)
    gen = torch.Generator().manual_seed(seed)
    return ctx.backend.sample_weights(tensor, budget, generator=gen)


def _rows(ctx: CheckContext, batch: int, width: int, alpha: float) -> np.ndarray:
    rows = ctx.rng(f"rows{batch}x{width}").dirichlet(np.full(width, alpha), size=batch)
    rows[:, ::5] = 0.0  # keys the sampler must never pick
    return rows / rows.sum(axis=1, keepdims=True)


@check("samplers", tier="sampler")
def sampler_shape_and_support(ctx: CheckContext) -> None:
    """W has p's shape and dtype, is finite, in [0, 1], zero where p = 0 and on masked rows."""
    torch = _torch()
    for shape in ((16,), (3, 16), (2, 3, 16)):
        p = _rows(ctx, int(np.prod(shape[:-1])), shape[-1], 0.5).reshape(shape)
        if len(shape) > 1:
            p.reshape(-1, shape[-1])[0] = 0.0  # a fully masked row
        for dtype in (torch.float64, torch.float32):
            for budget in BUDGETS:
                W = _weights(ctx, p, budget, ctx.seed, dtype)
                case = f"p of shape {shape} {dtype}, num_samples={budget}"
                if tuple(W.shape) != shape or W.dtype != dtype:
                    ctx.fail(f"{case}: W has shape {tuple(W.shape)} and dtype {W.dtype}")
                w = W.detach().cpu().double().numpy()
                if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1 + 1e-6:
                    ctx.fail(f"{case}: W has entries outside [0, 1] (min {w.min():.3g}, max "
                             f"{w.max():.3g}) or not finite")
                if np.any(w[p == 0] != 0):
                    ctx.fail(f"{case}: weight on a key of probability 0 (support violated)")


@check("samplers", tier="sampler")
def sampler_seeded_reproducible(ctx: CheckContext) -> None:
    """The same generator seed gives identical weights, and p is not modified."""
    p = _rows(ctx, 8, 32, 1.0)
    torch = _torch()
    tensor = torch.as_tensor(p)
    before = tensor.clone()
    for budget in BUDGETS:
        a = ctx.backend.sample_weights(tensor, budget, generator=torch.Generator().manual_seed(1))
        b = ctx.backend.sample_weights(tensor, budget, generator=torch.Generator().manual_seed(1))
        if not torch.equal(a, b):
            ctx.fail(f"num_samples={budget}: the same generator seed gave different weights")
    if not torch.equal(tensor, before):
        ctx.fail("sample_weights modified its input p")


@check("samplers", tier="sampler", slots=1)
def sampler_unbiased(ctx: CheckContext) -> None:
    """E[W] = p for every key, at every budget (Hoeffding tests over 50 000 draws per row)."""
    p = np.vstack([_rows(ctx, 2, 16, 0.3), _rows(ctx, 2, 16, 1.0)])
    cases = []
    n_cases = len(BUDGETS) * p.size
    for k, budget in enumerate(BUDGETS):
        # Rows are independent draws, so one call on p repeated DRAWS times gives them all.
        W = _weights(ctx, np.repeat(p, DRAWS, axis=0), budget, ctx.seed + k)
        w = W.detach().cpu().double().numpy().reshape(len(p), DRAWS, p.shape[1])
        if w.min() < 0 or w.max() > 1 + 1e-6:
            ctx.fail(f"num_samples={budget}: weights outside [0, 1]; the test needs that range")
        means = w.mean(axis=1)
        for r in range(len(p)):
            for j in range(p.shape[1]):
                d = float(abs(means[r, j] - p[r, j]))
                res = stats.TestResult(d, hoeffding_pvalue(d, DRAWS),
                                       f"Hoeffding mean test ({DRAWS} draws)")
                cases.append((f"num_samples={budget} row {r} key {j}: mean W "
                              f"{means[r, j]:.5f} vs p {p[r, j]:.5f}", res, {}))
    # The bias every key is sized to detect: Hoeffding's deviation at the per-case α.
    effect = math.sqrt(math.log(2 * n_cases / ctx.alpha) / (2 * DRAWS))
    cases = [(lbl, res, {"effect_abs": round(effect, 5), "draws": DRAWS})
             for lbl, res, _ in cases]
    ctx.assert_results("unbiasedness", cases)
