"""``cuquantum.statevec``: batched state vectors on a GPU with NVIDIA cuStateVec.

How a job runs:

1. **State preparation.** ``sample_distributions`` loads each row's amplitudes ``√P``
   directly into a batched device array (B, 2**n): the state the Möttönen encoding circuit
   prepares, without its 2**(n+1) − 3 gates (the backend is noiseless, so nothing depends
   on the gates themselves). ``run`` starts every row from |0…0⟩ and applies the IR gates
   with ``custatevec.apply_matrix_batched``: rows that share a gate sequence are one batch,
   each gate one call, with one matrix per row for rotations (``MATRIX_INDEXED``) or one
   shared matrix (``BROADCAST``). Conversions live in :mod:`qtcore_cuquantum.convert`.
2. **Shots.** Each row is measured by cuStateVec's sampler (``sampler_create``,
   ``sampler_preprocess``, ``sampler_sample``), which maps uniforms in [0, 1) to outcomes by
   the inverse CDF of |ψ|². The uniforms of row ``i`` are ``rng.random(shots)`` from that
   row's stream ``SeedSequence(seed, spawn_key=(i,))`` (:func:`qtcore.shots.row_generators`):
   the same seed gives the same counts, identical rows get independent draws, and a row's
   counts do not depend on how the batch is chunked.
3. Rows are processed in chunks of at most ``device_memory`` bytes of state.

The cuStateVec handle is created with the backend and destroyed with it; calls from
several threads are serialised by a lock (one handle, one stream).

Example (needs a GPU; the doctest is skipped on CI by the tests' availability check):
    >>> import numpy as np, qtcore
    >>> backend = qtcore.get_backend("cuquantum.statevec")       # doctest: +SKIP
    >>> backend.sample_distributions(np.array([[0.0, 1.0]]), shots=4, seed=0)  # doctest: +SKIP
    array([[0, 4]])
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from qtcore import BackendBase, BackendUnavailable, Capabilities, Circuit, InvalidInput
from qtcore.noise import NoiseModel
from qtcore.shots import row_generators
from qtcore.validation import validate_distributions
from qtcore_cuquantum.convert import (
    GateOperation,
    amplitudes,
    bit_ordering,
    counts_from_bitstrings,
    gate_operation,
)
from qtcore_cuquantum.device import INSTALL_HINT
from qtcore_cuquantum.noise import to_cuquantum_noise

__all__ = ["CuStateVecBackend"]

_Structure = tuple[tuple[str, tuple[int, ...]], ...]


def _bindings() -> tuple[Any, Any, Any]:
    """(custatevec, cudaDataType, ComputeType) from cuquantum-python, new layout or old."""
    try:
        from cuquantum.bindings import custatevec
    except ImportError:  # cuquantum-python < 24.08 kept the bindings at the top level
        from cuquantum import custatevec
    import cuquantum

    return custatevec, cuquantum.cudaDataType, cuquantum.ComputeType


class CuStateVecBackend(BackendBase):
    """cuStateVec state vectors on one GPU: direct amplitude load, batched gates, its sampler.

    Args:
        dtype: ``numpy.complex128`` (default: probabilities within 1e-12 of ``reference``)
            or ``numpy.complex64`` (half the memory and bandwidth; float32 CDF in the sampler).
        device_memory: bytes of state vectors held on the device at once; a batch is
            processed in chunks of ``device_memory // (2**n · itemsize)`` rows (at least 1).
        device: the CUDA device ordinal.

    Raises:
        BackendUnavailable: cuquantum-python or CuPy cannot be imported, or the cuStateVec
            handle cannot be created (no GPU, a CUDA library missing).
        InvalidInput: a bad ``dtype``, ``device_memory`` or ``device``.

    Example:
        >>> from qtcore_cuquantum.backend import CuStateVecBackend
        >>> CuStateVecBackend.capabilities.summary()
        '≤28 qubits, gpu, exact'
    """

    name = "cuquantum.statevec"
    # 28 qubits: a complex128 state is 4 GiB, so a few rows fit on any data-centre GPU.
    capabilities = Capabilities(max_qubits=28, noise=False, gpu=True, exact_probabilities=True)

    def __init__(
        self,
        *,
        dtype: type = np.complex128,
        device_memory: int = 1 << 30,
        device: int = 0,
    ) -> None:
        if np.dtype(dtype) not in (np.dtype(np.complex64), np.dtype(np.complex128)):
            raise InvalidInput(f"dtype must be numpy.complex64 or complex128, got {dtype!r}")
        if isinstance(device_memory, bool) or not isinstance(device_memory, int):
            raise InvalidInput(
                f"device_memory must be an int number of bytes, got {device_memory!r}"
            )
        if device_memory < 1:
            raise InvalidInput(f"device_memory must be ≥ 1 byte, got {device_memory}")
        if isinstance(device, bool) or not isinstance(device, int) or device < 0:
            raise InvalidInput(f"device must be a CUDA device ordinal ≥ 0, got {device!r}")
        self.dtype = np.dtype(dtype)
        self.device_memory = device_memory
        self.device = device
        try:
            import cupy

            cusv, data_types, compute_types = _bindings()
        except ImportError as exc:
            raise BackendUnavailable(
                f"cuquantum.statevec needs cuquantum-python and CuPy ({exc}): {INSTALL_HINT}"
            ) from exc
        self._cp, self._cusv = cupy, cusv
        double = self.dtype == np.dtype(np.complex128)
        self._data_type = data_types.CUDA_C_64F if double else data_types.CUDA_C_32F
        self._compute_type = compute_types.COMPUTE_64F if double else compute_types.COMPUTE_32F
        self._lock = threading.Lock()
        try:
            with cupy.cuda.Device(device):
                self._handle = cusv.create()
        except Exception as exc:
            # Without a GPU or a CUDA library (DynamicLibNotFoundError for libcublasLt,
            # CUDARuntimeError for no device) the backend cannot run here: unavailable,
            # not broken.
            raise BackendUnavailable(
                f"cuStateVec could not start on CUDA device {device}: "
                f"{type(exc).__name__}: {exc}. Check the GPU and driver, and {INSTALL_HINT}"
            ) from exc
        self._finalizer = weakref.finalize(self, cusv.destroy, self._handle)

    # -- chunks and states --------------------------------------------------------------
    def _rows_per_chunk(self, n: int) -> int:
        return max(1, self.device_memory // (2**n * self.dtype.itemsize))

    def _chunks(self, rows: int, n: int) -> Iterator[slice]:
        step = self._rows_per_chunk(n)
        for start in range(0, rows, step):
            yield slice(start, min(rows, start + step))

    def _apply(self, states: Any, n: int, op: GateOperation) -> None:
        """Apply one operation to every row of ``states`` (B, 2**n) on the device."""
        cusv, cp = self._cusv, self._cp
        batch = states.shape[0]
        matrices = cp.asarray(np.ascontiguousarray(op.matrices, dtype=self.dtype))
        if op.matrices.shape[0] == 1:
            map_type, indices, n_matrices = cusv.MatrixMapType.BROADCAST, 0, 1
        else:
            map_type, n_matrices = cusv.MatrixMapType.MATRIX_INDEXED, batch
            indices = np.arange(batch, dtype=np.int32)
        index_ptr = indices if isinstance(indices, int) else indices.ctypes.data
        args = (
            self._handle,
            self._data_type,
            n,
            batch,
            2**n,
            map_type,
            index_ptr,
            matrices.data.ptr,
            self._data_type,
            cusv.MatrixLayout.ROW,
            0,
            n_matrices,
            len(op.targets),
            len(op.controls),
            self._compute_type,
        )
        size = cusv.apply_matrix_batched_get_workspace_size(*args)
        workspace = cp.cuda.alloc(size) if size else None
        cusv.apply_matrix_batched(
            self._handle,
            states.data.ptr,
            self._data_type,
            n,
            batch,
            2**n,
            map_type,
            index_ptr,
            matrices.data.ptr,
            self._data_type,
            cusv.MatrixLayout.ROW,
            0,
            n_matrices,
            list(op.targets),
            len(op.targets),
            list(op.controls),
            0,  # control bit values: null, i.e. every control must read 1
            len(op.controls),
            self._compute_type,
            workspace.ptr if workspace is not None else 0,
            size,
        )

    def _evolve(self, circuits: Sequence[Circuit], n: int) -> Any:
        """Device states (B, 2**n) of circuits that share one gate sequence."""
        cp = self._cp
        states = cp.zeros((len(circuits), 2**n), dtype=self.dtype)
        states[:, 0] = 1.0
        for k, gate in enumerate(circuits[0].gates):
            angles = None
            if gate.params:
                angles = np.array([float(c.gates[k].params[0]) for c in circuits])
            self._apply(states, n, gate_operation(gate, n, angles))
        return states

    def _sample(
        self, states: Any, n: int, shots: int, rngs: list[np.random.Generator]
    ) -> np.ndarray:
        """Counts (B, 2**n): each device row measured ``shots`` times with its own uniforms."""
        cusv, cp = self._cusv, self._cp
        out = np.zeros((states.shape[0], 2**n), dtype=np.int64)
        ordering = bit_ordering(n)
        row_bytes = 2**n * self.dtype.itemsize
        bitstrings = np.empty(shots, dtype=np.int64)
        for i, rng in enumerate(rngs):
            randnums = rng.random(shots)
            sampler, size = cusv.sampler_create(
                self._handle, states.data.ptr + i * row_bytes, self._data_type, n, shots
            )
            try:
                workspace = cp.cuda.alloc(size) if size else None
                cusv.sampler_preprocess(
                    self._handle, sampler, workspace.ptr if workspace is not None else 0, size
                )
                cusv.sampler_sample(
                    self._handle,
                    sampler,
                    bitstrings.ctypes.data,
                    ordering.ctypes.data,
                    n,
                    randnums.ctypes.data,
                    shots,
                    cusv.SamplerOutput.RANDNUM_ORDER,
                )
            finally:
                cusv.sampler_destroy(sampler)
            out[i] = counts_from_bitstrings(bitstrings, n)
        return out

    @staticmethod
    def _groups(circuits: Sequence[Circuit]) -> list[list[int]]:
        groups: dict[_Structure, list[int]] = {}
        for i, c in enumerate(circuits):
            groups.setdefault(tuple((g.name, g.qubits) for g in c.gates), []).append(i)
        return list(groups.values())

    # -- BackendBase hooks ----------------------------------------------------------------
    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        to_cuquantum_noise(noise)
        n = circuits[0].n_qubits
        rngs = row_generators(seed, len(circuits))
        out = np.zeros((len(circuits), 2**n), dtype=np.int64)
        with self._lock, self._cp.cuda.Device(self.device):
            for rows in self._groups(circuits):
                for part in self._chunks(len(rows), n):
                    members = rows[part]
                    states = self._evolve([circuits[i] for i in members], n)
                    out[members] = self._sample(states, n, shots, [rngs[i] for i in members])
        return out

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        to_cuquantum_noise(noise)
        n = P.shape[1].bit_length() - 1
        rngs = row_generators(seed, P.shape[0])
        out = np.zeros(P.shape, dtype=np.int64)
        with self._lock, self._cp.cuda.Device(self.device):
            for part in self._chunks(P.shape[0], n):
                states = self._cp.asarray(amplitudes(P[part], self.dtype))
                out[part] = self._sample(states, n, shots, rngs[part])
        return out

    # -- exact probabilities ----------------------------------------------------------------
    def probabilities(
        self, circuits: Sequence[Circuit], noise: NoiseModel | None = None
    ) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) float64: |ψ|² of the device states.

        Raises:
            InvalidInput, CapabilityError: as :meth:`run`.

        Example:
            >>> from qtcore import Circuit, Gate, get_backend
            >>> bell = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
            >>> get_backend("cuquantum.statevec").probabilities([bell]).round(6)  # doctest: +SKIP
            array([[0.5, 0. , 0. , 0.5]])
        """
        self._check_common(1, None, noise)
        circuits = list(circuits)
        if not circuits:
            return np.zeros((0, 0))
        n = self._check_circuits(circuits)
        out = np.zeros((len(circuits), 2**n))
        with self._lock, self._cp.cuda.Device(self.device):
            for rows in self._groups(circuits):
                for part in self._chunks(len(rows), n):
                    members = rows[part]
                    states = self._evolve([circuits[i] for i in members], n)
                    out[members] = self._cp.asnumpy(self._cp.abs(states) ** 2)
        return out

    def distribution_probabilities(self, P: Any, noise: NoiseModel | None = None) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) of the loaded states: |√P|² read back.

        Raises:
            InvalidInput, CapabilityError: as :meth:`sample_distributions`.

        Example:
            >>> from qtcore import get_backend
            >>> backend = get_backend("cuquantum.statevec")  # doctest: +SKIP
            >>> backend.distribution_probabilities([[0.3, 0.7]])  # doctest: +SKIP
            array([[0.3, 0.7]])
        """
        self._check_common(1, None, noise)
        padded = validate_distributions(P)
        n = padded.shape[1].bit_length() - 1
        self._check_width(n)
        out = np.zeros(padded.shape)
        with self._lock, self._cp.cuda.Device(self.device):
            for part in self._chunks(padded.shape[0], n):
                states = self._cp.asarray(amplitudes(padded[part], self.dtype))
                out[part] = self._cp.asnumpy(self._cp.abs(states) ** 2)
        return out

    def close(self) -> None:
        """Destroy the cuStateVec handle now (it is also destroyed with the backend).

        Example:
            >>> from qtcore import get_backend
            >>> get_backend("cuquantum.statevec").close()  # doctest: +SKIP
        """
        self._finalizer()
