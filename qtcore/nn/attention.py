"""``QuantumMultiheadAttention``: a drop-in for ``torch.nn.MultiheadAttention``.

It *is* a ``nn.MultiheadAttention`` (same constructor arguments, parameters, state_dict,
forward signature and returns); only the attention core differs: each head's output is
``W·V`` with ``E[W] = p`` from :func:`qtcore.nn.functional.sampled_attention`, using a
classical sampler or a quantum backend's shots. ``sampler="exact"`` reproduces
``nn.MultiheadAttention`` to float precision.

Example:
    >>> import torch
    >>> from qtcore.nn import QuantumMultiheadAttention
    >>> torch.manual_seed(0) and None
    >>> ref = torch.nn.MultiheadAttention(32, 4, batch_first=True).eval()
    >>> attn = QuantumMultiheadAttention(32, 4, batch_first=True, sampler="exact").eval()
    >>> _ = attn.load_state_dict(ref.state_dict())
    >>> x = torch.randn(2, 7, 32)
    >>> bool(torch.allclose(attn(x, x, x)[0], ref(x, x, x)[0], atol=1e-5))
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from qtcore.errors import InvalidInput
from qtcore.nn.functional import sampled_attention
from qtcore.noise import NoiseModel

__all__ = ["QuantumMultiheadAttention"]


def _additive(mask: torch.Tensor | None, dtype: torch.dtype, name: str) -> torch.Tensor | None:
    """``nn.MultiheadAttention``'s mask convention (bool True = masked) as a float bias."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(
            mask, float("-inf")
        )
    if not mask.is_floating_point():
        raise InvalidInput(f"{name} must be a bool or float tensor, got dtype {mask.dtype}")
    return mask.to(dtype)


class QuantumMultiheadAttention(nn.MultiheadAttention):
    """Multi-head attention whose per-head attention is estimated from sampled keys or shots.

    Args:
        embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn, kdim, vdim,
            batch_first, device, dtype: exactly as ``torch.nn.MultiheadAttention``.
        sampler: a sampler name (``"topk"``, ``"stratified"``, ``"sobol"``,
            ``"multinomial"``), a sampler object, or ``"exact"``. Default ``"topk"`` when no
            backend is given.
        backend: a backend name or object: rows are measured with shots.
        num_samples: samples (shots) per query row and head; ``None`` = exact.
        shots: alias of ``num_samples`` (reads better with a backend).
        noise: a :class:`qtcore.NoiseModel` for the backend.
        mitigator: a mitigator name or object (with a backend).
        hybrid: fall back to a classical sampler, with one warning, when a row needs more
            qubits than the backend has.
        seed: seeds this module's own ``torch.Generator`` (reproducible forward passes);
            ``None`` uses torch's global generator.

    A fully masked query row gives zeros, where ``nn.MultiheadAttention`` gives NaN. With
    ``is_causal=True`` and no ``attn_mask`` the causal mask is built here (PyTorch raises).

    Example:
        >>> import torch
        >>> from qtcore.nn import QuantumMultiheadAttention
        >>> attn = QuantumMultiheadAttention(16, 2, num_samples=8, seed=0)
        >>> x = torch.randn(5, 3, 16)  # (L, B, E): batch_first=False as in PyTorch
        >>> out, w = attn(x, x, x)
        >>> out.shape, w.shape
        (torch.Size([5, 3, 16]), torch.Size([3, 5, 5]))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
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
            embed_dim,
            num_heads,
            dropout=dropout,
            bias=bias,
            add_bias_kv=add_bias_kv,
            add_zero_attn=add_zero_attn,
            kdim=kdim,
            vdim=vdim,
            batch_first=batch_first,
            device=device,
            dtype=dtype,
        )
        if shots is not None:
            if num_samples not in (None, 32) and num_samples != shots:
                raise InvalidInput(
                    f"pass shots= or num_samples=, not both ({shots} vs {num_samples})"
                )
            num_samples = shots
        self.sampler = sampler
        self.backend = backend
        self.num_samples = num_samples
        self.noise = noise
        self.mitigator = mitigator
        self.hybrid = hybrid
        self.seed = seed
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)

    def extra_repr(self) -> str:
        """Shown by ``print(module)``."""
        if self.backend is not None:
            return f"backend={self.backend!r}, shots={self.num_samples}"
        return f"sampler={self.sampler!r}, num_samples={self.num_samples}"

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = True,
        attn_mask: torch.Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As ``nn.MultiheadAttention.forward``; the attention weights returned are W.

        Args:
            query: (L, E), (L, B, E) or, with ``batch_first``, (B, L, E).
            key, value: the same layouts with S keys and widths ``kdim``, ``vdim``.
            key_padding_mask: (B, S) or (S,): bool True = ignore the key, or float bias.
            need_weights: also return the attention weights (the sampled W).
            attn_mask: (L, S) or (B·num_heads, L, S): bool True = not allowed, or float bias.
            average_attn_weights: average the returned weights over heads.
            is_causal: causal hint, as in PyTorch (with no ``attn_mask`` it builds one).

        Returns:
            ``(attn_output, attn_weights)``: output (L, B, E) / (B, L, E) / (L, E), and the
            weights (B, L, S) averaged, (B, num_heads, L, S) otherwise, or ``None``.
        """
        is_batched = query.dim() == 3
        if self.batch_first and is_batched:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if not is_batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        L, B, E = query.shape
        H, hd = self.num_heads, self.head_dim
        if E != self.embed_dim:
            raise InvalidInput(f"query has width {E}, this module expects {self.embed_dim}")

        q, k, v = self._project(query, key, value)
        kpm = _additive(key_padding_mask, q.dtype, "key_padding_mask")
        causal_hint = is_causal and kpm is None and not need_weights
        if is_causal and attn_mask is None:
            attn_mask = torch.ones(L, key.shape[0], dtype=torch.bool, device=q.device).triu(1)
        mask = None if causal_hint else _additive(attn_mask, q.dtype, "attn_mask")
        if self.bias_k is not None and self.bias_v is not None:
            k = torch.cat([k, self.bias_k.repeat(1, B, 1)])
            v = torch.cat([v, self.bias_v.repeat(1, B, 1)])
            mask = None if mask is None else F.pad(mask, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        q = q.reshape(L, B * H, hd).transpose(0, 1)
        k = k.reshape(k.shape[0], B * H, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], B * H, hd).transpose(0, 1)
        if self.add_zero_attn:
            zeros = torch.zeros(B * H, 1, hd, dtype=k.dtype, device=k.device)
            k, v = torch.cat([k, zeros], dim=1), torch.cat([v, zeros], dim=1)
            mask = None if mask is None else F.pad(mask, (0, 1))
            kpm = None if kpm is None else F.pad(kpm, (0, 1))
        S = k.shape[1]
        if kpm is not None:
            kpm = kpm.reshape(B, 1, 1, S).expand(-1, H, -1, -1).reshape(B * H, 1, S)
            mask = kpm if mask is None else mask + kpm

        # Dense weights only when asked for: without them inference takes the blockwise path.
        result = sampled_attention(
            q,
            k,
            v,
            mask,
            is_causal=causal_hint,
            sampler=self.sampler,
            backend=self.backend,
            num_samples=self.num_samples,
            noise=self.noise,
            mitigator=self.mitigator,
            generator=self.generator,
            hybrid=self.hybrid,
            dropout_p=self.dropout if self.training else 0.0,
            return_weights=need_weights,
        )
        out, W = result if need_weights else (result, None)
        out = out.transpose(0, 1).reshape(L * B, E)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).view(L, B, E)
        weights = None
        if W is not None:
            weights = W.reshape(B, H, L, S)
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if not is_batched:
                weights = weights.squeeze(0)
        if not is_batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _project(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        if self._qkv_same_embed_dim:
            wq, wk, wv = self.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)
