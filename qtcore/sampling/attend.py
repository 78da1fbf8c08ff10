"""Samplers that choose keys from q and k themselves: the ``attend`` protocol.

The samplers of :mod:`qtcore.sampling` (``topk``, ``stratified``, …) take the whole row of
probabilities ``p`` and so need every logit ``q·kⱼ`` first; the most they can save is the
``p·V`` half of attention. An *attending* sampler takes ``q``, ``k`` and ``v`` and decides
from cheap features which keys to read, computing exact logits only for those. Per query row
it estimates the two sums of softmax attention, relative to a per-row shift ``m`` that does
not depend on the random draws,

    numerator  T = Σⱼ exp(sⱼ − m)·vⱼ        normaliser  Z = Σⱼ exp(sⱼ − m),

each without bias, and returns ``T̂ / Ẑ``. The ratio of two unbiased estimates has a bias of
order 1/S (S = sampled keys per row): ``E[T̂/Ẑ] − T/Z ≈ (T·Var Ẑ/Z − Cov(T̂, Ẑ))/Z²``.

Such a sampler has a ``name`` and
``attend(q, k, v, attn_mask=None, is_causal=False, *, scale, num_samples, generator,
dropout_p, return_weights)``; :func:`qtcore.nn.functional.sampled_attention` calls it when
the resolved sampler has that method. Masks follow ``scaled_dot_product_attention``
(boolean True = the key takes part, float = added to the logits, ``is_causal`` top-left
aligned) and are exact: a masked key is never drawn and never weighted.

Example:
    >>> import torch, qtcore
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(1, 6, 8, generator=g) for _ in range(3))
    >>> out = qtcore.get_sampler("importance").attend(q, k, v, num_samples=4, generator=g)
    >>> out.shape
    torch.Size([1, 6, 8])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from qtcore.errors import InvalidInput

__all__ = ["AttendingSampler", "Estimate", "Rows", "merge", "prepare"]


@dataclass
class Rows:
    """Attention inputs flattened to G = prod(leading dims) independent groups.

    ``q`` (G, L, E), ``k`` (G, N, E), ``v`` (G, N, Ev); ``allowed`` (G, L, N) bool or None
    (None: every key takes part, apart from ``causal``); ``bias`` (G, L, N) finite float
    added to the logits, or None; ``causal``: key j takes part for query i only if j ≤ i
    (then ``allowed`` is None: a causal mask combined with another is folded into
    ``allowed``); ``scale``: the logit scale; ``lead``: the leading shape of the output.
    """

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    allowed: torch.Tensor | None
    bias: torch.Tensor | None
    causal: bool
    scale: float
    lead: tuple[int, ...]


@dataclass
class Estimate:
    """Unbiased sums per row: numerator ``num`` (G, L, Ev), normaliser ``Z`` (G, L, 1), both
    relative to the deterministic shift ``shift`` (G, L, 1) (the true sums are
    ``num·exp(shift)`` and ``Z·exp(shift)``), and, when asked, the dense key weights
    ``W`` (G, L, N) with ``num = W·V`` and ``Z = ΣW``."""

    num: torch.Tensor
    Z: torch.Tensor
    shift: torch.Tensor
    W: torch.Tensor | None = None

    def output(self) -> torch.Tensor:
        """``num / Z``, zero for a row with no key (Z = 0)."""
        live = self.Z > 0
        return torch.where(live, self.num / torch.where(live, self.Z, 1.0), 0.0)


def merge(a: Estimate, b: Estimate) -> Estimate:
    """The sum of two estimates over disjoint key sets of the same rows (common shift).

    Example:
        >>> import torch
        >>> from qtcore.sampling.attend import Estimate, merge
        >>> one = Estimate(torch.ones(1, 1, 1), torch.ones(1, 1, 1), torch.zeros(1, 1, 1))
        >>> float(merge(one, one).Z)
        2.0
    """
    shift = torch.maximum(a.shift, b.shift)
    shift = torch.where(torch.isfinite(shift), shift, 0.0)
    fa, fb = torch.exp(a.shift - shift), torch.exp(b.shift - shift)
    W = None
    if a.W is not None and b.W is not None:
        W = a.W * fa + b.W * fb
    return Estimate(a.num * fa + b.num * fb, a.Z * fa + b.Z * fb, shift, W)


def prepare(
    q: Any,
    k: Any,
    v: Any,
    attn_mask: Any,
    is_causal: bool,
    scale: float | None,
    name: str,
) -> Rows:
    """Check shapes and flatten leading dimensions; masks become ``allowed`` and ``bias``.

    Raises:
        InvalidInput: q, k, v are not floating tensors of shapes (…, L, E), (…, N, E),
            (…, N, Ev), or the mask does not broadcast to (…, L, N).

    Example:
        >>> import torch
        >>> from qtcore.sampling.attend import prepare
        >>> rows = prepare(torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(2, 5, 1),
        ...                None, True, None, "demo")
        >>> rows.q.shape, rows.causal, rows.scale
        (torch.Size([2, 3, 4]), True, 0.5)
    """
    for label, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() < 2:
            raise InvalidInput(
                f"sampler {name!r}: {label} must be a floating torch.Tensor of shape (..., n, E), "
                f"got {type(t).__name__} {getattr(t, 'shape', '')}"
            )
    if k.shape[-2] != v.shape[-2] or q.shape[-1] != k.shape[-1] or k.shape[-2] < 1:
        raise InvalidInput(
            f"sampler {name!r}: k and v need the same number of keys (≥ 1) and q, k the same "
            f"width; got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    L, N = q.shape[-2], k.shape[-2]
    try:
        lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])  # type: ignore[no-untyped-call]
        if attn_mask is not None:
            lead = torch.broadcast_shapes(lead, attn_mask.shape[:-2])  # type: ignore[no-untyped-call]
            attn_mask = attn_mask.expand(*lead, L, N)
    except RuntimeError as exc:
        raise InvalidInput(
            f"sampler {name!r}: shapes do not broadcast: q {tuple(q.shape)}, k {tuple(k.shape)}, "
            f"mask {None if attn_mask is None else tuple(attn_mask.shape)} ({exc})"
        ) from exc
    G = math.prod(lead)
    qf = q.expand(*lead, L, q.shape[-1]).reshape(G, L, q.shape[-1])
    kf = k.expand(*lead, N, k.shape[-1]).reshape(G, N, k.shape[-1])
    vf = v.expand(*lead, N, v.shape[-1]).reshape(G, N, v.shape[-1])
    allowed = bias = None
    if attn_mask is not None:
        mask = attn_mask.reshape(G, L, N).to(q.device)
        if mask.dtype == torch.bool:
            allowed = mask
        else:
            allowed = mask > float("-inf")
            finite = torch.where(allowed, mask, 0.0).to(q.dtype)
            bias = finite if bool(finite.ne(0).any()) else None
        if is_causal:
            allowed = allowed & torch.ones(L, N, dtype=torch.bool, device=q.device).tril()
            is_causal = False
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    return Rows(qf, kf, vf, allowed, bias, bool(is_causal), float(scale), tuple(lead))


def dropout_keep(
    shape: tuple[int, ...], p: float, like: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor | float:
    """Inverted-dropout factors: 0 with probability p, else 1/(1 − p) (1.0 when p = 0)."""
    if p <= 0.0:
        return 1.0
    source = generator.device if generator is not None else like.device
    u = torch.rand(shape, generator=generator, device=source, dtype=like.dtype).to(like.device)
    return (u >= p).to(like.dtype) / (1.0 - p)


class AttendingSampler(torch.nn.Module):
    """Base of the attending samplers: argument checks, flattening, the output ratio.

    A subclass sets ``name`` and implements ``estimate(rows, num_samples, generator,
    dropout_p, need_weights) -> Estimate``. It is a ``torch.nn.Module`` so that a learned
    proposal is a parameter of the model holding it (saved and loaded with its state).
    """

    name: str = ""

    def attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        is_causal: bool = False,
        *,
        scale: float | None = None,
        num_samples: int,
        generator: torch.Generator | None = None,
        dropout_p: float = 0.0,
        return_weights: bool = False,
    ) -> Any:
        """Attention ``T̂/Ẑ`` (…, L, Ev) from keys chosen without computing every logit.

        Args:
            q: (…, L, E) queries; k: (…, N, E) keys; v: (…, N, Ev) values.
            attn_mask: bool (True = takes part) or float (added to logits), broadcast to
                (…, L, N).
            is_causal: key j takes part for query i only if j ≤ i.
            scale: logit scale; ``1/sqrt(E)`` when None.
            num_samples: S ≥ 1, keys sampled per query row (beyond any computed exactly).
            generator: a ``torch.Generator`` for reproducible draws.
            dropout_p: dropout on the key weights of the numerator (training).
            return_weights: also return the dense weights W (…, L, N) with ``out = W·V``.

        Returns:
            The output, or ``(output, W)`` with ``return_weights``.

        Raises:
            InvalidInput: bad shapes, ``num_samples`` not an int ≥ 1, or a bad generator.

        Example:
            >>> import torch, qtcore
            >>> q = k = v = torch.eye(4)[None]
            >>> out = qtcore.get_sampler("hyper").attend(q, k, v, num_samples=2)
            >>> bool(torch.allclose(out, torch.nn.functional.scaled_dot_product_attention(
            ...     q, k, v)))  # 4 keys fit in one block: exact
            True
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise InvalidInput(
                f"sampler {self.name!r}: num_samples must be an int ≥ 1, got {num_samples!r}"
            )
        if generator is not None and not isinstance(generator, torch.Generator):
            raise InvalidInput(
                f"sampler {self.name!r}: generator must be a torch.Generator or None, got "
                f"{type(generator).__name__}"
            )
        rows = prepare(q, k, v, attn_mask, is_causal, scale, self.name)
        est = self.estimate(rows, num_samples, generator, float(dropout_p), return_weights)
        L, Ev = rows.q.shape[1], rows.v.shape[-1]
        out = est.output().reshape(*rows.lead, L, Ev).to(v.dtype)
        if not return_weights:
            return out
        assert est.W is not None
        live = est.Z > 0
        W = torch.where(live, est.W / torch.where(live, est.Z, 1.0), 0.0)
        return out, W.reshape(*rows.lead, L, rows.k.shape[1])

    def estimate(
        self,
        rows: Rows,
        num_samples: int,
        generator: torch.Generator | None,
        dropout_p: float = 0.0,
        need_weights: bool = False,
    ) -> Estimate:
        """The unbiased numerator and normaliser of every row (see :class:`Estimate`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement estimate")

    def extra_repr(self) -> str:
        """Shown by ``print(sampler)``."""
        return f"name={self.name!r}"


def exact_estimate(rows: Rows, need_weights: bool, dropout: Any = 1.0) -> Estimate:
    """Every key exactly (used below a sampler's minimum length): the plain sums.

    Example:
        >>> import torch
        >>> from qtcore.sampling.attend import exact_estimate, prepare
        >>> rows = prepare(*(torch.ones(1, 2, 2),) * 3, None, False, None, "demo")
        >>> exact_estimate(rows, False).output().tolist()
        [[[1.0, 1.0], [1.0, 1.0]]]
    """
    logits = torch.matmul(rows.q * rows.scale, rows.k.transpose(1, 2))
    if rows.bias is not None:
        logits = logits + rows.bias
    allowed = rows.allowed
    if rows.causal:
        L, N = logits.shape[1:]
        tril = torch.ones(L, N, dtype=torch.bool, device=logits.device).tril()
        allowed = tril.expand_as(logits)
    if allowed is not None:
        logits = logits.masked_fill(~allowed, float("-inf"))
    shift = logits.detach().amax(dim=-1, keepdim=True)
    shift = torch.where(torch.isfinite(shift), shift, 0.0)
    e = torch.exp(logits - shift)
    Z = e.sum(dim=-1, keepdim=True)
    e_num = e * dropout
    return Estimate(torch.matmul(e_num, rows.v), Z, shift, e_num if need_weights else None)
