"""Transformer layers with sampled attention: drop-ins for torch's encoder and decoder layers.

:class:`QuantumTransformerEncoderLayer` *is* a ``nn.TransformerEncoderLayer`` and
:class:`QuantumTransformerDecoderLayer` *is* a ``nn.TransformerDecoderLayer``: the same
constructor arguments, parameters, ``state_dict`` keys, ``forward`` signature and masks.
Only their attention modules are :class:`~qtcore.nn.QuantumMultiheadAttention`, configured by
the keyword-only arguments ``sampler``, ``backend``, ``num_samples``, ``shots``, ``noise``,
``mitigator``, ``hybrid`` and ``seed``. With ``sampler="exact"`` they reproduce torch's
layers to float precision.

torch's encoder layer has an inference fast path (``torch._transformer_encoder_layer_fwd``)
that runs attention inside one fused kernel, never calling ``self_attn``; the encoder layer
here always takes the composed path, so the sampled attention really runs. A
``nn.TransformerEncoder`` built from it may still hand it a nested tensor (its own padding
fast path); the layer pads it, runs, and returns a nested tensor again.

Example:
    >>> import torch
    >>> from qtcore.nn import QuantumTransformerEncoderLayer
    >>> torch.manual_seed(0) and None
    >>> ref = torch.nn.TransformerEncoderLayer(32, 4, 64, batch_first=True).eval()
    >>> layer = QuantumTransformerEncoderLayer(32, 4, 64, batch_first=True,
    ...                                        sampler="exact").eval()
    >>> _ = layer.load_state_dict(ref.state_dict())
    >>> x = torch.randn(2, 9, 32)
    >>> bool(torch.allclose(layer(x), ref(x), atol=1e-5))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from qtcore.nn.attention import QuantumMultiheadAttention
from qtcore.noise import NoiseModel

__all__ = ["QuantumTransformerDecoderLayer", "QuantumTransformerEncoderLayer"]

Activation = str | Callable[[torch.Tensor], torch.Tensor]


def _child_seeds(seed: int | None, count: int) -> list[int | None]:
    """Independent seeds for a layer's attention modules (equal seeds would share a stream)."""
    if seed is None:
        return [None] * count
    states = np.random.SeedSequence(seed).spawn(count)
    return [int(s.generate_state(1, dtype=np.uint32)[0]) for s in states]


def _quantum_twin(
    attn: nn.MultiheadAttention, seed: int | None, options: dict[str, Any]
) -> QuantumMultiheadAttention:
    """A QuantumMultiheadAttention shaped like ``attn`` (same device, dtype and parameters)."""
    weight = attn.out_proj.weight
    return QuantumMultiheadAttention(
        attn.embed_dim,
        attn.num_heads,
        dropout=attn.dropout,
        bias=attn.in_proj_bias is not None,
        batch_first=attn.batch_first,
        device=weight.device,
        dtype=weight.dtype,
        seed=seed,
        **options,
    )


class QuantumTransformerEncoderLayer(nn.TransformerEncoderLayer):
    """``nn.TransformerEncoderLayer`` whose self-attention is sampled (or measured with shots).

    Args:
        d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
            norm_first, bias, device, dtype: exactly as ``torch.nn.TransformerEncoderLayer``.
        sampler, backend, num_samples, shots, noise, mitigator, hybrid: as in
            :class:`~qtcore.nn.QuantumMultiheadAttention` (default: ``topk`` with S = 32).
        seed: seeds the attention module's ``torch.Generator``; ``None`` uses torch's global
            generator.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)`` is torch's:
    masks may be bool (True = not allowed) or float (added to the logits). A query whose
    keys are all masked gives a zero attention output where torch gives NaN.

    Example:
        >>> import torch
        >>> from qtcore.nn import QuantumTransformerEncoderLayer
        >>> layer = QuantumTransformerEncoderLayer(16, 2, 32, batch_first=True,
        ...                                        num_samples=4, seed=0).eval()
        >>> x = torch.randn(1, 40, 16)
        >>> mask = torch.nn.Transformer.generate_square_subsequent_mask(40)
        >>> layer(x, src_mask=mask, is_causal=True).shape
        torch.Size([1, 40, 16])
    """

    self_attn: QuantumMultiheadAttention

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        sampler: Any = None,
        backend: Any = None,
        num_samples: int | None = 32,
        shots: int | None = None,
        noise: NoiseModel | None = None,
        mitigator: Any = None,
        hybrid: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        options = {
            "sampler": sampler,
            "backend": backend,
            "num_samples": num_samples,
            "shots": shots,
            "noise": noise,
            "mitigator": mitigator,
            "hybrid": hybrid,
        }
        self.self_attn = _quantum_twin(self.self_attn, seed, options)

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """As ``nn.TransformerEncoderLayer.forward``, always through ``self_attn``.

        Args:
            src: (S, E), (S, B, E) or, with ``batch_first``, (B, S, E); or a nested tensor
                (from ``nn.TransformerEncoder``'s padding fast path).
            src_mask: (S, S) or (B·nhead, S, S) bool (True = not allowed) or float mask.
            src_key_padding_mask: (B, S) or (S,) bool (True = padding) or float mask.
            is_causal: hint that ``src_mask`` is the causal mask (builds it when None).

        Returns:
            A tensor shaped like ``src`` (nested when ``src`` is).
        """
        if src.is_nested:
            return self._forward_nested(src, src_mask, is_causal)
        # Both masks to one float convention, with torch's checks and error messages.
        src_key_padding_mask = F._canonical_mask(
            mask=src_key_padding_mask,
            mask_name="src_key_padding_mask",
            other_type=F._none_or_dtype(src_mask),
            other_name="src_mask",
            target_type=src.dtype,
        )
        src_mask = F._canonical_mask(
            mask=src_mask,
            mask_name="src_mask",
            other_type=None,
            other_name="",
            target_type=src.dtype,
            check_other=False,
        )
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _forward_nested(
        self, src: torch.Tensor, src_mask: torch.Tensor | None, is_causal: bool
    ) -> torch.Tensor:
        """Pad a nested batch (batch_first rows of different lengths), run, nest it again."""
        lengths = [int(t.shape[0]) for t in src.unbind()]
        padded = torch.nested.to_padded_tensor(src, 0.0)
        positions = torch.arange(padded.shape[1], device=padded.device)
        padding = positions[None, :] >= torch.tensor(lengths, device=padded.device)[:, None]
        if not self.self_attn.batch_first:
            padded = padded.transpose(0, 1)
        out = self.forward(padded, src_mask, padding, is_causal)
        if not self.self_attn.batch_first:
            out = out.transpose(0, 1)
        return torch.nested.nested_tensor([out[i, :n] for i, n in enumerate(lengths)])


class QuantumTransformerDecoderLayer(nn.TransformerDecoderLayer):
    """``nn.TransformerDecoderLayer`` whose self- and cross-attention are sampled.

    Args:
        d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
            norm_first, bias, device, dtype: exactly as ``torch.nn.TransformerDecoderLayer``.
        sampler, backend, num_samples, shots, noise, mitigator, hybrid: as in
            :class:`~qtcore.nn.QuantumMultiheadAttention`, for both attention modules.
        seed: seeds the two attention modules' generators (two independent seeds are derived
            from it with ``numpy.random.SeedSequence``); ``None`` uses torch's global one.

    ``forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
    memory_key_padding_mask, tgt_is_causal, memory_is_causal)`` is torch's.

    Example:
        >>> import torch
        >>> from qtcore.nn import QuantumTransformerDecoderLayer
        >>> layer = QuantumTransformerDecoderLayer(16, 2, 32, num_samples=8, seed=0)
        >>> tgt, memory = torch.randn(5, 3, 16), torch.randn(12, 3, 16)  # (L, B, E)
        >>> layer(tgt, memory, tgt_is_causal=True).shape
        torch.Size([5, 3, 16])
    """

    self_attn: QuantumMultiheadAttention
    multihead_attn: QuantumMultiheadAttention

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        sampler: Any = None,
        backend: Any = None,
        num_samples: int | None = 32,
        shots: int | None = None,
        noise: NoiseModel | None = None,
        mitigator: Any = None,
        hybrid: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        options = {
            "sampler": sampler,
            "backend": backend,
            "num_samples": num_samples,
            "shots": shots,
            "noise": noise,
            "mitigator": mitigator,
            "hybrid": hybrid,
        }
        self_seed, cross_seed = _child_seeds(seed, 2)
        self.self_attn = _quantum_twin(self.self_attn, self_seed, options)
        self.multihead_attn = _quantum_twin(self.multihead_attn, cross_seed, options)
