"""QuantumMultiheadAttention is a drop-in for torch.nn.MultiheadAttention."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import qtcore
from qtcore.nn import QuantumMultiheadAttention
from qtcore.sampling import TopKSampler

E, H, L, S, B = 16, 4, 5, 7, 3


def _pair(**kwargs):  # type: ignore[no-untyped-def]
    """An nn.MultiheadAttention and an exact QuantumMultiheadAttention with its state_dict."""
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(E, H, **kwargs).eval()
    if kwargs.get("add_bias_kv"):
        with torch.no_grad():  # PyTorch initialises bias_k/bias_v with xavier: keep them
            ref.bias_k.normal_()
            ref.bias_v.normal_()
    ours = QuantumMultiheadAttention(E, H, sampler="exact", **kwargs).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def _inputs(batch_first: bool, kdim: int = E, vdim: int = E):  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(1)
    shape = (lambda n, d: (B, n, d)) if batch_first else (lambda n, d: (n, B, d))
    return (
        torch.randn(*shape(L, E), generator=g),
        torch.randn(*shape(S, kdim), generator=g),
        torch.randn(*shape(S, vdim), generator=g),
    )


def _masks(kind: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    if kind == "none":
        return {}
    if kind == "attn_bool":
        m = torch.rand(L, S, generator=g) > 0.6
        m[:, 0] = False  # True = masked here (PyTorch's MHA convention); keep one key
        return {"attn_mask": m}
    if kind == "attn_float":
        return {"attn_mask": torch.randn(L, S, generator=g)}
    if kind == "attn_3d":
        m = torch.rand(B * H, L, S, generator=g) > 0.6
        m[..., 0] = False
        return {"attn_mask": m}
    if kind == "key_padding_bool":
        m = torch.zeros(B, S, dtype=torch.bool)
        m[1, 4:] = True
        return {"key_padding_mask": m}
    if kind == "key_padding_float":
        m = torch.zeros(B, S)
        m[2, 5:] = float("-inf")
        return {"key_padding_mask": m}
    if kind == "causal":
        return {
            "attn_mask": nn.Transformer.generate_square_subsequent_mask(S)[:L],
            "is_causal": True,
        }
    if kind == "both":
        return {**_masks("attn_bool"), **_masks("key_padding_bool")}
    raise AssertionError(kind)


MASK_KINDS = [
    "none",
    "attn_bool",
    "attn_float",
    "attn_3d",
    "key_padding_bool",
    "key_padding_float",
    "causal",
    "both",
]


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_exact_mode_matches_multihead_attention(
    kind: str, batch_first: bool, need_weights: bool
) -> None:
    ref, ours = _pair(batch_first=batch_first)
    q, k, v = _inputs(batch_first)
    masks = _masks(kind)
    with torch.no_grad():
        want, want_w = ref(q, k, v, need_weights=need_weights, **masks)
        got, got_w = ours(q, k, v, need_weights=need_weights, **masks)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    if need_weights:
        torch.testing.assert_close(got_w, want_w, atol=1e-6, rtol=1e-5)
    else:
        assert got_w is None and want_w is None


@pytest.mark.parametrize(
    "options",
    [
        {"kdim": 6, "vdim": 10},
        {"kdim": 6, "vdim": 10, "bias": False},
        {"add_bias_kv": True},
        {"add_zero_attn": True},
        {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6, "vdim": 10},
    ],
    ids=["kdim_vdim", "no_bias", "bias_kv", "zero_attn", "all"],
)
@pytest.mark.parametrize("batch_first", [False, True])
def test_exact_mode_matches_with_constructor_options(options: dict, batch_first: bool) -> None:
    ref, ours = _pair(batch_first=batch_first, **options)
    q, k, v = _inputs(batch_first, options.get("kdim", E), options.get("vdim", E))
    masks = {**_masks("attn_bool"), **_masks("key_padding_bool")}
    with torch.no_grad():
        want = ref(q, k, v, average_attn_weights=False, **masks)
        got = ours(q, k, v, average_attn_weights=False, **masks)
    torch.testing.assert_close(got[0], want[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got[1], want[1], atol=1e-6, rtol=1e-5)


def test_unbatched_input_matches() -> None:
    ref, ours = _pair()
    q, k, v = (x[:, 0] for x in _inputs(False))
    with torch.no_grad():
        want, want_w = ref(q, k, v, key_padding_mask=torch.tensor([False] * 6 + [True]))
        got, got_w = ours(q, k, v, key_padding_mask=torch.tensor([False] * 6 + [True]))
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_w, want_w)


def test_is_instance_and_state_dict_round_trip() -> None:
    ref, ours = _pair(kdim=6, vdim=10)
    assert isinstance(ours, nn.MultiheadAttention)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    back = nn.MultiheadAttention(E, H, kdim=6, vdim=10)
    back.load_state_dict(ours.state_dict(), strict=True)


def test_sampled_module_is_close_and_masks_hold() -> None:
    ref, _ = _pair(batch_first=True)
    ours = QuantumMultiheadAttention(
        E, H, batch_first=True, sampler="topk", num_samples=4, seed=0
    ).eval()
    ours.load_state_dict(ref.state_dict())
    q, k, v = _inputs(True)
    kpm = _masks("key_padding_bool")["key_padding_mask"]
    with torch.no_grad():
        out, w = ours(q, k, v, key_padding_mask=kpm, average_attn_weights=False)
        want, _ = ref(q, k, v, key_padding_mask=kpm)
    assert bool(w[1, :, :, 4:].eq(0).all())  # padded keys never weighted
    # topk's control makes the reported weights dense (W' = W + (p − W)·Φ·Φ⁺); without it
    # they are the S = 4 sampled keys.
    sparse = QuantumMultiheadAttention(
        E, H, batch_first=True, sampler=TopKSampler(control_rank=0), num_samples=4, seed=0
    ).eval()
    sparse.load_state_dict(ref.state_dict())
    with torch.no_grad():
        _, w0 = sparse(q, k, v, key_padding_mask=kpm, average_attn_weights=False)
    assert bool(w0[1, :, :, 4:].eq(0).all())
    assert int((w0 != 0).sum(-1).max()) <= 4 < int((w != 0).sum(-1).max())
    rel = (out - want).norm() / want.norm()
    assert rel < 1.0 and bool(out.isfinite().all())
    ours_big = QuantumMultiheadAttention(E, H, batch_first=True, num_samples=S).eval()
    ours_big.load_state_dict(ref.state_dict())
    with torch.no_grad():  # a budget of S ≥ keys: every key is certain, the result exact
        torch.testing.assert_close(
            ours_big(q, k, v, key_padding_mask=kpm)[0], want, atol=1e-5, rtol=1e-5
        )


def test_fully_masked_row_gives_zeros_where_pytorch_gives_nan() -> None:
    ref, ours = _pair(batch_first=True)
    q, k, v = _inputs(True)
    kpm = torch.zeros(B, S, dtype=torch.bool)
    kpm[0] = True
    with torch.no_grad():
        got, _ = ours(q, k, v, key_padding_mask=kpm)
    want_other, _ = ref(q[1:], k[1:], v[1:])
    assert bool(got.isfinite().all())
    # The masked batch element attends to nothing: only the output projection's bias is left.
    torch.testing.assert_close(got[0], ours.out_proj.bias.expand(L, E).detach())
    torch.testing.assert_close(got[1:], want_other.detach(), atol=1e-5, rtol=1e-5)


def test_gradients_reach_queries_and_keys_when_sampling() -> None:
    torch.manual_seed(3)
    attn = QuantumMultiheadAttention(
        E, H, batch_first=True, sampler="stratified", num_samples=3, seed=1, dropout=0.1
    ).train()
    q, k, v = _inputs(True)
    out, _ = attn(q, k, v)
    out.square().mean().backward()
    g = attn.in_proj_weight.grad
    assert g is not None and bool(g.isfinite().all())
    assert float(g[:E].abs().sum()) > 0 and float(g[E : 2 * E].abs().sum()) > 0  # Q and K


def test_backend_and_shots_alias() -> None:
    ref, _ = _pair(batch_first=True)
    attn = QuantumMultiheadAttention(E, H, batch_first=True, backend="reference", shots=16)
    attn.load_state_dict(ref.state_dict())
    assert attn.num_samples == 16 and "shots=16" in repr(attn)
    q, k, v = _inputs(True)
    _, w = attn(q, k, v, average_attn_weights=False)
    counts = w * 16
    assert torch.allclose(counts, counts.round(), atol=1e-5)
    with pytest.raises(qtcore.InvalidInput):
        QuantumMultiheadAttention(E, H, num_samples=8, shots=16)
