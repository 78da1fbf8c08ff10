"""Tests of qtcore.nn.functional.sampled_attention: exactness, masks, unbiasedness, gradients,
backends, hybrid fallback and mitigators with negative quasi-probabilities."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from torch.nn.functional import scaled_dot_product_attention as sdpa

import qtcore
from qtcore.nn.functional import HybridFallbackWarning, sampled_attention

SAMPLERS = ["multinomial", "stratified", "sobol", "topk"]
#: False-failure budget of each statistical assertion below.
ALPHA = 1e-6


def _qkv(B: int = 2, H: int = 3, L: int = 6, N: int = 9, D: int = 4, seed: int = 0):  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(B, H, n, D, generator=g, dtype=torch.float64) for n in (L, N, N))


def _z_test(samples: torch.Tensor, target: torch.Tensor, alpha: float = ALPHA) -> None:
    """Per-entry z-test of mean(samples) = target, Bonferroni over entries.

    The normal approximation holds for the M ≥ 2000 draws used; a correct estimator fails
    with probability ≤ alpha.
    """
    M = samples.shape[0]
    sd = samples.std(dim=0)
    varying = sd > 0
    diff = samples.mean(dim=0) - target
    fixed = diff[~varying].abs()
    assert bool((fixed < 1e-10).all()), f"biased: deterministic entries off by {fixed}"
    z = (diff[varying] / (sd[varying] / np.sqrt(M))).abs().detach().numpy()
    if z.size:
        assert 2 * stats.norm.sf(z.max()) * z.size > alpha, f"biased: max |z| = {z.max():.2f}"


MASKS = ["none", "bool", "float", "causal", "bool+causal", "padding"]


def _mask(kind: str, L: int, N: int):  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(7)
    if kind in ("bool", "bool+causal"):
        m = torch.rand(L, N, generator=g) > 0.3
        m[:, 0] = True  # every row keeps a key
        return m
    if kind == "float":
        return torch.randn(L, N, generator=g, dtype=torch.float64)
    if kind == "padding":
        m = torch.ones(2, 1, 1, N, dtype=torch.bool)
        m[1, ..., N - 3 :] = False
        return m
    return None


@pytest.mark.parametrize("kind", MASKS)
def test_exact_mode_equals_sdpa(kind: str) -> None:
    q, k, v = _qkv()
    mask = _mask(kind, 6, 9)
    causal = "causal" in kind
    want = sdpa(q, k, v, attn_mask=mask, is_causal=causal and mask is None)
    if causal and mask is not None:
        want = sdpa(q, k, v, attn_mask=mask & torch.ones(6, 9, dtype=torch.bool).tril())
    got = sampled_attention(q, k, v, mask, causal, sampler="exact")
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(sampled_attention(q, k, v, mask, causal, num_samples=None), want)


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("kind", ["bool", "causal", "padding"])
def test_masked_keys_get_no_weight(name: str, kind: str) -> None:
    q, k, v = _qkv()
    mask = _mask(kind, 6, 9)
    causal = kind == "causal"
    _, W = sampled_attention(
        q, k, v, mask, causal, sampler=name, num_samples=4, return_weights=True
    )
    allowed = torch.ones(6, 9, dtype=torch.bool).tril() if causal else mask
    assert bool((W.masked_fill(allowed, 0) == 0).all())


@pytest.mark.parametrize("name", [*SAMPLERS, "exact"])
def test_fully_masked_row_gives_zeros_and_finite_gradients(name: str) -> None:
    q, k, v = (x.requires_grad_() for x in _qkv())
    mask = torch.ones(6, 9, dtype=torch.bool)
    mask[2] = False
    fmask = torch.zeros(6, 9, dtype=torch.float64).masked_fill(~mask, float("-inf"))
    for m in (mask, fmask):
        out = sampled_attention(q, k, v, m, sampler=name, num_samples=4)
        assert bool(out[..., 2, :].eq(0).all()) and bool(out.isfinite().all())
        out.sum().backward()
        assert all(bool(x.grad.isfinite().all()) for x in (q, k, v))  # type: ignore[union-attr]


def test_topk_with_budget_above_keys_is_exact() -> None:
    q, k, v = _qkv()
    torch.testing.assert_close(sampled_attention(q, k, v, num_samples=9), sdpa(q, k, v))


@pytest.mark.parametrize("name", SAMPLERS)
def test_output_is_unbiased(name: str) -> None:
    # Ev = 6 > topk's control rank 4: the residuals still vary.
    q, k, v = _qkv(B=1, H=1, L=3, N=12, D=6)
    M = 4000
    g = torch.Generator().manual_seed(1)
    outs = sampled_attention(
        q.expand(M, -1, -1, -1), k, v, sampler=name, num_samples=4, generator=g
    )
    _z_test(outs, sdpa(q, k, v)[0])


@pytest.mark.parametrize("name", SAMPLERS)
def test_gradient_is_unbiased_against_the_exact_gradient(name: str) -> None:
    """Loss linear in the output: E[∇ sampled] = ∇ exact for q, k and v (z-test per entry)."""
    q0, k0, v0 = _qkv(B=1, H=1, L=3, N=10, D=6, seed=3)
    G = torch.randn(3, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    M = 3000
    q, k, v = (x.expand(M, -1, -1, -1).clone().requires_grad_() for x in (q0, k0, v0))
    out = sampled_attention(
        q, k, v, sampler=name, num_samples=3, generator=torch.Generator().manual_seed(2)
    )
    (out * G).sum().backward()
    qe, ke, ve = (x.clone().requires_grad_() for x in (q0, k0, v0))
    (sdpa(qe, ke, ve) * G).sum().backward()
    for sampled, exact in ((q, qe), (k, ke), (v, ve)):
        assert bool(sampled.grad.isfinite().all())  # type: ignore[union-attr]
        _z_test(sampled.grad[:, 0], exact.grad[0, 0])  # type: ignore[index]


def test_gradient_check_detects_a_biased_gradient() -> None:
    """A surrogate that passes p's gradient only on sampled keys is biased: caught."""
    q0, k0, v0 = _qkv(B=1, H=1, L=3, N=10, D=2, seed=3)
    M = 3000
    q = q0.expand(M, -1, -1, -1).clone().requires_grad_()
    qe = q0.clone().requires_grad_()
    sdpa(qe, k0, v0).sum().backward()
    p = torch.softmax(q @ k0.transpose(-1, -2) / np.sqrt(2), -1)
    W = qtcore.get_sampler("multinomial").sample_weights(
        p.detach(), 3, generator=torch.Generator().manual_seed(0)
    )
    (W + (p - p.detach()) * (W > 0)).matmul(v0).sum().backward()
    with pytest.raises(AssertionError, match="biased"):
        _z_test(q.grad[:, 0], qe.grad[0, 0])  # type: ignore[index]


def test_reproducible_with_a_generator() -> None:
    q, k, v = _qkv()
    a = sampled_attention(q, k, v, num_samples=3, generator=torch.Generator().manual_seed(9))
    b = sampled_attention(q, k, v, num_samples=3, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


class CountingBackend(qtcore.ReferenceBackend):
    """The reference backend, counting sample_distributions calls."""

    calls = 0

    def sample_distributions(self, P, **kw):  # type: ignore[no-untyped-def]
        CountingBackend.calls += 1
        return super().sample_distributions(P, **kw)


def test_backend_rows_go_in_one_batched_call_and_are_unbiased() -> None:
    q, k, v = _qkv(B=1, H=1, L=3, N=5, D=2)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[0, 3:] = False
    mask[2] = False  # a fully masked row
    M = 3000
    backend = CountingBackend()
    CountingBackend.calls = 0
    out, W = sampled_attention(
        q.expand(M, -1, -1, -1),
        k,
        v,
        mask,
        backend=backend,
        num_samples=8,
        seed=5,
        return_weights=True,
    )
    assert CountingBackend.calls == 1
    counts = W * 8
    assert torch.allclose(counts, counts.round())  # W = counts / S
    assert bool(W[..., 0, 3:].eq(0).all()) and bool(out[..., 2, :].eq(0).all())
    _z_test(out[:, 0, :2], sdpa(q, k, v, attn_mask=mask)[0, 0, :2])
    again = sampled_attention(q, k, v, mask, backend=backend, num_samples=8, seed=5)
    assert torch.equal(
        again, sampled_attention(q, k, v, mask, backend=backend, num_samples=8, seed=5)
    )


def test_backend_by_name_with_noise_projects_onto_the_support() -> None:
    q, k, v = _qkv(B=1, H=2, L=4, N=3, D=2)
    mask = torch.tensor([[True, True, False]] * 4)
    noise = qtcore.NoiseModel(depolarizing_1q=0.05, readout=0.05)
    _, W = sampled_attention(
        q,
        k,
        v,
        mask,
        backend="reference",
        num_samples=64,
        noise=noise,
        seed=1,
        return_weights=True,
    )
    assert bool(W[..., 2].eq(0).all())  # the masked key, and the padding outcome, dropped
    assert bool((W.sum(-1) <= 1 + 1e-12).all())


def test_hybrid_falls_back_with_one_warning() -> None:
    q, k, v = _qkv(N=3000, L=2, B=1, H=2)
    with pytest.raises(qtcore.CapabilityError, match="hybrid=True"):
        sampled_attention(q, k, v, backend="reference", num_samples=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sampled_attention(q, k, v, backend="reference", num_samples=8, hybrid=True)
    assert [w.category for w in caught] == [HybridFallbackWarning]
    assert "multinomial" in str(caught[0].message)
    assert out.shape == (1, 2, 2, 4) and bool(out.isfinite().all())


class QuasiMitigator:
    """A fake mitigator: exact probabilities sharpened to 1.5·p − 0.5·uniform.

    Rows sum to 1 and have negative entries wherever p < 1/(3·2ⁿ): the shape of a ZNE
    extrapolation's output.
    """

    name = "fake.quasi"

    def run(self, backend, circuits, *, shots, seed=None, noise=None):  # type: ignore[no-untyped-def]
        probs = qtcore.ReferenceBackend().probabilities(circuits)
        return 1.5 * probs - 0.5 / probs.shape[1]


def test_mitigator_quasi_probabilities_with_negative_entries() -> None:
    q, k, v = (x.requires_grad_() for x in _qkv(B=1, H=2, L=4, N=6, D=3))
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[1, 4:] = False
    out, W = sampled_attention(
        q,
        k,
        v,
        mask,
        backend="reference",
        mitigator=QuasiMitigator(),
        num_samples=16,
        seed=0,
        return_weights=True,
    )
    p = torch.softmax((q @ k.transpose(-1, -2) / np.sqrt(3)).masked_fill(~mask, -torch.inf), -1)
    want = (1.5 * p - 0.5 / 8) * mask  # 8 = 2**3 outcomes; masked keys and padding dropped
    torch.testing.assert_close(W, want.detach())
    assert bool((W < 0).any()), "the fake mitigator must produce negative weights"
    torch.testing.assert_close(out, (want @ v).detach())
    out.sum().backward()
    assert bool(q.grad.isfinite().all()) and bool(k.grad.isfinite().all())  # type: ignore[union-attr]


def test_mitigator_needs_a_backend() -> None:
    q, k, v = _qkv()
    with pytest.raises(qtcore.InvalidInput, match="backend"):
        sampled_attention(q, k, v, mitigator=QuasiMitigator())


@pytest.fixture
def small_blocks(monkeypatch):  # type: ignore[no-untyped-def]
    """Force many query blocks so block boundaries (and causal offsets) are exercised."""
    import qtcore.nn.functional as functional

    monkeypatch.setattr(functional, "BLOCK_ELEMENTS", 40)
    monkeypatch.setattr(functional, "FUSED_BLOCK_ELEMENTS", 40)


@pytest.mark.parametrize("kind", MASKS)
def test_blockwise_path_with_full_budget_is_exact(kind: str, small_blocks) -> None:  # type: ignore[no-untyped-def]
    from qtcore.nn.functional import blockwise_sampled_attention

    q, k, v = _qkv()
    mask = _mask(kind, 6, 9)
    causal = "causal" in kind
    want = sampled_attention(q, k, v, mask, causal, sampler="exact")
    got = blockwise_sampled_attention(
        q, k, v, mask, causal, sampler=qtcore.get_sampler("topk"), num_samples=9
    )
    torch.testing.assert_close(got, want)
    with torch.no_grad():  # sampled_attention takes this path at inference
        torch.testing.assert_close(sampled_attention(q, k, v, mask, causal, num_samples=9), want)


@pytest.mark.parametrize("name", SAMPLERS)
def test_blockwise_path_is_unbiased(name: str, small_blocks) -> None:  # type: ignore[no-untyped-def]
    q, k, v = _qkv(B=1, H=1, L=3, N=12, D=2)
    mask = torch.ones(3, 12, dtype=torch.bool).tril(4)
    M = 4000
    with torch.no_grad():
        outs = sampled_attention(
            q.expand(M, -1, -1, -1),
            k,
            v,
            mask,
            sampler=name,
            num_samples=4,
            generator=torch.Generator().manual_seed(3),
        )
    _z_test(outs, sdpa(q, k, v, attn_mask=mask)[0])


@pytest.mark.parametrize("kind", ["none", "bool", "padding", "causal"])
def test_value_aware_weights_come_back_in_the_original_key_order(kind: str) -> None:
    q, k, v = _qkv(N=12)
    mask = _mask(kind, 6, 12)
    causal = kind == "causal"
    out, W = sampled_attention(
        q,
        k,
        v,
        mask,
        causal,
        sampler="topk",
        num_samples=5,
        return_weights=True,
        generator=torch.Generator().manual_seed(3),
    )
    torch.testing.assert_close(out, W @ v)  # W indexes the caller's keys, not the permuted ones
    if mask is not None:
        allowed = mask if mask.dtype == torch.bool else mask == 0
        assert bool((W.masked_fill(allowed, 0) == 0).all())
    if causal:
        assert bool((W.masked_fill(torch.ones(6, 12, dtype=torch.bool).tril(), 0) == 0).all())


def test_value_aware_topk_is_unbiased_with_a_padding_mask() -> None:
    # Rows of 12 keys, S = 3: the value-aware sizes and order change the design; E[W] = p
    # must hold in the caller's key order. z-test per entry, false-failure rate ≤ 1e-6.
    q, k, v = _qkv(B=1, H=2, L=3, N=12)
    mask = _mask("padding", 3, 12)[1:]  # (1, 1, 1, N): the last 3 keys are padding
    p = qtcore.nn.functional.attention_probabilities(q, k, mask)
    M = 3000  # independent draws, as one batch: rows of a batch are sampled independently
    _, W = sampled_attention(
        q.expand(M, -1, -1, -1),
        k.expand(M, -1, -1, -1),
        v.expand(M, -1, -1, -1),
        mask,
        sampler="topk",
        num_samples=3,
        generator=torch.Generator().manual_seed(11),
        return_weights=True,
    )
    draws = W
    _z_test(draws, p[0])


def test_value_aware_design_lowers_the_error_on_clustered_values() -> None:
    # Values in two far-apart clusters: sizes ∝ ‖v − v̄‖ and the principal-direction order
    # make every systematic sample take both clusters in proportion. Fixed seeds; the
    # measured error ratio is about 0.4, asserted with a wide margin (< 0.8).
    g = torch.Generator().manual_seed(5)
    q = torch.randn(1, 2, 64, 16, generator=g, dtype=torch.float64)
    k = torch.randn(1, 2, 256, 16, generator=g, dtype=torch.float64)
    side = torch.where(torch.rand(1, 2, 256, 1, generator=g) < 0.5, 1.0, -1.0)
    v = 4 * side + 0.3 * torch.randn(1, 2, 256, 8, generator=g, dtype=torch.float64)
    exact = sdpa(q, k, v)

    def error(sampler: object) -> float:
        gen = torch.Generator().manual_seed(0)
        outs = [
            sampled_attention(q, k, v, sampler=sampler, num_samples=16, generator=gen)
            for _ in range(20)
        ]
        return float(sum((o - exact).square().sum() for o in outs))

    ratio = error("topk") / error(qtcore.sampling.TopKSampler(value_aware=False))
    assert ratio < 0.8, ratio


def test_nearest_neighbour_path_walks_a_line_end_to_end() -> None:
    from qtcore.nn.functional import _nearest_neighbour_path

    g = torch.Generator().manual_seed(0)
    positions = torch.randperm(40, generator=g).double()
    points = torch.stack([positions, torch.zeros(40, dtype=torch.float64)], -1)
    path = _nearest_neighbour_path(points[None, None])[0, 0]
    walked = positions[path]
    assert sorted(path.tolist()) == list(range(40))  # a permutation
    steps = walked.diff().abs()
    assert bool((steps == 1).all()), walked  # from one end to the other, no jumps


@pytest.mark.parametrize("N", [20, 300])
def test_value_design_order_is_a_permutation_shared_by_every_query(N: int) -> None:
    """Up to TOUR_KEYS keys the nearest-neighbour path, above the angle order: both are
    permutations of the keys, functions of V alone (same V, same order)."""
    from qtcore.nn.functional import TOUR_KEYS, ValueDesign

    v = torch.randn(2, 3, N, 8, generator=torch.Generator().manual_seed(N))
    a, b = ValueDesign(v, ordered=True), ValueDesign(v.clone(), ordered=True)
    assert a.order is not None and b.order is not None
    assert torch.equal(a.order, b.order)
    assert torch.equal(a.order.sort(-1).values, torch.arange(N).expand(2, 3, N))
    assert (N <= TOUR_KEYS) == (N == 20)


# ----------------------------------------------------------------------------------------
# topk's exact low-rank control (ValueDesign with control_rank)


def _low_rank_values(N: int, Ev: int, rank: int, seed: int) -> torch.Tensor:
    """(1, 2, N, Ev) values = a per-head mean plus ``rank`` directions: inside the control's
    span when rank ≤ the control's rank."""
    g = torch.Generator().manual_seed(seed)
    coords = torch.randn(1, 2, N, rank, generator=g, dtype=torch.float64)
    dirs = torch.randn(1, 2, rank, Ev, generator=g, dtype=torch.float64)
    return coords @ dirs + torch.randn(1, 2, 1, Ev, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("path", ["dense", "blockwise-torch", "fused"])
def test_control_makes_values_in_its_span_exact(path: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Values spanned by their mean and 3 directions, control rank 4 (Ev = 16): every
    residual is zero, so one sample per row gives exact attention on every path, with a key
    padding mask (the control over the visible keys only) and without."""
    from qtcore.nn import native
    from qtcore.sampling import TopKSampler

    dtype = torch.float32 if path == "fused" else torch.float64
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, 2, 30, 16, generator=g, dtype=torch.float64).to(dtype)
    k = torch.randn(1, 2, 50, 16, generator=g, dtype=torch.float64).to(dtype)
    v = _low_rank_values(50, 16, 3, seed=1).to(dtype)
    pad = torch.ones(1, 1, 1, 50, dtype=torch.bool)
    pad[..., 40:] = False
    # Padded keys' values off the span: they must not enter the control.
    v_pad = v.clone()
    v_pad[..., 40:, :] = 100.0 * torch.randn(1, 2, 10, 16, generator=g).to(dtype)
    if path == "blockwise-torch":
        monkeypatch.setattr(native, "_state", {"lib": None, "status": "off for a test"})
    sampler = TopKSampler(control_rank=4)
    for values, mask in ((v, None), (v_pad, pad)):
        want = sdpa(q, k, values, attn_mask=mask)
        with torch.no_grad():
            got = sampled_attention(
                q, k, values, mask, sampler=sampler, num_samples=1,
                return_weights=path == "dense", generator=torch.Generator().manual_seed(3),
            )  # fmt: skip
        out = got[0] if path == "dense" else got
        tol = 1e-9 if dtype == torch.float64 else 2e-4
        torch.testing.assert_close(out, want, atol=tol, rtol=tol)
        if path == "dense":
            W = got[1]
            torch.testing.assert_close(W @ values, out, atol=1e-9, rtol=1e-9)
            if mask is not None:
                assert bool(W[..., 40:].eq(0).all())  # padded keys get no weight
    # The same values without the control are really sampled: the test can fail.
    with torch.no_grad():
        plain = sampled_attention(q, k, v, sampler=TopKSampler(control_rank=0), num_samples=1)
    assert float((plain - sdpa(q, k, v)).abs().max()) > 1e-2


@pytest.mark.parametrize("kind", ["none", "padding", "float"])
def test_control_weights_are_unbiased_and_give_the_output(kind: str) -> None:
    """E[W'] = p for the dense weights the control reports (z-test per entry, M = 3000
    draws, false-failure rate ≤ ALPHA), and W'·V equals the output draw by draw."""
    q, k, v = _qkv(B=1, H=1, L=3, N=12, D=8, seed=5)
    mask = _mask(kind, 3, 12)
    if kind == "padding":
        mask = mask[1:]  # the batch element with 3 padded keys
    M = 3000
    out, W = sampled_attention(
        q.expand(M, -1, -1, -1), k, v, mask, sampler="topk", num_samples=3,
        generator=torch.Generator().manual_seed(6), return_weights=True,
    )  # fmt: skip
    torch.testing.assert_close(W @ v, out, atol=1e-10, rtol=1e-10)
    p = torch.softmax(
        (q @ k.transpose(-1, -2)) / np.sqrt(8)
        + (0 if mask is None else mask if mask.dtype != torch.bool else
           torch.zeros(mask.shape, dtype=torch.float64).masked_fill(~mask, float("-inf"))),
        dim=-1,
    )[0]  # fmt: skip
    assert int((W[0] != 0).sum(-1).max()) > 3  # dense: the control is on
    _z_test(W[:, 0], p[0])
    _z_test(out[:, 0], sdpa(q, k, v, attn_mask=mask)[0, 0])


@pytest.mark.parametrize("kind", ["causal", "bool"])
def test_control_stays_off_when_rows_see_different_keys(kind: str) -> None:
    """Under is_causal or a row-dependent mask the reported weights stay the S sampled keys
    (a control over all keys would put weight on keys a row may not see)."""
    q, k, v = _qkv(D=8)
    mask = _mask(kind, 6, 9)
    _, W = sampled_attention(
        q, k, v, mask, kind == "causal", sampler="topk", num_samples=4, return_weights=True,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert int((W != 0).sum(-1).max()) <= 4


def test_control_lowers_the_error_on_structured_values() -> None:
    """Values near a 4-dimensional span plus small noise (Ev = 32): the control removes the
    span, so the error at S = 8 falls several-fold against control_rank=0 (fixed seeds;
    measured ratio about 0.2)."""
    from qtcore.sampling import TopKSampler

    g = torch.Generator().manual_seed(2)
    q, k = (torch.randn(1, 2, 64, 32, generator=g) for _ in range(2))
    v = _low_rank_values(64, 32, 4, seed=3).float()
    v = v + 0.05 * torch.randn(v.shape, generator=g)
    want = sdpa(q, k, v)
    errors = {}
    for rank in (0, 4):
        with torch.no_grad():
            out = sampled_attention(
                q, k, v, sampler=TopKSampler(control_rank=rank), num_samples=8,
                generator=torch.Generator().manual_seed(4),
            )  # fmt: skip
        errors[rank] = float((out - want).norm() / want.norm())
    assert errors[4] < 0.5 * errors[0], errors


def test_control_rank_must_be_a_non_negative_int() -> None:
    from qtcore.sampling import TopKSampler

    for bad in (-1, 1.5, True, "4"):
        with pytest.raises(qtcore.InvalidInput, match="control_rank"):
            TopKSampler(control_rank=bad)  # type: ignore[arg-type]
