"""Amazon Braket used directly, the naive way: one circuit per row around Braket's own primitive.

The Braket SDK has no amplitude-encoding or state-preparation gate; its primitive for an
arbitrary state is ``Circuit.unitary(matrix, targets)``. For each row a new circuit applies a
real orthogonal matrix whose first column is √p (a Householder reflection, which takes
|0…0⟩ to Σ_j √p_j |j⟩) and is run with ``LocalSimulator("braket_sv").run(circuit,
shots=shots)``. ``LocalSimulator`` writes the 2ⁿ × 2ⁿ matrix into the task's OpenQASM text
and its simulator parses it back, which is where the time goes. Braket's local simulators
cannot be seeded, so ``seed`` is recorded but cannot make the counts reproducible.

Above ``UNITARY_MAX_QUBITS`` (n ≥ 9: the matrix text alone is tens of MB, and one row would take
many minutes) each row is instead a fresh circuit of the rotation tree with that row's numeric
angles (``qtcore.amplitude_encoding`` converted by ``qtcore_braket.convert.to_braket``), still
one ``LocalSimulator`` task per row; the driver's table should say which method ran
(``naive_method(n)``).

A second, stronger peer is timed by ``main`` (``--sdk-template``): qtcore's own
``braket.sv`` with ``engine="local_simulator"``, i.e. the encoding template as a
``FreeParameter`` circuit written to OpenQASM once and one ``LocalSimulator`` task per row
with ``inputs=`` — the best one can do through the SDK's public task interface. This is the
peer of qtcore's ``braket.sv`` / ``braket.dm`` in ``benchmarks/bench_backends.py``.

Run alone for a quick ratio at one n (writes benchmarks/results/naive_braket.json):

    python benchmarks/naive/braket.py --n 7 --rows 64 --naive-rows 2
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

# This file is named after its framework (the benchmark contract); run as a script, its own
# folder is sys.path[0] and would shadow the real `braket` namespace package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
from braket.circuits import Circuit  # noqa: E402
from braket.devices import LocalSimulator  # noqa: E402
from qtcore_braket.convert import to_braket  # noqa: E402

import qtcore  # noqa: E402

FRAMEWORK = "braket"
BACKENDS = ["braket.sv", "braket.dm"]

#: Largest n prepared with ``Circuit.unitary`` (its OpenQASM text holds 4**n matrix entries).
UNITARY_MAX_QUBITS = 8


def naive_method(n: int) -> str:
    """Which Braket circuit :func:`naive_sample` builds per row at n.

    Example:
        >>> naive_method(7), naive_method(10)
        ('Circuit.unitary (Householder)', 'rotation tree with numeric angles')
    """
    if n <= UNITARY_MAX_QUBITS:
        return "Circuit.unitary (Householder)"
    return "rotation tree with numeric angles"


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
    """Counts (B, 2**n) big-endian: per row a new ``unitary`` circuit, run alone.

    Args:
        P: (B, 2**n) probabilities (rows padded to a power of two, n ≥ 1).
        shots: shots per row.
        seed: unused: ``LocalSimulator`` takes no seed (its simulators draw from an unseeded
            ``numpy.random.default_rng()``).

    Returns:
        int64 counts (B, 2**n). Braket's bit strings list qubits in ``measured_qubits`` order,
        first character most significant; every qubit is measured, in order 0…n-1.

    Example:
        >>> import numpy as np
        >>> naive_sample(np.array([[0.0, 0.0, 1.0, 0.0]]), shots=4, seed=0).tolist()
        [[0, 0, 4, 0]]
    """
    P = np.asarray(P, dtype=np.float64)
    n = P.shape[1].bit_length() - 1
    device = LocalSimulator("braket_sv")
    out = np.zeros(P.shape, dtype=np.int64)
    for i, row in enumerate(P):
        if n <= UNITARY_MAX_QUBITS:
            circuit = Circuit().unitary(
                matrix=_householder(np.sqrt(row / row.sum())), targets=list(range(n))
            )
        else:
            circuit = to_braket(qtcore.amplitude_encoding(row[None])[0], probability=False)
        result = device.run(circuit, shots=shots).result()
        qubits = list(result.measured_qubits)
        for bits, count in result.measurement_counts.items():
            index = sum(1 << (n - 1 - q) for q, b in zip(qubits, bits) if b == "1")
            out[i, index] += count
    return out


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    """Time qtcore's Braket backends against :func:`naive_sample` at one n; print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=7)
    parser.add_argument("--rows", type=int, default=64, help="rows for the qtcore backends")
    parser.add_argument("--dm-rows", type=int, default=8, help="rows for braket.dm")
    parser.add_argument("--naive-rows", type=int, default=2, help="rows for the naive path")
    parser.add_argument("--sdk-rows", type=int, default=4, help="rows for the SDK-template peer")
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="alternating timing rounds")
    parser.add_argument("--out", default="benchmarks/results/naive_braket.json")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(2**args.n), size=args.rows)
    sdk = qtcore.get_backend("braket.sv", engine="local_simulator")
    sv, dm = qtcore.get_backend("braket.sv"), qtcore.get_backend("braket.dm")
    contenders = {
        "naive": (lambda r: naive_sample(P[: args.naive_rows], args.shots, seed=r),
                  args.naive_rows),
        "sdk_template": (lambda r: sdk.sample_distributions(P[: args.sdk_rows],
                                                            shots=args.shots, seed=r),
                         args.sdk_rows),
        "braket.sv": (lambda r: sv.sample_distributions(P, shots=args.shots, seed=r),
                      args.rows),
        "braket.dm": (lambda r: dm.sample_distributions(P[: args.dm_rows], shots=args.shots,
                                                        seed=r),
                      args.dm_rows),
    }
    for fn, _ in contenders.values():  # compile and cache the templates outside the timings
        fn(0)
    rates: dict[str, list[float]] = {k: [] for k in contenders}
    for r in range(args.repeats):
        # Alternate the contenders so that load from other processes hits them alike.
        for key, (fn, rows) in contenders.items():
            rates[key].append(rows / _seconds(lambda fn=fn, r=r: fn(r)))
    median = {k: statistics.median(v) for k, v in rates.items()}
    report = {
        "framework": FRAMEWORK,
        "amazon_braket_sdk_version": version("amazon-braket-sdk"),
        "amazon_braket_default_simulator_version": version("amazon-braket-default-simulator"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "n": args.n,
        "shots": args.shots,
        "rows": {"naive": args.naive_rows, "sdk_template": args.sdk_rows,
                 "braket.sv": args.rows, "braket.dm": args.dm_rows},
        "naive_method": naive_method(args.n),
        "rows_per_s": rates,
        "median_rows_per_s": median,
        "ratio_vs_naive": {k: median[k] / median["naive"] for k in contenders if k != "naive"},
        "ratio_vs_sdk_template": {k: median[k] / median["sdk_template"] for k in BACKENDS},
    }
    for key in contenders:
        ratio = "" if key == "naive" else f"  ({median[key] / median['naive']:.1f}× naive)"
        print(f"{key:14s} {median[key]:9.3f} rows/s{ratio}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
