"""``topk``: take-all (certainty) keys weighted exactly, the rest sampled systematically.

This is πps sampling — inclusion probabilities proportional to ``p``, capped at 1 — with the
Horvitz–Thompson weights. Each key gets ``π_j = min(1, c·p_j)``, with ``c`` the per-row
constant that makes ``Σ_j π_j = S`` (found by the fixed point ``c = (S − t)/R``: ``t`` keys
with ``c·p_j ≥ 1``, ``R`` the mass of the others; it converges in a few passes because ``c``
only grows). Keys with ``π_j = 1`` are the take-all keys: their share of the budget is at
least one whole sample. The split is adaptive per row, not a fixed k: a flat row has none,
a peaked row many.

One systematic pass draws the sample: lay the keys' ``π_j`` end to end on [0, S) and take
the points ``i + U`` (i < S, one uniform ``U`` per row). A take-all key's interval has
length 1 and always holds exactly one point; any other key holds at most one, with
probability ``π_j``. A selected key gets ``W_j = p_j / π_j``: ``p_j`` itself for a take-all
key (no variance) and ``1/c = R/(S − t)`` for the rest, so ``E[W_j] = π_j · p_j/π_j = p_j``.
Under the model where values are exchangeable this design minimises ``Σ_j Var(W_j)`` for a
budget of S distinct keys: ``Σ_j Var(W_j) = Σ_{j not certain} p_j (1/c − p_j)``. A row with
N ≤ S non-zero keys is computed exactly. ``systematic=False`` jitters each unit interval
independently instead (still unbiased; a key may then be hit 0 or 2 times).

Example:
    >>> import torch
    >>> from qtcore.sampling import TopKSampler
    >>> p = torch.tensor([0.6, 0.2, 0.1, 0.05, 0.05])
    >>> W = TopKSampler().sample_weights(p, 3, generator=torch.Generator().manual_seed(0))
    >>> W[0].item(), round(float(W.sum()), 6)  # 0.6 is certain: weighted exactly
    (0.6000000238418579, 1.0)
"""

from __future__ import annotations

import torch

from qtcore.errors import InvalidInput
from qtcore.sampling.base import SamplerBase
from qtcore.sampling.inverse_cdf import locate, stratified_points

__all__ = ["TopKSampler"]


class TopKSampler(SamplerBase):
    """Adaptive take-all keys plus systematic sampling of the rest (πps, Horvitz–Thompson).

    Args:
        systematic: one offset per row (systematic πps, default), or one per unit interval
            (jittered; a key may then be hit twice).
        value_aware: when used by :func:`~qtcore.nn.functional.sampled_attention` (and so by
            ``QuantumMultiheadAttention`` and the Hugging Face integration), sample with
            inclusion ∝ ``p_j·‖v_j − v̄‖`` over keys ordered so that neighbours have similar
            values (:class:`~qtcore.nn.functional.ValueDesign`); still unbiased. On its
            own, ``sample_weights(p, …)`` sees no values and is plain πps either way.
        control_rank: with ``value_aware``, the values' mean and top ``control_rank``
            principal directions are an exact control: ``p·C`` is computed from the full
            row p (N·(r+1) products per row) and only the residuals ``V − C`` are sampled
            (:class:`~qtcore.nn.functional.ValueDesign`); 0 switches it off. At most a
            quarter of the value width is used (Ev // 4 directions: the exact part then
            costs at most a quarter of exact ``p·V``, and the samples still carry at
            least three quarters of the value dimensions). It applies when
            every query row of a head sees the same keys (no mask, key padding, additive
            bias), not under ``is_causal`` or row-dependent masks.

    Example:
        >>> from qtcore.sampling import TopKSampler
        >>> TopKSampler()
        <TopKSampler 'topk' systematic=True value_aware=True control_rank=4>
    """

    name: str = "topk"

    def __init__(
        self, *, systematic: bool = True, value_aware: bool = True, control_rank: int = 4
    ) -> None:
        if not isinstance(systematic, bool):
            raise InvalidInput(f"systematic must be True or False, got {systematic!r}")
        if not isinstance(value_aware, bool):
            raise InvalidInput(f"value_aware must be True or False, got {value_aware!r}")
        if isinstance(control_rank, bool) or not isinstance(control_rank, int) or control_rank < 0:
            raise InvalidInput(
                f"control_rank must be an int ≥ 0 (0: no control), got {control_rank!r}"
            )
        self.systematic = systematic
        self.value_aware = value_aware
        self.control_rank = control_rank

    def inclusion(self, p: torch.Tensor, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Inclusion probabilities ``π = min(1, c·p)`` (R, N) and the constant ``c`` (R, 1).

        ``Σ_j π_j = min(S, number of non-zero keys)``; keys with ``π_j = 1`` are take-all.

        Example:
            >>> import torch
            >>> from qtcore.sampling import TopKSampler
            >>> pi, c = TopKSampler().inclusion(torch.tensor([[0.7, 0.2, 0.1]]), 2)
            >>> [round(x, 4) for x in pi[0].tolist()], round(float(c), 4)
            ([1.0, 0.6667, 0.3333], 3.3333)
        """
        total = p.sum(dim=-1, keepdim=True)
        # "Every non-zero key certain" is c = huge rather than inf, so that 0·c stays 0.
        huge = 1.0 / torch.finfo(p.dtype).tiny
        c = (num_samples / total).clamp(max=huge)
        # Most rows of long attention have no certain key at c = S/Σp (their largest p is
        # below Σp/S): c is final for them after two passes. Only the others iterate.
        peaked = (p.amax(dim=-1, keepdim=True) * c >= 1).squeeze(-1)
        if bool(peaked.any()):
            rows = peaked.nonzero().squeeze(-1)
            c = c.index_copy(0, rows, _solve(p.index_select(0, rows), c[rows], num_samples))
        return torch.mul(p, c).clamp_(max=1.0), c

    def _indices(
        self, p: torch.Tensor, num_samples: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        S = num_samples
        x = S * stratified_points(
            (p.shape[0], S),
            S,
            systematic=self.systematic,
            generator=generator,
            device=p.device,
            dtype=p.dtype,
        )
        total = p.sum(dim=-1, keepdim=True)
        # A flat row has no certain key at c = S/Σp: π = c·p, so its points x ∈ [0, S) are
        # located on p's own cumulative sum at x/c, and every weight is 1/c = Σp/S. That is
        # two reductions and one cumulative sum; only the other rows (peaked, all-zero, or
        # with fewer non-zero keys than S) solve for c and build π.
        flat = (p.amax(dim=-1, keepdim=True) * S < total).squeeze(-1)
        scale = total / S
        idx = locate(p, x * scale)
        weight = scale.expand(-1, S)
        if bool(flat.all()):
            return idx, weight
        # The few other rows are redone on their own (index_select and index_copy: copying
        # whole rows, much faster on CPU than advanced indexing).
        rows = (~flat).nonzero().squeeze(-1)
        peak_idx, peak_weight = self._peaked(p.index_select(0, rows), x.index_select(0, rows), S)
        return idx.index_copy(0, rows, peak_idx), weight.index_copy(0, rows, peak_weight)

    def _peaked(
        self, p: torch.Tensor, x: torch.Tensor, num_samples: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pi, c = self.inclusion(p, num_samples)
        mass = pi.sum(dim=-1, keepdim=True)  # = S, or the number of non-zero keys if fewer
        # When Σπ = S up to round-off, stretch the lattice onto [0, Σπ) so the last point
        # stays inside; when Σπ is smaller (fewer non-zero keys than S), points past it are
        # switched off. Stretching by more than round-off would let a take-all key's unit
        # interval catch two points, so the tolerance is tight.
        full = mass > num_samples * (1 - 1e-4)
        x = torch.where(full, x * (mass / num_samples), x)
        live = x < mass
        idx = locate(pi, torch.where(live, x, 0.0))
        chosen = p.gather(-1, idx)
        weight = torch.where(chosen * c >= 1, chosen, 1.0 / c)
        return idx, torch.where(live, weight, 0.0)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} systematic={self.systematic} "
            f"value_aware={self.value_aware} control_rank={self.control_rank}>"
        )


def _solve(p: torch.Tensor, c: torch.Tensor, num_samples: int) -> torch.Tensor:
    """The fixed point ``c = (S − t)/R`` (R, 1) for rows of ``p``, starting from ``c`` = S/Σp."""
    huge = 1.0 / torch.finfo(p.dtype).tiny
    pi = torch.empty_like(p)
    whole = torch.empty_like(p)  # scratch, reused: allocating per pass costs more than it
    for _ in range(num_samples + 1):  # c only grows, and stops within S + 1 passes
        torch.mul(p, c, out=pi).clamp_(max=1.0)
        # Float passes only (bool reductions are several times slower on CPU): a clamped π
        # is 1 exactly for the t certain keys, so floor(π) counts them, and the others' mass
        # is (Σπ − t)/c, summed directly rather than as total minus the certain mass (after
        # a key with p ≈ 1 that difference is round-off).
        t = torch.floor(pi, out=whole).sum(dim=-1, keepdim=True)
        rest = (pi.sum(dim=-1, keepdim=True) - t) / c
        done = (rest <= 0) | (t >= num_samples)  # nothing left to sample
        c_next = (num_samples - t) / rest.clamp(min=1e-30)
        c_next = torch.where(done, huge, c_next.clamp(max=huge))
        c_next = torch.maximum(c_next, c)  # guards float round-off against a step back
        if torch.equal(c_next, c):
            break
        c = c_next
    return c
