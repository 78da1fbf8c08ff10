"""The backend's own code on the CPU, against an emulation of the cuStateVec calls it makes.

Without a GPU the backend cannot run for real, but everything it does around the library —
pointer arithmetic into the batched state (row offsets, itemsize per dtype), chunking by
``device_memory``, grouping ``run``'s circuits by gate sequence, matrix maps, seeds, bit
order — can. Here ``cupy`` is replaced by numpy arrays that expose ``.data.ptr``, and the six
``custatevec`` functions by an emulation that reads and writes that memory through the raw
pointers exactly as the library's documentation defines the calls (little-endian index
bits, row-major matrices, controls that must read 1, the sampler as the inverse CDF of |ψ|²
at the given uniforms). The emulation's gate semantics are the ones checked against
``reference`` in test_cuquantum_availability.py; whether the real library agrees is what
test_cuquantum_gpu.py checks on a GPU. Every assertion here is exact (no statistics).
"""

import ctypes
import sys
import types
from itertools import count

import numpy as np
import pytest
from qtcore_cuquantum import backend as backend_module

import qtcore
from qtcore import Circuit, Gate
from qtcore.shots import row_generators

DTYPES = {0: np.complex64, 1: np.complex128}  # the emulation's cudaDataType codes


def view(ptr, dtype, size):
    """A writable numpy view of ``size`` items of ``dtype`` at address ``ptr``."""
    nbytes = int(size) * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_char * nbytes).from_address(int(ptr)), dtype=dtype)


class DeviceArray(np.ndarray):
    """A numpy array that, like a CuPy array, gives its address as ``.data.ptr``."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


def fake_cupy():
    cp = types.ModuleType("cupy")
    cp.zeros = lambda shape, dtype: np.zeros(shape, dtype=dtype).view(DeviceArray)
    cp.asarray = lambda a: np.array(a, copy=True).view(DeviceArray)
    cp.abs = np.abs
    cp.asnumpy = np.asarray

    class Device:
        def __init__(self, ordinal):
            self.ordinal = ordinal

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    buffers = []

    def alloc(size):
        buf = np.zeros(size, dtype=np.uint8)
        buffers.append(buf)
        return types.SimpleNamespace(ptr=buf.ctypes.data)

    cp.cuda = types.SimpleNamespace(Device=Device, alloc=alloc)
    return cp


class FakeCustatevec:
    """The calls CuStateVecBackend makes, on host memory, as documented for cuStateVec."""

    MatrixMapType = types.SimpleNamespace(BROADCAST=0, MATRIX_INDEXED=1)
    MatrixLayout = types.SimpleNamespace(COL=0, ROW=1)
    SamplerOutput = types.SimpleNamespace(RANDNUM_ORDER=0, ASCENDING_ORDER=1)

    def __init__(self):
        self.handles, self.samplers, self.calls = set(), {}, []
        self._ids = count(1)

    def create(self):
        handle = next(self._ids)
        self.handles.add(handle)
        return handle

    def destroy(self, handle):
        self.handles.remove(handle)

    def apply_matrix_batched_get_workspace_size(self, handle, *args):
        assert handle in self.handles
        return 0

    def apply_matrix_batched(
        self, handle, sv, sv_type, n, n_svs, stride, map_type, indices, matrices, m_type,
        layout, adjoint, n_matrices, targets, n_targets, controls, control_values, n_controls,
        compute, workspace, workspace_size,
    ):  # fmt: skip
        assert handle in self.handles and layout == self.MatrixLayout.ROW and adjoint == 0
        assert sv_type == m_type and stride == 2**n and control_values == 0
        assert len(targets) == n_targets == 1 and len(controls) == n_controls
        self.calls.append(("apply", map_type, n_svs))
        states = view(sv, DTYPES[sv_type], n_svs * stride).reshape(n_svs, stride)
        mats = view(matrices, DTYPES[m_type], n_matrices * 4).reshape(n_matrices, 2, 2)
        if map_type == self.MatrixMapType.MATRIX_INDEXED:
            which = view(indices, np.int32, n_svs)
        else:
            assert n_matrices == 1
            which = np.zeros(n_svs, dtype=np.int32)
        index = np.arange(stride)
        live = np.ones(stride, dtype=bool)
        for c in controls:
            live &= (index >> c) & 1 == 1
        low = index[live & ((index >> targets[0]) & 1 == 0)]
        high = low | (1 << targets[0])
        m = mats[which]
        a, b = states[:, low].copy(), states[:, high].copy()
        states[:, low] = m[:, 0, 0, None] * a + m[:, 0, 1, None] * b
        states[:, high] = m[:, 1, 0, None] * a + m[:, 1, 1, None] * b

    def sampler_create(self, handle, sv, sv_type, n, max_shots):
        assert handle in self.handles
        sampler = next(self._ids)
        self.samplers[sampler] = {"sv": sv, "type": sv_type, "n": n, "max_shots": max_shots}
        return sampler, 0

    def sampler_preprocess(self, handle, sampler, workspace, size):
        s = self.samplers[sampler]
        amplitudes = view(s["sv"], DTYPES[s["type"]], 2 ** s["n"])
        s["cdf"] = np.cumsum(np.abs(amplitudes.astype(np.complex128)) ** 2)

    def sampler_sample(self, handle, sampler, bits, ordering, length, randnums, shots, output):
        s = self.samplers[sampler]
        assert shots <= s["max_shots"] and output == self.SamplerOutput.RANDNUM_ORDER
        assert list(view(ordering, np.int32, length)) == list(range(s["n"]))  # bits 0…n−1
        u = view(randnums, np.float64, shots)
        cdf = s["cdf"]
        drawn = np.searchsorted(cdf, u * cdf[-1], side="right").clip(max=len(cdf) - 1)
        view(bits, np.int64, shots)[:] = drawn
        self.calls.append(("sample", shots))

    def sampler_destroy(self, sampler):
        del self.samplers[sampler]


@pytest.fixture
def emulated(monkeypatch):
    cusv = FakeCustatevec()
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy())
    data_types = types.SimpleNamespace(CUDA_C_32F=0, CUDA_C_64F=1)
    compute_types = types.SimpleNamespace(COMPUTE_32F=10, COMPUTE_64F=11)
    monkeypatch.setattr(backend_module, "_bindings", lambda: (cusv, data_types, compute_types))

    def make(**options):
        return backend_module.CuStateVecBackend(**options), cusv

    return make


def expected_counts(P, shots, seed):
    """The inverse-CDF draw of each row at that row's uniforms (qtcore's per-row streams)."""
    out = np.zeros(P.shape, dtype=np.int64)
    for i, rng in enumerate(row_generators(seed, len(P))):
        cdf = np.cumsum(P[i])
        drawn = np.searchsorted(cdf, rng.random(shots) * cdf[-1], side="right")
        out[i] = np.bincount(drawn.clip(max=P.shape[1] - 1), minlength=P.shape[1])
    return out


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_sample_distributions_draws_each_row_from_its_own_stream(emulated, dtype):
    backend, cusv = emulated(dtype=dtype)
    P = np.random.default_rng(0).dirichlet(np.full(32, 0.5), size=7)
    counts = backend.sample_distributions(P, shots=300, seed=3)
    want = expected_counts(P, 300, 3)
    if dtype is np.complex128:
        assert np.array_equal(counts, want)
    else:  # single-precision amplitudes move CDF steps by ~1e-7: at most a draw or two
        assert np.abs(counts - want).sum() <= 4
    assert not cusv.samplers  # every sampler destroyed


def test_chunks_give_the_same_counts_and_respect_device_memory(emulated):
    P = np.random.default_rng(1).dirichlet(np.ones(16), size=9)
    whole, _ = emulated()
    small, _ = emulated(device_memory=3 * 16 * 16)  # three complex128 rows of 16
    assert small._rows_per_chunk(4) == 3
    assert np.array_equal(
        whole.sample_distributions(P, shots=50, seed=8),
        small.sample_distributions(P, shots=50, seed=8),
    )
    np.testing.assert_allclose(small.distribution_probabilities(P), P, rtol=1e-14, atol=0)


def test_run_applies_the_gates_batched_and_matches_reference(emulated):
    backend, cusv = emulated()
    rng = np.random.default_rng(2)
    shared = [Gate("h", (0,)), Gate("cx", (0, 2)), Gate("rz", (1,), (0.0,)), Gate("cz", (2, 1))]
    circuits = []
    for _ in range(5):
        gates = list(shared)
        gates[2] = Gate("rz", (1,), (float(rng.normal()),))
        gates.append(Gate("ry", (1,), (float(rng.normal()),)))
        circuits.append(Circuit(3, tuple(gates)))
    circuits.insert(2, Circuit(3, (Gate("x", (0,)), Gate("rx", (2,), (0.7,)))))  # another group
    exact = qtcore.ReferenceBackend().probabilities(circuits)
    np.testing.assert_allclose(backend.probabilities(circuits), exact, atol=1e-12)
    applies = [c for c in cusv.calls if c[0] == "apply"]
    # one call per gate position and group: 5 gates for the five, 2 for the odd one out;
    # rotations indexed per row, fixed gates broadcast
    assert len(applies) == 5 + 2
    assert ("apply", 1, 5) in applies and ("apply", 0, 5) in applies
    counts = backend.run(circuits, shots=200, seed=4)
    assert np.array_equal(counts, expected_counts(exact, 200, 4))


def test_one_hot_bit_order_and_seeds(emulated):
    backend, _ = emulated()
    x0 = backend.run([Circuit(3, (Gate("x", (0,)),))], shots=5, seed=0)
    assert x0.tolist() == [[0, 0, 0, 0, 5, 0, 0, 0]]
    P = np.zeros((2, 8))
    P[0, 1] = P[1, 6] = 1.0
    assert backend.sample_distributions(P, shots=3, seed=1)[:, [1, 6]].tolist() == [[3, 0], [0, 3]]
    Q = np.random.default_rng(3).dirichlet(np.ones(8), size=2)
    Q[1] = Q[0]
    a = backend.sample_distributions(Q, shots=400, seed=9)
    assert np.array_equal(a, backend.sample_distributions(Q, shots=400, seed=9))
    assert not np.array_equal(a[0], a[1])  # identical rows, independent draws


def test_handle_is_destroyed_with_the_backend(emulated):
    backend, cusv = emulated()
    assert len(cusv.handles) == 1
    backend.close()
    assert not cusv.handles
