"""Cirq used directly, the naive way: one circuit per row around Cirq's state preparation.

For each row a new circuit ``cirq.StatePreparationChannel(√p)`` + ``cirq.measure`` is built
and run with ``cirq.Simulator(seed).run(circuit, repetitions=shots)``. The channel is not
unitary, so the simulator cannot simulate once and sample: it re-simulates the channel for
every repetition, and its Kraus tensor holds 2**(3n) numbers. Above ``CHANNEL_MAX_QUBITS``
(n ≥ 9: 1 GiB and more per row) the row is prepared instead by ``cirq.MatrixGate`` of a
Householder reflection taking |0…0⟩ to √p, which Cirq applies as one dense unitary; the
driver's table should say which method ran (``naive_method(n)``). This is the peer of
qtcore's ``cirq.simulator`` / ``cirq.density_matrix`` in ``benchmarks/bench_backends.py``.

Run alone for a quick ratio at one n (writes benchmarks/results/naive_cirq.json):

    python benchmarks/naive/cirq.py --n 7 --rows 64 --naive-rows 4
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

# This file is named after its framework (the benchmark contract); run as a script, its own
# folder is sys.path[0] and would shadow the real `cirq` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import cirq  # noqa: E402
import numpy as np  # noqa: E402

import qtcore  # noqa: E402

FRAMEWORK = "cirq"
BACKENDS = ["cirq.simulator", "cirq.density_matrix"]

#: Largest n prepared with ``cirq.StatePreparationChannel`` (its Kraus tensor is 8**n numbers).
CHANNEL_MAX_QUBITS = 8


def naive_method(n: int) -> str:
    """Which Cirq primitive :func:`naive_sample` uses at n.

    Example:
        >>> naive_method(7), naive_method(10)
        ('cirq.StatePreparationChannel', 'cirq.MatrixGate (Householder)')
    """
    if n <= CHANNEL_MAX_QUBITS:
        return "cirq.StatePreparationChannel"
    return "cirq.MatrixGate (Householder)"


def _householder(amplitudes: np.ndarray) -> np.ndarray:
    """A real orthogonal matrix whose first column is ``amplitudes`` (unit norm, ≥ 0)."""
    e0 = np.zeros_like(amplitudes)
    e0[0] = 1.0
    w = e0 - amplitudes
    norm2 = float(w @ w)
    if norm2 < 1e-24:
        return np.eye(len(amplitudes))
    return np.eye(len(amplitudes)) - 2.0 * np.outer(w, w) / norm2


def naive_sample(P: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Counts (B, 2**n) big-endian: per row a new state-preparation circuit, run alone.

    Args:
        P: (B, 2**n) probabilities (rows padded to a power of two, n ≥ 1).
        shots: repetitions per row.
        seed: row i runs on ``cirq.Simulator(seed=seed + i)``.

    Returns:
        int64 counts (B, 2**n). ``result.histogram`` reads the measurement key big-endian
        (first measured qubit most significant), which is qtcore's order.

    Example:
        >>> import numpy as np
        >>> naive_sample(np.array([[0.0, 0.0, 1.0, 0.0]]), shots=4, seed=0).tolist()
        [[0, 0, 4, 0]]
    """
    P = np.asarray(P, dtype=np.float64)
    n = P.shape[1].bit_length() - 1
    qubits = cirq.LineQubit.range(n)
    out = np.zeros(P.shape, dtype=np.int64)
    for i, row in enumerate(P):
        amplitudes = np.sqrt(row / row.sum())
        if n <= CHANNEL_MAX_QUBITS:
            prep = cirq.StatePreparationChannel(amplitudes).on(*qubits)
        else:
            prep = cirq.MatrixGate(_householder(amplitudes)).on(*qubits)
        circuit = cirq.Circuit(prep, cirq.measure(*qubits, key="m"))
        result = cirq.Simulator(seed=seed + i).run(circuit, repetitions=shots)
        for index, count in result.histogram(key="m").items():
            out[i, index] = count
    return out


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    """Time qtcore's Cirq backends against :func:`naive_sample` at one n; print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=7)
    parser.add_argument("--rows", type=int, default=64, help="rows for the qtcore backends")
    parser.add_argument("--naive-rows", type=int, default=4, help="rows for the naive path")
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="alternating timing rounds")
    parser.add_argument("--out", default="benchmarks/results/naive_cirq.json")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(2**args.n), size=args.rows)
    naive_P = P[: args.naive_rows]
    backends = {name: qtcore.get_backend(name) for name in BACKENDS}
    for b in backends.values():  # build and cache the template outside the timings
        b.sample_distributions(P[:1], shots=args.shots, seed=0)
    rates: dict[str, list[float]] = {"naive": [], **{name: [] for name in backends}}
    for r in range(args.repeats):
        # Alternate the contenders so that load from other processes hits them alike.
        t = _seconds(lambda r=r: naive_sample(naive_P, args.shots, seed=r))
        rates["naive"].append(len(naive_P) / t)
        for name, b in backends.items():
            t = _seconds(lambda b=b, r=r: b.sample_distributions(P, shots=args.shots, seed=r))
            rates[name].append(len(P) / t)
    median = {k: statistics.median(v) for k, v in rates.items()}
    report = {
        "framework": FRAMEWORK,
        "cirq_version": cirq.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "n": args.n,
        "shots": args.shots,
        "rows": args.rows,
        "naive_rows": args.naive_rows,
        "naive_method": naive_method(args.n),
        "rows_per_s": rates,
        "median_rows_per_s": median,
        "ratio_vs_naive": {k: median[k] / median["naive"] for k in backends},
    }
    for key in ["naive", *backends]:
        ratio = "" if key == "naive" else f"  ({median[key] / median['naive']:.1f}× naive)"
        print(f"{key:22s} {median[key]:9.2f} rows/s{ratio}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
