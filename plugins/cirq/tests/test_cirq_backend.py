"""Deterministic behaviour of the Cirq backends: registration, capabilities, errors, bit order
on one-hot rows, exact probabilities against ``reference``, seeds and row independence.

The goodness-of-fit tests of sampled counts are in test_cirq_statistics.py.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from qtcore_cirq.backend import CirqDensityMatrixBackend, CirqSimulatorBackend

import qtcore
from qtcore import Circuit, Gate, NoiseModel

NAMES = ["cirq.simulator", "cirq.density_matrix"]
NOISE = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.08, readout=0.03)


@pytest.fixture(scope="module", params=NAMES)
def backend(request):
    return qtcore.get_backend(request.param)


def random_circuit(rng: np.random.Generator, n: int, depth: int) -> Circuit:
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


# -- registration and capabilities --------------------------------------------------------------
def test_registered_through_the_entry_point():
    entries = {e.name: e for e in qtcore.backends()}
    for name, cls in [
        ("cirq.simulator", CirqSimulatorBackend),
        ("cirq.density_matrix", CirqDensityMatrixBackend),
    ]:
        assert entries[name].plugin.distribution == "qtcore-cirq"
        assert entries[name].unavailable_reason() is None
        assert type(qtcore.get_backend(name)) is cls


def test_capabilities():
    sim = qtcore.get_backend("cirq.simulator").capabilities
    dm = qtcore.get_backend("cirq.density_matrix").capabilities
    assert (sim.noise, sim.max_qubits, sim.exact_probabilities, sim.seeded) == (
        False,
        16,
        True,
        True,
    )
    assert (dm.noise, dm.max_qubits, dm.exact_probabilities, dm.seeded) == (True, 10, True, True)


@pytest.mark.parametrize(
    "noise",
    [NoiseModel(depolarizing_1q=1e-3), NoiseModel(depolarizing_2q=0.1), NoiseModel(readout=0.01)],
)
def test_noise_on_the_state_vector_simulator_raises_capability_error(noise):
    sim = qtcore.get_backend("cirq.simulator")
    c = [Circuit(1, (Gate("x", (0,)),))]
    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        sim.run(c, shots=4, seed=0, noise=noise)
    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        sim.sample_distributions(np.array([[0.5, 0.5]]), shots=4, seed=0, noise=noise)
    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        sim.probabilities(c, noise)


def test_all_zero_noise_is_noiseless_on_both(backend):
    c = [Circuit(2, (Gate("x", (0,)),))]
    assert backend.run(c, shots=5, seed=0, noise=NoiseModel()).tolist() == [[0, 0, 5, 0]]


def test_max_qubits_runs_and_one_more_raises(backend):
    n = backend.capabilities.max_qubits
    counts = backend.run([Circuit(n, (Gate("x", (0,)), Gate("x", (n - 1,))))], shots=16, seed=3)
    assert counts.shape == (1, 2**n) and counts[0, 2 ** (n - 1) + 1] == 16
    with pytest.raises(qtcore.CapabilityError, match="at most"):
        backend.run([Circuit(n + 1, (Gate("x", (0,)),))], shots=1)
    with pytest.raises(qtcore.CapabilityError, match="at most"):
        backend.sample_distributions(np.full((1, 2 ** (n + 1)), 2.0 ** -(n + 1)), shots=1)


def test_bad_dtype_option():
    with pytest.raises(qtcore.InvalidInput, match="dtype"):
        qtcore.get_backend("cirq.simulator", dtype=np.float64)


# -- output contract ---------------------------------------------------------------------------
def test_edge_sizes(backend):
    assert backend.sample_distributions(np.zeros((0, 4)), shots=3, seed=0).shape == (0, 4)
    assert backend.run([], shots=3).shape == (0, 0)
    assert backend.run([Circuit(3)], shots=7, seed=0).tolist() == [[7, 0, 0, 0, 0, 0, 0, 0]]
    one = backend.sample_distributions(np.array([[0.25, 0.75]]), shots=1, seed=0)
    assert one.dtype == np.int64 and one.sum() == 1
    # width 3 is padded to 4 outcomes; the padded outcome never appears
    padded = backend.sample_distributions(np.array([[0.2, 0.3, 0.5]]), shots=300, seed=0)
    assert padded.shape == (1, 4) and padded[0, 3] == 0


def test_input_is_not_mutated(backend):
    P = np.array([[0.1, 0.2, 0.3, 0.4]])
    before = P.copy()
    backend.sample_distributions(P, shots=10, seed=0)
    np.testing.assert_array_equal(P, before)


# -- bit order: one-hot rows are deterministic ---------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_one_hot_rows_land_on_their_index(backend, n):
    rng = np.random.default_rng(n)
    indices = sorted({1, 2 ** (n - 1), int(rng.integers(2**n)), 2**n - 1, 0})
    P = np.eye(2**n)[indices]
    counts = backend.sample_distributions(P, shots=64, seed=n)
    np.testing.assert_array_equal(counts, 64 * P.astype(np.int64))
    # permuted batch: each row still lands only on its own index
    perm = rng.permutation(len(indices))
    np.testing.assert_array_equal(
        backend.sample_distributions(P[perm], shots=64, seed=n), 64 * P[perm].astype(np.int64)
    )


def test_cx_direction_and_non_adjacent_pairs(backend):
    def run(gates):
        return int(np.argmax(backend.run([Circuit(3, tuple(gates))], shots=8, seed=0)[0]))

    assert run([Gate("x", (0,)), Gate("cx", (0, 2))]) == 0b101
    assert run([Gate("x", (0,)), Gate("cx", (2, 0))]) == 0b100
    assert run([Gate("x", (2,)), Gate("cx", (2, 0))]) == 0b101
    assert (
        run(
            [Gate("x", (1,)), Gate("x", (2,)), Gate("cz", (1, 2)), Gate("h", (0,)), Gate("h", (0,))]
        )
        == 0b011
    )


def test_support_is_preserved_without_noise(backend):
    # Exact zeros, 1e-12 entries and float32 input: never an outcome of probability 0.
    rows = np.array(
        [
            [0.5, 0.0, 0.0, 0.5 - 1e-12, 1e-12, 0.0, 0.0, 0.0],
            [0.0, 0.25, 0.25, 0.0, 0.0, 0.25, 0.25, 0.0],
        ]
    )
    for P in (rows, rows.astype(np.float32)):
        counts = backend.sample_distributions(P, shots=2000, seed=1)
        assert counts[P == 0].sum() == 0


# -- exact probabilities against the reference -------------------------------------------------
def test_probabilities_equal_reference(backend):
    rng = np.random.default_rng(7)
    ref = qtcore.ReferenceBackend()
    noise = NOISE if backend.capabilities.noise else None
    for n in (1, 2, 3, 4):
        circuits = [random_circuit(rng, n, 20) for _ in range(4)]
        np.testing.assert_allclose(
            backend.probabilities(circuits, noise), ref.probabilities(circuits, noise), atol=1e-10
        )
        P = rng.dirichlet(np.ones(2**n), size=3)
        np.testing.assert_allclose(
            backend.distribution_probabilities(P, noise),
            ref.distribution_probabilities(P, noise),
            atol=1e-10,
        )
    assert backend.probabilities([]).shape == (0, 0)


def test_density_matrix_probabilities_closed_forms():
    dm = qtcore.get_backend("cirq.density_matrix")
    p, q, r = 0.3, 0.45, 0.1
    # 1q: P(1) after m depolarized gates on a classical state flips with (1 - (1 - 4p/3)^m)/2
    for pairs in range(4):
        c = Circuit(1, tuple(Gate("x", (0,)) for _ in range(2 * pairs)))
        want = (1 - (1 - 4 * p / 3) ** (2 * pairs)) / 2
        got = dm.probabilities([c], NoiseModel(depolarizing_1q=p))[0, 1]
        assert got == pytest.approx(want, abs=1e-12)
    # 2q on |00>: 12 of the 15 Paulis flip a bit; each non-00 outcome gets 4q/15
    got = dm.probabilities([Circuit(2, (Gate("cx", (0, 1)),))], NoiseModel(depolarizing_2q=q))[0]
    np.testing.assert_allclose(
        got, [1 - 12 * q / 15, 4 * q / 15, 4 * q / 15, 4 * q / 15], atol=1e-12
    )
    # readout on |01>: each bit flips independently, on its own qubit
    got = dm.probabilities([Circuit(2, (Gate("x", (1,)),))], NoiseModel(readout=r))[0]
    np.testing.assert_allclose(got, [r * (1 - r), (1 - r) ** 2, r**2, r * (1 - r)], atol=1e-12)


# -- seeds ------------------------------------------------------------------------------------
def test_same_seed_same_counts_different_seed_different_counts(backend):
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(16), size=4)
    noise = NOISE if backend.capabilities.noise else None
    a = backend.sample_distributions(P, shots=500, seed=42, noise=noise)
    b = backend.sample_distributions(P, shots=500, seed=42, noise=noise)
    np.testing.assert_array_equal(a, b)
    circuits = qtcore.amplitude_encoding(P)
    np.testing.assert_array_equal(
        backend.run(circuits, shots=500, seed=42, noise=noise),
        backend.run(circuits, shots=500, seed=42, noise=noise),
    )
    # Two independent draws of 500 shots over 16 outcomes coincide with probability far
    # below 1e-12, so these inequalities fail only if the seed is ignored.
    assert not np.array_equal(a, backend.sample_distributions(P, shots=500, seed=43, noise=noise))
    assert not np.array_equal(
        backend.sample_distributions(P, shots=500, noise=noise),
        backend.sample_distributions(P, shots=500, noise=noise),
    )


def test_row_counts_do_not_depend_on_other_rows(backend):
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(8), size=6)
    Q = rng.dirichlet(np.ones(8), size=4)
    whole = backend.sample_distributions(P, shots=300, seed=9)
    mixed = np.vstack([P[:3], Q[:3]])
    np.testing.assert_array_equal(
        whole[:3], backend.sample_distributions(mixed, shots=300, seed=9)[:3]
    )
    np.testing.assert_array_equal(
        whole, backend.sample_distributions(np.vstack([P, Q]), shots=300, seed=9)[:6]
    )
    # run() follows the same rule, across circuits of different structure
    circuits = [*qtcore.amplitude_encoding(P), random_circuit(rng, 3, 10)]
    np.testing.assert_array_equal(
        backend.run(circuits, shots=300, seed=9)[:6], backend.run(circuits[:6], shots=300, seed=9)
    )


def test_identical_rows_get_independent_draws(backend):
    P = np.full((2, 8), 1 / 8)
    counts = backend.sample_distributions(P, shots=200, seed=5)
    # Two independent multinomial(200, uniform 8) draws coincide with probability < 1e-6.
    assert not np.array_equal(counts[0], counts[1])


def test_threads_give_the_serial_counts(backend):
    rng = np.random.default_rng(4)
    P = rng.dirichlet(np.ones(8), size=3)
    serial = [backend.sample_distributions(P, shots=100, seed=s) for s in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(
            pool.map(lambda s: backend.sample_distributions(P, shots=100, seed=s), range(4))
        )
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)
