"""``control``: a multilevel control variate around any sampler.

Values are grouped into C clusters (k-means on the rows of V, per head); ``v̄_j`` is the
mean of key j's cluster. Then for every row

    o = p·V = Σ_c P_c·μ_c + p·(V − V̄),         P_c = Σ_{j ∈ c} p_j,

the coarse level ``Σ_c P_c μ_c`` (cluster probabilities times cluster means) and the fine
level ``p·(V − V̄)``, whose values are the residuals: small where the clusters fit.

* With a sampler of the ``sample_indices`` kind (``topk``, ``stratified``, …) the full row
  p is computed anyway, so the coarse level is **exact** and only the fine level is
  sampled: ``ô = P·M + Σ_s w_s (v − v̄)_{j_s}``, unbiased whenever the sampler is
  (``E[W] = p``). As a weight matrix it is ``W_cv = W + (P_c − Ŵ_c)/n_c`` spread over each
  cluster: still ``E[W_cv] = p``, now dense.
* With an attending sampler (``importance``, ``hyper``) p is never formed: the coarse level
  is the sampler's own estimate with values ``V̄`` and ``coarse_factor``·S samples, the fine
  level its estimate with values ``V − V̄`` and S samples, with independent draws. Each level
  is a ratio estimate (bias O(1/S)); the sum is a multilevel estimate of ``p·V``.

The control helps when values cluster (the residuals are small next to the values) and
costs one k-means and, for attending samplers, a second, larger run. It cannot help on
rows whose mass sits on a few keys that the base sampler already takes exactly.

Example:
    >>> import torch, qtcore
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(1, 64, 8, generator=g) for _ in range(3))
    >>> cv = qtcore.get_sampler("control", base="stratified", clusters=4)
    >>> out = cv.attend(q, k, v, num_samples=8, generator=g)
    >>> out.shape
    torch.Size([1, 64, 8])
"""

from __future__ import annotations

from typing import Any

import torch

from qtcore.errors import InvalidInput
from qtcore.sampling.attend import AttendingSampler, Estimate, Rows, dropout_keep

__all__ = ["MultilevelControlVariate", "value_clusters"]


def value_clusters(
    v: torch.Tensor, clusters: int, *, iterations: int = 6
) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means of the rows of v (G, N, Ev): ``(assignment (G, N), means (G, C, Ev))``.

    Deterministic: started from C rows spread evenly through the sequence; an emptied
    cluster keeps its previous mean.

    Example:
        >>> import torch
        >>> from qtcore.sampling.control import value_clusters
        >>> v = torch.tensor([[[0.0], [0.1], [5.0], [5.1]]])
        >>> assign, means = value_clusters(v, 2)
        >>> assign.tolist(), [round(x, 2) for x in means.flatten().tolist()]
        ([[0, 0, 1, 1]], [0.05, 5.05])
    """
    G, N, _ = v.shape
    C = max(1, min(clusters, N))
    with torch.no_grad():
        x = v.detach()
        start = torch.linspace(0, N - 1, C, device=v.device).round().long()
        means = x[:, start].clone()
        assign = torch.zeros(G, N, dtype=torch.int64, device=v.device)
        for _ in range(iterations):
            d = (
                (x * x).sum(-1, keepdim=True)
                - 2 * x @ means.transpose(1, 2)
                + (means * means).sum(-1).unsqueeze(1)
            )
            assign = d.argmin(dim=-1)
            sums = torch.zeros_like(means).scatter_add_(1, assign.unsqueeze(-1).expand_as(x), x)
            size = torch.zeros(G, C, dtype=x.dtype, device=v.device).scatter_add_(
                1, assign, torch.ones_like(assign, dtype=x.dtype)
            )
            means = torch.where(
                size.unsqueeze(-1) > 0, sums / size.clamp(min=1).unsqueeze(-1), means
            )
    return assign, means


class MultilevelControlVariate(AttendingSampler):
    """Cluster means of V as a control variate around any sampler (module docstring).

    Args:
        base: the sampler (registered name or object): of the ``sample_indices`` kind, or
            an attending sampler.
        clusters: C, value clusters per head.
        coarse_factor: for an attending base, the coarse level's budget as a multiple of S.
        **options: passed to the base sampler's factory when ``base`` is a name.

    Example:
        >>> from qtcore.sampling.control import MultilevelControlVariate
        >>> MultilevelControlVariate(base="topk", clusters=8).clusters
        8
    """

    name = "control"

    def __init__(
        self, *, base: Any = "topk", clusters: int = 16, coarse_factor: int = 4, **options: Any
    ) -> None:
        super().__init__()
        if isinstance(clusters, bool) or not isinstance(clusters, int) or clusters < 1:
            raise InvalidInput(f"control: clusters must be an int ≥ 1, got {clusters!r}")
        if (
            isinstance(coarse_factor, bool)
            or not isinstance(coarse_factor, int)
            or coarse_factor < 1
        ):
            raise InvalidInput(f"control: coarse_factor must be an int ≥ 1, got {coarse_factor!r}")
        if isinstance(base, str):
            import qtcore

            base = qtcore.get_sampler(base, **options)
        if not (hasattr(base, "sample_indices") or hasattr(base, "estimate")):
            raise InvalidInput(
                f"control: base must be a sampler with sample_indices() or an attending "
                f"sampler, got {base!r}"
            )
        self.base = base
        self.clusters = clusters
        self.coarse_factor = coarse_factor

    def extra_repr(self) -> str:
        """Shown by ``print(sampler)``."""
        return f"name={self.name!r}, clusters={self.clusters}, coarse_factor={self.coarse_factor}"

    def estimate(
        self,
        rows: Rows,
        num_samples: int,
        generator: torch.Generator | None,
        dropout_p: float = 0.0,
        need_weights: bool = False,
    ) -> Estimate:
        """The multilevel sums; with an exact coarse level when the base takes p."""
        G, L, _ = rows.q.shape
        assign, means = value_clusters(rows.v, self.clusters)
        if not hasattr(self.base, "sample_indices"):
            vbar = _key_means(rows, assign, means.shape[1])
            resid = rows.v - vbar
            coarse = Rows(
                rows.q, rows.k, vbar, rows.allowed, rows.bias, rows.causal, rows.scale, rows.lead
            )
            fine = Rows(
                rows.q, rows.k, resid, rows.allowed, rows.bias, rows.causal, rows.scale, rows.lead
            )
            e0 = self.base.estimate(
                coarse, num_samples * self.coarse_factor, generator, dropout_p, need_weights
            )
            e1 = self.base.estimate(fine, num_samples, generator, dropout_p, need_weights)
            out = e0.output() + e1.output()
            W = None
            if need_weights:
                assert e0.W is not None and e1.W is not None
                w0 = _normalised(e0.W, e0.Z)
                w1 = _normalised(e1.W, e1.Z)
                W = w1 + _spread(w0 - w1, assign, means.shape[1], rows)
            return Estimate(
                out,
                torch.ones(G, L, 1, dtype=out.dtype, device=out.device),
                torch.zeros(G, L, 1, dtype=out.dtype, device=out.device),
                W,
            )
        return self._exact_coarse(
            rows, assign, means.shape[1], num_samples, generator, dropout_p, need_weights
        )

    def _exact_coarse(
        self,
        rows: Rows,
        assign: torch.Tensor,
        C: int,
        S: int,
        generator: torch.Generator | None,
        dropout_p: float,
        need_weights: bool,
    ) -> Estimate:
        from qtcore.nn.functional import attention_probabilities

        G, L, _ = rows.q.shape
        N, Ev = rows.k.shape[1], rows.v.shape[-1]
        out = torch.empty(G, L, Ev, dtype=rows.v.dtype, device=rows.v.device)
        W = torch.zeros(G, L, N, dtype=rows.q.dtype, device=rows.q.device) if need_weights else None
        per_row = N * (Ev if rows.allowed is not None else 1) + C * Ev
        step = max(1, (1 << 22) // max(1, G * per_row))  # rows held at once
        for r0 in range(0, L, step):
            r1 = min(L, r0 + step)
            allowed = None if rows.allowed is None else rows.allowed[:, r0:r1]
            if rows.causal:
                tri = torch.arange(N, device=rows.q.device).view(1, N) <= torch.arange(
                    r0, r1, device=rows.q.device
                ).view(-1, 1)
                allowed = tri.expand(G, r1 - r0, N) if allowed is None else allowed & tri
            mask: torch.Tensor | None = allowed
            if rows.bias is not None:
                live = (
                    allowed
                    if allowed is not None
                    else torch.ones_like(rows.bias[:, r0:r1], dtype=torch.bool)
                )
                mask = torch.where(live, rows.bias[:, r0:r1], float("-inf"))
            p = attention_probabilities(rows.q[:, r0:r1], rows.k, mask, False, rows.scale)
            M = r1 - r0
            P = torch.zeros(G, M, C, dtype=p.dtype, device=p.device).scatter_add_(
                2, assign.unsqueeze(1).expand(G, M, N), p
            )
            idx, w = self.base.sample_indices(p.detach(), S, generator=generator)
            w = w * dropout_keep(tuple(w.shape), dropout_p, w, generator)
            if p.requires_grad and torch.is_grad_enabled():
                hit = p.gather(2, idx)
                w = w * hit / torch.where(hit > 0, hit.detach(), 1.0)
            mu, n = _row_means(rows, assign, C, r0, r1, allowed)  # (G, M, C, Ev), (G, M, C)
            vj = rows.v.gather(1, idx.reshape(G, -1, 1).expand(-1, -1, Ev)).view(G, M, S, Ev)
            cj = assign.gather(1, idx.reshape(G, -1)).view(G, M, S)
            r = vj - mu.gather(2, cj.unsqueeze(-1).expand(G, M, S, Ev))
            coarse = torch.matmul(P.unsqueeze(-2), mu.to(P.dtype)).squeeze(-2)
            out[:, r0:r1] = coarse + (w.unsqueeze(-1) * r).sum(dim=2)
            if W is not None:
                Wd = torch.zeros_like(p).scatter_add_(2, idx, w.detach())
                share = (
                    P.detach()
                    - torch.zeros_like(P).scatter_add_(2, assign.unsqueeze(1).expand(G, M, N), Wd)
                ) / n.clamp(min=1)
                spread = share.gather(2, assign.unsqueeze(1).expand(G, M, N))
                W[:, r0:r1] = Wd + torch.where(p.detach() > 0, spread, 0.0)
        ones = torch.ones(G, L, 1, dtype=out.dtype, device=out.device)
        return Estimate(out, ones, torch.zeros_like(ones), W)


def _normalised(W: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
    live = Z > 0
    return torch.where(live, W / torch.where(live, Z, 1.0), 0.0)


def _spread(D: torch.Tensor, assign: torch.Tensor, C: int, rows: Rows) -> torch.Tensor:
    """``D·A`` for the averaging map A of :func:`_key_means` (V̄ = A·V): each key's share of
    D is handed to the keys its mean is taken over (earlier keys of its cluster, causal)."""
    G, L, N = D.shape
    visible = _visible_keys(rows)
    if _prefix(rows):
        # v̄_j averages visible keys l ≤ j of j's cluster: key l receives
        # Σ_{j ≥ l, c(j)=c(l)} D_j/n_j.
        onehot = torch.zeros(G, N, C, dtype=D.dtype, device=D.device).scatter_(
            2, assign.unsqueeze(-1), 1.0
        ) * visible.unsqueeze(-1).to(D.dtype)
        n = onehot.cumsum(dim=1).gather(2, assign.unsqueeze(-1)).squeeze(-1)  # n_j (G, N)
        per = (D / n.clamp(min=1).unsqueeze(1)).unsqueeze(-1) * onehot.unsqueeze(1)
        suffix = per.flip(2).cumsum(dim=2).flip(2)  # Σ over j ≥ l
        got = suffix.gather(3, assign.view(G, 1, N, 1).expand(G, L, N, 1)).squeeze(-1)
        return got * visible.unsqueeze(1).to(D.dtype)
    idx = assign.unsqueeze(1).expand(G, L, N)
    tot = torch.zeros(G, L, C, dtype=D.dtype, device=D.device).scatter_add_(2, idx, D)
    size = torch.zeros(G, C, dtype=D.dtype, device=D.device).scatter_add_(
        1, assign, visible.to(D.dtype)
    )
    share = (tot / size.clamp(min=1).unsqueeze(1)).gather(2, idx)
    return share * visible.unsqueeze(1).to(D.dtype)


def _prefix(rows: Rows) -> bool:
    """Causal, or a mask under which no query sees a key after itself (causal ∧ padding)."""
    if rows.causal:
        return True
    if rows.allowed is None:
        return False
    L, N = rows.allowed.shape[1:]
    upper = torch.ones(L, N, dtype=torch.bool, device=rows.allowed.device).triu(1)
    return not bool((rows.allowed & upper).any())


def _visible_keys(rows: Rows) -> torch.Tensor:
    """Keys that take part for at least one query (G, N): padding keys never do."""
    G, N = rows.k.shape[0], rows.k.shape[1]
    if rows.allowed is None:
        return torch.ones(G, N, dtype=torch.bool, device=rows.k.device)
    return rows.allowed.any(dim=1)


def _key_means(rows: Rows, assign: torch.Tensor, C: int) -> torch.Tensor:
    """Per-key control values v̄_j (G, N, Ev) that read no key a query may not see.

    Causal (or causal with padding): the mean of the visible keys l ≤ j in j's cluster (a
    query that sees j sees them all). Otherwise: the mean of j's cluster over the keys that
    take part for some query; under a general mask a row may then see a control mean that
    includes keys masked for that row (their values, never their logits: the estimate
    stays unbiased, and the weights reported spread onto them).
    """
    G, N, Ev = rows.v.shape
    v = rows.v.detach()
    if _prefix(rows):
        onehot = torch.zeros(G, N, C, dtype=v.dtype, device=v.device).scatter_(
            2, assign.unsqueeze(-1), 1.0
        ) * _visible_keys(rows).unsqueeze(-1).to(v.dtype)
        n = onehot.cumsum(dim=1).gather(2, assign.unsqueeze(-1))  # (G, N, 1)
        sums = torch.zeros(G, C, Ev, dtype=v.dtype, device=v.device)
        out = torch.empty_like(v)
        step = max(1, (1 << 22) // max(1, G * C * Ev))
        for j0 in range(0, N, step):
            j1 = min(N, j0 + step)
            part = onehot[:, j0:j1].unsqueeze(-1) * v[:, j0:j1].unsqueeze(2)  # (G, M, C, Ev)
            run = part.cumsum(dim=1) + sums.unsqueeze(1)
            out[:, j0:j1] = run.gather(
                2, assign[:, j0:j1].view(G, -1, 1, 1).expand(-1, -1, 1, Ev)
            ).squeeze(2)
            sums = run[:, -1]
        return out / n.clamp(min=1)
    vis = _visible_keys(rows).to(v.dtype).unsqueeze(-1)
    sums = torch.zeros(G, C, Ev, dtype=v.dtype, device=v.device).scatter_add_(
        1, assign.unsqueeze(-1).expand(G, N, Ev), v * vis
    )
    size = torch.zeros(G, C, 1, dtype=v.dtype, device=v.device).scatter_add_(
        1, assign.unsqueeze(-1), vis
    )
    return (sums / size.clamp(min=1)).gather(1, assign.unsqueeze(-1).expand(G, N, Ev))


def _row_means(
    rows: Rows,
    assign: torch.Tensor,
    C: int,
    r0: int,
    r1: int,
    allowed: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster means of V over the keys each query row r0:r1 sees: (G, M, C, Ev), counts."""
    G, N, Ev = rows.v.shape
    M = r1 - r0
    v = rows.v
    if allowed is not None and not rows.causal:
        a = allowed.to(v.dtype)  # (G, M, N)
        idx = assign.unsqueeze(1).expand(G, M, N)
        n = torch.zeros(G, M, C, dtype=v.dtype, device=v.device).scatter_add_(2, idx, a)
        contrib = a.unsqueeze(-1) * v.unsqueeze(1)  # (G, M, N, Ev)
        sums = torch.zeros(G, M, C, Ev, dtype=v.dtype, device=v.device).scatter_add_(
            2, idx.unsqueeze(-1).expand(G, M, N, Ev), contrib
        )
        return sums / n.clamp(min=1).unsqueeze(-1), n
    onehot_all = torch.zeros(G, N, C, dtype=v.dtype, device=v.device).scatter_(
        2, assign.unsqueeze(-1), 1.0
    )
    if not rows.causal:
        n = onehot_all.sum(dim=1)
        sums = torch.matmul(onehot_all.transpose(1, 2), v)
        mu = sums / n.clamp(min=1).unsqueeze(-1)
        return mu.unsqueeze(1).expand(G, M, C, Ev), n.unsqueeze(1).expand(G, M, C)
    # Causal: sums over keys j ≤ i, from the keys before the chunk plus a running sum.
    lo = min(r0, N)
    sums0 = torch.matmul(onehot_all[:, :lo].transpose(1, 2), v[:, :lo])  # (G, C, Ev)
    n0 = onehot_all[:, :lo].sum(dim=1)
    hi = min(r1, N)
    part_v = onehot_all[:, lo:hi].unsqueeze(-1) * v[:, lo:hi].unsqueeze(2)
    run_v = part_v.cumsum(dim=1) + sums0.unsqueeze(1)
    run_n = onehot_all[:, lo:hi].cumsum(dim=1) + n0.unsqueeze(1)
    if hi - lo < M:  # rows at or past N see every key
        extra = M - (hi - lo)
        last_v = run_v[:, -1:] if hi > lo else sums0.unsqueeze(1)
        last_n = run_n[:, -1:] if hi > lo else n0.unsqueeze(1)
        run_v = torch.cat([run_v, last_v.expand(G, extra, C, Ev)], dim=1)
        run_n = torch.cat([run_n, last_n.expand(G, extra, C)], dim=1)
    return run_v / run_n.clamp(min=1).unsqueeze(-1), run_n
