"""PennyLane used directly, the naive way: one QNode per row, Möttönen state preparation.

For each row a new QNode is built around ``qml.MottonenStatePreparation(√p)`` (PennyLane's
own gate-level amplitude encoding, the same circuit family as qtcore's template) and run
with finite shots on ``default.qubit``; the device decomposes it on every execution. This
is the peer of qtcore's ``pennylane.default`` / ``pennylane.lightning`` in
``benchmarks/bench_backends.py``.

Run alone for a quick ratio at one n (writes benchmarks/results/naive_pennylane.json):

    python benchmarks/naive/pennylane.py --n 7 --rows 256 --naive-rows 8
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

# This file is named after its framework (the benchmark contract); run as a script, its own
# folder is sys.path[0] and would shadow the real `pennylane` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
import pennylane as qml  # noqa: E402
from qtcore_pennylane.convert import counts_from_samples  # noqa: E402

import qtcore  # noqa: E402

FRAMEWORK = "pennylane"
BACKENDS = ["pennylane.default", "pennylane.lightning"]


def naive_sample(P: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Counts (B, 2**n) big-endian: per row a QNode with MottonenStatePreparation, run alone.

    Args:
        P: (B, 2**n) probabilities (rows already padded to a power of two, n ≥ 1).
        shots: shots per row.
        seed: seed of the one ``default.qubit`` device every row runs on, in row order.

    Returns:
        int64 counts (B, 2**n).

    Example:
        >>> import numpy as np
        >>> naive_sample(np.array([[0.0, 0.0, 1.0, 0.0]]), shots=4, seed=0).tolist()
        [[0, 0, 4, 0]]
    """
    P = np.asarray(P, dtype=np.float64)
    n = P.shape[1].bit_length() - 1
    device = qml.device("default.qubit", wires=n, seed=seed)
    out = np.zeros(P.shape, dtype=np.int64)
    for i, row in enumerate(P):
        amplitudes = np.sqrt(row)

        def circuit(amplitudes: np.ndarray = amplitudes) -> object:
            qml.MottonenStatePreparation(amplitudes, wires=range(n))
            return qml.sample(wires=range(n))

        samples = np.asarray(qml.QNode(circuit, device, shots=shots)())
        out[i] = counts_from_samples(samples.reshape(1, shots, n), n)[0]
    return out


def _rows_per_second(fn, rows: int) -> float:
    start = time.perf_counter()
    fn()
    return rows / (time.perf_counter() - start)


def main() -> None:
    """Time qtcore's PennyLane backends against :func:`naive_sample` at one n."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=7)
    parser.add_argument("--rows", type=int, default=256, help="rows for the qtcore backends")
    parser.add_argument("--naive-rows", type=int, default=8, help="rows for the naive path")
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/naive_pennylane.json")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    P = rng.dirichlet(np.ones(2**args.n), size=args.rows)
    naive_sample(P[:1], args.shots, args.seed)  # warm-up: imports, first device
    naive = _rows_per_second(
        lambda: naive_sample(P[: args.naive_rows], args.shots, args.seed), args.naive_rows
    )
    result = {
        "framework": FRAMEWORK,
        "n": args.n,
        "shots": args.shots,
        "naive_rows": args.naive_rows,
        "rows": args.rows,
        "naive_rows_per_s": naive,
        "machine": platform.platform(),
        "pennylane": qml.__version__,
        "backends": {},
    }
    for name in BACKENDS:
        backend = qtcore.get_backend(name)
        backend.sample_distributions(P[:2], shots=args.shots, seed=args.seed)  # warm-up
        rate = _rows_per_second(
            lambda backend=backend: backend.sample_distributions(
                P, shots=args.shots, seed=args.seed
            ),
            args.rows,
        )
        result["backends"][name] = {"rows_per_s": rate, "ratio_vs_naive": rate / naive}
        print(f"{name:22s} {rate:10.1f} rows/s   {rate / naive:7.1f}x naive")
    print(f"{'naive (Mottonen QNode)':22s} {naive:10.1f} rows/s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
