"""qtcore.models.quantum_gpt: sizes, seeding, generate() with and without the KV cache."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")

import qtcore  # noqa: E402
from qtcore.models import SIZES, quantum_gpt, use_quantum_attention  # noqa: E402
from qtcore.sampling import TopKSampler  # noqa: E402

V = 48
SMALL = {"n_embd": 32, "n_head": 4}  # test-sized width; the layout is still GPT-2's


def _spy(model: torch.nn.Module) -> list[tuple[int, int, torch.Tensor]]:
    """Record (L, N, W) for every attention call of ``model`` (its registered function)."""
    from transformers import AttentionInterface

    name = model.config._attn_implementation
    inner = AttentionInterface()[name]
    calls: list[tuple[int, int, torch.Tensor]] = []

    def spy(module, query, key, value, mask, **kwargs):  # type: ignore[no-untyped-def]
        out, W = inner(module, query, key, value, mask, **{**kwargs, "output_attentions": True})
        calls.append((query.shape[2], key.shape[2], W))
        return out, None

    AttentionInterface.register(name, spy)
    return calls


@pytest.mark.parametrize("size", sorted(SIZES))
def test_sizes_are_gpt2_layouts(size: str) -> None:
    """Config only for every size (the 124M model itself is built on the GPU machine)."""
    fields = SIZES[size]
    assert fields["n_embd"] % fields["n_head"] == 0
    if size == "124m":
        assert (fields["n_layer"], fields["n_embd"], fields["n_head"]) == (12, 768, 12)


def test_tiny_model_is_the_documented_size() -> None:
    with torch.device("meta"):  # shapes only: no 6.9 M random numbers drawn
        model = quantum_gpt("tiny", seed=0)
    assert isinstance(model, transformers.GPT2LMHeadModel)
    cfg = model.config
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_positions, cfg.vocab_size) == (
        2,
        128,
        4,
        256,
        50257,
    )
    assert cfg.eos_token_id == 50256  # GPT-2's own ids are kept at the full vocabulary
    n = sum(p.numel() for p in model.parameters())
    assert round(n / 1e6, 1) == 6.9  # the number in qtcore.models' table
    assert model.config._attn_implementation == model.qtcore_attention.name
    assert model.qtcore_attention.sampler == "topk" and model.qtcore_attention.num_samples == 32


def test_overrides_small_vocab_and_errors() -> None:
    model = quantum_gpt("small", vocab_size=V, n_positions=64, n_layer=1, attn="sdpa")
    cfg = model.config
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_positions) == (1, 384, 6, 64)
    assert cfg.eos_token_id == cfg.bos_token_id == V - 1
    assert cfg._attn_implementation == "sdpa" and not hasattr(model, "qtcore_attention")
    with pytest.raises(qtcore.InvalidInput, match="unknown size"):
        quantum_gpt("huge")
    with pytest.raises(qtcore.InvalidInput, match="flash"):
        quantum_gpt("tiny", attn="flash")
    with pytest.raises(qtcore.InvalidInput, match="divisible"):
        quantum_gpt("tiny", n_head=5)


def test_seed_fixes_weights_and_draws_without_touching_global_rng() -> None:
    ids = torch.randint(0, V, (2, 40), generator=torch.Generator().manual_seed(0))
    state = torch.get_rng_state()
    a, b, c = (
        quantum_gpt("tiny", vocab_size=V, num_samples=4, seed=s, **SMALL).eval() for s in (3, 3, 4)
    )
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    with torch.no_grad():
        la, lb = a(ids).logits, b(ids).logits
    torch.testing.assert_close(la, lb, atol=0, rtol=0)  # same seed: same weights, same draws
    assert not torch.equal(a.transformer.wte.weight, c.transformer.wte.weight)


def test_exact_qtcore_equals_sdpa() -> None:
    ids = torch.randint(0, V, (2, 20), generator=torch.Generator().manual_seed(1))
    ours = quantum_gpt("tiny", vocab_size=V, sampler="exact", seed=0, **SMALL).eval()
    ref = quantum_gpt("tiny", vocab_size=V, attn="sdpa", seed=0, **SMALL).eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, ref(ids).logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padded", [False, True])
def test_generate_exact_with_and_without_cache_gives_identical_tokens(padded: bool) -> None:
    model = quantum_gpt("tiny", vocab_size=V, sampler="exact", seed=0, **SMALL).eval()
    prompt = torch.randint(0, V - 1, (3, 6), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(prompt)
    if padded:
        mask[1, :2] = 0
        mask[2, :4] = 0  # left padding, as generation of a batch needs
    kwargs = {"attention_mask": mask, "max_new_tokens": 12, "do_sample": False}
    cached = model.generate(prompt, use_cache=True, pad_token_id=V - 1, **kwargs)
    uncached = model.generate(prompt, use_cache=False, pad_token_id=V - 1, **kwargs)
    assert cached.shape == (3, 18)
    assert torch.equal(cached, uncached)
    model.set_attn_implementation("sdpa")
    assert torch.equal(cached, model.generate(prompt, pad_token_id=V - 1, **kwargs))


def test_prefill_after_a_cache_is_bottom_right_causal() -> None:
    """Several new tokens after a cache (L=3 < N=8): each sees the cache and earlier new ones."""
    model = quantum_gpt("tiny", vocab_size=V, sampler="exact", seed=0, **SMALL).eval()
    ids = torch.randint(0, V, (2, 8), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model(ids).logits
        first = model(ids[:, :5], use_cache=True)
        rest = model(ids[:, 5:], past_key_values=first.past_key_values, use_cache=True)
    torch.testing.assert_close(rest.logits, full[:, 5:], atol=1e-5, rtol=1e-5)


def test_sampled_decode_steps_sample_over_the_cached_keys() -> None:
    S = 4
    # Without topk's control, whose reported weights are dense (W + (p − W)·Φ·Φ⁺), the
    # weights show the sample itself: S of the cached keys.
    sampler = TopKSampler(control_rank=0)
    model = quantum_gpt(
        "tiny", vocab_size=V, sampler=sampler, num_samples=S, seed=0, **SMALL
    ).eval()
    calls = _spy(model)
    prompt = torch.randint(0, V - 1, (2, 10), generator=torch.Generator().manual_seed(4))
    out = model.generate(prompt, max_new_tokens=6, do_sample=False, pad_token_id=V - 1)
    assert out.shape == (2, 16)
    layers = model.config.n_layer
    assert [(L, N) for L, N, _ in calls[:layers]] == [(10, 10)] * layers  # prefill
    decode = calls[layers:]
    assert [(L, N) for L, N, _ in decode] == [(1, 10 + i) for i in range(1, 6) for _ in range(2)]
    for _, N, W in decode:
        assert W.shape == (2, SMALL["n_head"], 1, N)
        support = (W > 0).sum(-1)
        assert int(support.max()) <= S < N  # only S of the N cached keys carry weight
        assert bool((W >= 0).all()) and bool((W.sum(-1) > 0).all())


def test_sampled_generation_depends_on_the_seed_and_differs_from_exact() -> None:
    prompt = torch.randint(0, V - 1, (4, 24), generator=torch.Generator().manual_seed(5))
    logits = {}
    variants = {"exact": {"sampler": "exact"}, "s0": {"seed": 0}, "s1": {"seed": 1}}
    for key, kwargs in variants.items():
        model = quantum_gpt("tiny", vocab_size=V, num_samples=2, **SMALL, **kwargs)
        model.load_state_dict(quantum_gpt("tiny", vocab_size=V, seed=9, **SMALL).state_dict())
        with torch.no_grad():
            logits[key] = model.eval()(prompt).logits
    assert float((logits["s0"] - logits["exact"]).abs().max()) > 1e-3
    assert float((logits["s0"] - logits["s1"]).abs().max()) > 1e-3


def test_switch_between_exact_and_sampled_attention() -> None:
    model = quantum_gpt("tiny", vocab_size=V, attn="sdpa", seed=0, **SMALL).eval()
    ids = torch.randint(0, V, (1, 30), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        exact = model(ids).logits
        first = use_quantum_attention(model, sampler="stratified", num_samples=2, seed=0)
        sampled = model(ids).logits
        second = use_quantum_attention(model, sampler="exact")
        again = model(ids).logits
    assert first.name != second.name  # each call registers its own implementation
    assert model.qtcore_attention is second
    assert float((sampled - exact).abs().max()) > 1e-3
    torch.testing.assert_close(again, exact, atol=1e-5, rtol=1e-5)


def test_quantum_backend_attention_in_gpt() -> None:
    """Shots on the reference simulator (rows of N ≤ 8 keys = 3 qubits)."""
    model = quantum_gpt(
        "tiny", vocab_size=V, backend="reference", num_samples=16, seed=0, n_layer=1, **SMALL
    ).eval()
    ids = torch.randint(0, V, (1, 8), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        a, b = model(ids).logits, model(ids).logits
        model.set_attn_implementation("sdpa")
        exact = model(ids).logits
    assert torch.isfinite(a).all() and float((a - b).abs().max()) > 0  # fresh shots per call
    assert float((a - exact).abs().max()) > 1e-4


def test_save_and_load_pretrained_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = quantum_gpt("tiny", vocab_size=V, sampler="exact", seed=0, **SMALL).eval()
    model.save_pretrained(tmp_path)
    name = model.qtcore_attention.name
    loaded = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, attn_implementation=name)
    assert loaded.config._attn_implementation == name
    ids = torch.randint(0, V, (2, 11), generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(ids).logits, model(ids).logits)
