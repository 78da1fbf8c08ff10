"""PyTorch layers for sampled attention (needs torch; ``import qtcore`` does not import it).

:class:`QuantumMultiheadAttention` replaces ``nn.MultiheadAttention``;
:class:`QuantumTransformerEncoderLayer` and :class:`QuantumTransformerDecoderLayer` replace
torch's transformer layers; :func:`sampled_attention` is the function underneath.

Example:
    >>> import torch
    >>> from qtcore.nn import QuantumMultiheadAttention
    >>> attn = QuantumMultiheadAttention(16, 2, batch_first=True, sampler="exact")
    >>> x = torch.randn(1, 5, 16)
    >>> attn(x, x, x)[0].shape
    torch.Size([1, 5, 16])
"""

from __future__ import annotations

from qtcore.nn import functional
from qtcore.nn.attention import QuantumMultiheadAttention
from qtcore.nn.functional import sampled_attention
from qtcore.nn.layers import QuantumTransformerDecoderLayer, QuantumTransformerEncoderLayer

__all__ = [
    "QuantumMultiheadAttention",
    "QuantumTransformerDecoderLayer",
    "QuantumTransformerEncoderLayer",
    "functional",
    "sampled_attention",
]
