"""``importance``: heavy key blocks computed exactly, the rest importance-sampled by block.

Keys are split into C = N/b blocks of b keys that look alike: a balanced tree of median
splits along each part's principal direction (of the keys, or of a learned low-rank
projection ``k·B`` of them, :class:`LowRankProposal`), so the keys of a block give a query
similar logits. Block c gets its mean key ``μ_c``, its diagonal variance ``σ²_c`` and, for
query i, its number of keys that take part ``n_c(i)`` (causal and padding masks enter
here). Row i's proposal over blocks is ``a_c(i) ∝ n_c(i)·exp(scale·q_i·μ_c +
½·scale²·Σ_e q_ie² σ²_ce)``, the second-order estimate of the block's mean of exp(s).

Queries are sorted by their most probable super-block (16 leaves of the tree) and cut into
query blocks of ``query_block`` rows. Each row's proposal over blocks, normalised, is
averaged over its query block: ``ā_c``, a valid proposal for every row of the block
(positive wherever the row's own is). The ``heavy`` blocks of largest ``ā`` are computed
**exactly**. The others carry the tail: S draws per query block, shared by its rows, pick
blocks by the ``base`` sampler on ``ā`` (``E[W_c] = ā_c``) and one key uniformly among the
block's keys. Query i gives a drawn key j of block c the weight
``(W_c / ā_c)·n_c·exp(s_ij − m_i)`` (``n_c`` keys in the block), and zero if j is masked for
i, so that for any function f of the key

    E[Σ_draws weight·f(j)] = Σ_{c in tail} Σ_{j ∈ c, j not masked} exp(s_ij − m_i)·f(j):

the numerator (f = v_j) and the normaliser (f = 1) are unbiased each, and the output
``T̂/Ẑ`` has the ratio's O(1/S) bias (:mod:`qtcore.sampling.attend`). The heavy set and
the blocks depend on q and k only, never on the draws; masked keys never get weight. The
heavy keys and the draws of a query block form one tile, so every logit is a dense
product (Qb × (heavy·b + S)) and keys are read once per query block, not per row.

Cost per query row: O(C·E) for the block proposal (C = N/b), O((heavy·b + S)·E) exact
logits and values, against O(N·E) for exact attention; the key tree costs O(N·r·log C) per
head (r = E, or the learned rank). A :class:`LowRankProposal` (rank r ≪ E) fitted by minimising
KL(p‖q_r) on captured attention (:meth:`ImportanceSampler.fit`) makes the blocks follow the
directions that matter to the logits; it is a ``torch.nn.Module`` parameter, saved and
loaded with the model's state, and trains with the model (an auxiliary KL gradient is
attached to the output) when gradients flow.

Example:
    >>> import torch
    >>> from qtcore.sampling.importance import ImportanceSampler
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(2, 300, 16, generator=g) for _ in range(3))
    >>> sampler = ImportanceSampler(block_size=16, heavy=4)
    >>> out = sampler.attend(q, k, v, is_causal=True, num_samples=32, generator=g)
    >>> out.shape, bool(torch.isfinite(out).all())
    (torch.Size([2, 300, 16]), True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from qtcore.errors import InvalidInput
from qtcore.sampling.attend import (
    AttendingSampler,
    Estimate,
    Rows,
    dropout_keep,
    exact_estimate,
    prepare,
)

__all__ = ["ImportanceSampler", "LowRankProposal", "key_tree"]


class LowRankProposal(torch.nn.Module):
    """Rank-r logits ``(q·A)·(k·B)ᵀ`` that approximate ``q·kᵀ``: the learned proposal features.

    Initialised with A = B = the first r coordinates (an untrained projection); fit it with
    :meth:`ImportanceSampler.fit` or let it train with the model.

    Args:
        dim: the head dimension E.
        rank: r, with 1 ≤ r ≤ E.

    Example:
        >>> import torch
        >>> from qtcore.sampling.importance import LowRankProposal
        >>> prop = LowRankProposal(8, 2)
        >>> prop.logits(torch.ones(1, 3, 8), torch.ones(1, 5, 8), 1.0).shape
        torch.Size([1, 3, 5])
    """

    def __init__(self, dim: int, rank: int) -> None:
        super().__init__()
        if not (isinstance(dim, int) and isinstance(rank, int) and 1 <= rank <= dim):
            raise InvalidInput(f"LowRankProposal needs ints 1 ≤ rank ≤ dim, got {rank}, {dim}")
        eye = torch.eye(dim, rank)
        self.A = torch.nn.Parameter(eye.clone())
        self.B = torch.nn.Parameter(eye.clone())

    def keys(self, k: torch.Tensor) -> torch.Tensor:
        """Projected keys ``k·B`` (…, N, r)."""
        return torch.matmul(k, self.B.to(k.dtype))

    def logits(self, q: torch.Tensor, k: torch.Tensor, scale: float) -> torch.Tensor:
        """Rank-r logits ``scale·(q·A)·(k·B)ᵀ`` (…, L, N)."""
        qa = torch.matmul(q * scale, self.A.to(q.dtype))
        return torch.matmul(qa, self.keys(k).transpose(-2, -1))

    def kl(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        is_causal: bool = False,
        scale: float | None = None,
    ) -> torch.Tensor:
        """Mean over live rows of KL(p‖q_r), p the exact attention (q, k, mask as in SDPA).

        Gradients reach A and B only (p is computed without gradient).

        Example:
            >>> import torch
            >>> from qtcore.sampling.importance import LowRankProposal
            >>> q = k = torch.randn(1, 4, 8)
            >>> float(LowRankProposal(8, 8).kl(q, k).detach()) < 1e-5  # full rank: q_r = p
            True
        """
        rows = prepare(q, k, k, attn_mask, is_causal, scale, "importance")
        allowed = rows.allowed
        L, N = rows.q.shape[1], rows.k.shape[1]
        if rows.causal:
            allowed = (
                torch.ones(L, N, dtype=torch.bool, device=q.device)
                .tril()
                .expand(rows.q.shape[0], L, N)
            )
        with torch.no_grad():
            exact = torch.matmul(rows.q * rows.scale, rows.k.transpose(1, 2))
            if rows.bias is not None:
                exact = exact + rows.bias
            if allowed is not None:
                exact = exact.masked_fill(~allowed, float("-inf"))
            live = torch.isfinite(exact.amax(dim=-1))
            logp = torch.log_softmax(exact.masked_fill(~live[..., None], 0.0), dim=-1)
        approx = self.logits(rows.q.detach(), rows.k.detach(), rows.scale)
        if rows.bias is not None:
            approx = approx + rows.bias
        if allowed is not None:
            approx = approx.masked_fill(~allowed, float("-inf"))
        logq = torch.log_softmax(approx.masked_fill(~live[..., None], 0.0), dim=-1)
        p = logp.exp()
        terms = torch.where(p > 0, p * (logp - logq), 0.0).sum(dim=-1)
        return terms[live].mean() if bool(live.any()) else terms.sum() * 0.0


def key_tree(features: torch.Tensor, levels: int) -> torch.Tensor:
    """A balanced tree of median splits: the permutation (G, N) whose 2^levels equal
    consecutive parts are the leaves.

    Each part is split at the median of its projection on the part's principal direction
    (power iteration on its covariance, started from its largest centred point, so the
    tree depends on the features only). N must be divisible by 2^levels.

    Example:
        >>> import torch
        >>> from qtcore.sampling.importance import key_tree
        >>> x = torch.tensor([[[0.0], [10.0], [1.0], [11.0]]])
        >>> sorted(key_tree(x, 1).view(2, 2).sort(dim=1).values.tolist())
        [[0, 2], [1, 3]]
    """
    G, N, r = features.shape
    order = torch.arange(N, device=features.device).expand(G, N).contiguous()
    x = features
    flat = features.reshape(G * N, r)
    offsets = (torch.arange(G, device=features.device) * N).view(G, 1)
    for level in range(levels):
        parts = 1 << level
        m = N // parts
        xs = x.reshape(G * parts, m, r)
        xc = xs - xs.mean(dim=1, keepdim=True)
        cov = torch.matmul(xc.transpose(1, 2), xc)
        start = xc.norm(dim=-1).argmax(dim=1)
        vec = xc.gather(1, start.view(-1, 1, 1).expand(-1, 1, r)).transpose(1, 2)
        for _ in range(8):
            vec = torch.matmul(cov, vec)
            vec = vec / vec.norm(dim=1, keepdim=True).clamp(min=1e-30)
        proj = torch.matmul(xc, vec).squeeze(-1)
        perm = proj.argsort(dim=1, stable=True)
        order = order.reshape(G * parts, m).gather(1, perm).reshape(G, N)
        # Whole rows by index_select: a gather with the index expanded over r is slower.
        x = flat.index_select(0, (order + offsets).reshape(-1)).view(G, N, r)
    return order


class _AttachLoss(torch.autograd.Function):
    """Identity on ``out`` whose backward also sends gradient 1 into an auxiliary loss."""

    @staticmethod
    def forward(ctx: Any, out: torch.Tensor, aux: torch.Tensor) -> torch.Tensor:
        ctx.aux_shape = aux.shape
        return out.view_as(out)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return grad, torch.ones(ctx.aux_shape, dtype=grad.dtype, device=grad.device)


class ImportanceSampler(AttendingSampler):
    """Exact heavy key blocks plus importance-sampled tail blocks (see the module docstring).

    Args:
        block_size: b, keys per block (the tree has C = ⌈N/b⌉ rounded to a power of two
            leaves).
        heavy: blocks computed exactly per query block.
        query_block: queries sharing one heavy set.
        base: the sampler (name or object with ``sample_indices``) that draws blocks from
            the query block's proposal: ``"stratified"`` by default (one pass; ``"topk"``,
            πps, measured no better here and costs more), ``"multinomial"`` for i.i.d.
        proposal: a :class:`LowRankProposal` whose projected keys build the tree, or None
            (the tree splits the keys themselves).
        rank: shorthand for ``proposal=LowRankProposal(head_dim, rank)``.
        head_dim: the head dimension E, with ``rank``.
        kl_weight: weight of the KL(p‖q_r) gradient the proposal receives when gradients
            flow in training mode (0 switches that off).
        tree_rank: without a proposal, the tree splits the keys projected on their top
            ``tree_rank`` principal directions (all of them when E is not larger).

    Example:
        >>> from qtcore.sampling.importance import ImportanceSampler
        >>> ImportanceSampler(rank=8, head_dim=64)
        ImportanceSampler(
          name='importance', block_size=16, heavy=32, query_block=64
          (proposal): LowRankProposal()
        )
    """

    name = "importance"

    def __init__(
        self,
        *,
        block_size: int = 16,
        heavy: int = 32,
        query_block: int = 64,
        base: Any = "stratified",
        proposal: LowRankProposal | None = None,
        rank: int | None = None,
        head_dim: int | None = None,
        kl_weight: float = 1.0,
        tree_rank: int = 16,
    ) -> None:
        super().__init__()
        for label, value, low in (
            ("tree_rank", tree_rank, 1),
            ("block_size", block_size, 1),
            ("heavy", heavy, 0),
            ("query_block", query_block, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidInput(f"importance: {label} must be an int ≥ {low}, got {value!r}")
        if rank is not None:
            if proposal is not None or head_dim is None:
                raise InvalidInput(
                    "importance: pass rank= together with head_dim= (or a proposal=), not both"
                )
            proposal = LowRankProposal(head_dim, rank)
        if isinstance(base, str):
            import qtcore

            base = qtcore.get_sampler(base)
        if not hasattr(base, "sample_indices"):
            raise InvalidInput(f"importance: base must have sample_indices(), got {base!r}")
        self.block_size = block_size
        self.heavy = heavy
        self.query_block = query_block
        self.base = base
        self.proposal = proposal
        self.kl_weight = float(kl_weight)
        self.tree_rank = tree_rank

    def extra_repr(self) -> str:
        """Shown by ``print(sampler)``."""
        return (
            f"name={self.name!r}, block_size={self.block_size}, heavy={self.heavy}, "
            f"query_block={self.query_block}"
        )

    def fit(
        self,
        batches: Iterable[tuple[torch.Tensor, ...]],
        *,
        steps: int = 200,
        lr: float = 0.01,
    ) -> list[float]:
        """Fit the low-rank proposal by minimising KL(p‖q_r) on captured attention (Adam).

        Args:
            batches: tuples ``(q, k)`` or ``(q, k, attn_mask)`` (shapes as in SDPA), cycled
                for ``steps`` steps.
            steps: optimiser steps.
            lr: Adam's learning rate.

        Returns:
            The KL after each step.

        Raises:
            InvalidInput: the sampler has no proposal, or ``batches`` is empty.

        Example:
            >>> import torch
            >>> from qtcore.sampling.importance import ImportanceSampler
            >>> q = torch.randn(1, 32, 8) * 2; k = q.roll(3, dims=-1)
            >>> losses = ImportanceSampler(rank=2, head_dim=8).fit([(q, k)], steps=50)
            >>> losses[-1] < losses[0]
            True
        """
        if self.proposal is None:
            raise InvalidInput("importance: fit() needs a proposal (ImportanceSampler(rank=...))")
        data = list(batches)
        if not data:
            raise InvalidInput("importance: fit() needs at least one (q, k) batch")
        opt = torch.optim.Adam(self.proposal.parameters(), lr=lr)
        losses = []
        for step in range(steps):
            q, k, *rest = data[step % len(data)]
            mask = rest[0] if rest else None
            loss = self.proposal.kl(q, k, mask)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            losses.append(float(loss.detach()))
        return losses

    def attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *args: Any, **kw: Any
    ) -> Any:
        """As :meth:`AttendingSampler.attend`; in training with gradients, the proposal also
        receives the gradient of ``kl_weight·KL(p‖q_r)`` (exact p: O(L·N) per head).

        Example:
            >>> import torch
            >>> from qtcore.sampling.importance import ImportanceSampler
            >>> s = ImportanceSampler(rank=2, head_dim=4)
            >>> q = torch.randn(1, 5, 4, requires_grad=True)
            >>> s.attend(q, q, q, num_samples=2).sum().backward()
            >>> s.proposal.A.grad is not None
            True
        """
        result = super().attend(q, k, v, *args, **kw)
        prop = self.proposal
        if (
            prop is None
            or not self.training
            or self.kl_weight == 0.0
            or not torch.is_grad_enabled()
            or not prop.A.requires_grad
        ):
            return result
        mask = args[0] if args else kw.get("attn_mask")
        causal = args[1] if len(args) > 1 else kw.get("is_causal", False)
        aux = self.kl_weight * prop.kl(q.detach(), k.detach(), mask, causal, kw.get("scale"))
        if isinstance(result, tuple):
            return (_AttachLoss.apply(result[0], aux), result[1])  # type: ignore[no-untyped-call]
        return _AttachLoss.apply(result, aux)  # type: ignore[no-untyped-call]

    def estimate(
        self,
        rows: Rows,
        num_samples: int,
        generator: torch.Generator | None,
        dropout_p: float = 0.0,
        need_weights: bool = False,
    ) -> Estimate:
        """The unbiased sums (:class:`~qtcore.sampling.attend.Estimate`) of every row."""
        G, L, _ = rows.q.shape
        N = rows.k.shape[1]
        b = self.block_size
        if N <= b * max(self.heavy, 1) and self.heavy > 0:
            return exact_estimate(
                rows, need_weights, dropout_keep((G, L, N), dropout_p, rows.q, generator)
            )
        return _estimate(self, rows, num_samples, generator, dropout_p, need_weights)


def _gather_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[g, idx[g, ...]]`` for x (G, M, D) and idx (G, ...): (G, ..., D).

    One ``index_select`` of whole rows: ``gather`` with an index expanded over D would read
    D index entries per value.
    """
    G, M, D = x.shape
    offsets = (torch.arange(G, device=x.device) * M).view(G, *([1] * (idx.dim() - 1)))
    flat = (idx + offsets).reshape(-1)
    return x.reshape(G * M, D).index_select(0, flat).view(*idx.shape, D)


def _estimate(
    self: ImportanceSampler,
    rows: Rows,
    S: int,
    generator: torch.Generator | None,
    dropout_p: float,
    need_weights: bool,
) -> Estimate:
    q, k, v, scale = rows.q, rows.k, rows.v, rows.scale
    G, L, E = q.shape
    N, Ev = k.shape[1], v.shape[-1]
    dev, dt = q.device, q.dtype
    b = self.block_size
    levels = max(0, math.ceil(math.log2(max(1.0, N / b))))
    C = 1 << levels
    bs = -(-N // C)  # actual block size after rounding C to a power of two
    Np = C * bs

    # -- the key tree and block statistics (no gradient: they only shape the proposal) --
    with torch.no_grad():
        kd = k.detach()
        if self.proposal is not None:
            feats = self.proposal.keys(kd).detach()
        elif E > self.tree_rank:
            # Untrained: the keys' top principal directions (the tree's cost is linear in
            # the feature width; at r = 16 of 64 it is a quarter).
            centred = kd - kd.mean(dim=1, keepdim=True)
            basis = torch.linalg.eigh(torch.matmul(centred.transpose(1, 2), centred))[1]
            feats = torch.matmul(kd, basis[..., -self.tree_rank :])
        else:
            feats = kd
        if Np > N:  # dead keys sit at the features' mean and are never drawn
            fill = feats.mean(dim=1, keepdim=True).expand(G, Np - N, feats.shape[-1])
            feats = torch.cat([feats, fill], dim=1)
        order = key_tree(feats, levels).view(G, C, bs).sort(dim=-1).values  # positions
        alive = order < N
        pos = order.clamp(max=N - 1)
        kb = _gather_rows(kd, pos)  # (G, C, bs, E)
        n_blk = alive.sum(dim=-1)  # (G, C)
        mu, var = _moments(kb, alive)  # (G, C, E) each
        stats = _stats(mu, var, scale)  # (G, 2E, C)
        log_nblk = n_blk.to(dt).log().unsqueeze(1)  # (G, 1, C)
        # Queries are grouped by their best *super-block* (16 leaves): a 16× cheaper pass.
        Cs = 1 << max(0, levels - 4)
        nw = n_blk.to(dt).view(G, Cs, -1, 1)
        n_sup = nw.sum(dim=2).clamp(min=1)
        mu_sup = (mu.view(G, Cs, -1, E) * nw).sum(dim=2) / n_sup
        sq_sup = ((var + mu * mu).view(G, Cs, -1, E) * nw).sum(dim=2) / n_sup
        super_stats = _stats(mu_sup, (sq_sup - mu_sup * mu_sup).clamp(min=0), scale)
        log_nsup = nw.sum(dim=2).squeeze(-1).log().unsqueeze(1)
        search = torch.where(alive, order, torch.iinfo(torch.int64).max)  # dead last
        cid = torch.arange(C, device=dev).view(1, C, 1).expand(G, C, bs)
        blk_of = torch.zeros(G, Np, dtype=torch.int64, device=dev)
        blk_of.scatter_(1, order.reshape(G, -1), cid.reshape(G, -1))
        blk_of = blk_of[:, :N]

        plain = rows.allowed is None and not rows.causal

        def counts(qpos: torch.Tensor) -> torch.Tensor:
            """n_c(i) (G, M, C) for query positions qpos (G, M)."""
            M = qpos.shape[1]
            if rows.allowed is not None:
                allow = rows.allowed.gather(1, qpos.unsqueeze(-1).expand(G, M, N))
                out = torch.zeros(G, M, C, dtype=dt, device=dev)
                return out.scatter_add_(2, blk_of.unsqueeze(1).expand(G, M, N), allow.to(dt))
            if rows.causal:
                seq = search.reshape(G * C, bs)
                vals = qpos.unsqueeze(1).expand(G, C, M).reshape(G * C, M)
                found = torch.searchsorted(seq, vals.contiguous(), right=True)
                return found.view(G, C, M).transpose(1, 2).to(dt)
            return n_blk.unsqueeze(1).expand(G, M, C).to(dt)

        # -- queries sorted by their most probable block, cut into query blocks --
        top1 = torch.empty(G, L, dtype=torch.int64, device=dev)
        step = max(1, (1 << 22) // max(1, G * Cs))
        for s0 in range(0, L, step):
            lp = torch.matmul(_features(q[:, s0 : s0 + step].detach()), super_stats)
            top1[:, s0 : s0 + step] = lp.add_(log_nsup).argmax(dim=-1)
        qorder = top1.argsort(dim=1, stable=True)
    # Keys and values in block order, contiguous: a heavy block is one 4·bs·E-byte row.
    kbg = _gather_rows(k, pos).reshape(G * C, bs * E)
    vbg = _gather_rows(v, pos).reshape(G * C, bs * Ev)
    Qb = self.query_block
    nqb = -(-L // Qb)
    Lp = nqb * Qb
    if Lp > L:
        qorder = torch.cat([qorder, qorder[:, -1:].expand(G, Lp - L)], dim=1)
    m = min(self.heavy, C)
    num_s = torch.zeros(G, Lp, Ev, dtype=dt, device=dev)
    Z_s = torch.zeros(G, Lp, 1, dtype=dt, device=dev)
    shift_s = torch.zeros(G, Lp, 1, dtype=dt, device=dev)
    W = torch.zeros(G, L, N, dtype=dt, device=dev) if need_weights else None
    T = m * bs + S  # keys of one query block's tile: heavy blocks, then the shared draws
    chunk = max(1, (1 << 21) // max(1, G * Qb * max(C, T)))
    if rows.allowed is not None:
        chunk = max(1, min(chunk, (1 << 22) // max(1, G * Qb * N)))
    goff = torch.arange(G, device=dev).view(G, 1, 1)
    for c0 in range(0, nqb, chunk):
        c1 = min(nqb, c0 + chunk)
        nb = c1 - c0
        M = nb * Qb
        qpos = qorder[:, c0 * Qb : c1 * Qb]  # (G, M)
        real = torch.arange(c0 * Qb, c1 * Qb, device=dev).expand(G, -1) < L  # not padding
        qc = _gather_rows(q, qpos)  # (G, M, E)
        with torch.no_grad():
            n_ic = counts(qpos)  # (G, M, C)
            plog = torch.matmul(_features(qc.detach()), stats)
            lp = plog + (log_nblk if plain else n_ic.log())
            top = lp.amax(dim=-1, keepdim=True)
            a = torch.exp(lp - torch.where(torch.isfinite(top), top, 0.0))
            a = a / a.sum(dim=-1, keepdim=True).clamp(min=1e-30)  # each row's proposal
            # The query block's proposal: the mean of its rows' (a valid proposal for each
            # row: positive wherever that row's is).
            abar = a.view(G, nb, Qb, C).sum(dim=2)
            H = abar.topk(m, dim=-1).indices if m > 0 else abar[..., :0].long()  # (G, nb, m)
            abar.scatter_(2, H, 0.0)
            plog_max = plog.masked_fill_(n_ic == 0, float("-inf")).amax(dim=-1, keepdim=True)
            cidx, wc = self.base.sample_indices(abar.reshape(G * nb, C), S, generator=generator)
            cidx, wc = cidx.view(G, nb, S), wc.view(G, nb, S).to(dt)
            a_hit = abar.gather(2, cidx)
            n_hit = n_blk.gather(1, cidx.view(G, -1)).view(G, nb, S).to(dt)
            ratio = torch.where(a_hit > 0, wc / torch.where(a_hit > 0, a_hit, 1.0), 0.0) * n_hit
            source = generator.device if generator is not None else dev
            u = torch.rand((G, nb, S), generator=generator, device=source, dtype=dt).to(dev)
            slot = torch.minimum((u * n_hit).floor(), (n_hit - 1).clamp(min=0)).long()
            flat = cidx * bs + slot  # each draw's place in block order
            tail_pos = order.reshape(G, -1).gather(1, flat.view(G, -1)).view(G, nb, S)
            hpos = _block_positions(order, H)  # (G, nb, m·bs)
            tpos = torch.cat([hpos, tail_pos], dim=2)  # (G, nb, T) key positions
            talive = tpos < N
            tp = tpos.clamp(max=N - 1)
            mult = torch.cat([torch.ones(G, nb, m * bs, dtype=dt, device=dev), ratio], dim=2)
            rows_idx = torch.cat(
                [
                    (H.unsqueeze(-1) * bs + torch.arange(bs, device=dev)).view(G, nb, m * bs),
                    flat,
                ],
                dim=2,
            )  # (G, nb, T): places in block order
            rows_idx = (rows_idx + goff * (C * bs)).reshape(-1)
        kt = kbg.view(G * C * bs, E).index_select(0, rows_idx).view(G, nb, T, E)
        vt = vbg.view(G * C * bs, Ev).index_select(0, rows_idx).view(G, nb, T, Ev)
        qb4 = qc.view(G, nb, Qb, E)
        qpos4 = qpos.view(G, nb, Qb)
        logits = torch.matmul(qb4 * scale, kt.transpose(-2, -1))  # (G, nb, Qb, T)
        # A dead slot or a zero-weight draw never counts (its logit is never read).
        keyok = (talive & (mult > 0)).unsqueeze(2)
        ok: torch.Tensor = keyok
        if rows.causal:
            ok = ok & (tp.unsqueeze(2) <= qpos4.unsqueeze(-1))
        if rows.allowed is not None or rows.bias is not None:
            lin = (qpos4.unsqueeze(-1) * N + tp.unsqueeze(2)).reshape(G, -1)
            if rows.allowed is not None:
                ok = ok & rows.allowed.reshape(G, -1).gather(1, lin).view_as(logits)
            if rows.bias is not None:
                logits = logits + rows.bias.reshape(G, -1).gather(1, lin).view_as(logits)
        logits = logits.masked_fill(~ok, float("-inf"))
        with torch.no_grad():
            if m > 0:
                hmax = logits[..., : m * bs].detach().amax(dim=-1, keepdim=True)
            else:
                hmax = torch.full_like(logits[..., :1], float("-inf"))
            shift = torch.maximum(hmax, plog_max.view(G, nb, Qb, 1))
            shift = torch.where(torch.isfinite(shift), shift, 0.0)
        if logits.requires_grad:
            w = torch.exp(logits - shift) * mult.unsqueeze(2)
        else:  # inference: in place, the tile is the largest temporary
            w = logits.sub_(shift).exp_().mul_(mult.unsqueeze(2))
        Zc = w.sum(dim=-1, keepdim=True)
        w_num = w if dropout_p <= 0 else w * dropout_keep(tuple(w.shape), dropout_p, w, generator)
        numc = torch.matmul(w_num.to(vt.dtype), vt).to(dt)
        if W is not None:
            lin = (qpos4.unsqueeze(-1) * N + tp.unsqueeze(2)).expand_as(w_num)
            kept = torch.where(ok & real.view(G, nb, Qb, 1), w_num, 0.0)
            W.view(G, -1).scatter_add_(1, lin.reshape(G, -1), kept.reshape(G, -1).detach())
        rs = slice(c0 * Qb, c1 * Qb)
        num_s[:, rs] = numc.view(G, M, Ev)
        Z_s[:, rs] = Zc.view(G, M, 1)
        shift_s[:, rs] = shift.view(G, M, 1)
    back = qorder[:, :L].unsqueeze(-1)
    num = torch.zeros(G, L, Ev, dtype=dt, device=dev).scatter(
        1, back.expand(G, L, Ev), num_s[:, :L]
    )
    Z = torch.zeros(G, L, 1, dtype=dt, device=dev).scatter(1, back, Z_s[:, :L])
    shift_out = torch.zeros(G, L, 1, dtype=dt, device=dev).scatter(1, back, shift_s[:, :L])
    return Estimate(num, Z, shift_out, W)


def _moments(kb: torch.Tensor, alive: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and diagonal variance (G, C, E) of the live keys of blocks kb (G, C, b, E)."""
    n = alive.sum(dim=-1).clamp(min=1).unsqueeze(-1).to(kb.dtype)
    live = alive.unsqueeze(-1)
    mu = (kb * live).sum(dim=2) / n
    var = ((kb - mu.unsqueeze(2)) * live).square().sum(dim=2) / n
    return mu, var


def _stats(mu: torch.Tensor, var: torch.Tensor, scale: float) -> torch.Tensor:
    """``[scale·μ_c; ½·scale²·σ²_c]`` (G, 2E, C).

    log mean_{j∈c} exp(scale·q·k_j) ≈ scale·q·μ_c + ½·scale²·Σ_e q_e² σ²_{c,e} (second
    order, diagonal covariance): a block of spread keys is not mistaken for a weak one.
    """
    return torch.cat([mu * scale, var * (0.5 * scale * scale)], dim=-1).transpose(1, 2)


def _features(q: torch.Tensor) -> torch.Tensor:
    """``[q, q²]``: with the block statistics ``[scale·μ; ½·scale²·σ²]`` one product gives
    the second-order block logit."""
    return torch.cat([q, q * q], dim=-1)


def _block_positions(order: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """Key positions of blocks H (G, nb, m) of ``order`` (G, C, bs): (G, nb, m·bs)."""
    G, C, bs = order.shape
    nb, m = H.shape[1], H.shape[2]
    flat = order.reshape(G, C * bs)
    idx = (H.unsqueeze(-1) * bs + torch.arange(bs, device=order.device)).reshape(G, -1)
    return flat.gather(1, idx).view(G, nb, m * bs)
