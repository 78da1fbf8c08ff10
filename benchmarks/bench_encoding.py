"""Angle computation of the Möttönen tree: vectorised fast Walsh–Hadamard vs the direct way.

Three ways to get the RY angles α_k = M_kᵀ·θ_k / 2ᵏ of every level, timed in one run:

* ``naive_per_row``: the direct construction, row by row: one O(4ⁿ) matrix–vector product
  per level with the sign matrices precomputed once (their cost is not counted);
* ``dense_batched``: the same dense products for all rows at once (one matmul per level),
  which separates the gain of batching from the gain of the fast transform;
* ``naive_solve_per_row``: the textbook construction, row by row: build each level's sign
  matrix and solve θ_k = M_k·α_k (:func:`qtcore.encoding.encoding_angles_naive`), O(8ᵏ);
* ``qtcore``: :func:`qtcore.encoding_angles`, the fast Walsh–Hadamard transform over the batch,
  O(n·2ⁿ) per row.

The per-row path is timed on a subset of rows and scaled per row (it is linear in rows).
All three are checked to agree with each other.

    python benchmarks/bench_encoding.py [--rows 4096] [--qubits 10] [--naive-rows 16]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

import qtcore
from qtcore.encoding import _level_halves, _thetas_from_halves, encoding_angles_naive, sign_matrix


def thetas(P: np.ndarray, n: int) -> list[np.ndarray]:
    # the same level masses and θ as qtcore uses: only the θ → α transform differs
    return [_thetas_from_halves(h) for h in _level_halves(P)]


def naive_per_row(P: np.ndarray, n: int, mats: list[np.ndarray]) -> np.ndarray:
    out = []
    for row in P:
        levels = thetas(row[None, :], n)
        out.append(np.concatenate([M.T @ t[0] / M.shape[0] for M, t in zip(mats, levels)]))
    return np.stack(out)


def dense_batched(P: np.ndarray, n: int, mats: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([t @ M / M.shape[0] for M, t in zip(mats, thetas(P, n))], axis=1)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--qubits", type=int, default=10)
    parser.add_argument("--naive-rows", type=int, default=256)
    parser.add_argument("--sweep", type=int, nargs="*", default=[6, 8, 10, 12],
                        help="qubit counts for the scaling sweep (1024 rows each)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "encoding.json"))
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n = args.qubits
    P = rng.dirichlet(np.ones(2**n), size=args.rows)
    # sign matrices in Gray-code column order, built once outside the timings
    mats = [sign_matrix(k) for k in range(n)]
    assert all(np.array_equal(M[:, 0], np.ones(M.shape[0])) for M in mats)
    sub = P[: args.naive_rows]
    fast_s = best_of(lambda: qtcore.encoding_angles(P), repeat=3)
    dense_s = best_of(lambda: dense_batched(P, n, mats), repeat=3)
    naive_s = best_of(lambda: naive_per_row(sub, n, mats), repeat=3)
    solve_rows = P[:4]
    solve_s = best_of(lambda: [encoding_angles_naive(r) for r in solve_rows], repeat=1)
    fast = qtcore.encoding_angles(P)
    max_diff = max(
        float(np.abs(fast[: args.naive_rows] - naive_per_row(sub, n, mats)).max()),
        float(np.abs(fast - dense_batched(P, n, mats)).max()),
    )
    assert max_diff < 1e-9, max_diff

    per_row = {
        "qtcore_fwht_batched": fast_s / args.rows,
        "dense_batched": dense_s / args.rows,
        "naive_per_row": naive_s / args.naive_rows,
        "naive_solve_per_row": solve_s / len(solve_rows),
    }
    sweep = []
    for k in args.sweep:
        Q = rng.dirichlet(np.ones(2**k), size=1024)
        kmats = [sign_matrix(j) for j in range(k)]
        f = best_of(lambda Q=Q: qtcore.encoding_angles(Q), repeat=3)
        d = best_of(lambda Q=Q, k=k, kmats=kmats: dense_batched(Q, k, kmats), repeat=3)
        sweep.append({"qubits": k, "rows": 1024, "fwht_vs_dense_batched_speedup": d / f})
    result = {
        "benchmark": "encoding_angles",
        "rows": args.rows,
        "qubits": n,
        "naive_rows_timed": args.naive_rows,
        "seconds_per_row": per_row,
        "speedup_vs_naive_per_row": per_row["naive_per_row"] / per_row["qtcore_fwht_batched"],
        "speedup_vs_naive_solve_per_row": per_row["naive_solve_per_row"]
        / per_row["qtcore_fwht_batched"],
        "speedup_vs_dense_batched": per_row["dense_batched"] / per_row["qtcore_fwht_batched"],
        "max_abs_angle_difference": max_diff,
        "sweep": sweep,
        "machine": platform.platform(),
        "numpy": np.__version__,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
