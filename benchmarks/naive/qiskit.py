"""Qiskit used directly, the naive way, for ``benchmarks/bench_backends.py``.

Per attention row: build a circuit with Qiskit's own ``StatePreparation(√p)``, transpile it
for ``AerSimulator``, run it. This is what a user writes without qtcore, and what
``qiskit.aer`` is compared against (it compiles ``encoding_template(n)`` once and binds
every row in one Aer job).

Run it alone for a quick n = 7 comparison (writes ``benchmarks/results/naive_qiskit.json``):

    python benchmarks/naive/qiskit.py
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this folder comes first on sys.path and this file's name would
    # shadow the qiskit package.
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import StatePreparation
from qiskit_aer import AerSimulator

import qtcore

FRAMEWORK = "qiskit"
BACKENDS = ["qiskit.aer"]

_SIMULATOR = AerSimulator()


def naive_sample(P: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Counts (B, 2**n) big-endian: one StatePreparation circuit transpiled and run per row.

    Args:
        P: (B, 2**n) probability rows.
        shots: shots per row.
        seed: row i runs with an Aer seed drawn from ``SeedSequence(seed, spawn_key=(i,))``.
    """
    P = np.asarray(P, dtype=np.float64)
    n = max(1, int(P.shape[1] - 1).bit_length())
    out = np.zeros((P.shape[0], 2**n), dtype=np.int64)
    for i, row in enumerate(P):
        amplitudes = np.zeros(2**n)
        amplitudes[: row.size] = np.sqrt(row)
        qc = QuantumCircuit(n)
        qc.append(StatePreparation(amplitudes), range(n))
        qc.measure_all()
        compiled = transpile(qc, _SIMULATOR)
        row_seed = int(np.random.SeedSequence(seed, spawn_key=(i,)).generate_state(1)[0])
        result = _SIMULATOR.run(compiled, shots=shots, seed_simulator=row_seed).result()
        # Amplitude k was prepared on Qiskit's outcome k, so the outcome integer is already
        # the index into the row: no bit-order conversion on this path.
        for key, value in result.get_counts().items():
            out[i, int(key, 2)] += value
    return out


def _rows_per_second(fn: object, P: np.ndarray, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(P)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return P.shape[0] / best


def main() -> None:
    """Quick n = 7 comparison at 32 shots: a few naive rows, many qtcore rows."""
    n, shots, seed = 7, 32, 2024
    rng = np.random.default_rng(seed)
    aer = qtcore.get_backend("qiskit.aer")
    few = rng.dirichlet(np.ones(2**n), size=4)
    many = rng.dirichlet(np.ones(2**n), size=4096)
    aer.sample_distributions(many[:8], shots=shots, seed=seed)  # compile the template once
    naive = _rows_per_second(lambda P: naive_sample(P, shots, seed), few)
    ours = _rows_per_second(lambda P: aer.sample_distributions(P, shots=shots, seed=seed), many, 3)
    report = {
        "n_qubits": n,
        "shots": shots,
        "naive_rows": few.shape[0],
        "qtcore_rows": many.shape[0],
        "naive_rows_per_s": round(naive, 3),
        "qiskit_aer_rows_per_s": round(ours, 1),
        "ratio": round(ours / naive, 1),
        "machine": platform.platform(),
    }
    out = Path(__file__).resolve().parents[1] / "results" / "naive_qiskit.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
