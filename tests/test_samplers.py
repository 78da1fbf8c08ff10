"""Tests of the built-in samplers: unbiasedness, variance, invariants, registration."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import qtcore
from qtcore.sampling import (
    BUILTIN_SAMPLERS,
    MultinomialSampler,
    SamplerBase,
    StratifiedSampler,
    TopKSampler,
)

NAMES = sorted(BUILTIN_SAMPLERS)
#: False-failure budget of each statistical assertion below.
ALPHA = 1e-6


def _rows() -> torch.Tensor:
    """Three kinds of row: peaked, flat, and one with exact zeros (N = 13)."""
    g = torch.Generator().manual_seed(11)
    peaked = torch.softmax(3.0 * torch.randn(13, generator=g), dim=0)
    flat = torch.full((13,), 1 / 13)
    holes = torch.softmax(torch.randn(13, generator=g), dim=0) * (torch.arange(13) % 3 != 0)
    return torch.stack([peaked, flat, holes / holes.sum()]).double()


def assert_unbiased(draws: torch.Tensor, p: torch.Tensor, S: int, alpha: float = ALPHA) -> None:
    """z-test of mean(W) = p for every entry, Bonferroni over entries.

    The variance in each z is ``max(s², p_j/S)``: the sample variance, floored by that of a
    sub-Poisson count of hits of weight ≤ 1/S (every sampler here hits key j at most as
    variably as a Poisson count with mean S·p_j), because with a handful of hits the sample
    variance alone is unreliable. With M ≥ 6000 draws the normal approximation holds, so a
    correct sampler fails with probability ≤ ``alpha`` per call. Entries that never vary
    (certain keys, p = 0) are deterministic and must equal p to float precision.
    """
    M = draws.shape[0]
    mean = draws.mean(dim=0)
    sd = draws.std(dim=0)
    fixed = sd == 0
    # A key never hit in M draws: since 0 ≤ W ≤ 1 and E[W] = p, each draw hits it with
    # probability ≥ p, so "never" has probability ≤ (1 − p)^M, which must exceed alpha.
    never = fixed & (mean == 0) & (p > 0)
    assert bool(((1 - p[never]) ** M > alpha).all()), "biased: a likely key is never drawn"
    assert torch.allclose(mean[fixed & ~never], p[fixed & ~never], atol=1e-12), "fixed entries"
    var = torch.maximum(sd**2, p / S)[~fixed]
    z = ((mean - p)[~fixed] / (var / M).sqrt()).abs().numpy()
    if z.size:
        pvalue = 2 * stats.norm.sf(z.max())
        assert pvalue * z.size > alpha, f"biased: max |z| = {z.max():.2f}, p = {pvalue:.2e}"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("S", [1, 4, 16])
def test_sampler_is_unbiased(name: str, S: int) -> None:
    p = _rows()
    M = 20000
    W = qtcore.get_sampler(name).sample_weights(
        p.expand(M, -1, -1), S, generator=torch.Generator().manual_seed(S)
    )
    assert_unbiased(W, p, S)


def test_unbiasedness_check_detects_a_biased_sampler() -> None:
    """The helper above has power: sharpening p by a power of 1.2 is caught."""

    class Sharpened(SamplerBase):
        name = "sharpened"

        def _indices(self, p, num_samples, generator):  # type: ignore[no-untyped-def]
            q = p**1.2
            return StratifiedSampler()._indices(q / q.sum(-1, keepdim=True), num_samples, generator)

    p = _rows()
    W = Sharpened().sample_weights(p.expand(20000, -1, -1), 8, generator=torch.Generator())
    with pytest.raises(AssertionError, match="biased"):
        assert_unbiased(W, p, 8)


def _squared_error(name: str, p: torch.Tensor, S: int, M: int) -> torch.Tensor:
    W = qtcore.get_sampler(name).sample_weights(
        p.expand(M, -1, -1), S, generator=torch.Generator().manual_seed(5)
    )
    return ((W - p) ** 2).sum(dim=-1).mean(dim=-1)  # per draw, averaged over rows


@pytest.mark.parametrize("name", ["stratified", "sobol", "topk"])
def test_variance_below_multinomial_on_peaked_rows(name: str) -> None:
    """E‖W − p‖² is (1 − Σp²)/S for i.i.d. sampling; the others must not exceed it.

    One-sided z-test at 5 standard errors (false-failure rate < 3e-7 if the true variance
    equals the multinomial one; it is far below on these rows).
    """
    g = torch.Generator().manual_seed(2)
    p = torch.softmax(4.0 * torch.randn(64, 64, generator=g, dtype=torch.float64), dim=-1)
    S, M = 16, 400
    theory = float(((1 - (p**2).sum(-1)) / S).mean())
    err = _squared_error(name, p, S, M)
    upper = float(err.mean() + 5 * err.std() / np.sqrt(M))
    assert upper < theory, f"{name}: E‖W−p‖² ≤ {upper:.3g}, multinomial {theory:.3g}"


def test_multinomial_matches_its_theoretical_variance() -> None:
    """Two-sided z-test (false-failure rate 1e-6): the variance comparison's baseline is real."""
    g = torch.Generator().manual_seed(2)
    p = torch.softmax(4.0 * torch.randn(64, 64, generator=g, dtype=torch.float64), dim=-1)
    S, M = 16, 400
    theory = float(((1 - (p**2).sum(-1)) / S).mean())
    err = _squared_error("multinomial", p, S, M)
    z = abs(float(err.mean()) - theory) / (float(err.std()) / np.sqrt(M))
    assert 2 * stats.norm.sf(z) > ALPHA


def test_topk_beats_stratified_on_peaked_rows() -> None:
    g = torch.Generator().manual_seed(3)
    p = torch.softmax(4.0 * torch.randn(64, 64, generator=g, dtype=torch.float64), dim=-1)
    topk, strat = _squared_error("topk", p, 16, 400), _squared_error("stratified", p, 16, 400)
    # Paired over the same M: 5 standard errors of the difference (rate < 3e-7).
    diff = strat - topk
    assert float(diff.mean() - 5 * diff.std() / np.sqrt(400)) > 0


def test_topk_split_is_adaptive_per_row() -> None:
    flat = torch.full((1, 100), 0.01)
    peaked = torch.softmax(torch.linspace(8, 0, 100), dim=0)[None]
    pi_flat, _ = TopKSampler().inclusion(flat, 16)
    pi_peak, c = TopKSampler().inclusion(peaked, 16)
    assert int((pi_flat == 1).sum()) == 0
    assert 0 < int((pi_peak == 1).sum()) < 16
    torch.testing.assert_close(pi_peak.sum(), torch.tensor(16.0))
    # The fixed point: c = (S − t)/R over the keys that are not certain.
    t, rest = (pi_peak == 1).sum(), peaked[pi_peak < 1].sum()
    torch.testing.assert_close(c[0, 0], (16 - t) / rest)
    certain = pi_peak[0] == 1
    for seed in range(5):
        W = TopKSampler().sample_weights(peaked, 16, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(W[0, certain], peaked[0, certain])  # weighted exactly, every draw
        assert int((W > 0).sum()) == 16  # systematic πps: 16 distinct keys


def test_topk_is_exact_when_budget_covers_all_keys() -> None:
    p = torch.softmax(torch.randn(5, 12), dim=-1)
    torch.testing.assert_close(TopKSampler().sample_weights(p, 12), p)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    N=st.integers(1, 40),
    S=st.integers(1, 50),
    seed=st.integers(0, 2**31 - 1),
    zeros=st.integers(0, 3),
)
def test_sampler_invariants(name: str, N: int, S: int, seed: int, zeros: int) -> None:
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(3, N, generator=g) ** 3
    p[:, : min(zeros, N - 1)] = 0.0
    p = p / p.sum(-1, keepdim=True)
    p[2] = 0.0  # a fully masked row
    W = qtcore.get_sampler(name).sample_weights(p, S, generator=torch.Generator().manual_seed(1))
    assert W.shape == p.shape and W.dtype == p.dtype
    assert bool((W >= 0).all())
    assert bool((W[p == 0] == 0).all()), "weight on a key with p = 0"
    assert int((W > 0).sum(-1).max()) <= S
    torch.testing.assert_close(W.sum(-1), p.sum(-1), rtol=0, atol=1e-5)
    again = qtcore.get_sampler(name).sample_weights(
        p, S, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(W, again), "same generator state, different weights"


@pytest.mark.parametrize("name", NAMES)
def test_rows_are_independent_and_dtype_kept(name: str) -> None:
    p = torch.full((2000, 2, 8), 1 / 8, dtype=torch.float16)
    W = qtcore.get_sampler(name).sample_weights(p, 3, generator=torch.Generator().manual_seed(0))
    assert W.dtype == torch.float16
    # Identical rows must not get identical draws (rows independent).
    assert not torch.equal(W[:, 0], W[:, 1])


@pytest.mark.parametrize(
    ("p", "S"),
    [([0.5, 0.5], 0), ([0.5, 0.5], 2.0), ([0.5, 0.5], True), (np.array([0.5, 0.5]), 2)],
)
def test_sampler_rejects_bad_input(p: object, S: object) -> None:
    arg = torch.tensor(p) if isinstance(p, list) else p
    with pytest.raises(qtcore.InvalidInput):
        MultinomialSampler().sample_weights(arg, S)  # type: ignore[arg-type]


def test_samplers_are_registered_through_the_hook() -> None:
    entries = {e.name: e for e in qtcore.samplers()}
    assert {"multinomial", "stratified", "sobol", "topk"} <= set(entries)
    assert all(entries[n].plugin.distribution == "qtcore" for n in NAMES)
    assert qtcore.get_sampler("stratified", systematic=True).systematic is True


def test_import_qtcore_does_not_import_torch() -> None:
    code = "import qtcore, sys; qtcore.samplers(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", NAMES)
def test_sampler_on_gpu_matches_cpu_with_a_cpu_generator(name: str) -> None:
    p = _rows().float()
    cpu = qtcore.get_sampler(name).sample_weights(p, 8, generator=torch.Generator().manual_seed(4))
    gpu = qtcore.get_sampler(name).sample_weights(
        p.cuda(), 8, generator=torch.Generator().manual_seed(4)
    )
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu)


def test_two_level_search_matches_the_plain_cdf_search() -> None:
    from qtcore.sampling.inverse_cdf import locate

    g = torch.Generator().manual_seed(8)
    x = torch.rand(200, 1024, generator=g, dtype=torch.float64) ** 4
    x[:, ::7] = 0.0  # keys that must never be chosen
    targets = torch.rand(200, 16, generator=g, dtype=torch.float64) * x.sum(-1, keepdim=True)
    plain = torch.searchsorted(torch.cumsum(x, -1), targets, right=True)
    two_level = locate(x, targets)
    assert torch.equal(two_level, plain)
    assert bool((x.gather(-1, two_level) > 0).all())


@pytest.mark.parametrize("name", NAMES)
def test_sampler_is_unbiased_on_long_rows(name: str) -> None:
    """N = 512 takes the two-level search; same z-test as above (false-failure rate 1e-6)."""
    g = torch.Generator().manual_seed(9)
    p = torch.softmax(2.0 * torch.randn(512, generator=g, dtype=torch.float64), dim=0)
    p[::5] = 0.0
    p = p / p.sum()
    W = qtcore.get_sampler(name).sample_weights(
        p.expand(6000, -1), 8, generator=torch.Generator().manual_seed(10)
    )
    assert_unbiased(W, p, 8)
