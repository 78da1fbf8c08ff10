"""PyTorch layers for sampled attention (needs torch; ``import qtcore`` does not import it).

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

__all__ = ["QuantumMultiheadAttention", "functional", "sampled_attention"]
