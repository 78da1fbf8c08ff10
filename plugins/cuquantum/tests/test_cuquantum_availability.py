"""What runs on any machine: registration, the availability check, conversions, noise refusal.

CI has no GPU and does not install the ``[gpu]`` extra, so ``cuquantum.statevec`` must be
listed as ``unavailable`` with a reason (never ``broken``), and the checks that decide it are
tested here with injected fakes for every branch. The conversions (gate → cuStateVec
operation, bit order, amplitude load) are verified on the CPU by applying the operations
exactly as cuStateVec defines them (little-endian index bits, row-major matrices, controls
that must read 1) and comparing with ``reference``. The GPU itself is tested in
test_cuquantum_gpu.py and the conformance suite, both skipped here with the reason.
"""

import ctypes
import subprocess
import sys

import numpy as np
import pytest
from qtcore_cuquantum import device
from qtcore_cuquantum.convert import (
    amplitudes,
    bit_ordering,
    counts_from_bitstrings,
    gate_operation,
    index_bit,
)
from qtcore_cuquantum.noise import to_cuquantum_noise

import qtcore
from qtcore import Circuit, Gate, NoiseModel
from qtcore.simulator import statevectors

REASON = device.unavailable_reason()


# -- registration -----------------------------------------------------------------------------
def test_registered_through_the_entry_point_and_never_broken():
    entry = qtcore.get_registry().get("backend", "cuquantum.statevec")
    assert entry.plugin.distribution == "qtcore-cuquantum"
    assert entry.plugin.status == "ok"
    from qtcore.cli import backend_rows

    row = next(r for r in backend_rows() if r["name"] == "cuquantum.statevec")
    if REASON is None:
        assert row["status"] == "available"
        assert row["capabilities"]["gpu"] is True
    else:
        assert row["status"] == "unavailable"
        assert row["reason"] == REASON


@pytest.mark.skipif(REASON is None, reason="a GPU is available here: the backend is created")
def test_get_backend_raises_unavailable_with_the_reason():
    with pytest.raises(qtcore.BackendUnavailable, match="cannot run here"):
        qtcore.get_backend("cuquantum.statevec")


def test_listing_imports_no_cuda_package():
    code = (
        "import sys, qtcore; from qtcore.cli import backend_rows; backend_rows(); "
        "print(sorted(m for m in ('cupy', 'cuquantum', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the availability check, branch by branch ------------------------------------------------
class FakeDriver:
    def __init__(self, init: int = 0, count_status: int = 0, count: int = 1) -> None:
        self.init, self.count_status, self.count = init, count_status, count

    def cuInit(self, flags: int) -> int:
        assert flags == 0
        return self.init

    def cuDeviceGetCount(self, ref) -> int:
        ctypes.cast(ref, ctypes.POINTER(ctypes.c_int)).contents.value = self.count
        return self.count_status


def loader(driver):
    def load(name):
        assert name == "libcuda.so.1"
        if driver is None:
            raise OSError("libcuda.so.1: cannot open shared object file")
        return driver

    return load


def everything(name: str) -> bool:
    return True


ONE_GPU = FakeDriver()


def reason(has_module=everything, driver=ONE_GPU, cublas="/usr/lib/libcublasLt.so.12"):
    return device.unavailable_reason(
        has_module=has_module, load=loader(driver), find_library=lambda name: cublas
    )


def test_available_when_every_check_passes():
    assert reason() is None


@pytest.mark.parametrize(
    ("module", "dist"), [("cuquantum", "cuquantum-python-cu12"), ("cupy", "cupy-cuda12x")]
)
def test_missing_package_names_the_distribution_and_the_extra(module, dist):
    why = reason(has_module=lambda name: name != module)
    assert why.startswith(f"{dist} is not installed")
    assert "qtcore-cuquantum[gpu]" in why


def test_no_driver():
    assert reason(driver=None).startswith("no NVIDIA driver: libcuda.so.1 cannot be loaded")


def test_driver_without_device():
    assert "cuInit failed with CUDA error 100" in reason(driver=FakeDriver(init=100))
    assert reason(driver=FakeDriver(count=0)) == "the NVIDIA driver sees no CUDA device"
    assert "cuDeviceGetCount failed" in reason(driver=FakeDriver(count_status=3))


def test_missing_cublaslt_is_named():
    why = reason(has_module=lambda name: name != "nvidia.cublas", cublas=None)
    assert why.startswith("cuBLASLt (libcublasLt)") and "nvidia-cublas-cu12" in why
    # the wheel alone is enough
    assert reason(cublas=None) is None


def test_a_raising_environment_becomes_a_reason():
    def explode(name):
        raise RuntimeError("odd")

    why = device.unavailable_reason(has_module=explode)
    assert why == "the GPU check failed: RuntimeError: odd"


# -- constructor validation (before any CUDA import) -----------------------------------------
@pytest.mark.parametrize(
    "options",
    [{"dtype": np.float64}, {"device_memory": 0}, {"device_memory": 1.5}, {"device": -1}],
)
def test_bad_options_raise_invalid_input(options):
    from qtcore_cuquantum.backend import CuStateVecBackend

    with pytest.raises(qtcore.InvalidInput):
        CuStateVecBackend(**options)


def test_capabilities_are_declared():
    from qtcore_cuquantum.backend import CuStateVecBackend

    caps = CuStateVecBackend.capabilities
    assert (caps.gpu, caps.noise, caps.exact_probabilities, caps.seeded) == (
        True,
        False,
        True,
        True,
    )


# -- conversions -------------------------------------------------------------------------------
def apply_like_custatevec(states, op):
    """``apply_matrix_batched`` as cuStateVec defines it, on (B, 2**n) host states.

    Index bit b of an amplitude's index is the bit of weight 2**b; the row-major 2×2 matrix
    maps the pair (bit b = 0, bit b = 1) of every index whose control bits all read 1.
    """
    B, dim = states.shape
    out = states.copy()
    index = np.arange(dim)
    (target,) = op.targets
    live = np.ones(dim, dtype=bool)
    for c in op.controls:
        live &= (index >> c) & 1 == 1
    low = index[live & ((index >> target) & 1 == 0)]
    high = low | (1 << target)
    m = np.broadcast_to(op.matrices, (B, 2, 2))
    a, b = states[:, low], states[:, high]
    out[:, low] = m[:, 0, 0, None] * a + m[:, 0, 1, None] * b
    out[:, high] = m[:, 1, 0, None] * a + m[:, 1, 1, None] * b
    return out


def random_circuit(rng, n, depth):
    gates = []
    while len(gates) < depth:
        name = str(rng.choice(sorted(qtcore.GATES)))
        arity, n_params = qtcore.GATES[name]
        if arity > n:
            continue
        qubits = tuple(int(q) for q in rng.choice(n, arity, replace=False))
        params = tuple(float(a) for a in rng.normal(scale=3, size=n_params))
        gates.append(Gate(name, qubits, params))
    return Circuit(n, tuple(gates))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_gate_operations_reproduce_the_reference_state(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        circuit = random_circuit(rng, n, depth=12)
        state = np.zeros((1, 2**n), dtype=np.complex128)
        state[0, 0] = 1.0
        for gate in circuit.gates:
            state = apply_like_custatevec(state, gate_operation(gate, n))
        np.testing.assert_allclose(state, statevectors([circuit]), atol=1e-12)


def test_batched_angles_match_one_circuit_at_a_time():
    n = 3
    template = qtcore.encoding_template(n)
    P = np.random.default_rng(0).dirichlet(np.ones(2**n), size=4)
    angles = template.angles(P)
    circuits = template.bind(angles)
    states = np.zeros((4, 2**n), dtype=np.complex128)
    states[:, 0] = 1.0
    for k, gate in enumerate(circuits[0].gates):
        column = np.array([float(c.gates[k].params[0]) for c in circuits]) if gate.params else None
        states = apply_like_custatevec(states, gate_operation(gate, n, column))
    np.testing.assert_allclose(np.abs(states) ** 2, P, atol=1e-12)
    # the direct load is the state the encoding circuit prepares
    np.testing.assert_allclose(amplitudes(P), states.real, atol=1e-12)


def test_bit_order_one_hot():
    # x on qubit 0 sets the most significant bit of the qtcore index: index bit n-1
    assert gate_operation(Gate("x", (0,)), 4).targets == (3,)
    assert [index_bit(q, 4) for q in range(4)] == [3, 2, 1, 0]
    state = np.zeros((1, 8), dtype=np.complex128)
    state[0, 0] = 1.0
    state = apply_like_custatevec(state, gate_operation(Gate("x", (0,)), 3))
    state = apply_like_custatevec(state, gate_operation(Gate("cx", (0, 2)), 3))
    assert np.flatnonzero(state[0]).tolist() == [0b101]
    assert bit_ordering(3).dtype == np.int32


def test_counts_from_bitstrings_checks_the_range():
    assert counts_from_bitstrings(np.array([], dtype=np.int64), 2).tolist() == [0, 0, 0, 0]
    with pytest.raises(qtcore.InvalidInput):
        counts_from_bitstrings(np.array([4]), 2)


def test_unbound_parameter_is_refused():
    gate = Gate("ry", (0,), (qtcore.Parameter(0),))
    with pytest.raises(qtcore.InvalidInput, match="unbound"):
        gate_operation(gate, 1)


def test_noise_is_refused_and_zero_noise_is_none():
    assert to_cuquantum_noise(None) is None
    assert to_cuquantum_noise(NoiseModel()) is None
    with pytest.raises(qtcore.CapabilityError, match=r"cuquantum\.statevec"):
        to_cuquantum_noise(NoiseModel(depolarizing_1q=0.1))


@pytest.mark.skipif(
    REASON is None or device.missing_package() is not None,
    reason="needs cuquantum-python and CuPy installed on a machine without a usable GPU",
)
def test_constructor_reports_a_missing_gpu_as_unavailable():
    # Where the packages import but no GPU or driver answers (handle creation fails with
    # CUDARuntimeError or DynamicLibNotFoundError), the backend is unavailable, not broken.
    from qtcore_cuquantum.backend import CuStateVecBackend

    with pytest.raises(qtcore.BackendUnavailable, match="cuStateVec could not start"):
        CuStateVecBackend()
