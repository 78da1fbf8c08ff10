/* qtcore's fused CPU row pass for sampled attention (inference).
 *
 * Input: one block of logits (R rows of n keys, already masked by the caller; causal rows
 * are cut here by length). Per row, in one place and without temporaries the size of the
 * row: max, e = exp(l - max) and Z = sum e, x = e * a (value-aware sizes a, or 1), block
 * sums of x, then the systematic (or jittered) points of the topk / stratified estimator
 * walked along x's cumulative sum (skipping whole blocks), and out = sum_s w_s * v[idx_s].
 * With the value design's low-rank control (qtcore.nn.functional.ValueDesign), the values
 * are the residuals and the exact control part mu + sum_t (sum_j p_j phi_jt) psi_t is added
 * to every row with mass (mu's coefficient sum_j p_j over the keys that take part is 1):
 * the caller passes ctrl_tj = phi_jt / a_j (nctrl rows of n, a multiple of 4, zero rows as
 * padding; sum_j x_j ctrl_tj / Z = sum_j p_j phi_jt), the basis psi (nctrl rows of dv) and
 * mu (dv). Rows are taken two at a time so that these sums read each coefficient once for
 * both rows while the rows are still in L1 (one row at a time, the coefficient loads from
 * L2 cost twice the time; folded into the exp loop, they slowed it down).
 *
 * It computes the estimator of qtcore.sampling.TopKSampler / StratifiedSampler exactly as
 * qtcore.nn.functional.blockwise_sampled_attention does with torch operations, from the
 * same uniforms; only float round-off differs (the cumulative sum is accumulated in double
 * here, in float there), so a point that lies within round-off of a key boundary may pick
 * the neighbouring key.
 *
 * Built on first use by qtcore/nn/native.py with the system C compiler; no Python or torch
 * headers are needed: the Python side passes raw pointers through ctypes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QTK_BLOCK 64
#define QTK_SUB 16

/* exp(x) for x <= 0 in float: Cody-Waite range reduction and a degree-6 polynomial
 * (relative error about 2e-7), written so that compilers vectorise it. exp(x) = 0 below
 * x = -87 (this covers -inf, a masked key): the true value there is < 1.7e-38, below
 * float's normal range, and the row's maximum contributes exp(0) = 1 to Z. */
static inline float qtk_exp(float x) {
    const float lo = -87.0f;
    float xc = x < lo ? lo : x;
    float n = __builtin_rintf(xc * 1.44269504088896341f);
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int32_t i; float f; } scale;
    scale.i = ((int32_t)n + 127) << 23;
    float y = p * scale.f;
    return x < lo ? 0.0f : y;
}

static inline void qtk_axpy(float *out, const float *v, float w, int64_t d) {
#pragma omp simd
    for (int64_t t = 0; t < d; t++) out[t] += w * v[t];
}

/* j itself when x[j] > 0, else the nearest key with mass. The block sums (float vector
 * sums) and the walk's sums round differently, so a point within round-off of a block's
 * end can stop on a trailing key with x = 0, which owns an empty interval and must never
 * be returned. */
static inline int64_t qtk_with_mass(const float *x, int64_t j, int64_t lo, int64_t last) {
    if (x[j] > 0.0f) return j;
    for (int64_t k = j - 1; k >= lo; k--)
        if (x[k] > 0.0f) return k;
    for (int64_t k = j + 1; k <= last; k++)
        if (x[k] > 0.0f) return k;
    return last;
}

/* o = sum_i (w_i / (Z a_j)) v[j_i]: prefetch every row first, so that the S reads of
 * scattered value rows overlap instead of waiting one after another. */
static void qtk_accumulate(float *o, const float *vg, int64_t dv, const int64_t *idx,
                          const double *wgt, int64_t count, double Z, const float *a) {
    for (int64_t i = 0; i < count; i++)
        for (int64_t t = 0; t < dv; t += 16) __builtin_prefetch(vg + idx[i] * dv + t);
    for (int64_t i = 0; i < count; i++) {
        double w = wgt[i] / Z;
        if (a) w /= (double)a[idx[i]];
        qtk_axpy(o, vg + idx[i] * dv, (float)w, dv);
    }
}

/* Four sums sum_j x_j c_t[j] (t < 4) for one row, or for two rows at once (x1 != NULL):
 * each coefficient is loaded once for both rows. */
static void qtk_dots4(const float *x0, const float *x1, const float *c, int64_t ld,
                      int64_t len, double *d0, double *d1) {
    const float *c0 = c, *c1 = c + ld, *c2 = c + 2 * ld, *c3 = c + 3 * ld;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    if (x1) {
        float b0 = 0.0f, b1 = 0.0f, b2 = 0.0f, b3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3, b0, b1, b2, b3)
        for (int64_t j = 0; j < len; j++) {
            a0 += x0[j] * c0[j];
            a1 += x0[j] * c1[j];
            a2 += x0[j] * c2[j];
            a3 += x0[j] * c3[j];
            b0 += x1[j] * c0[j];
            b1 += x1[j] * c1[j];
            b2 += x1[j] * c2[j];
            b3 += x1[j] * c3[j];
        }
        d1[0] = b0, d1[1] = b1, d1[2] = b2, d1[3] = b3;
    } else {
#pragma omp simd reduction(+ : a0, a1, a2, a3)
        for (int64_t j = 0; j < len; j++) {
            a0 += x0[j] * c0[j];
            a1 += x0[j] * c1[j];
            a2 += x0[j] * c2[j];
            a3 += x0[j] * c3[j];
        }
    }
    d0[0] = a0, d0[1] = a1, d0[2] = a2, d0[3] = a3;
}

/* The exact control part of rows r0..r1-1 (at most two): for each row with mass (Z > 0),
 * out += mu + sum_t (sum_j x_j ctrl_tj / Z) psi_t. Two rows of the same group and length
 * share one pass over the coefficients. */
static void qtk_control_pair(const float *logits, int64_t ld, float *out, int64_t out_ld,
                             int64_t r0, int64_t r1, const double *zrow, const int64_t *lrow,
                             int64_t rows_per_group, const float *ctrl,
                             int64_t ctrl_group_stride, int64_t ctrl_ld, int64_t nctrl, const float *basis, int64_t basis_group_stride,
                             const float *mean, int64_t mean_group_stride, int64_t dv,
                             double *dsum) {
    int64_t rows[2], lens[2], groups[2], k = 0;
    for (int64_t row = r0; row < r1; row++) {
        if (!(zrow[row - r0] > 0.0)) continue;
        rows[k] = row, lens[k] = lrow[row - r0], groups[k] = row / rows_per_group, k++;
    }
    int together = k == 2 && groups[0] == groups[1] && lens[0] == lens[1];
    for (int64_t i = 0; i < k; i++) {
        const float *cg = ctrl + groups[i] * ctrl_group_stride;
        const float *x0 = logits + rows[i] * ld;
        double *d0 = dsum, *d1 = dsum + nctrl;
        if (i == 1 && together) break; /* done with row 0 */
        for (int64_t t = 0; t < nctrl; t += 4)
            qtk_dots4(x0, together ? logits + rows[1] * ld : NULL, cg + t * ctrl_ld, ctrl_ld,
                      lens[i], d0 + t, d1 + t);
        for (int64_t m = 0; m < (together ? 2 : 1); m++) {
            int64_t row = rows[i + m];
            double Z = zrow[row - r0];
            float *o = out + row * out_ld;
            const double *d = m ? d1 : d0;
            const float *bg = basis + groups[i] * basis_group_stride;
            qtk_axpy(o, mean + groups[i] * mean_group_stride, 1.0f, dv);
            for (int64_t t = 0; t < nctrl; t++) qtk_axpy(o, bg + t * dv, (float)(d[t] / Z), dv);
        }
    }
}

/* Returns 0, or 1 when scratch memory could not be allocated. */
int qtk_sample_rows(
    float *logits, int64_t R, int64_t n, int64_t ld,
    int64_t rows_per_group, int64_t causal_start,
    const float *sizes, int64_t size_group_stride,
    const float *values, int64_t value_group_stride, int64_t dv,
    const float *ctrl, int64_t ctrl_group_stride, int64_t ctrl_ld, int64_t nctrl,
    const float *basis, int64_t basis_group_stride,
    const float *mean, int64_t mean_group_stride,
    const float *u, int64_t u_row_stride, int64_t u_point_stride,
    int64_t S, int take_all,
    float *out, int64_t out_ld, int num_threads)
{
    int failed = 0;
    int64_t nblocks_max = (n + QTK_BLOCK - 1) / QTK_BLOCK;
#pragma omp parallel num_threads(num_threads) reduction(|:failed)
    {
        double *bsum = (double *)malloc(sizeof(double) * (size_t)(2 * nblocks_max + 2));
        double *bstart = bsum + nblocks_max + 1;
        int64_t *idx = (int64_t *)malloc(sizeof(int64_t) * (size_t)S);
        double *wgt = (double *)malloc(sizeof(double) * (size_t)S);
        double *dsum = (double *)malloc(sizeof(double) * (size_t)(2 * nctrl + 1));
        if (bsum == NULL || idx == NULL || wgt == NULL || dsum == NULL) failed = 1;
#pragma omp for schedule(static)
        for (int64_t pair = 0; pair < (R + 1) / 2; pair++) {
          /* Rows two at a time: the control's sums then read each coefficient once for
           * both rows (qtk_control_pair), while both rows are still in L1. */
          int64_t r0 = 2 * pair, r1 = r0 + 2 < R ? r0 + 2 : R;
          double zrow[2] = {0.0, 0.0}; /* Z of a row with mass, else 0 */
          int64_t lrow[2] = {0, 0};      /* and the keys it sees */
          for (int64_t row = r0; row < r1; row++) {
            if (failed) continue;
            float *x = logits + row * ld;
            float *o = out + row * out_ld;
            memset(o, 0, sizeof(float) * (size_t)dv);
            int64_t g = row / rows_per_group;
            int64_t len = n;
            if (causal_start >= 0) {
                int64_t visible = causal_start + row % rows_per_group + 1;
                if (visible < len) len = visible;
            }
            const float *a = sizes ? sizes + g * size_group_stride : NULL;
            const float *vg = values + g * value_group_stride;
            const float *ur = u + row * u_row_stride;

            float m = -INFINITY;
#pragma omp simd reduction(max : m)
            for (int64_t j = 0; j < len; j++) m = x[j] > m ? x[j] : m;
            if (!(m > -INFINITY)) continue; /* every key masked: zeros */

            /* e = exp(l - m); Z = sum e; x = e * a in place; block sums and max of x. */
            double Z = 0.0, X = 0.0;
            float xmax = 0.0f;
            int64_t nb = (len + QTK_BLOCK - 1) / QTK_BLOCK;
            for (int64_t b = 0; b < nb; b++) {
                int64_t j0 = b * QTK_BLOCK, j1 = j0 + QTK_BLOCK < len ? j0 + QTK_BLOCK : len;
                float z = 0.0f, s = 0.0f, mx = 0.0f;
                if (a) {
#pragma omp simd reduction(+ : z, s) reduction(max : mx)
                    for (int64_t j = j0; j < j1; j++) {
                        float e = qtk_exp(x[j] - m);
                        float xe = e * a[j];
                        z += e;
                        s += xe;
                        mx = xe > mx ? xe : mx;
                        x[j] = xe;
                    }
                } else {
#pragma omp simd reduction(+ : z) reduction(max : mx)
                    for (int64_t j = j0; j < j1; j++) {
                        float e = qtk_exp(x[j] - m);
                        z += e;
                        mx = e > mx ? e : mx;
                        x[j] = e;
                    }
                    s = z;
                }
                bsum[b] = (double)s;
                Z += (double)z;
                X += (double)s;
                xmax = mx > xmax ? mx : xmax;
            }
            if (!(X > 0.0)) continue;
            zrow[row - r0] = Z, lrow[row - r0] = len; /* the control part is added below */
            bstart[0] = 0.0;
            for (int64_t bb = 1; bb < nb; bb++) bstart[bb] = bstart[bb - 1] + bsum[bb - 1];
            int64_t last = len - 1; /* the last key with mass: no point goes past it */
            while (last > 0 && x[last] == 0.0f) last--;

            if (!take_all || (double)xmax * (double)S < X) {
                /* Flat row (or stratified): pi = c x with c = S / X, every weight X / S.
                 * Each point finds its block on the block starts (comparisons only), then
                 * its key inside the block. */
                double step = X / (double)S;
                int64_t b = 0;
                for (int64_t i = 0; i < S; i++) {
                    double t = ((double)i + (double)ur[i * u_point_stride]) * step;
                    while (b + 1 < nb && bstart[b + 1] <= t) b++;
                    int64_t j = b * QTK_BLOCK, j1 = j + QTK_BLOCK < len ? j + QTK_BLOCK : len;
                    double r = t - bstart[b], local = 0.0;
                    /* Whole sub-blocks first (short vector sums), then single keys. */
                    while (j + QTK_SUB < j1) {  /* a sub-block ending at j1 is never skipped */
                        float sub = 0.0f;
#pragma omp simd reduction(+ : sub)
                        for (int64_t k = j; k < j + QTK_SUB; k++) sub += x[k];
                        if (local + (double)sub > r) break;
                        local += (double)sub;
                        j += QTK_SUB;
                    }
                    while (j + 1 < j1 && local + (double)x[j] <= r) local += (double)x[j++];
                    idx[i] = qtk_with_mass(x, j, b * QTK_BLOCK, last);
                    wgt[i] = step;
                }
                qtk_accumulate(o, vg, dv, idx, wgt, S, Z, a);
                continue;
            }

            /* Peaked row: pi = min(1, c x), c the fixed point c = (S - t) / (mass of the
             * keys with c x < 1), t the number of keys with c x >= 1 (take-all keys). */
            double huge = 1.0 / 1.1754943508222875e-38; /* 1 / float's smallest normal */
            double c = (double)S / X;
            for (int64_t it = 0; it <= S; it++) {
                int64_t certain = 0;
                double rest = 0.0;
                for (int64_t jj = 0; jj < len; jj++) {
                    double px = c * (double)x[jj];
                    if (px >= 1.0) certain++;
                    else rest += (double)x[jj];
                }
                if (rest <= 0.0 || certain >= S) { c = huge; break; }
                double next = ((double)S - (double)certain) / rest;
                if (next <= c) break;
                c = next;
            }
            double mass = 0.0;
            for (int64_t jj = 0; jj < len; jj++) {
                double px = c * (double)x[jj];
                mass += px < 1.0 ? px : 1.0;
            }
            /* Sum pi = S up to round-off: stretch the lattice onto [0, mass); fewer keys
             * with mass than S: points past the mass are switched off. */
            double stretch = mass > (double)S * (1.0 - 1e-4) ? mass / (double)S : 1.0;
            int64_t j = 0, taken = 0;
            double cum = 0.0;
            double pj = c * (double)x[0];
            pj = pj < 1.0 ? pj : 1.0;
            for (int64_t i = 0; i < S; i++) {
                double t = ((double)i + (double)ur[i * u_point_stride]) * stretch;
                if (t >= mass) break;
                while (j < last && cum + pj <= t) {
                    cum += pj;
                    j++;
                    pj = c * (double)x[j];
                    pj = pj < 1.0 ? pj : 1.0;
                }
                idx[taken] = j;
                wgt[taken++] = c * (double)x[j] >= 1.0 ? (double)x[j] : 1.0 / c;
            }
            qtk_accumulate(o, vg, dv, idx, wgt, taken, Z, a);
          }
          if (ctrl && !failed) qtk_control_pair(logits, ld, out, out_ld, r0, r1, zrow, lrow,
                                                 rows_per_group, ctrl, ctrl_group_stride,
                                                 ctrl_ld, nctrl, basis, basis_group_stride,
                                                 mean, mean_group_stride, dv, dsum);
        }
        free(bsum);
        free(idx);
        free(wgt);
        free(dsum);
    }
    return failed;
}

/* The value design's greedy nearest-neighbour path (qtcore.nn.functional): for each of G
 * groups, start at start[g] and always move to the nearest key not yet visited (ties: the
 * lowest index, as torch.argmin), from the squared distances dist (G, N, N). out (G, N)
 * gets the path. Returns 0, or 1 when scratch memory could not be allocated. */
int qtk_greedy_path(const double *dist, int64_t G, int64_t N, const int64_t *start,
                    int64_t *out, int num_threads)
{
    int failed = 0;
#pragma omp parallel num_threads(num_threads) reduction(|:failed)
    {
        unsigned char *seen = (unsigned char *)malloc((size_t)(N > 0 ? N : 1));
        if (seen == NULL) failed = 1;
#pragma omp for schedule(static)
        for (int64_t g = 0; g < G; g++) {
            if (failed) continue;
            const double *dg = dist + g * N * N;
            int64_t *path = out + g * N;
            memset(seen, 0, (size_t)N);
            int64_t cur = start[g];
            path[0] = cur;
            seen[cur] = 1;
            for (int64_t step = 1; step < N; step++) {
                const double *row = dg + cur * N;
                int64_t best = -1;
                double bd = INFINITY;
                for (int64_t j = 0; j < N; j++)
                    if (!seen[j] && row[j] < bd) bd = row[j], best = j;
                if (best < 0) /* only infinite or NaN distances left: the first unvisited */
                    for (int64_t j = 0; j < N && best < 0; j++)
                        if (!seen[j]) best = j;
                path[step] = best;
                seen[best] = 1;
                cur = best;
            }
        }
        free(seen);
    }
    return failed;
}
