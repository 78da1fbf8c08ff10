"""``hyper``: HyperAttention (Han et al., ICLR 2024) as the side-by-side peer of ``importance``.

Written from the paper and its public reference code (amirzandieh/HyperAttention):

* **sort-LSH**: queries and keys are hashed with an angular LSH of P random hyperplanes,
  and both are sorted by their bucket's position in the reflected Gray sequence, so that
  neighbouring buckets differ in one bit. Cross-checked against the reference's
  ``AngularLSHTriton`` (its pure-torch ``hash_torch``, same hyperplanes, P = 3, 7, 8, 2000
  points): its ``perm`` is that Gray sequence and ``perm[our position] == code`` for every
  point. The reference's hash is ``perm[code]``, the Gray sequence *indexed by* the code,
  whose neighbouring values are not one bit apart; we sort by the inverse, as its
  function name and the paper describe;
* the **block diagonal** of the sorted attention matrix (query block i with key block i,
  ``block_size`` queries each) is computed exactly;
* **uniform column sampling**: ``sample_size`` keys drawn uniformly (with replacement, one
  set per head, as the paper's algorithm) stand for every key outside the query's own
  block, with weight ``N / sample_size``; a sampled key inside the query's block is dropped
  (it is already counted). The numerator and normaliser are then each unbiased;
* **causal** attention by the reference's recursion: split at the middle, the two diagonal
  halves causal (recursively), the lower-left block non-causal HyperAttention; below
  ``min_seq_len`` keys attention is exact.

Differences from the reference code, on purpose: the reference's Triton kernel (the only
version in its repository) reads its "sampled" columns as the first ``sample_size`` keys,
unweighted, which is neither random nor unbiased; here they are uniform draws with the
paper's weight. Sequence lengths need not be powers of two (the last blocks are padded
with keys that never take part), and any mask is exact (a masked key gets no weight; with
a general mask the causal recursion is not used).

Cost per query row: O(P·E) to hash, O(block_size·E) exact and O(sample_size·E) sampled.

Example:
    >>> import torch
    >>> from qtcore.sampling.hyper import HyperSampler
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(1, 512, 16, generator=g) for _ in range(3))
    >>> out = HyperSampler(block_size=64, min_seq_len=128).attend(q, k, v, num_samples=64,
    ...                                                          generator=g)
    >>> out.shape
    torch.Size([1, 512, 16])
"""

from __future__ import annotations

import torch

from qtcore.errors import InvalidInput
from qtcore.sampling.attend import (
    AttendingSampler,
    Estimate,
    Rows,
    dropout_keep,
    exact_estimate,
    merge,
)

__all__ = ["HyperSampler", "gray_rank"]


def gray_rank(bits: torch.Tensor) -> torch.Tensor:
    """Position of a P-bit code (bit p of the code = column p of ``bits``) in the reflected
    Gray sequence, so that consecutive positions differ in one bit.

    Example:
        >>> import torch
        >>> from qtcore.sampling.hyper import gray_rank
        >>> codes = torch.tensor([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=torch.bool)
        >>> gray_rank(codes).tolist()  # 0, 1, 3, 2 read little-endian: Gray order 0,1,3,2
        [0, 1, 2, 3]
    """
    P = bits.shape[-1]
    code = (bits.long() << torch.arange(P, device=bits.device)).sum(dim=-1)
    rank = code.clone()
    shift = code >> 1
    while bool(shift.any()):
        rank ^= shift
        shift = shift >> 1
    return rank


class HyperSampler(AttendingSampler):
    """HyperAttention: sort-LSH block diagonal exactly, plus uniformly sampled keys.

    Args:
        block_size: queries (and keys) per diagonal block; the reference uses 256.
        lsh_projs: P, hyperplanes of the angular LSH (reference: 7 or 8).
        min_seq_len: at or below this many keys attention is exact (reference: 2048 or
            4096; a causal half below it is exact too).

    ``num_samples`` of :meth:`attend` is the reference's ``sample_size``.

    Example:
        >>> from qtcore.sampling.hyper import HyperSampler
        >>> HyperSampler()
        HyperSampler(name='hyper', block_size=256, lsh_projs=7, min_seq_len=2048)
    """

    name = "hyper"

    def __init__(
        self, *, block_size: int = 256, lsh_projs: int = 7, min_seq_len: int = 2048
    ) -> None:
        super().__init__()
        for label, value in (
            ("block_size", block_size),
            ("lsh_projs", lsh_projs),
            ("min_seq_len", min_seq_len),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"hyper: {label} must be an int ≥ 1, got {value!r}")
        self.block_size = block_size
        self.lsh_projs = lsh_projs
        self.min_seq_len = min_seq_len

    def extra_repr(self) -> str:
        """Shown by ``print(sampler)``."""
        return (
            f"name={self.name!r}, block_size={self.block_size}, lsh_projs={self.lsh_projs}, "
            f"min_seq_len={self.min_seq_len}"
        )

    def estimate(
        self,
        rows: Rows,
        num_samples: int,
        generator: torch.Generator | None,
        dropout_p: float = 0.0,
        need_weights: bool = False,
    ) -> Estimate:
        """The unbiased sums (:class:`~qtcore.sampling.attend.Estimate`) of every row."""
        G, L, E = rows.q.shape
        N = rows.k.shape[1]
        source = generator.device if generator is not None else rows.q.device
        proj = torch.randn(
            E, self.lsh_projs, generator=generator, device=source, dtype=rows.q.dtype
        ).to(rows.q.device)
        if rows.causal and L == N:
            return self._causal(rows, num_samples, generator, dropout_p, need_weights, proj)
        if rows.causal:  # queries and keys of different lengths: fold causality into a mask
            tril = torch.ones(L, N, dtype=torch.bool, device=rows.q.device).tril()
            rows = Rows(
                rows.q,
                rows.k,
                rows.v,
                tril.expand(G, L, N),
                rows.bias,
                False,
                rows.scale,
                rows.lead,
            )
        return self._plain(rows, num_samples, generator, dropout_p, need_weights, proj)

    def _causal(
        self,
        rows: Rows,
        S: int,
        generator: torch.Generator | None,
        dropout_p: float,
        need_weights: bool,
        proj: torch.Tensor,
    ) -> Estimate:
        G, N = rows.q.shape[0], rows.k.shape[1]
        if N <= self.min_seq_len:
            keep = dropout_keep((G, N, N), dropout_p, rows.q, generator)
            return exact_estimate(rows, need_weights, keep)
        h = (N + 1) // 2

        def part(qs: slice, ks: slice, causal: bool) -> Rows:
            bias = None if rows.bias is None else rows.bias[:, qs, ks]
            return Rows(
                rows.q[:, qs],
                rows.k[:, ks],
                rows.v[:, ks],
                None,
                bias,
                causal,
                rows.scale,
                rows.lead,
            )

        top = self._causal(
            part(slice(0, h), slice(0, h), True), S, generator, dropout_p, need_weights, proj
        )
        # The second half has N − h ≤ h rows; the diagonal block is causal on its own keys.
        low = self._causal(
            part(slice(h, N), slice(h, N), True), S, generator, dropout_p, need_weights, proj
        )
        left = self._plain(
            part(slice(h, N), slice(0, h), False), S, generator, dropout_p, need_weights, proj
        )
        if need_weights:
            assert top.W is not None and low.W is not None and left.W is not None
            pad = torch.zeros(G, N - h, h, dtype=left.W.dtype, device=left.W.device)
            low.W = torch.cat([pad, low.W], dim=2)
            left.W = torch.cat([left.W, torch.zeros_like(low.W[:, :, h:])], dim=2)
            top.W = torch.cat(
                [top.W, torch.zeros(G, h, N - h, dtype=top.W.dtype, device=top.W.device)], dim=2
            )
        bottom = merge(low, left)
        W = None if not need_weights else torch.cat([top.W, bottom.W], dim=1)  # type: ignore[list-item]
        return Estimate(
            torch.cat([top.num, bottom.num], 1),
            torch.cat([top.Z, bottom.Z], 1),
            torch.cat([top.shift, bottom.shift], 1),
            W,
        )

    def _plain(
        self,
        rows: Rows,
        S: int,
        generator: torch.Generator | None,
        dropout_p: float,
        need_weights: bool,
        proj: torch.Tensor,
    ) -> Estimate:
        q, k, v, scale = rows.q, rows.k, rows.v, rows.scale
        G, L, E = q.shape
        N, Ev = k.shape[1], v.shape[-1]
        dev, dt = q.device, q.dtype
        if N <= self.min_seq_len:
            keep = dropout_keep((G, L, N), dropout_p, q, generator)
            return exact_estimate(rows, need_weights, keep)
        nb = -(-L // self.block_size)  # query blocks; key blocks are as many
        bq, bk = self.block_size, -(-N // nb)
        with torch.no_grad():
            qo = gray_rank(torch.matmul(q.detach(), proj) > 0).argsort(dim=1, stable=True)
            ko = gray_rank(torch.matmul(k.detach(), proj) > 0).argsort(dim=1, stable=True)
            # Padding: extra query slots repeat the last query (dropped after), extra key
            # slots point at key 0 and never take part.
            qo = torch.cat([qo, qo[:, -1:].expand(G, nb * bq - L)], 1).view(G, nb, bq)
            kalive = torch.arange(nb * bk, device=dev) < N
            ko = torch.cat([ko, ko.new_zeros(G, nb * bk - N)], 1).view(G, nb, bk)
        gq = q.gather(1, qo.view(G, -1, 1).expand(-1, -1, E)).view(G, nb, bq, E)
        gk = k.gather(1, ko.view(G, -1, 1).expand(-1, -1, E)).view(G, nb, bk, E)
        gv = v.gather(1, ko.view(G, -1, 1).expand(-1, -1, Ev)).view(G, nb, bk, Ev)
        logits = torch.matmul(gq * scale, gk.transpose(-2, -1))  # (G, nb, bq, bk)
        ok = kalive.view(1, nb, 1, bk).expand_as(logits)
        lin = None
        if rows.allowed is not None or rows.bias is not None:
            lin = (qo.unsqueeze(-1) * N + ko.unsqueeze(2)).reshape(G, -1)
            if rows.allowed is not None:
                ok = ok & rows.allowed.reshape(G, -1).gather(1, lin).view_as(logits)
            if rows.bias is not None:
                logits = logits + rows.bias.reshape(G, -1).gather(1, lin).view_as(logits)
        logits = logits.masked_fill(~ok, float("-inf"))
        shift = logits.detach().amax(dim=-1, keepdim=True)
        # Sampled keys: one uniform set per head, each standing for N/S keys.
        source = generator.device if generator is not None else dev
        samp = torch.randint(0, N, (G, S), generator=generator, device=source).to(dev)
        ks = k.gather(1, samp.unsqueeze(-1).expand(-1, -1, E))
        vs = v.gather(1, samp.unsqueeze(-1).expand(-1, -1, Ev))
        sl = torch.matmul(gq * scale, ks.unsqueeze(1).transpose(-2, -1))  # (G, nb, bq, S)
        kblock = torch.empty(G, N, dtype=torch.int64, device=dev)
        kblock.scatter_(
            1, ko.view(G, -1)[:, :N], (torch.arange(nb * bk, device=dev) // bk)[:N].expand(G, N)
        )
        sblock = kblock.gather(1, samp)  # (G, S)
        sok = sblock.view(G, 1, 1, S) != torch.arange(nb, device=dev).view(1, nb, 1, 1)
        sok = sok.expand_as(sl)
        if lin is not None:
            slin = (qo.unsqueeze(-1) * N + samp.view(G, 1, 1, S)).reshape(G, -1)
            if rows.allowed is not None:
                sok = sok & rows.allowed.reshape(G, -1).gather(1, slin).view_as(sl)
            if rows.bias is not None:
                sl = sl + rows.bias.reshape(G, -1).gather(1, slin).view_as(sl)
        sl = sl.masked_fill(~sok, float("-inf"))
        with torch.no_grad():
            # The shift is the block maximum (deterministic given the hashes); only a row
            # whose block has no live key falls back on its sampled maximum.
            smax = sl.detach().amax(dim=-1, keepdim=True)
            shift = torch.where(torch.isfinite(shift), shift, smax)
            shift = torch.where(torch.isfinite(shift), shift, 0.0)
        eb = torch.exp(logits - shift)
        es = torch.exp(sl - shift) * (N / S)
        Z = eb.sum(-1, keepdim=True) + es.sum(-1, keepdim=True)
        eb_n = eb * dropout_keep(tuple(eb.shape), dropout_p, eb, generator)
        es_n = es * dropout_keep(tuple(es.shape), dropout_p, es, generator)
        num = torch.matmul(eb_n, gv) + torch.matmul(es_n, vs.unsqueeze(1))
        W = None
        if need_weights:
            W = torch.zeros(G, L + 1, N, dtype=dt, device=dev)  # row L takes the padding
            rowsq = torch.where(torch.arange(nb * bq, device=dev) < L, 0, 1).view(1, nb, bq)
            real_q = torch.where(rowsq.bool(), L, qo)
            W.view(G, -1).scatter_add_(
                1,
                (real_q.unsqueeze(-1) * N + ko.unsqueeze(2)).expand_as(eb_n).reshape(G, -1),
                eb_n.detach().reshape(G, -1),
            )
            W.view(G, -1).scatter_add_(
                1,
                (real_q.unsqueeze(-1) * N + samp.view(G, 1, 1, S)).expand_as(es_n).reshape(G, -1),
                es_n.detach().reshape(G, -1),
            )
            W = W[:, :L]
        back = qo.view(G, -1)[:, :L]

        def unsort(x: torch.Tensor) -> torch.Tensor:
            flat = x.reshape(G, nb * bq, -1)[:, :L]
            out = torch.zeros(G, L, flat.shape[-1], dtype=flat.dtype, device=dev)
            return out.scatter(1, back.unsqueeze(-1).expand_as(flat), flat)

        return Estimate(unsort(num), unsort(Z), unsort(shift), W)
