"""cuStateVec used directly, the naive way: per row, the encoding circuit gate by gate.

cuStateVec has no state-preparation primitive, so a user porting the amplitude encoding
applies its circuit (``qtcore.amplitude_encoding``: 2**n − 1 RY and 2**n − 2 CX) to a fresh
|0…0⟩ with one ``custatevec.apply_matrix`` call per gate, then measures with cuStateVec's
sampler, one row at a time. qtcore's ``cuquantum.statevec`` instead loads the amplitudes
√p of a whole chunk of rows at once (the state the circuit prepares) and samples each row.
This is the peer in ``benchmarks/bench_backends.py``; importing this file raises ImportError
(and the driver skips it) where the backend is unavailable (no GPU, driver or cuQuantum).

    python benchmarks/naive/cuquantum.py --n 10 --rows 64 --naive-rows 4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# This file is named after its framework (the benchmark contract); run as a script, its own
# folder is sys.path[0] and would shadow the real `cuquantum` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from qtcore_cuquantum.device import unavailable_reason  # noqa: E402

_REASON = unavailable_reason()
if _REASON is not None:
    raise ImportError(f"cuquantum.statevec is unavailable here: {_REASON}")

import cupy as cp  # noqa: E402
import numpy as np  # noqa: E402
from cuquantum import ComputeType, cudaDataType  # noqa: E402
from cuquantum.bindings import custatevec as cusv  # noqa: E402

import qtcore  # noqa: E402
from qtcore.simulator import gate_matrices  # noqa: E402

FRAMEWORK = "cuquantum"
BACKENDS = ["cuquantum.statevec"]

_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)


def naive_sample(P: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Counts (B, 2**n) big-endian: per row the encoding circuit applied gate by gate.

    Args:
        P: (B, 2**n) probabilities.
        shots: measurements per row.
        seed: row i draws its uniforms from ``numpy.random.default_rng(seed + i)``.

    Returns:
        int64 counts (B, 2**n). qtcore qubit q is cuStateVec index bit n − 1 − q, and the
        sampler reads bits 0…n−1, so a bit string is the qtcore index.
    """
    P = np.asarray(P, dtype=np.float64)
    n = P.shape[1].bit_length() - 1
    handle = cusv.create()
    dtype, ctype = cudaDataType.CUDA_C_64F, ComputeType.COMPUTE_64F
    out = np.zeros(P.shape, dtype=np.int64)
    try:
        for i, circuit in enumerate(qtcore.amplitude_encoding(P)):
            sv = cp.zeros(2**n, dtype=np.complex128)
            sv[0] = 1.0
            for gate in circuit.gates:
                if gate.name == "cx":
                    matrix, targets, controls = (
                        _X,
                        [n - 1 - gate.qubits[1]],
                        [n - 1 - gate.qubits[0]],
                    )
                else:
                    matrix = gate_matrices(gate.name, np.array([float(gate.params[0])]))[0]
                    targets, controls = [n - 1 - gate.qubits[0]], []
                m = np.ascontiguousarray(matrix)
                cusv.apply_matrix(
                    handle, sv.data.ptr, dtype, n, m.ctypes.data, dtype,
                    cusv.MatrixLayout.ROW, 0, targets, 1, controls, 0, len(controls), ctype, 0, 0,
                )  # fmt: skip
            sampler, size = cusv.sampler_create(handle, sv.data.ptr, dtype, n, shots)
            workspace = cp.cuda.alloc(size) if size else None
            cusv.sampler_preprocess(handle, sampler, workspace.ptr if workspace else 0, size)
            bits = np.empty(shots, dtype=np.int64)
            u = np.random.default_rng(seed + i).random(shots)
            cusv.sampler_sample(
                handle, sampler, bits.ctypes.data, list(range(n)), n, u.ctypes.data, shots,
                cusv.SamplerOutput.RANDNUM_ORDER,
            )  # fmt: skip
            cusv.sampler_destroy(sampler)
            out[i] = np.bincount(bits, minlength=2**n)
    finally:
        cusv.destroy(handle)
    return out


def main() -> None:
    """Time ``cuquantum.statevec`` against :func:`naive_sample` at one n; print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--naive-rows", type=int, default=4)
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--out", default="benchmarks/results/naive_cuquantum.json")
    args = parser.parse_args()
    P = np.random.default_rng(0).dirichlet(np.ones(2**args.n), size=args.rows)
    backend = qtcore.get_backend("cuquantum.statevec")
    backend.sample_distributions(P[:1], shots=args.shots, seed=0)
    naive_sample(P[:1], args.shots, 0)
    start = time.perf_counter()
    naive_sample(P[: args.naive_rows], args.shots, 1)
    naive = args.naive_rows / (time.perf_counter() - start)
    start = time.perf_counter()
    backend.sample_distributions(P, shots=args.shots, seed=1)
    rate = args.rows / (time.perf_counter() - start)
    report = {"framework": FRAMEWORK, "n": args.n, "shots": args.shots,
              "rows_per_s": {"naive": naive, "cuquantum.statevec": rate},
              "ratio": rate / naive, "device": cp.cuda.runtime.getDeviceProperties(0)["name"]
              .decode()}  # fmt: skip
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
