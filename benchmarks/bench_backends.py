"""Rows per second of ``Backend.sample_distributions``, side by side with its natural peers.

For every framework plugin that ships ``benchmarks/naive/<plugin>.py`` (and whose framework is
installed), one run times, at n = 4, 7, 10 qubits and 32 shots per row:

* ``qtcore``: each of the plugin's qtcore backends, ``sample_distributions(P)`` on a batch;
* ``naive``: the framework used directly the naive way (``naive_sample``: per row a
  state-preparation circuit from the framework's own primitive, compiled and run);
* ``numpy``: inverse-CDF sampling of P in numpy (the classical floor: no circuit at all).

The naive path is timed on a few rows (it is linear in rows); ratios are rows/s over rows/s.
The core's ``reference`` backend is timed too. Writes ``benchmarks/results/backends.json``.

    python benchmarks/bench_backends.py [--qubits 4 7 10] [--rows 256] [--naive-rows 4]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import qtcore

HERE = Path(__file__).parent


def numpy_inverse_cdf(P: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Counts (B, N) by inverse-CDF sampling of each row: the no-circuit floor."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(P, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random((P.shape[0], shots))
    idx = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2) if P.shape[1] <= 64 else np.stack(
        [np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)]
    )
    offsets = (np.arange(P.shape[0]) * P.shape[1])[:, None]
    return np.bincount((idx + offsets).ravel(), minlength=P.size).reshape(P.shape)


def rows_per_second(fn, rows: int, min_seconds: float = 0.5) -> float:
    fn()  # warm-up: compile caches, imports
    done, start = 0, time.perf_counter()
    while True:
        fn()
        done += rows
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def load_naive_modules(only: list[str] | None) -> list:
    mods = []
    for path in sorted((HERE / "naive").glob("*.py")):
        if only and path.stem not in only:
            continue
        spec = importlib.util.spec_from_file_location(f"naive_{path.stem}", path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except ImportError as exc:
            print(f"skipping {path.stem}: {exc}", file=sys.stderr)
            continue
        mods.append(mod)
    return mods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 7, 10])
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--naive-rows", type=int, default=4)
    parser.add_argument("--plugins", nargs="*", help="only these benchmarks/naive/<name>.py")
    parser.add_argument("--out", default=str(HERE / "results" / "backends.json"))
    args = parser.parse_args()

    installed = {e.name for e in qtcore.backends()}
    results = []
    rng = np.random.default_rng(0)
    for n in args.qubits:
        P = rng.dirichlet(np.full(2**n, 0.5), size=args.rows)
        small = P[: args.naive_rows]
        floor = rows_per_second(lambda: numpy_inverse_cdf(P, args.shots, 1), args.rows)
        ref = rows_per_second(
            lambda: qtcore.get_backend("reference").sample_distributions(
                P, shots=args.shots, seed=1), args.rows)
        results.append({"framework": "qtcore", "backend": "reference", "qubits": n,
                        "rows_per_s": ref, "numpy_rows_per_s": floor,
                        "vs_numpy": ref / floor})
        for mod in load_naive_modules(args.plugins):
            naive = rows_per_second(lambda: mod.naive_sample(small, args.shots, 1),
                                    len(small), min_seconds=0.2)
            for name in mod.BACKENDS:
                if name not in installed:
                    continue
                backend = qtcore.get_backend(name)
                if n > backend.capabilities.max_qubits:
                    continue
                rate = rows_per_second(
                    lambda: backend.sample_distributions(P, shots=args.shots, seed=1), args.rows)
                results.append({
                    "framework": mod.FRAMEWORK, "backend": name, "qubits": n,
                    "rows_per_s": rate, "naive_rows_per_s": naive, "numpy_rows_per_s": floor,
                    "vs_naive": rate / naive, "vs_numpy": rate / floor,
                })
                print(f"n={n:2d} {name:24s} {rate:10.1f} rows/s  {rate / naive:7.1f}× naive "
                      f"{rate / floor:8.4f}× numpy", flush=True)
    payload = {
        "benchmark": "backends.sample_distributions",
        "shots": args.shots,
        "rows": args.rows,
        "naive_rows_timed": args.naive_rows,
        "machine": platform.platform(),
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(json.dumps(payload, indent=2))
        return
    table = Table(title=f"sample_distributions, {args.shots} shots/row (ratios of rows/s)")
    for col in ("backend", "n", "rows/s", "× naive framework", "× numpy inverse-CDF"):
        table.add_column(col)
    for r in results:
        table.add_row(r["backend"], str(r["qubits"]), f"{r['rows_per_s']:.1f}",
                      f"{r['vs_naive']:.1f}" if "vs_naive" in r else "-", f"{r['vs_numpy']:.4f}")
    Console().print(table)


if __name__ == "__main__":
    main()
