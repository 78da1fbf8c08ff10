"""``sampled_attention``: attention whose output is estimated from S sampled keys per row.

For a query row, ``p = softmax(q·Kᵀ·scale + mask)``; the output ``o = p·V`` is estimated by
``ô = W·V`` with ``E[W] = p`` (DESIGN.md, "The mathematics"). ``W`` comes from

* a classical sampler (``sampler="topk"``, the default; ``"multinomial"``, ``"stratified"``,
  ``"sobol"``, any registered name, or an object with ``sample_weights``), or
* a quantum backend (``backend="reference"``, ``"qiskit.aer"``, …): every row of the call is
  amplitude-encoded and measured with ``num_samples`` shots in **one** batched
  ``backend.sample_distributions`` call, and ``W = counts / S`` (``E[c/S] = p`` without
  noise), or
* a backend plus a mitigator: ``W`` is the mitigator's quasi-probability estimate, whose
  entries may be negative. ``ô = W·V`` is still linear in ``W``, so it stays unbiased
  wherever the mitigated estimate is; it is no longer a convex combination of values, so
  its norm is not bounded by the largest value row.

``sampler="exact"`` (or ``num_samples=None``) gives ``W = p``: plain attention, for parity
tests. Gradients flow through ``W·(p / stopgrad(p))``: its value is ``W``, and
``∂/∂p_j = W_j / p_j`` has expectation 1, so the gradient with respect to ``p`` (and hence
Q and K) is unbiased for any loss linear in the output; the gradient with respect to V is
``Wᵀ·g``, unbiased too. Masks (``attn_mask``, ``is_causal``) act on ``p`` before sampling,
so a masked key never gets weight; a row with every key masked gives an all-zero output
(not NaN) and zero gradients.

Example:
    >>> import torch
    >>> from qtcore.nn.functional import sampled_attention
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(2, 4, 10, 8, generator=g) for _ in range(3))
    >>> out = sampled_attention(q, k, v, sampler="topk", num_samples=16, generator=g)
    >>> exact = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    >>> out.shape, bool(torch.allclose(out, exact, atol=1e-5))  # N = 10 ≤ S: all keys certain
    (torch.Size([2, 4, 10, 8]), True)
"""

from __future__ import annotations

import importlib
import math
import warnings
from typing import Any

import numpy as np
import torch

import qtcore
from qtcore.errors import CapabilityError, InvalidInput
from qtcore.nn import native
from qtcore.noise import NoiseModel
from qtcore.sampling.inverse_cdf import uniform
from qtcore.validation import num_qubits_for

__all__ = [
    "HybridFallbackWarning",
    "attention_probabilities",
    "blockwise_sampled_attention",
    "sampled_attention",
]

#: The sampler used when neither ``sampler`` nor ``backend`` is given.
DEFAULT_SAMPLER = "topk"


class HybridFallbackWarning(UserWarning):
    """A backend could not run a row width; ``hybrid=True`` used a classical sampler."""


def attention_probabilities(
    q: torch.Tensor,
    k: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """``softmax(q·Kᵀ·scale + mask)`` (…, L, N), with all-zero rows where every key is masked.

    Masks follow :func:`torch.nn.functional.scaled_dot_product_attention`: a boolean
    ``attn_mask`` is True where a key *takes part*; a float mask is added to the logits;
    ``is_causal`` masks keys after the query (top-left aligned), combined with any mask.

    Example:
        >>> import torch
        >>> from qtcore.nn.functional import attention_probabilities
        >>> q = k = torch.zeros(1, 2, 4)
        >>> mask = torch.tensor([[True, True], [False, False]])
        >>> attention_probabilities(q, k, mask).tolist()
        [[[0.5, 0.5], [0.0, 0.0]]]
    """
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    logits = torch.matmul(q * scale, k.transpose(-2, -1))
    L, N = logits.shape[-2], logits.shape[-1]
    if is_causal:
        causal = torch.ones(L, N, dtype=torch.bool, device=logits.device).tril()
        if attn_mask is None:
            attn_mask = causal
        elif attn_mask.dtype == torch.bool:
            attn_mask = attn_mask & causal
        else:
            attn_mask = attn_mask.masked_fill(~causal, float("-inf"))
    if attn_mask is None:
        return torch.softmax(logits, dim=-1)
    if attn_mask.dtype == torch.bool:
        dead = ~attn_mask.any(dim=-1, keepdim=True)
        logits = logits.masked_fill(~attn_mask, float("-inf"))
    else:
        logits = logits + attn_mask.to(logits.dtype)
        dead = logits.amax(dim=-1, keepdim=True) == float("-inf")
    if not bool(dead.any()):
        return torch.softmax(logits, dim=-1)
    # A fully masked row: softmax of all -inf is NaN (and so is its gradient). Give the
    # row finite logits (masked_fill also stops its gradient) and zero its probabilities.
    logits = logits.masked_fill(dead, 0.0)
    return torch.softmax(logits, dim=-1).masked_fill(dead, 0.0)


#: Keys used to find the plane of the value-aware key order (evenly spaced when N is larger).
PLANE_KEYS = 512

#: Up to this many keys, the value-aware order is a nearest-neighbour path (O(N²) per head);
#: above, the angle order (O(N log N)).
TOUR_KEYS = 256


def _nearest_neighbour_path(points: torch.Tensor) -> torch.Tensor:
    """A greedy nearest-neighbour path through the N points of each group: (…, N) indices.

    It starts at the point farthest from the group's mean and always moves to the nearest
    point not yet visited (ties: the lowest index), so it is a deterministic function of
    ``points``. On CPU the walk is the fused pass's C loop (:func:`qtcore.nn.native.greedy_path`,
    O(N²) per group); elsewhere, or without the pass, all groups advance together in N − 1
    steps of batched torch operations (the same path).
    """
    lead, (N, E) = points.shape[:-2], points.shape[-2:]
    z = points.reshape(-1, N, E).double()
    G = z.shape[0]
    # Squared distances from one product (exact enough to rank neighbours: float64).
    sq = z.square().sum(dim=-1)
    dist = (sq[:, :, None] + sq[:, None, :]).baddbmm_(z, z.transpose(1, 2), alpha=-2.0)
    current = (z - z.mean(dim=-2, keepdim=True)).norm(dim=-1).argmax(dim=-1, keepdim=True)
    path = native.greedy_path(dist, current[:, 0]) if z.device.type == "cpu" else None
    if path is not None:  # None: the pass is not built
        return path.reshape(*lead, N)
    rows = dist.reshape(G * N, N)
    base = torch.arange(G, device=z.device) * N
    visited = torch.zeros(G, N, dtype=dist.dtype, device=z.device)  # 0, or inf once visited
    steps = [current]
    for _ in range(N - 1):
        visited.scatter_(1, current, float("inf"))
        current = (rows.index_select(0, base + current[:, 0]) + visited).argmin(1, keepdim=True)
        steps.append(current)
    return torch.cat(steps, dim=-1).reshape(*lead, N)


#: Floor on the value-aware sizes, as a fraction of their mean: every key with p > 0 keeps
#: an inclusion probability of at least this share of its p-proportional one.
SIZE_FLOOR = 0.1


class ValueDesign:
    """Value-aware sampling design for one attention call: an exact low-rank control, key
    sizes and a key order.

    All are functions of V (and of which keys take part) alone, computed once per
    (batch, head), and shared by every query row:

    * control (``rank`` ≥ 1): ``o = p·V = p·C + p·(V − C)`` with ``C = Φ·Ψ`` the projection of
      the values on their mean ``μ`` and their top ``rank`` principal directions ``R``
      (``Φ = [1, (V − μ)·R]`` (N, r+1), ``Ψ = [μ; Rᵀ]`` (r+1, Ev); μ and R over the keys that
      take part). The estimator computes ``p·C = (p·Φ)·Ψ`` exactly (N·(r+1) products per row,
      p is known anyway) and samples only the residuals ``V − C``: ``ô = p·C + W·(V − C)``,
      unbiased whenever ``E[W] = p``. As one weight matrix it is ``W' = W + (p − W)·Φ·Φ⁺``
      (``ô = W'·V``, ``E[W'] = p``, dense, entries may be negative), which is what
      ``return_weights`` returns; it is zero on keys that take part in no row.
    * sizes ``a_j = ‖x_j − x̄‖ + SIZE_FLOOR·mean‖x − x̄‖`` of the sampled values x (the
      residuals with a control, else V): the sampler is given ``q = p·a`` (any unbiased
      sampler returns ``E[W_q] = q``) and ``W = W_q / a``, so ``E[W] = p`` still holds
      exactly. With ``topk`` this is πps sampling with inclusion ∝ ``p_j·a_j``, the
      Horvitz–Thompson design that spends samples where ``p_j·‖x_j − x̄‖`` (a key's
      contribution to the output's spread) is large rather than where ``p_j`` is.
    * order: a systematic sample (one offset per row) takes one key from each stretch of the
      order, so keys whose contribution ``x_j/a_j`` is similar should be neighbours. Up to
      :data:`TOUR_KEYS` keys the order is a greedy nearest-neighbour path through the points
      ``x_j/a_j``; above, keys are sorted by the angle of their direction
      ``(x_j − x̄)/‖x_j − x̄‖`` in the plane of the directions' top two principal components
      (by the value itself when Ev = 1). Inclusion probabilities do not depend on the
      order, so the estimator stays unbiased. With ``is_causal`` the positional order is
      kept (a permutation would turn the causal mask into a dense one).

    The keys, values, mask and control coefficients are permuted once; the output is
    invariant to that permutation, and weights are returned in the original key order.

    Args:
        v: (…, N, Ev) values.
        ordered: build the key order.
        rank: principal directions in the control (0: no control).
        visible: (…, N) bool, the keys that take part in every row (None: all keys).

    Example:
        >>> import torch
        >>> from qtcore.nn.functional import ValueDesign
        >>> v = torch.tensor([[[0.0], [0.0], [1.0], [-1.0]]])
        >>> d = ValueDesign(v, ordered=True)
        >>> d.order.tolist(), [round(x, 3) for x in d.sizes[0].tolist()]
        ([[3, 0, 1, 2]], [1.05, 0.05, 0.05, 1.05])
        >>> ValueDesign(v, ordered=True, rank=1).residual.abs().max().item()  # V = its control
        0.0
    """

    def __init__(
        self,
        v: torch.Tensor,
        *,
        ordered: bool,
        rank: int = 0,
        visible: torch.Tensor | None = None,
    ) -> None:
        v = v.detach()
        #: Φ (…, N, r+1) in the design's key order and Ψ (…, r+1, Ev); None without a control.
        self.coeffs: torch.Tensor | None = None
        self.basis: torch.Tensor | None = None
        following = None
        if rank > 0:
            self.coeffs, self.basis, v, following = _low_rank_control(v, rank, visible)
        centred = v - v.mean(dim=-2, keepdim=True)
        norms = torch.linalg.vector_norm(centred, dim=-1)  # (…, N)
        floor = SIZE_FLOOR * norms.mean(dim=-1, keepdim=True)
        # A value column of constants (norms all 0) gets equal sizes: p-proportional.
        sizes = norms + torch.where(floor > 0, floor, torch.ones_like(floor))
        self.order: torch.Tensor | None = None
        if ordered and v.shape[-2] > 2:
            if v.shape[-1] == 1:
                self.order = centred.squeeze(-1).argsort(dim=-1)  # sort by the value
            elif v.shape[-2] <= TOUR_KEYS:
                # A sampled key adds W_j·x_j with W_j ∝ 1/a_j: the order should keep keys
                # with similar x_j/a_j together. A greedy nearest-neighbour path through
                # those points does (MiniLM at S = 32: 0.104 against 0.124 for the angle
                # order below, without control), at O(N²·Ev) and N sequential steps.
                self.order = _nearest_neighbour_path(v / sizes.unsqueeze(-1))
            elif following is not None:
                # With a control the residuals' leading plane is that of the next two
                # principal directions of V, already at hand: the angle of each residual
                # in it (the angle of its direction, too). Measured on captured attention
                # at 2048 and 4096 keys, as good as the directions' own plane below
                # (0.2235 against 0.2256, 0.2645 against 0.2634), without a second
                # eigendecomposition.
                plane = v @ following
                self.order = torch.atan2(plane[..., 0], plane[..., 1]).argsort(dim=-1)
            else:
                # For a sampled key the estimator adds W_j·x_j ∝ x_j / a_j: the key's
                # *direction* from x̄ plus x̄/a_j. Neighbours in the order should agree on
                # it, so keys are sorted by the angle of their unit direction in the plane
                # of the directions' top two principal components (this measured lower
                # error on MiniLM than sorting by the values' first component).
                unit = centred / norms.unsqueeze(-1).clamp(min=torch.finfo(v.dtype).tiny)
                # The plane from at most PLANE_KEYS evenly spaced keys (a function of V
                # alone, like the rest of the design), every key projected on it.
                every = -(-v.shape[-2] // PLANE_KEYS)
                some = unit[..., ::every, :]
                centre = some.mean(dim=-2, keepdim=True)
                unit = unit - centre
                some = some - centre
                gram = some.transpose(-2, -1) @ some  # (…, Ev, Ev)
                _, vectors = torch.linalg.eigh(gram.double())
                plane = unit @ vectors[..., -2:].to(unit.dtype)  # (…, N, 2)
                self.order = torch.atan2(plane[..., 0], plane[..., 1]).argsort(dim=-1)
            sizes = sizes.gather(-1, self.order)
        self.sizes = sizes
        #: With a control, the residuals V − C that the sampled keys contribute (detached,
        #: in the design's key order); None without.
        self.residual = None if self.coeffs is None else self.permute(v)
        if self.coeffs is not None:
            self.coeffs = self.permute(self.coeffs)

    def control(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """``(Φ, Ψ, V − C)`` in the design's key order, or None without a control.

        Example:
            >>> import torch
            >>> from qtcore.nn.functional import ValueDesign
            >>> v = torch.randn(2, 5, 3)
            >>> [tuple(t.shape) for t in ValueDesign(v, ordered=True, rank=2).control()]
            [(2, 5, 3), (2, 3, 3), (2, 5, 3)]
        """
        if self.coeffs is None or self.basis is None or self.residual is None:
            return None
        return self.coeffs, self.basis, self.residual

    def corrected(self, W: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """The weights ``W' = W + (p − W)·Φ·Φ⁺`` with ``W'·V = p·C + W·(V − C)`` (design
        order; ``W`` itself without a control). ``E[W'] = p`` whenever ``E[W] = p``.

        Example:
            >>> import torch
            >>> from qtcore.nn.functional import ValueDesign
            >>> v = torch.randn(1, 6, 3, generator=torch.Generator().manual_seed(0))
            >>> d = ValueDesign(v, ordered=False, rank=2)
            >>> p = torch.full((1, 1, 6), 1 / 6)
            >>> W = torch.tensor([[[0.5, 0.0, 0.0, 0.5, 0.0, 0.0]]])
            >>> exact = p @ d.coeffs @ d.basis + W @ d.residual
            >>> bool(torch.allclose(d.corrected(W, p) @ v, exact, atol=1e-5))
            True
        """
        if self.coeffs is None:
            return W
        coeffs = self.coeffs.to(W.dtype)
        # Φ⁺ = (ΦᵀΦ)⁻¹Φᵀ with ΦᵀΦ diagonal; an empty direction (a zero column) stays zero.
        gram = coeffs.square().sum(dim=-2, keepdim=True)
        dual = coeffs / torch.where(gram > torch.finfo(gram.dtype).tiny, gram, torch.inf)
        return W + ((p - W) @ coeffs) @ dual.transpose(-2, -1)

    def permute(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (…, N, D) with its key rows in the design's order (unchanged without one).

        Example:
            >>> import torch
            >>> from qtcore.nn.functional import ValueDesign
            >>> d = ValueDesign(torch.tensor([[[1.0], [-1.0], [0.5]]]), ordered=True)
            >>> d.permute(torch.tensor([[[1.0], [2.0], [3.0]]])).flatten().tolist()
            [2.0, 3.0, 1.0]
        """
        if self.order is None:
            return x
        lead = torch.broadcast_shapes(x.shape[:-2], self.order.shape[:-1])  # type: ignore[no-untyped-call]
        N, D = x.shape[-2:]
        groups = math.prod(lead)
        # Whole rows by index_select on (groups·N, D): a row copy each, several times
        # faster on CPU than gather with an index expanded over D.
        rows = self.order.expand(*lead, N).reshape(groups, N)
        rows = rows + torch.arange(groups, device=rows.device)[:, None] * N
        flat = x.expand(*lead, N, D).reshape(groups * N, D)
        return flat.index_select(0, rows.reshape(-1)).reshape(*lead, N, D)

    def permute_mask(self, mask: torch.Tensor | None) -> torch.Tensor | None:
        """A (…, L, N) mask with its key columns in the design's order.

        Example:
            >>> import torch
            >>> from qtcore.nn.functional import ValueDesign
            >>> d = ValueDesign(torch.tensor([[[1.0], [-1.0], [0.5]]]), ordered=True)
            >>> d.permute_mask(torch.tensor([[True, False, True]])).tolist()
            [[[False, True, True]]]
        """
        if mask is None or self.order is None:
            return mask
        order = self.order.unsqueeze(-2)  # (…, 1, N)
        lead = torch.broadcast_shapes(mask.shape[:-2], order.shape[:-2])  # type: ignore[no-untyped-call]
        rows = mask.shape[-2]
        index = order.expand(*lead, rows, -1)
        return mask.expand(*lead, rows, mask.shape[-1]).gather(-1, index)

    def unpermute_weights(self, W: torch.Tensor) -> torch.Tensor:
        """Weights (…, L, N) in the design's key order, put back in the original order.

        Example:
            >>> import torch
            >>> from qtcore.nn.functional import ValueDesign
            >>> d = ValueDesign(torch.tensor([[[1.0], [-1.0], [0.5]]]), ordered=True)
            >>> d.unpermute_weights(torch.tensor([[[0.1, 0.2, 0.7]]])).tolist()
            [[[0.699999988079071, 0.10000000149011612, 0.20000000298023224]]]
        """
        if self.order is None:
            return W
        index = self.order.unsqueeze(-2).expand_as(W)
        return torch.zeros_like(W).scatter(-1, index, W)


def _low_rank_control(
    v: torch.Tensor, rank: int, visible: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``Φ = [1, (V − μ)·R]`` (…, N, r+1), ``Ψ = [μ; Rᵀ]`` (…, r+1, Ev), the residuals
    ``V − Φ·Ψ``, and the next two principal directions (…, Ev, 2) (None when Ev < r + 2):
    the mean and top ``rank`` principal directions of the values of the ``visible`` keys
    (rows of Φ are zero for the other keys, whose residual is their value). A direction
    whose variance is below round-off is zeroed."""
    if visible is None:
        w = torch.ones((), dtype=v.dtype, device=v.device).expand(*v.shape[:-1], 1)
        mu = v.mean(dim=-2, keepdim=True)  # (…, 1, Ev)
        centred = v - mu
    else:
        w = visible.to(v.dtype).unsqueeze(-1)
        count = w.sum(dim=-2, keepdim=True).clamp(min=1.0)
        mu = (v * w).sum(dim=-2, keepdim=True) / count
        centred = (v - mu) * w
    gram = centred.transpose(-2, -1) @ centred  # (…, Ev, Ev)
    values, vectors = torch.linalg.eigh(gram.double())  # ascending
    r = min(rank, v.shape[-1])
    keep = values[..., -r:] > 1e-9 * values[..., -1:].clamp(min=torch.finfo(gram.dtype).tiny)
    R = (vectors[..., -r:] * keep.unsqueeze(-2)).to(v.dtype)  # (…, Ev, r)
    proj = centred @ R  # (…, N, r)
    coeffs = torch.cat([w, proj], dim=-1)
    basis = torch.cat([mu, R.transpose(-2, -1)], dim=-2)
    if visible is None:
        residual = centred - proj @ R.transpose(-2, -1)
    else:
        residual = v - coeffs @ basis
    following = None
    if v.shape[-1] >= r + 2:
        following = vectors[..., -(r + 2) : -r].to(v.dtype)
    return coeffs, basis, residual, following


def _shared_visibility(
    attn_mask: torch.Tensor | None, is_causal: bool
) -> tuple[bool, torch.Tensor | None]:
    """Whether every query row of a (batch, head) sees the same keys, and which (…, N).

    Key padding and additive biases qualify; ``is_causal`` and masks that differ between
    rows do not (the value design's control then stays off, so that the weights it reports
    never fall on a key the row may not see)."""
    if is_causal:
        return False, None
    if attn_mask is None:
        return True, None
    live = attn_mask if attn_mask.dtype == torch.bool else attn_mask > float("-inf")
    visible = live.any(dim=-2)
    if live.shape[-2] > 1 and not bool((live == visible.unsqueeze(-2)).all()):
        return False, None
    return True, visible


def _value_aware(sampler: Any) -> bool:
    return bool(getattr(sampler, "value_aware", False))


def _design(
    sampler: Any, v: torch.Tensor, attn_mask: torch.Tensor | None, is_causal: bool
) -> ValueDesign:
    """The value design of one call: with the sampler's ``control_rank`` (at most Ev // 4)
    when every row of a (batch, head) sees the same keys (the control is computed over
    those keys)."""
    # The cap keeps the exact part at most a quarter of exact p·V's work and leaves at
    # least three quarters of the value dimensions to the samples (at Ev ≤ rank the control
    # alone would be exact attention).
    rank = min(int(getattr(sampler, "control_rank", 0)), v.shape[-1] // 4)
    shared, visible = _shared_visibility(attn_mask, is_causal) if rank > 0 else (False, None)
    if visible is not None:
        lead = torch.broadcast_shapes(v.shape[:-2], visible.shape[:-1])  # type: ignore[no-untyped-call]
        v = v.expand(*lead, *v.shape[-2:])
        visible = visible.expand(*lead, v.shape[-2])
    return ValueDesign(v, ordered=not is_causal, rank=rank if shared else 0, visible=visible)


def _resolve(kind: str, obj: Any) -> Any:
    if isinstance(obj, str):
        getter = {
            "sampler": qtcore.get_sampler,
            "backend": qtcore.get_backend,
            "mitigator": qtcore.get_mitigator,
        }[kind]
        return getter(obj)
    return obj


def _seed_from(generator: torch.Generator | None) -> int:
    source = generator.device if generator is not None else "cpu"
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=source))


def _quantum_weights(
    p: torch.Tensor,
    backend: Any,
    num_samples: int,
    *,
    noise: NoiseModel | None,
    mitigator: Any,
    seed: int,
) -> torch.Tensor:
    """W (…, N) from one batched backend (or mitigator) call over every row of ``p``."""
    N = p.shape[-1]
    rows = p.detach().reshape(-1, N).to("cpu", torch.float64)
    total = rows.sum(dim=-1, keepdim=True)
    alive = total > 0
    # A fully masked row has nothing to measure: send a uniform row, zero its weights after.
    rows = torch.where(alive, rows / total.clamp(min=1e-300), 1.0 / N)
    P = rows.numpy()
    if mitigator is None:
        counts = backend.sample_distributions(P, shots=num_samples, seed=seed, noise=noise)
        est = np.asarray(counts, dtype=np.float64) / num_samples
    else:
        circuits = qtcore.amplitude_encoding(P)
        est = np.asarray(
            mitigator.run(backend, circuits, shots=num_samples, seed=seed, noise=noise),
            dtype=np.float64,
        )
    # Outcomes past N (padding) and on masked keys only occur under noise; they have no
    # value row to weight, so they are dropped (a projection onto the row's support).
    W = torch.from_numpy(est[:, :N].copy()) * total * (rows > 0)
    return W.to(device=p.device, dtype=p.dtype).reshape(p.shape)


def sampled_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    sampler: Any = None,
    backend: Any = None,
    num_samples: int | None = 32,
    noise: NoiseModel | None = None,
    mitigator: Any = None,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    hybrid: bool = False,
    dropout_p: float = 0.0,
    return_weights: bool = False,
) -> Any:
    """Attention ``p·V`` estimated as ``W·V`` from S sampled keys (or shots) per query row.

    Args:
        q: (…, L, E) queries; k: (…, N, E) keys; v: (…, N, Ev) values (leading dims
            broadcast as in ``torch.matmul``).
        attn_mask: bool (True = the key takes part) or float (added to the logits), broadcast
            to (…, L, N): the convention of ``scaled_dot_product_attention``.
        is_causal: mask keys after the query (top-left aligned), with any ``attn_mask``.
        scale: logit scale; ``1/sqrt(E)`` when None.
        sampler: a registered sampler name, a sampler object, or ``"exact"`` (``W = p``).
            Defaults to ``"topk"`` when no backend is given.
        backend: a backend name or object: rows are sampled with shots on it.
        num_samples: S, samples (shots) per row; ``None`` means exact.
        noise: a :class:`qtcore.NoiseModel` for the backend.
        mitigator: a mitigator name or object (with ``backend``): W is its quasi-probability
            estimate, negative entries allowed.
        generator: ``torch.Generator`` for the classical samplers (and, when ``seed`` is
            None, for the backend's seed).
        seed: the backend's seed (same seed, same counts).
        hybrid: when the rows need more qubits than ``backend.capabilities.max_qubits``, warn
            once (:class:`HybridFallbackWarning`) and use ``sampler`` (``"multinomial"`` if
            None: the same i.i.d. statistics as shots) instead of raising.
        dropout_p: dropout on W (training), as ``scaled_dot_product_attention`` does on p.
        return_weights: also return W (…, L, N), the weights actually used.

    Returns:
        (…, L, Ev) output, or ``(output, W)`` with ``return_weights``.

    Raises:
        InvalidInput: bad shapes, ``num_samples`` < 1, or a mitigator without a backend.
        CapabilityError: the backend cannot run n = ceil(log2 N) qubits and ``hybrid`` is off.

    Example:
        >>> import torch
        >>> from qtcore.nn.functional import sampled_attention
        >>> q = k = v = torch.eye(4)[None]
        >>> mask = torch.zeros(4, 4, dtype=torch.bool)  # every key masked
        >>> sampled_attention(q, k, v, mask, num_samples=8).abs().sum().item()
        0.0
    """
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise InvalidInput(
            f"q, k, v need shape (..., L, E), (..., N, E), (..., N, Ev); got {tuple(q.shape)}, "
            f"{tuple(k.shape)}, {tuple(v.shape)}"
        )
    if k.shape[-2] != v.shape[-2] or q.shape[-1] != k.shape[-1]:
        raise InvalidInput(
            f"k and v must have the same number of keys and q, k the same width; got q "
            f"{tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if mitigator is not None and backend is None:
        raise InvalidInput("mitigator= needs backend=: a mitigator runs circuits on a backend")
    if q.is_cuda and backend is None and not return_weights and dropout_p == 0.0:
        # qtcore-kernels' fused Triton kernel when installed; None when the call is not its case.
        try:
            kernels: Any = importlib.import_module("qtcore_kernels")
        except ImportError:
            kernels = None
        fused = kernels and kernels.sampled_attention(
            q, k, v, attn_mask, is_causal, scale=scale, sampler=sampler,
            num_samples=num_samples, generator=generator,
        )  # fmt: skip
        if fused is not None:
            return fused
    exact = num_samples is None or (isinstance(sampler, str) and sampler == "exact")
    design = resolved = None
    if not exact and backend is None:
        resolved = _resolve("sampler", sampler or DEFAULT_SAMPLER)  # once: names build anew
        if hasattr(resolved, "attend"):
            # Attending samplers (importance, hyper, control) choose keys from q and k
            # themselves, without the full row of logits: hand them the whole call.
            _check_budget(num_samples)
            return resolved.attend(
                q,
                k,
                v,
                attn_mask,
                is_causal,
                scale=scale,
                num_samples=num_samples,
                generator=generator,
                dropout_p=dropout_p,
                return_weights=return_weights,
            )
    needs_grad = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)
    blockwise = hasattr(resolved, "sample_indices") and not (
        exact or return_weights or needs_grad or dropout_p > 0.0 or backend is not None
    )
    if resolved is not None and _value_aware(resolved):
        design = _design(resolved, v, attn_mask, is_causal)
        k, attn_mask = design.permute(k), design.permute_mask(attn_mask)
        # With a control the blockwise path reads the design's residuals, not V.
        if not blockwise or design.residual is None:
            v = design.permute(v)
    if blockwise:
        _check_budget(num_samples)
        assert num_samples is not None
        return blockwise_sampled_attention(
            q,
            k,
            v,
            attn_mask,
            is_causal,
            scale=scale,
            sampler=resolved,
            num_samples=num_samples,
            generator=generator,
            sizes=None if design is None else design.sizes,
            control=None if design is None else design.control(),
        )
    p = attention_probabilities(q, k, attn_mask, is_causal, scale)
    if exact:
        W = p
    else:
        _check_budget(num_samples)
        assert num_samples is not None
        W = _estimate(
            p,
            num_samples,
            sampler=sampler if resolved is None else resolved,
            backend=_resolve("backend", backend),
            noise=noise,
            mitigator=_resolve("mitigator", mitigator),
            generator=generator,
            seed=seed,
            hybrid=hybrid,
            sizes=None if design is None else design.sizes,
        )
        if p.requires_grad and torch.is_grad_enabled():
            # Value W, gradient W/p per entry (0 where p = 0: such keys never get weight).
            ratio = p / torch.where(p > 0, p.detach(), torch.ones((), dtype=p.dtype))
            W = W.detach() * ratio
        if design is not None:
            W = design.corrected(W, p)
    if dropout_p > 0.0:
        W = torch.nn.functional.dropout(W, p=dropout_p)
    out = torch.matmul(W.to(v.dtype), v)
    if return_weights and design is not None:
        W = design.unpermute_weights(W)
    return (out, W) if return_weights else out


def _check_budget(num_samples: Any) -> None:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise InvalidInput(f"num_samples must be an int ≥ 1 or None, got {num_samples!r}")


#: Elements of one block of logits in :func:`blockwise_sampled_attention` (4 MiB in float32:
#: the block stays in cache while it is exponentiated, summed and searched).
BLOCK_ELEMENTS = 1 << 20


#: Logits per matrix product of the fused CPU pass (2 MiB in float32): written by the
#: product and read back by the pass while still in cache.
FUSED_BLOCK_ELEMENTS = 1 << 19


def _mask_logits_(logits: torch.Tensor, mask: torch.Tensor | None) -> None:
    """Apply an SDPA-convention mask in place: bool False → −inf, float added."""
    if mask is None:
        return
    if mask.dtype == torch.bool:
        logits.masked_fill_(~mask, float("-inf"))
    else:
        logits.add_(mask)


def _block_mask(
    attn_mask: torch.Tensor | None, is_causal: bool, start: int, stop: int, N: int, device: Any
) -> torch.Tensor | None:
    """The rows start:stop of the mask, with the causal part built for those rows only."""
    mask = None if attn_mask is None else attn_mask[..., start:stop, :]
    if not is_causal:
        return mask
    rows = torch.arange(start, stop, device=device)[:, None]
    causal = torch.arange(N, device=device)[None, :] <= rows
    if mask is None:
        return causal
    if mask.dtype == torch.bool:
        return mask & causal
    return mask.masked_fill(~causal, float("-inf"))


def blockwise_sampled_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    sampler: Any,
    num_samples: int,
    generator: torch.Generator | None = None,
    sizes: torch.Tensor | None = None,
    control: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The inference path of :func:`sampled_attention`: no dense W, no (L, N) product with V.

    Query rows are processed in blocks of about :data:`BLOCK_ELEMENTS` logits. For each
    block the probabilities are computed, the sampler returns its sparse form
    ``(idx, weight)`` (…, rows, S) (:meth:`qtcore.sampling.SamplerBase.sample_indices`), and
    the output ``Σ_s weight_s·v[idx_s]`` is one ``embedding_bag`` call, which reads S value
    rows per query and never materialises the gathered (…, L, S, D) values. The estimator is
    the sampler's own, so its law is that of :func:`sampled_attention`'s dense path; the
    random stream differs (draws are made block by block). ``sizes`` and ``control`` come
    from a :class:`ValueDesign` built for this call's mask (``control``: its
    ``(Φ, Ψ, V − C)``; the sampled keys then contribute residuals and each row gets
    ``(p·Φ)·Ψ`` exactly; Φ's first column must be 1 exactly on the keys that take part in
    every row, as the design makes it, since the fused pass adds ``Ψ``'s first row whole).

    For float32 CPU tensors and qtcore's ``topk`` and ``stratified`` samplers, everything
    after the logits' matrix product runs in one fused C pass per row
    (:mod:`qtcore.nn.native`): the same estimator from the same uniforms, about 3× less
    time than the separate torch passes.

    Example:
        >>> import torch
        >>> import qtcore
        >>> from qtcore.nn.functional import blockwise_sampled_attention
        >>> q = k = v = torch.randn(1, 2, 6, 4)
        >>> out = blockwise_sampled_attention(q, k, v, sampler=qtcore.get_sampler("topk"),
        ...                                   num_samples=6)
        >>> bool(torch.allclose(out, torch.nn.functional.scaled_dot_product_attention(q, k, v),
        ...                     atol=1e-5))
        True
    """
    L, N, Dv = q.shape[-2], k.shape[-2], v.shape[-1]
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])  # type: ignore[no-untyped-call]
    if attn_mask is not None:
        lead = torch.broadcast_shapes(lead, attn_mask.shape[:-2])  # type: ignore[no-untyped-call]
        attn_mask = attn_mask.expand(*lead, L, N)
    q = q.expand(*lead, L, q.shape[-1])
    k = k.expand(*lead, N, k.shape[-1])
    groups = math.prod(lead)
    if sizes is not None:
        size_rows = sizes.to(q.dtype).expand(*lead, N)
    ctrl = basis = None
    if control is not None:
        # Both paths sum x·(Φ/a) over the block's x = e·a (x = e without sizes): / Z, p·Φ.
        coeffs, basis, v = control
        ctrl = coeffs.to(q.dtype).expand(*lead, N, coeffs.shape[-1])
        if sizes is not None:
            ctrl = ctrl / size_rows.unsqueeze(-1)
        basis = basis.to(v.dtype).expand(*lead, *basis.shape[-2:])
    values = v.expand(*lead, N, Dv).reshape(groups * N, Dv)
    out = torch.empty(*lead, L, Dv, dtype=v.dtype, device=v.device)
    fused = _fused_mode(sampler, q, k, v, sizes)
    if fused is not None:
        native_control = None
        if ctrl is not None and basis is not None:
            # Φ's first column (the keys that take part) has coefficient Σp = 1 on every row
            # with mass: the pass adds μ itself and sums the other columns.
            pad = -(ctrl.shape[-1] - 1) % 4  # the pass sums four components at a time
            native_control = (
                torch.nn.functional.pad(ctrl[..., 1:].transpose(-2, -1), (0, 0, 0, pad))
                .reshape(groups, -1, N)
                .contiguous(),
                torch.nn.functional.pad(basis[..., 1:, :], (0, 0, 0, pad))
                .reshape(groups, -1, Dv)
                .contiguous(),
                basis[..., 0, :].reshape(groups, Dv).contiguous(),
            )
        _fused_blocks(
            q * scale,
            k,
            values.reshape(groups, N, Dv),
            attn_mask,
            is_causal,
            None if sizes is None else size_rows.reshape(groups, N),
            fused,
            num_samples,
            generator,
            out,
            native_control,
        )
        return out
    offsets = (torch.arange(groups, device=q.device) * N).reshape(*lead, 1, 1)
    if sizes is not None:
        flat_sizes = size_rows.reshape(groups * N)
    step = max(1, BLOCK_ELEMENTS // max(1, groups * N))
    for start in range(0, L, step):
        stop = min(L, start + step)
        # Causal rows start:stop see keys < stop only: the rest is never computed.
        n = min(N, stop) if is_causal else N
        mask = _block_mask(attn_mask, is_causal, start, stop, N, q.device)
        if mask is not None and n < N:
            mask = mask[..., :n]
        logits = torch.matmul(q[..., start:stop, :] * scale, k[..., :n, :].transpose(-2, -1))
        _mask_logits_(logits, mask)
        # Unnormalised e = exp(l − max), in place: the samplers take any non-negative row
        # (E[W] = e), so dividing the weights by Z = Σe gives E[W] = p without a softmax
        # pass. A fully masked row has max −inf; shifting it by 0 leaves e = 0, Z = 0.
        top = logits.amax(dim=-1, keepdim=True)
        top.masked_fill_(top == float("-inf"), 0.0)
        e = logits.sub_(top).exp_()
        Z = e.sum(dim=-1, keepdim=True)
        if sizes is not None:
            # Sample e·a (E[W_a] = e·a), then W = W_a / a: see ValueDesign.
            e.mul_(size_rows[..., :n].unsqueeze(-2))
        idx, weight = sampler.sample_indices(e, num_samples, generator=generator)
        weight = weight / Z.clamp(min=torch.finfo(Z.dtype).tiny)
        rows = (idx + offsets).reshape(-1, num_samples)
        if sizes is not None:
            weight = weight / flat_sizes[rows].reshape(weight.shape)
        block = torch.nn.functional.embedding_bag(
            rows,
            values,
            per_sample_weights=weight.reshape(-1, num_samples).to(v.dtype),
            mode="sum",
        )
        block = block.reshape(*lead, stop - start, Dv)
        if ctrl is not None and basis is not None:  # the exact control part (p·Φ)·Ψ
            share = torch.matmul(e, ctrl[..., :n, :]) / Z.clamp(min=torch.finfo(Z.dtype).tiny)
            block = block + torch.matmul(share.to(basis.dtype), basis)
        out[..., start:stop, :] = block
    return out


#: From this many keys on, the fused pass takes one (batch, head) group at a time with
#: FUSED_BLOCK_ELEMENTS logits per block: more query rows per matrix product, so the product
#: packs K once per 256 rows instead of once per 64 (measured 20% less time at N = 2048).
#: Below, all groups share each block (fewer Python-level steps for many short heads).
FUSED_GROUP_KEYS = 512


def _fused_blocks(
    q_scaled: torch.Tensor,
    k: torch.Tensor,
    values: torch.Tensor,
    attn_mask: torch.Tensor | None,
    is_causal: bool,
    sizes: torch.Tensor | None,
    fused: tuple[bool, bool],
    num_samples: int,
    generator: torch.Generator | None,
    out: torch.Tensor,
    control: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> None:
    """:func:`blockwise_sampled_attention` with the fused C pass (:mod:`qtcore.nn.native`).

    ``q_scaled`` (…, L, E), ``k`` (…, N, E), ``attn_mask`` (…, L, N) or None, all expanded
    to the same leading dims; ``values`` (G, N, Dv); ``sizes`` (G, N) or None; ``out``
    (…, L, Dv) is filled; ``control`` is :func:`qtcore.nn.native.sample_rows`' ``(ctrl,
    basis, mean)``, or None. The uniforms of a block of query rows are drawn for all groups at
    once, in the order the sampler's ``sample_indices`` would draw them on that block.
    """
    take_all, systematic = fused
    lead, L, N = q_scaled.shape[:-2], q_scaled.shape[-2], k.shape[-2]
    G, Dv = values.shape[0], values.shape[-1]
    qg = q_scaled.reshape(G, L, q_scaled.shape[-1])
    kg = k.reshape(G, N, k.shape[-1])
    og = out.view(G, L, Dv)
    chunk = 1 if N >= FUSED_GROUP_KEYS else G  # groups per matrix product
    mask: torch.Tensor | list[torch.Tensor] | None = None
    if attn_mask is not None and chunk == G:
        mask = attn_mask.reshape(G, L, N)
    elif attn_mask is not None:  # one group at a time: views of the (often broadcast) mask
        mask = [attn_mask[index][None] for index in np.ndindex(*lead)]
    step = max(1, FUSED_BLOCK_ELEMENTS // (chunk * N))
    # One buffer for every block: a fresh multi-MB tensor per block costs page faults
    # comparable to the product itself.
    buffer = torch.empty(chunk * min(step, L) * N, dtype=q_scaled.dtype)
    for start in range(0, L, step):
        stop = min(L, start + step)
        rows = stop - start
        n = min(N, stop) if is_causal else N  # causal rows start:stop see keys < stop
        u = uniform(
            (G * rows, 1 if systematic else num_samples),
            generator=generator,
            device=q_scaled.device,
            dtype=q_scaled.dtype,
        ).view(G, rows, -1)
        for g0 in range(0, G, chunk):
            g1 = min(G, g0 + chunk)
            logits = buffer[: (g1 - g0) * rows * n].view(g1 - g0, rows, n)
            torch.matmul(qg[g0:g1, start:stop], kg[g0:g1, :n].transpose(-2, -1), out=logits)
            if mask is not None:  # the pass cuts causal rows by length itself
                part = mask[g0] if isinstance(mask, list) else mask[g0:g1]
                _mask_logits_(logits, part[:, start:stop, :n])
            block = native.sample_rows(
                logits,
                rows_per_group=rows,
                causal_start=start if is_causal else None,
                sizes=None if sizes is None else sizes[g0:g1, :n],
                values=values[g0:g1],
                u=u[g0:g1].reshape((g1 - g0) * rows, -1),
                num_samples=num_samples,
                take_all=take_all,
                control=None if control is None else tuple(c[g0:g1] for c in control),  # type: ignore[arg-type]
            )
            assert block is not None  # _fused_mode checked that the pass is built
            og[g0:g1, start:stop] = block


def _fused_mode(
    sampler: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, sizes: torch.Tensor | None
) -> tuple[bool, bool] | None:
    """``(take_all, systematic)`` when the fused CPU pass (:mod:`qtcore.nn.native`) computes
    ``sampler``'s estimator on these tensors, else None (the torch path runs).

    Covered: float32 CPU tensors, qtcore's own :class:`~qtcore.sampling.TopKSampler` and
    :class:`~qtcore.sampling.StratifiedSampler` (not subclasses, whose estimator may
    differ), systematic or jittered, with or without value-aware sizes.
    """
    from qtcore.sampling import StratifiedSampler, TopKSampler

    tensors = (q, k, v) if sizes is None else (q, k, v, sizes)
    if any(t.device.type != "cpu" or t.dtype != torch.float32 for t in tensors):
        return None
    if type(sampler) not in (TopKSampler, StratifiedSampler):
        return None
    if native.native_status() != "ok":
        return None
    return type(sampler) is TopKSampler, bool(sampler.systematic)


def _estimate(
    p: torch.Tensor,
    num_samples: int,
    *,
    sampler: Any,
    backend: Any,
    noise: NoiseModel | None,
    mitigator: Any,
    generator: torch.Generator | None,
    seed: int | None,
    hybrid: bool,
    sizes: torch.Tensor | None = None,
) -> torch.Tensor:
    if backend is not None:
        n = num_qubits_for(p.shape[-1])
        limit = backend.capabilities.max_qubits
        if n <= limit:
            return _quantum_weights(
                p,
                backend,
                num_samples,
                noise=noise,
                mitigator=mitigator,
                seed=_seed_from(generator) if seed is None else seed,
            )
        if not hybrid:
            raise CapabilityError(
                f"backend {backend.name!r} runs at most {limit} qubits but {p.shape[-1]} keys "
                f"need {n}; pass hybrid=True to fall back to a classical sampler, or use "
                "fewer keys per row"
            )
        warnings.warn(
            f"backend {backend.name!r} runs at most {limit} qubits, these rows need {n}: "
            f"sampling classically with {sampler or 'multinomial'!r} instead (hybrid=True)",
            HybridFallbackWarning,
            stacklevel=3,
        )
        sampler = sampler or "multinomial"
    sampler = _resolve("sampler", sampler or DEFAULT_SAMPLER)
    if not hasattr(sampler, "sample_weights"):
        raise InvalidInput(
            f"sampler must be a registered name or have sample_weights(), got {sampler!r}"
        )
    if sizes is None:
        W: torch.Tensor = sampler.sample_weights(p.detach(), num_samples, generator=generator)
        return W
    a = sizes.to(p.dtype).unsqueeze(-2)  # (…, 1, N): E[W_a] = p·a, so E[W_a / a] = p
    W_a: torch.Tensor = sampler.sample_weights(p.detach() * a, num_samples, generator=generator)
    return W_a / a
