"""Fused sampled attention in Triton (stratified and topk): forward, backward, no N×N matrix.

**Forward, stratified** (:func:`_forward_kernel`, one program per block of query rows of
one head):

1. *Normaliser pass.* Stream over key blocks: logits ``l = q·Kᵀ·scale`` (causal keys
   masked), running row max ``m`` and ``Z = Σ_j exp(l_j − m)``, as flash attention does.
2. *Selection pass.* Stream over the key blocks again with ``e_j = exp(l_j − m)`` and the
   running inclusive prefix ``c_j = Σ_{i≤j} e_i``, summed in fixed point (``⌊e_j·2⁴⁰⌋`` in
   int64, :data:`QSCALE`) so that every key's lower end is exactly its predecessor's upper
   end whatever the summation order: each point is counted once. The S targets
   ``t_s = u_s·Z`` come from points ``u_s ∈ [s/S, (s+1)/S)``, one per stratum, so the
   number of targets below ``x`` is
   ``F(x) = k + [t_k < x]`` with ``k = ⌊x·S/Z⌋`` (strata before ``k`` lie wholly below
   ``x``, strata after it wholly above): one read of ``u_k`` per key instead of a search.
   Key ``j`` holds ``C_j = F(c_j) − F(c_j − e_j)`` points (those with
   ``c_j − e_j ≤ t_s < c_j``: the inverse CDF, as :func:`qtcore.sampling.inverse_cdf.locate`
   defines it), the block adds ``C·V_block`` to the accumulator (one ``tl.dot``), and key
   ``j`` writes its index into slot ``F(c_j − e_j)`` of the row's S indices (the slots of
   a key hit twice are filled by a cumulative max afterwards; targets are increasing).
   ``F`` is monotone in ``x`` whatever the round-off, so every ``C_j ≥ 0`` and
   ``Σ_j C_j = F(Z')`` (``Z'`` the second pass's exact total); points that the float ``Z``
   of pass 1 puts past ``Z'`` go to the row's last key of positive mass, as ``locate`` does.

**Forward, topk** (:func:`_topk_forward_kernel`): the normaliser pass; then the inclusion
constant ``c`` of ``π_j = min(1, c·e_j)`` by :meth:`qtcore.sampling.TopKSampler.inclusion`'s
fixed point ``c ← (S − t)/R``, one pass over the keys per step (typically 2–4; rows settle
separately); then the selection pass above on the CDF of π with the lattice
``x_s = S·u_s`` (stretched onto [0, Σπ) as ``TopKSampler`` does, points past Σπ off) and
Horvitz–Thompson weights: ``p_j`` for a take-all key (``c·e_j ≥ 1``), ``1/(c·Z)`` otherwise.

The output is ``Σ_j C_j w_j v_j`` (stratified: ``w = 1/S``), so ``E[W] = p``: the estimator
of :class:`qtcore.sampling.StratifiedSampler` or :class:`qtcore.sampling.TopKSampler`, with
the same points and hence the same keys, up to float round-off of the cumulative sums at
CDF steps. The forward also returns each point's key and weight, which the backward uses.

**Backward** of the value ``W·(p/stopgrad(p))·V`` (the gradient qtcore uses everywhere):
with ``g`` the output gradient and ``δ_i = g_i·ô_i``, ``∂l_ij = W_ij (g_i·v_j) − p_ij δ_i``.
The sparse term (S keys per row) and ``∂V = Wᵀg`` are gathered/scattered per point
(:func:`_backward_sparse_kernel`, atomics into dK and dV); the dense term ``−p_ij δ_i``
streams over blocks like flash attention's backward, recomputing ``p`` from the saved
``m`` and ``Z`` (:func:`_backward_dq_kernel` for dQ, :func:`_backward_dk_kernel` for dK).

Example (CUDA tensors; on the CPU under ``TRITON_INTERPRET=1``, as the tests run):
    >>> import torch
    >>> from qtcore_kernels.attention import fused_stratified_attention
    >>> dev = "cuda" if torch.cuda.is_available() else "cpu"
    >>> q = k = v = torch.randn(1, 2, 16, 16, device=dev)
    >>> fused_stratified_attention(q, k, v, num_samples=8).shape
    torch.Size([1, 2, 16, 16])
"""

from __future__ import annotations

import math
from typing import Any

import torch
import triton
import triton.language as tl

from qtcore.errors import InvalidInput
from qtcore.sampling.inverse_cdf import stratified_points

__all__ = [
    "SAMPLERS",
    "fused_sampled_attention",
    "fused_stratified_attention",
    "sampled_attention_kernel",
    "stratified_attention_kernel",
]


@triton.jit
def _logits(
    q,
    K,
    g,
    cols,
    rows,
    d,
    N,
    stride_kg,
    stride_kn,
    scale,
    D,
    CAUSAL: tl.constexpr,
    IEEE: tl.constexpr,
):
    """Masked logits (BLOCK_M, BLOCK_N) of a query block against the key block ``cols``."""
    k = tl.load(
        K + g * stride_kg + cols[None, :] * stride_kn + d[:, None],
        mask=(cols[None, :] < N) & (d[:, None] < D),
        other=0.0,
    )
    if IEEE:
        s = tl.dot(q, k, input_precision="ieee") * scale
    else:
        s = tl.dot(q, k) * scale
    valid = cols[None, :] < N
    if CAUSAL:
        valid = valid & (cols[None, :] <= rows[:, None])
    return tl.where(valid, s, float("-inf"))


#: Fixed-point units per unit of mass in the selection pass (2**40). Cumulative sums of
#: integers are exact in any order, so a key's lower end is exactly its predecessor's upper
#: end and every point is counted once; float cumsums break that at ~N·eps of the rows.
#: A key with e < 2**-40 of the row's largest weight rounds to zero and is never drawn.
QSCALE = tl.constexpr(1099511627776.0)


@triton.jit
def _count_below(x, width, U, urow, cap, row_ok, S: tl.constexpr):
    """#{s < cap: T_s < x} for fixed-point ``x`` and the points ``T_s = ⌊(S·u_s)·width⌋``,
    one per interval ``[s, s+1)·width``: strata before ``k = ⌊x/width⌋`` lie wholly below x,
    strata after it wholly above, so one read of ``u_k`` decides. Monotone in x."""
    kk = tl.minimum(tl.floor(x.to(tl.float64) / width[:, None]), S).to(tl.int32)
    inside = kk < S
    u = tl.load(U + urow[:, None] + kk, mask=inside & row_ok[:, None], other=2.0)
    t = ((S * u).to(tl.float64) * width[:, None]).to(tl.int64)
    return tl.minimum(tl.where(inside, kk + (t < x).to(tl.int32), S), cap[:, None])


@triton.jit
def _forward_kernel(
    Q,
    K,
    V,
    U,
    Out,
    Mx,
    Zs,
    Idx,
    stride_qg,
    stride_ql,
    stride_kg,
    stride_kn,
    stride_vg,
    stride_vn,
    stride_og,
    stride_ol,
    L,
    N,
    D,
    DV,
    scale,
    S: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr,
    CAUSAL: tl.constexpr,
    IEEE: tl.constexpr,
):
    pid_m = tl.program_id(0)
    g = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    d = tl.arange(0, BLOCK_D)
    dv = tl.arange(0, BLOCK_DV)
    q = tl.load(
        Q + g * stride_qg + rows[:, None] * stride_ql + d[None, :],
        mask=row_ok[:, None] & (d[None, :] < D),
        other=0.0,
    )
    hi = N
    if CAUSAL:
        hi = tl.minimum(N, (pid_m + 1) * BLOCK_M)

    # Pass 1: row max and normaliser.
    m = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    z = tl.zeros((BLOCK_M,), tl.float32)
    for start in range(0, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        s = _logits(q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, CAUSAL, IEEE)
        m_new = tl.maximum(m, tl.max(s, 1))
        shift = tl.where(m_new == float("-inf"), 0.0, m_new)
        z = z * tl.exp(m - shift) + tl.sum(tl.exp(s - shift[:, None]), 1)
        m = m_new
    m = tl.where(m == float("-inf"), 0.0, m)
    zs = tl.where(z > 0, z, 1.0)

    # Pass 2: inverse-CDF selection of the stratified points and accumulation of V, in
    # fixed point: E_j = ⌊e_j·2**40⌋, targets T_s = ⌊(S·u_s)·Z·2**40/S⌋.
    urow = (g * L + rows) * S
    width = zs.to(tl.float64) * (QSCALE / S)
    cap = tl.full((BLOCK_M,), S, tl.int32)
    prefix = tl.zeros((BLOCK_M,), tl.int64)
    last = tl.full((BLOCK_M,), -1, tl.int32)
    acc = tl.zeros((BLOCK_M, BLOCK_DV), tl.float32)
    for start in range(0, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        s = _logits(q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, CAUSAL, IEEE)
        e = tl.exp(s - m[:, None])
        eq = (e * QSCALE).to(tl.int64)
        upper = tl.cumsum(eq, 1) + prefix[:, None]
        f_low = _count_below(upper - eq, width, U, urow, cap, row_ok, S)
        hits = _count_below(upper, width, U, urow, cap, row_ok, S) - f_low
        taken = (hits > 0) & row_ok[:, None]
        tl.store(Idx + urow[:, None] + f_low, cols[None, :] + tl.zeros_like(f_low), mask=taken)
        vb = tl.load(
            V + g * stride_vg + cols[:, None] * stride_vn + dv[None, :],
            mask=(cols[:, None] < N) & (dv[None, :] < DV),
            other=0.0,
        )
        if IEEE:
            acc += tl.dot(hits.to(tl.float32), vb.to(tl.float32), input_precision="ieee")
        else:
            acc += tl.dot(hits.to(vb.dtype), vb)
        last = tl.maximum(last, tl.max(tl.where(eq > 0, cols[None, :], -1), 1))
        prefix += tl.sum(eq, 1)

    # Points that round-off put past the total (Z of pass 1 vs Σ E_j): the last key drawn
    # with mass, as locate does.
    reached = tl.sum(_count_below(prefix[:, None], width, U, urow, cap, row_ok, S), 1)
    left = tl.where(last >= 0, S - reached, 0)
    fix = row_ok & (left > 0)
    tl.store(Idx + urow + reached, last, mask=fix)
    vl = tl.load(
        V + g * stride_vg + tl.maximum(last, 0)[:, None] * stride_vn + dv[None, :],
        mask=fix[:, None] & (dv[None, :] < DV),
        other=0.0,
    )
    acc += left[:, None].to(tl.float32) * vl.to(tl.float32)

    out = acc / S
    tl.store(
        Out + g * stride_og + rows[:, None] * stride_ol + dv[None, :],
        out.to(Out.dtype.element_ty),
        mask=row_ok[:, None] & (dv[None, :] < DV),
    )
    tl.store(Mx + g * L + rows, m, mask=row_ok)
    tl.store(Zs + g * L + rows, z, mask=row_ok)


@triton.jit
def _inclusion_pass(
    q,
    K,
    g,
    rows,
    d,
    N,
    stride_kg,
    stride_kn,
    scale,
    D,
    m,
    c,
    hi,
    BLOCK_N: tl.constexpr,
    BLOCK_M: tl.constexpr,
    CAUSAL: tl.constexpr,
    IEEE: tl.constexpr,
):
    """(t, Σπ) per row for π = min(1, c·e): the certain keys and the inclusion mass."""
    t = tl.zeros((BLOCK_M,), tl.float32)
    sp = tl.zeros((BLOCK_M,), tl.float32)
    for start in range(0, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        s = _logits(q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, CAUSAL, IEEE)
        pi = tl.minimum(c[:, None] * tl.exp(s - m[:, None]), 1.0)
        t += tl.sum(tl.floor(pi), 1)
        sp += tl.sum(pi, 1)
    return t, sp


@triton.jit
def _topk_forward_kernel(
    Q,
    K,
    V,
    U,
    Out,
    Mx,
    Zs,
    Idx,
    Wt,
    Live,
    stride_qg,
    stride_ql,
    stride_kg,
    stride_kn,
    stride_vg,
    stride_vn,
    stride_og,
    stride_ol,
    L,
    N,
    D,
    DV,
    scale,
    S: tl.constexpr,
    S_POW2: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr,
    CAUSAL: tl.constexpr,
    IEEE: tl.constexpr,
):
    """topk (πps): the normaliser pass, the inclusion passes, then systematic selection."""
    pid_m = tl.program_id(0)
    g = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    d = tl.arange(0, BLOCK_D)
    dv = tl.arange(0, BLOCK_DV)
    q = tl.load(
        Q + g * stride_qg + rows[:, None] * stride_ql + d[None, :],
        mask=row_ok[:, None] & (d[None, :] < D),
        other=0.0,
    )
    hi = N
    if CAUSAL:
        hi = tl.minimum(N, (pid_m + 1) * BLOCK_M)

    m = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    z = tl.zeros((BLOCK_M,), tl.float32)
    for start in range(0, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        s = _logits(q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, CAUSAL, IEEE)
        m_new = tl.maximum(m, tl.max(s, 1))
        shift = tl.where(m_new == float("-inf"), 0.0, m_new)
        z = z * tl.exp(m - shift) + tl.sum(tl.exp(s - shift[:, None]), 1)
        m = m_new
    m = tl.where(m == float("-inf"), 0.0, m)
    zs = tl.where(z > 0, z, 1.0)

    # The inclusion constant c of π = min(1, c·e) by TopKSampler.inclusion's fixed point
    # c ← (S − t)/R from c = S/Z: one pass over the keys per step, rows settle separately.
    huge = 8.507059e37  # 1 / float32 tiny, as in TopKSampler.inclusion
    c = S / zs
    mass = tl.zeros((BLOCK_M,), tl.float32)
    active = row_ok & (z > 0)
    # A static loop with a guarded body, not a while loop with a counter: Triton carries
    # no Python int through loops, and rows that settled simply stop changing.
    for _ in range(S + 1):
        if tl.max(active.to(tl.int32), 0) > 0:
            t, sp = _inclusion_pass(
                q,
                K,
                g,
                rows,
                d,
                N,
                stride_kg,
                stride_kn,
                scale,
                D,
                m,
                c,
                hi,
                BLOCK_N,
                BLOCK_M,
                CAUSAL,
                IEEE,
            )
            rest = (sp - t) / c
            done = (rest <= 0) | (t >= S)
            c_next = tl.where(done, huge, tl.minimum((S - t) / tl.maximum(rest, 1e-30), huge))
            c_next = tl.maximum(c_next, c)
            settled = active & (c_next == c)
            mass = tl.where(settled, sp, mass)
            c = tl.where(active, c_next, c)
            active = active & (~settled)
    if tl.max(active.to(tl.int32), 0) > 0:  # not settled in S + 1 steps (never seen)
        t, sp = _inclusion_pass(
            q,
            K,
            g,
            rows,
            d,
            N,
            stride_kg,
            stride_kn,
            scale,
            D,
            m,
            c,
            hi,
            BLOCK_N,
            BLOCK_M,
            CAUSAL,
            IEEE,
        )
        mass = tl.where(active, sp, mass)
    # Σπ = S up to round-off: stretch the lattice onto [0, Σπ), as TopKSampler does; points
    # at or past Σπ are off (``live`` of them are on, counted in float as TopKSampler does).
    stretch = tl.where(mass > S * (1 - 1e-4), mass / S, 1.0)
    urow = (g * L + rows) * S
    kk = tl.arange(0, S_POW2)
    lattice = tl.load(
        U + urow[:, None] + kk[None, :], mask=row_ok[:, None] & (kk[None, :] < S), other=2.0
    )
    live = tl.sum(((S * lattice) * stretch[:, None] < mass[:, None]).to(tl.int32), 1)
    live = tl.where(row_ok & (z > 0), live, 0)

    width = stretch.to(tl.float64) * QSCALE
    prefix = tl.zeros((BLOCK_M,), tl.int64)
    last = tl.full((BLOCK_M,), -1, tl.int32)
    acc = tl.zeros((BLOCK_M, BLOCK_DV), tl.float32)
    for start in range(0, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        s = _logits(q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, CAUSAL, IEEE)
        e = tl.exp(s - m[:, None])
        pi = tl.minimum(c[:, None] * e, 1.0)
        piq = (pi * QSCALE).to(tl.int64)
        upper = tl.cumsum(piq, 1) + prefix[:, None]
        f_low = _count_below(upper - piq, width, U, urow, live, row_ok, S)
        hits = _count_below(upper, width, U, urow, live, row_ok, S) - f_low
        # Horvitz–Thompson: p_j for a certain key, 1/c (in units of p: 1/(c·Z)) otherwise
        w = tl.where(c[:, None] * e >= 1.0, e, 1.0 / c[:, None]) / zs[:, None]
        taken = (hits > 0) & row_ok[:, None]
        tl.store(Idx + urow[:, None] + f_low, cols[None, :] + tl.zeros_like(f_low), mask=taken)
        tl.store(Wt + urow[:, None] + f_low, w, mask=taken)
        vb = tl.load(
            V + g * stride_vg + cols[:, None] * stride_vn + dv[None, :],
            mask=(cols[:, None] < N) & (dv[None, :] < DV),
            other=0.0,
        )
        hw = hits.to(tl.float32) * w
        if IEEE:
            acc += tl.dot(hw, vb.to(tl.float32), input_precision="ieee")
        else:
            acc += tl.dot(hw, vb.to(tl.float32))
        last = tl.maximum(last, tl.max(tl.where(piq > 0, cols[None, :], -1), 1))
        prefix += tl.sum(piq, 1)

    reached = tl.sum(_count_below(prefix[:, None], width, U, urow, live, row_ok, S), 1)
    left = tl.where(last >= 0, live - reached, 0)
    fix = row_ok & (left > 0)
    lk = tl.maximum(last, 0)
    k_last = tl.load(
        K + g * stride_kg + lk[:, None] * stride_kn + d[None, :],
        mask=fix[:, None] & (d[None, :] < D),
        other=0.0,
    )
    s_last = tl.sum(q.to(tl.float32) * k_last.to(tl.float32), 1) * scale
    e_last = tl.where(fix, tl.exp(s_last - m), 0.0)
    w_last = tl.where(c * e_last >= 1.0, e_last, 1.0 / c) / zs
    tl.store(Idx + urow + reached, last, mask=fix)
    tl.store(Wt + urow + reached, w_last, mask=fix)
    v_last = tl.load(
        V + g * stride_vg + lk[:, None] * stride_vn + dv[None, :],
        mask=fix[:, None] & (dv[None, :] < DV),
        other=0.0,
    )
    acc += (left.to(tl.float32) * w_last)[:, None] * v_last.to(tl.float32)

    tl.store(
        Out + g * stride_og + rows[:, None] * stride_ol + dv[None, :],
        acc.to(Out.dtype.element_ty),
        mask=row_ok[:, None] & (dv[None, :] < DV),
    )
    tl.store(Mx + g * L + rows, m, mask=row_ok)
    tl.store(Zs + g * L + rows, z, mask=row_ok)
    tl.store(Live + g * L + rows, live, mask=row_ok)


@triton.jit
def _probabilities(
    q,
    K,
    g,
    cols,
    rows,
    d,
    N,
    stride_kg,
    stride_kn,
    scale,
    D,
    m,
    zs,
    live,
    CAUSAL: tl.constexpr,
    IEEE: tl.constexpr,
):
    s = _logits(q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, CAUSAL, IEEE)
    return tl.where(live[:, None], tl.exp(s - m[:, None]) / zs[:, None], 0.0)


@triton.jit
def _backward_dq_kernel(
    Q,
    K,
    Mx,
    Zs,
    Delta,
    DQ,
    stride_qg,
    stride_ql,
    stride_kg,
    stride_kn,
    L,
    N,
    D,
    scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    CAUSAL: tl.constexpr,
    IEEE: tl.constexpr,
):
    """dQ_i += −scale·δ_i·Σ_j p_ij k_j (dense term), added to the sparse term already in DQ."""
    pid_m = tl.program_id(0)
    g = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    d = tl.arange(0, BLOCK_D)
    qmask = row_ok[:, None] & (d[None, :] < D)
    q = tl.load(Q + g * stride_qg + rows[:, None] * stride_ql + d[None, :], mask=qmask, other=0.0)
    m = tl.load(Mx + g * L + rows, mask=row_ok, other=0.0)
    z = tl.load(Zs + g * L + rows, mask=row_ok, other=0.0)
    delta = tl.load(Delta + g * L + rows, mask=row_ok, other=0.0)
    live = z > 0
    zs = tl.where(live, z, 1.0)
    hi = N
    if CAUSAL:
        hi = tl.minimum(N, (pid_m + 1) * BLOCK_M)
    acc = tl.zeros((BLOCK_M, BLOCK_D), tl.float32)
    for start in range(0, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        p = _probabilities(
            q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, m, zs, live, CAUSAL, IEEE
        )
        kb = tl.load(
            K + g * stride_kg + cols[:, None] * stride_kn + d[None, :],
            mask=(cols[:, None] < N) & (d[None, :] < D),
            other=0.0,
        )
        if IEEE:
            acc += tl.dot(p, kb.to(tl.float32), input_precision="ieee")
        else:  # half-precision inputs: tensor cores, p rounded as flash attention does
            acc += tl.dot(p.to(kb.dtype), kb)
    ptr = DQ + (g * L + rows[:, None]) * D + d[None, :]
    old = tl.load(ptr, mask=qmask, other=0.0)
    tl.store(ptr, old - scale * delta[:, None] * acc, mask=qmask)


@triton.jit
def _backward_dk_kernel(
    Q,
    K,
    Mx,
    Zs,
    Delta,
    DK,
    stride_qg,
    stride_ql,
    stride_kg,
    stride_kn,
    L,
    N,
    D,
    scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    CAUSAL: tl.constexpr,
    IEEE: tl.constexpr,
):
    """dK_j += −scale·Σ_i δ_i p_ij q_i (dense term), added to the sparse term already in DK."""
    pid_n = tl.program_id(0)
    g = tl.program_id(1)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    d = tl.arange(0, BLOCK_D)
    lo = 0
    if CAUSAL:
        lo = (pid_n * BLOCK_N // BLOCK_M) * BLOCK_M
    acc = tl.zeros((BLOCK_N, BLOCK_D), tl.float32)
    for start in range(lo, L, BLOCK_M):
        rows = start + tl.arange(0, BLOCK_M)
        row_ok = rows < L
        q = tl.load(
            Q + g * stride_qg + rows[:, None] * stride_ql + d[None, :],
            mask=row_ok[:, None] & (d[None, :] < D),
            other=0.0,
        )
        m = tl.load(Mx + g * L + rows, mask=row_ok, other=0.0)
        z = tl.load(Zs + g * L + rows, mask=row_ok, other=0.0)
        delta = tl.load(Delta + g * L + rows, mask=row_ok, other=0.0)
        live = (z > 0) & row_ok
        zs = tl.where(live, z, 1.0)
        p = _probabilities(
            q, K, g, cols, rows, d, N, stride_kg, stride_kn, scale, D, m, zs, live, CAUSAL, IEEE
        )
        pd = tl.trans(p * delta[:, None])
        if IEEE:
            acc += tl.dot(pd, q.to(tl.float32), input_precision="ieee")
        else:
            acc += tl.dot(pd.to(q.dtype), q)
    kmask = (cols[:, None] < N) & (d[None, :] < D)
    ptr = DK + (g * N + cols[:, None]) * D + d[None, :]
    old = tl.load(ptr, mask=kmask, other=0.0)
    tl.store(ptr, old - scale * acc, mask=kmask)


@triton.jit
def _backward_sparse_kernel(
    Q,
    K,
    V,
    GO,
    Idx,
    Wt,
    DQ,
    DK,
    DV,
    stride_qg,
    stride_ql,
    stride_kg,
    stride_kn,
    stride_vg,
    stride_vn,
    stride_gg,
    stride_gl,
    L,
    N,
    D,
    DVW,
    scale,
    S: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr,
):
    """The S sampled keys of each row: a_s = w_s·(g_i·v_idx); dQ_i = scale·Σ_s a_s k_idx;
    dK_idx += scale·a_s q_i and dV_idx += w_s g_i (atomics: a key may be drawn by many rows)."""
    pid_m = tl.program_id(0)
    g = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    d = tl.arange(0, BLOCK_D)
    dv = tl.arange(0, BLOCK_DV)
    qmask = row_ok[:, None] & (d[None, :] < D)
    vmask = row_ok[:, None] & (dv[None, :] < DVW)
    q = tl.load(Q + g * stride_qg + rows[:, None] * stride_ql + d[None, :], mask=qmask, other=0.0)
    go = tl.load(
        GO + g * stride_gg + rows[:, None] * stride_gl + dv[None, :], mask=vmask, other=0.0
    )
    q = q.to(tl.float32)
    go = go.to(tl.float32)
    dq = tl.zeros((BLOCK_M, BLOCK_D), tl.float32)
    for s in range(S):
        j = tl.load(Idx + (g * L + rows) * S + s, mask=row_ok, other=0)
        w = tl.load(Wt + (g * L + rows) * S + s, mask=row_ok, other=0.0)
        kj = tl.load(K + g * stride_kg + j[:, None] * stride_kn + d[None, :], mask=qmask, other=0.0)
        vj = tl.load(
            V + g * stride_vg + j[:, None] * stride_vn + dv[None, :], mask=vmask, other=0.0
        )
        a = w * tl.sum(go * vj.to(tl.float32), 1)
        dq += a[:, None] * kj.to(tl.float32)
        tl.atomic_add(
            DK + (g * N + j[:, None]) * D + d[None, :], scale * a[:, None] * q, mask=qmask
        )
        tl.atomic_add(DV + (g * N + j[:, None]) * DVW + dv[None, :], w[:, None] * go, mask=vmask)
    tl.store(DQ + (g * L + rows[:, None]) * D + d[None, :], scale * dq, mask=qmask)


def _blocks(L: int, N: int, D: int, DV: int) -> dict[str, int]:
    # tl.dot needs every dimension ≥ 16; 64 × 64 tiles suit an H100 at head dim ≤ 128.
    block_d = max(16, triton.next_power_of_2(D))
    block_dv = max(16, triton.next_power_of_2(DV))
    return {
        "BLOCK_M": 64 if L > 32 else 16,
        "BLOCK_N": 64 if N > 32 else 16,
        "BLOCK_D": block_d,
        "BLOCK_DV": block_dv,
    }


def _launch(b: dict[str, int]) -> dict[str, int]:
    """Launch options of the forward kernels. Two pipeline stages: with Triton's default of
    three, the float32 forward at head dim 128 needs 240 KiB of shared memory (compiled for
    sm_90 here), more than an H100's 227 KiB."""
    return {"num_warps": 8 if max(b["BLOCK_D"], b["BLOCK_DV"]) >= 128 else 4, "num_stages": 2}


#: The estimators the kernel implements, by qtcore sampler name.
SAMPLERS = ("stratified", "topk")


def _check(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, points: torch.Tensor) -> None:
    if q.dim() != 3 or k.dim() != 3 or v.dim() != 3 or points.dim() != 3:
        raise InvalidInput(
            "q, k, v, points must be (G, L, E), (G, N, E), (G, N, Ev), (G, L, S); got "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}, {tuple(points.shape)}"
        )
    G, L, E = q.shape
    if k.shape[0] != G or v.shape[0] != G or k.shape[2] != E or v.shape[1] != k.shape[1]:
        raise InvalidInput(
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} do not match"
        )
    if points.shape[:2] != (G, L) or points.shape[2] < 1:
        raise InvalidInput(
            f"points must be (G, L, S) = ({G}, {L}, S ≥ 1), got {tuple(points.shape)}"
        )


def sampled_attention_kernel(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    points: torch.Tensor,
    *,
    sampler: str = "stratified",
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fused kernel with the points given: ``(out, idx, weight)``, like the torch reference.

    Args:
        q: (G, L, E); k: (G, N, E); v: (G, N, Ev); on one device, float32/float16/bfloat16.
        points: (G, L, S) float32, one point per stratum ``(s + U_s)/S`` (``U`` shared by a
            row for systematic sampling).
        sampler: ``"stratified"`` (weight 1/S per point) or ``"topk"`` (πps with take-all
            keys, Horvitz–Thompson weights), the estimators of
            :class:`qtcore.sampling.StratifiedSampler` and :class:`qtcore.sampling.TopKSampler`.
        is_causal: mask keys after the query (top-left aligned).
        scale: logit scale, ``1/sqrt(E)`` when None.

    Returns:
        The output (G, L, Ev) in ``v``'s dtype (differentiable in q, k, v); the selected keys
        (G, L, S) int64, non-decreasing along S; their weights (G, L, S) float32 in units of
        p (0 for a point switched off): ``W_j = Σ_s weight_s·[idx_s = j]``.

    Raises:
        InvalidInput: shapes that do not match, or an unknown ``sampler``.

    Example:
        >>> import torch
        >>> from qtcore_kernels.attention import sampled_attention_kernel
        >>> dev = "cuda" if torch.cuda.is_available() else "cpu"
        >>> q, k = torch.zeros(1, 1, 16, device=dev), torch.zeros(1, 4, 16, device=dev)
        >>> v = torch.arange(4.0, device=dev).reshape(1, 4, 1).expand(1, 4, 16)
        >>> u = torch.tensor([[[0.1, 0.3, 0.6, 0.9]]], device=dev)  # uniform p: one key each
        >>> out, idx, weight = sampled_attention_kernel(q, k, v, u)
        >>> idx.tolist(), weight.tolist(), out[0, 0, 0].item()
        ([[[0, 1, 2, 3]]], [[[0.25, 0.25, 0.25, 0.25]]], 1.5)
    """
    _check(q, k, v, points)
    if sampler not in SAMPLERS:
        raise InvalidInput(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    out, idx, weight = _FusedSampled.apply(
        q, k, v, points, float(scale), bool(is_causal), sampler == "topk"
    )
    return out, idx, weight


def stratified_attention_kernel(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    points: torch.Tensor,
    *,
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`sampled_attention_kernel` with ``sampler="stratified"``: ``(out, idx)``.

    Example:
        >>> import torch
        >>> from qtcore_kernels.attention import stratified_attention_kernel
        >>> dev = "cuda" if torch.cuda.is_available() else "cpu"
        >>> q = k = v = torch.zeros(1, 2, 16, device=dev)
        >>> u = torch.tensor([[[0.2, 0.7]] * 2], device=dev)
        >>> stratified_attention_kernel(q, k, v, u, is_causal=True)[1].tolist()
        [[[0, 0], [0, 1]]]
    """
    out, idx, _ = sampled_attention_kernel(
        q, k, v, points, sampler="stratified", is_causal=is_causal, scale=scale
    )
    return out, idx


class _FusedSampled(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        points: torch.Tensor,
        scale: float,
        causal: bool,
        topk: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        u = points.to(torch.float32).contiguous()
        G, L, D = q.shape
        N, DV = v.shape[1], v.shape[2]
        S = u.shape[2]
        dev = q.device
        out = torch.empty(G, L, DV, dtype=v.dtype, device=dev)
        m = torch.empty(G, L, dtype=torch.float32, device=dev)
        z = torch.empty(G, L, dtype=torch.float32, device=dev)
        slots = torch.full((G, L, S), -1, dtype=torch.int32, device=dev)
        b = _blocks(L, N, D, DV)
        grid = (triton.cdiv(L, b["BLOCK_M"]), G)
        strides = (q.stride(0), q.stride(1), k.stride(0), k.stride(1), v.stride(0), v.stride(1),
                   out.stride(0), out.stride(1))  # fmt: skip
        flags = {"S": S, "CAUSAL": causal, "IEEE": q.dtype == torch.float32, **b, **_launch(b)}
        if topk:
            wslots = torch.zeros((G, L, S), dtype=torch.float32, device=dev)
            live = torch.empty(G, L, dtype=torch.int32, device=dev)
            _topk_forward_kernel[grid](
                q, k, v, u, out, m, z, slots, wslots, live, *strides, L, N, D, DV, scale,
                S_POW2=triton.next_power_of_2(S), **flags,
            )  # fmt: skip
        else:
            _forward_kernel[grid](
                q, k, v, u, out, m, z, slots, *strides, L, N, D, DV, scale, **flags
            )
        # A key holding several points wrote only its first slot; keys increase along S, so
        # a cumulative max gives the later slots its index (and weight). Rows with no mass
        # keep −1: key 0 at weight 0.
        filled, source = torch.cummax(slots.long(), dim=-1)
        idx = filled.clamp_(min=0)
        if topk:
            on = torch.arange(S, device=dev) < live[..., None]
            weight = torch.where(on, wslots.gather(-1, source), 0.0)
        else:
            weight = ((z > 0).to(torch.float32) / S)[..., None].expand(G, L, S).contiguous()
        ctx.save_for_backward(q, k, v, out, m, z, idx, weight)
        ctx.scale, ctx.causal = scale, causal
        ctx.mark_non_differentiable(idx, weight)
        return out, idx, weight

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor, *_: Any) -> tuple[Any, ...]:  # type: ignore[override]
        q, k, v, out, m, z, idx, weight = ctx.saved_tensors
        grad = grad.contiguous()
        G, L, D = q.shape
        N, DV = v.shape[1], v.shape[2]
        S = idx.shape[2]
        delta = (grad.float() * out.float()).sum(-1).contiguous()
        dq = torch.zeros(G, L, D, dtype=torch.float32, device=q.device)
        dk = torch.zeros(G, N, D, dtype=torch.float32, device=q.device)
        dv = torch.zeros(G, N, DV, dtype=torch.float32, device=q.device)
        b = _blocks(L, N, D, DV)
        ieee = q.dtype == torch.float32
        qk_strides = (q.stride(0), q.stride(1), k.stride(0), k.stride(1))
        _backward_sparse_kernel[(triton.cdiv(L, b["BLOCK_M"]), G)](
            q, k, v, grad, idx.to(torch.int32).contiguous(), weight, dq, dk, dv,
            *qk_strides, v.stride(0), v.stride(1), grad.stride(0), grad.stride(1),
            L, N, D, DV, ctx.scale,
            S=S, BLOCK_M=b["BLOCK_M"], BLOCK_D=b["BLOCK_D"], BLOCK_DV=b["BLOCK_DV"],
        )  # fmt: skip
        common = {"BLOCK_M": b["BLOCK_M"], "BLOCK_N": b["BLOCK_N"], "BLOCK_D": b["BLOCK_D"],
                  "CAUSAL": ctx.causal, "IEEE": ieee}  # fmt: skip
        _backward_dq_kernel[(triton.cdiv(L, b["BLOCK_M"]), G)](
            q, k, m, z, delta, dq, *qk_strides, L, N, D, ctx.scale, **common
        )
        _backward_dk_kernel[(triton.cdiv(N, b["BLOCK_N"]), G)](
            q, k, m, z, delta, dk, *qk_strides, L, N, D, ctx.scale, **common
        )
        return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), None, None, None, None


def fused_sampled_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    num_samples: int,
    sampler: str = "topk",
    is_causal: bool = False,
    scale: float | None = None,
    systematic: bool | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``sampled_attention(q, k, v, sampler=...)`` through the fused kernel.

    The points are drawn exactly as :class:`qtcore.sampling.StratifiedSampler` and
    :class:`qtcore.sampling.TopKSampler` draw them for all the rows at once
    (``stratified_points`` over the (…·L, S) rows in float32 with ``generator``), so a seed
    selects the same keys as ``sampler.sample_weights(p, S, generator=...)`` (the dense torch
    path). ``blockwise_sampled_attention`` draws block by block, so its stream matches only
    when L·N fits one of its blocks.

    Args:
        q: (…, L, E); k: (…, N, E); v: (…, N, Ev), leading dims broadcast.
        num_samples: S ≥ 1 points per row.
        sampler: ``"topk"`` (the default of ``sampled_attention``) or ``"stratified"``.
        is_causal: mask keys after the query (top-left aligned).
        scale: logit scale, ``1/sqrt(E)`` when None.
        systematic: one shared offset per row; ``None`` takes the sampler's default
            (True for topk, False for stratified).
        generator: the ``torch.Generator`` of the points.

    Returns:
        (…, L, Ev) in ``v``'s dtype, differentiable in q, k and v.

    Raises:
        InvalidInput: ``num_samples`` is not an int ≥ 1, an unknown sampler, or shapes that
            do not match.

    Example:
        >>> import torch
        >>> from qtcore_kernels.attention import fused_sampled_attention
        >>> dev = "cuda" if torch.cuda.is_available() else "cpu"
        >>> q = k = v = torch.randn(2, 16, 16, device=dev)
        >>> fused_sampled_attention(q, k, v, num_samples=4, is_causal=True).shape
        torch.Size([2, 16, 16])
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise InvalidInput(f"num_samples must be an int ≥ 1, got {num_samples!r}")
    if sampler not in SAMPLERS:
        raise InvalidInput(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if systematic is None:
        systematic = sampler == "topk"
    L, N, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    G = math.prod(lead)
    qf = q.expand(*lead, L, E).reshape(G, L, E)
    kf = k.expand(*lead, N, E).reshape(G, N, E)
    vf = v.expand(*lead, N, Ev).reshape(G, N, Ev)
    points = stratified_points(
        (G * L, num_samples),
        num_samples,
        systematic=systematic,
        generator=generator,
        device=q.device,
        dtype=torch.float32,
    ).reshape(G, L, num_samples)
    out, _, _ = sampled_attention_kernel(
        qf, kf, vf, points, sampler=sampler, is_causal=is_causal, scale=scale
    )
    return out.reshape(*lead, L, Ev)


def fused_stratified_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    num_samples: int,
    is_causal: bool = False,
    scale: float | None = None,
    systematic: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """:func:`fused_sampled_attention` with ``sampler="stratified"``.

    Example:
        >>> import torch
        >>> from qtcore_kernels.attention import fused_stratified_attention
        >>> dev = "cuda" if torch.cuda.is_available() else "cpu"
        >>> q = k = v = torch.randn(1, 2, 16, 16, device=dev)
        >>> fused_stratified_attention(q, k, v, num_samples=8).shape
        torch.Size([1, 2, 16, 16])
    """
    return fused_sampled_attention(
        q, k, v, num_samples=num_samples, sampler="stratified", is_causal=is_causal,
        scale=scale, systematic=systematic, generator=generator,
    )  # fmt: skip
