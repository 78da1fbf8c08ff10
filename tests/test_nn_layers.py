"""QuantumTransformerEncoderLayer / DecoderLayer: parity with torch's layers, sampling is real."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch
from torch import nn

from qtcore.nn import (
    QuantumMultiheadAttention,
    QuantumTransformerDecoderLayer,
    QuantumTransformerEncoderLayer,
)

E, H, FF = 16, 4, 32
L, S_MEM, B = 7, 5, 3

LAYOUTS = list(itertools.product([True, False], [True, False]))  # batch_first, norm_first


def _inputs(batch_first: bool, length: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, length, E, generator=g)
    return x if batch_first else x.transpose(0, 1).contiguous()


def _padding(length: int, as_float: bool) -> torch.Tensor:
    """Padding on the last keys of two rows; every row keeps at least one key."""
    pad = torch.zeros(B, length, dtype=torch.bool)
    pad[1, -2:] = True
    pad[2, -1:] = True
    return pad.float().masked_fill(pad, float("-inf")) if as_float else pad


def _square_mask(length: int, kind: str) -> torch.Tensor | None:
    g = torch.Generator().manual_seed(3)
    if kind == "none":
        return None
    if kind == "causal":
        return nn.Transformer.generate_square_subsequent_mask(length)
    banned = torch.rand(length, length, generator=g) < 0.3
    banned.fill_diagonal_(False)  # every query keeps one key: torch gives NaN otherwise
    if kind == "bool":
        return banned
    bias = torch.randn(length, length, generator=g)  # "float": an additive bias, not just ±inf
    return bias.masked_fill(banned, float("-inf"))


def _pair_encoder(
    batch_first: bool, norm_first: bool, **kwargs: object
) -> tuple[nn.TransformerEncoderLayer, QuantumTransformerEncoderLayer]:
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(
        E, H, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first
    )
    ours = QuantumTransformerEncoderLayer(
        E, H, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first, **kwargs
    )
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _pair_decoder(
    batch_first: bool, norm_first: bool, **kwargs: object
) -> tuple[nn.TransformerDecoderLayer, QuantumTransformerDecoderLayer]:
    torch.manual_seed(0)
    ref = nn.TransformerDecoderLayer(
        E, H, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first
    )
    ours = QuantumTransformerDecoderLayer(
        E, H, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first, **kwargs
    )
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def test_state_dicts_and_modules_match_torch() -> None:
    for ref, ours in (_pair_encoder(True, False), _pair_decoder(False, True)):
        assert list(ref.state_dict()) == list(ours.state_dict())
        assert isinstance(ours, type(ref))
        assert isinstance(ours.self_attn, QuantumMultiheadAttention)
    assert isinstance(_pair_decoder(True, True)[1].multihead_attn, QuantumMultiheadAttention)


@pytest.mark.filterwarnings("ignore:Support for mismatched src_key_padding_mask")
@pytest.mark.parametrize("batch_first,norm_first", LAYOUTS)
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("padding", [None, "bool", "float"])
def test_encoder_exact_matches_torch(
    batch_first: bool, norm_first: bool, mask_kind: str, padding: str | None
) -> None:
    ref, ours = _pair_encoder(batch_first, norm_first, sampler="exact")
    x = _inputs(batch_first, L, seed=1)
    mask = _square_mask(L, mask_kind)
    kpm = None if padding is None else _padding(L, padding == "float")
    if mask is not None and kpm is not None and mask.dtype != kpm.dtype:
        kpm = kpm.float().masked_fill(kpm, float("-inf")) if kpm.dtype == torch.bool else kpm
    kwargs = {"src_mask": mask, "src_key_padding_mask": kpm, "is_causal": mask_kind == "causal"}
    for train in (False, True):  # eval (torch's fused fast path) and training (composed path)
        ref.train(train), ours.train(train)
        want, got = ref(x, **kwargs), ours(x, **kwargs)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("batch_first,norm_first", LAYOUTS)
def test_encoder_exact_gradients_match_torch(batch_first: bool, norm_first: bool) -> None:
    ref, ours = _pair_encoder(batch_first, norm_first, sampler="exact")
    x = _inputs(batch_first, L, seed=2)
    kpm = _padding(L, as_float=False)
    ref(x, src_key_padding_mask=kpm).square().sum().backward()
    ours(x, src_key_padding_mask=kpm).square().sum().backward()
    grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name
        torch.testing.assert_close(p.grad, grads[name].grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("batch_first,norm_first", LAYOUTS)
@pytest.mark.parametrize("tgt_kind", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("padding", [None, "bool", "float"])
def test_decoder_exact_matches_torch(
    batch_first: bool, norm_first: bool, tgt_kind: str, padding: str | None
) -> None:
    ref, ours = _pair_decoder(batch_first, norm_first, sampler="exact")
    tgt, memory = _inputs(batch_first, L, seed=4), _inputs(batch_first, S_MEM, seed=5)
    g = torch.Generator().manual_seed(6)
    memory_mask = torch.rand(L, S_MEM, generator=g) < 0.3
    memory_mask[:, 0] = False  # every query keeps one memory key
    tgt_mask = _square_mask(L, tgt_kind)
    tgt_kpm = mem_kpm = None
    if padding is not None:
        tgt_kpm, mem_kpm = _padding(L, padding == "float"), _padding(S_MEM, padding == "float")
        if padding == "float":  # torch wants one mask dtype per attention call
            memory_mask = torch.zeros(L, S_MEM).masked_fill(memory_mask, float("-inf"))
            if tgt_mask is not None and tgt_mask.dtype == torch.bool:
                tgt_mask = torch.zeros(L, L).masked_fill(tgt_mask, float("-inf"))
        elif tgt_mask is not None and tgt_mask.dtype != torch.bool:
            tgt_kpm = tgt_kpm.float().masked_fill(tgt_kpm, float("-inf"))
    kwargs = {
        "tgt_mask": tgt_mask,
        "memory_mask": memory_mask,
        "tgt_key_padding_mask": tgt_kpm,
        "memory_key_padding_mask": mem_kpm,
        "tgt_is_causal": tgt_kind == "causal",
    }
    for train in (False, True):
        ref.train(train), ours.train(train)
        torch.testing.assert_close(
            ours(tgt, memory, **kwargs), ref(tgt, memory, **kwargs), atol=1e-5, rtol=1e-5
        )


def test_decoder_exact_gradients_match_torch() -> None:
    ref, ours = _pair_decoder(True, False, sampler="exact")
    tgt, memory = _inputs(True, L, seed=7), _inputs(True, S_MEM, seed=8)
    causal = nn.Transformer.generate_square_subsequent_mask(L)
    ref(tgt, memory, tgt_mask=causal).square().sum().backward()
    ours(tgt, memory, tgt_mask=causal).square().sum().backward()
    grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name
        torch.testing.assert_close(p.grad, grads[name].grad, atol=1e-5, rtol=1e-4)


def test_encoder_sampled_attention_really_runs_in_eval() -> None:
    """Where torch would take its fused fast path (eval, no grad), sampling still happens."""
    n = 48  # keys per row > S = 4: topk cannot take every key
    ref, exact = _pair_encoder(True, False, sampler="exact")
    x = _inputs(True, n, seed=9)
    outs = {}
    for seed in (0, 0, 1):
        _, layer = _pair_encoder(True, False, num_samples=4, seed=seed)
        with torch.no_grad():
            outs.setdefault(seed, []).append(layer.eval()(x))
    with torch.no_grad():
        want = ref.eval()(x)
        torch.testing.assert_close(exact.eval()(x), want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(outs[0][0], outs[0][1], atol=0, rtol=0)  # same seed, same draw
    assert float((outs[0][0] - want).abs().max()) > 1e-3
    assert float((outs[0][0] - outs[1][0]).abs().max()) > 1e-3
    # The estimate is close to exact on average: the error is sampling noise, not a bug.
    assert float((outs[0][0] - want).norm() / want.norm()) < 0.2


def test_decoder_sampled_attention_differs_from_exact_and_varies_with_seed() -> None:
    ref, _ = _pair_decoder(False, False)
    tgt, memory = _inputs(False, 40, seed=10), _inputs(False, 40, seed=11)
    with torch.no_grad():
        want = ref.eval()(tgt, memory, tgt_is_causal=False)
        got = [
            _pair_decoder(False, False, num_samples=4, seed=s)[1].eval()(tgt, memory)
            for s in (0, 1)
        ]
    assert float((got[0] - want).abs().max()) > 1e-3
    assert float((got[0] - got[1]).abs().max()) > 1e-3


def test_decoder_layer_derives_independent_seeds_for_its_two_attentions() -> None:
    _, layer = _pair_decoder(True, False, num_samples=4, seed=5)
    a, b = layer.self_attn.generator, layer.multihead_attn.generator
    assert a is not None and b is not None
    assert not torch.equal(a.get_state(), b.get_state())


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("batch_first", [True, False])
def test_inside_transformer_encoder_with_nested_fast_path(batch_first: bool) -> None:
    """nn.TransformerEncoder turns padded batches into nested tensors in eval: still exact."""
    torch.manual_seed(0)
    ref_layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=batch_first)
    ours_layer = QuantumTransformerEncoderLayer(
        E, H, FF, dropout=0.0, batch_first=batch_first, sampler="exact"
    )
    ours_layer.load_state_dict(ref_layer.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note about nested tensors and batch_first
        ref = nn.TransformerEncoder(ref_layer, 2).eval()
        ours = nn.TransformerEncoder(ours_layer, 2).eval()
    x = _inputs(batch_first, L, seed=12)
    kpm = _padding(L, as_float=False)
    with torch.no_grad():
        want, got = ref(x, src_key_padding_mask=kpm), ours(x, src_key_padding_mask=kpm)
    keep = ~kpm if batch_first else ~kpm.T
    torch.testing.assert_close(got[keep], want[keep], atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_nested_input_is_padded_and_returned_nested() -> None:
    _, ours = _pair_encoder(True, False, sampler="exact")
    rows = [torch.randn(5, E), torch.randn(3, E)]
    with torch.no_grad():
        nested = ours.eval()(torch.nested.nested_tensor(rows))
        alone = [ours(r[None])[0] for r in rows]
    assert nested.is_nested
    for got, want in zip(nested.unbind(), alone):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_gelu_and_callable_activations_carry_over() -> None:
    x = _inputs(True, L, seed=13)
    for activation in ("gelu", torch.tanh):
        torch.manual_seed(0)
        ref = nn.TransformerEncoderLayer(E, H, FF, 0.0, activation, batch_first=True).eval()
        ours = QuantumTransformerEncoderLayer(
            E, H, FF, 0.0, activation, batch_first=True, sampler="exact"
        ).eval()
        ours.load_state_dict(ref.state_dict())
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)


def test_quantum_backend_in_a_layer() -> None:
    """Shots from the reference backend: a real measurement path, same seed same result."""
    x = _inputs(True, 6, seed=14)
    outs = []
    for _ in range(2):
        _, layer = _pair_encoder(True, False, backend="reference", shots=16, seed=3)
        with torch.no_grad():
            outs.append(layer.eval()(x))
    torch.testing.assert_close(outs[0], outs[1], atol=0, rtol=0)
    ref, _ = _pair_encoder(True, False)
    with torch.no_grad():
        assert float((outs[0] - ref.eval()(x)).abs().max()) > 1e-4
