"""Rows per second of ``sample_distributions`` with ``executor=``, against the same backend
without one (the natural peer), measured in the same run.

For each backend (``reference`` and, when installed, ``qiskit.aer``) at n qubits and 32 shots:

* ``serial``: ``sample_distributions(P)``, no executor;
* ``threads``: a ``ThreadPoolExecutor(workers)``, default chunking (one chunk per worker);
* ``dask``: a ``distributed.LocalCluster(processes=True, n_workers=workers,
  threads_per_worker=1)`` on loopback through ``Client.get_executor()``.

Every chunked result is checked equal to the serial one (both backends are row-seeded). On a
machine with fewer free cores than workers the parallel rows mostly measure overhead: the
JSON records ``os.cpu_count()`` and the load average beside the numbers.

    python benchmarks/bench_scale.py [--qubits 7] [--rows 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import qtcore

HERE = Path(__file__).parent


def timed(fn, repeats: int = 3) -> tuple[float, np.ndarray]:
    """Best wall time of ``repeats`` calls after one warm-up, and the last result."""
    out = fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=7)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "scale.json"))
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    names = ["reference"]
    if any(e.name == "qiskit.aer" for e in qtcore.backends()):
        names.append("qiskit.aer")
    P = np.random.default_rng(0).dirichlet(np.ones(2**args.qubits), size=args.rows)
    results = []
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
        ThreadPoolExecutor(args.workers) as threads,
    ):
        dask_executor = client.get_executor()
        for name in names:
            backend = qtcore.get_backend(name)
            runs = {
                "serial": lambda b=backend: b.sample_distributions(P, shots=args.shots, seed=1),
                "threads": lambda b=backend: b.sample_distributions(
                    P, shots=args.shots, seed=1, executor=threads
                ),
                "dask": lambda b=backend: b.sample_distributions(
                    P, shots=args.shots, seed=1, executor=dask_executor
                ),
            }
            seconds, reference = timed(runs["serial"])
            row = {"backend": name, "serial_rows_per_s": args.rows / seconds}
            for label in ("threads", "dask"):
                t, counts = timed(runs[label])
                assert np.array_equal(counts, reference), f"{name} {label}: counts differ"
                row[f"{label}_rows_per_s"] = args.rows / t
                row[f"{label}_vs_serial"] = seconds / t
            results.append(row)
            print(json.dumps(row))
    report = {
        "what": "sample_distributions rows/s with executor= vs without (same run)",
        "qubits": args.qubits,
        "rows": args.rows,
        "shots": args.shots,
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "python": platform.python_version(),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
