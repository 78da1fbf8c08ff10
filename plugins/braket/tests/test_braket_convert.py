"""Exact tests of the conversions: gates, bit order, noise channels and their placement, the
compiled program against ``LocalSimulator`` itself, and measurement counts.
"""

import itertools

import numpy as np
import pytest
from braket.circuits import Noise
from braket.default_simulator.density_matrix_simulation import DensityMatrixSimulation
from braket.devices import LocalSimulator
from hypothesis import given, settings
from hypothesis import strategies as st
from qtcore_braket.convert import (
    compile_program,
    counts_from_measurements,
    parameter_name,
    to_braket,
)
from qtcore_braket.noise import to_braket_noise

import qtcore
from qtcore import Circuit, Gate, NoiseModel, Parameter

REF = qtcore.ReferenceBackend()
I2 = np.eye(2)
PAULIS = [I2, np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]


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


def program_probabilities(circuit: Circuit, noise=None, values=()) -> np.ndarray:
    simulation = DensityMatrixSimulation(circuit.n_qubits, 0)
    simulation.evolve(compile_program(circuit, noise).operations(np.asarray(values)))
    return np.asarray(simulation.probabilities)


def local_simulator_probabilities(circuit: Circuit, noise=None, inputs=None) -> np.ndarray:
    device = LocalSimulator("braket_dm" if noise else "braket_sv")
    result = device.run(to_braket(circuit, noise), shots=0, inputs=inputs or {}).result()
    return np.asarray(result.values[0])


# -- gates and bit order ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(qtcore.GATES))
def test_each_gate_matches_reference_on_every_basis_input(name):
    arity, n_params = qtcore.GATES[name]
    for theta in ([0.0, np.pi / 2, -np.pi / 2, np.pi, 2 * np.pi, 0.731] if n_params else [None]):
        params = () if theta is None else (theta,)
        for bits in itertools.product([0, 1], repeat=3):
            prep = tuple(Gate("x", (q,)) for q, b in enumerate(bits) if b)
            # Sandwiched by h on the target so a sign or angle-halving error is visible.
            qubits = (2,) if arity == 1 else (0, 2)
            c = Circuit(3, (*prep, Gate("h", (2,)), Gate(name, qubits, params), Gate("h", (2,))))
            want = REF.probabilities([c])[0]
            np.testing.assert_allclose(program_probabilities(c), want, atol=1e-12)


def test_x_on_qubit_0_is_the_most_significant_bit():
    for n in (1, 2, 3, 5):
        c = Circuit(n, (Gate("x", (0,)),))
        for probs in (program_probabilities(c), local_simulator_probabilities(c)):
            assert int(np.argmax(probs)) == 2 ** (n - 1) and probs.max() == pytest.approx(1.0)


def test_non_adjacent_cx_directions_differ():
    a = Circuit(3, (Gate("x", (0,)), Gate("cx", (0, 2))))  # |100> -> |101> = 5
    b = Circuit(3, (Gate("x", (2,)), Gate("cx", (2, 0))))  # |001> -> |101> = 5
    c = Circuit(3, (Gate("x", (0,)), Gate("cx", (2, 0))))  # control 0: stays |100> = 4
    assert [int(np.argmax(program_probabilities(x))) for x in (a, b, c)] == [5, 5, 4]


# -- the compiled program is what LocalSimulator runs -------------------------------------------
@pytest.mark.parametrize("noise", [None, NoiseModel(0.05, 0.2, 0.07)])
def test_program_equals_local_simulator_on_random_circuits(noise):
    rng = np.random.default_rng(11)
    for _ in range(6):
        c = random_circuit(rng, 3, 10)
        got = program_probabilities(c, noise)
        np.testing.assert_allclose(got, local_simulator_probabilities(c, noise), atol=1e-12)
        np.testing.assert_allclose(got, REF.probabilities([c], noise)[0], atol=1e-10)


def test_free_parameters_bind_like_numbers():
    template = qtcore.encoding_template(3)
    P = np.random.default_rng(2).dirichlet(np.ones(8), size=2)
    for row, p in zip(template.angles(P), P):
        inputs = {parameter_name(k): float(v) for k, v in enumerate(row)}
        np.testing.assert_allclose(
            local_simulator_probabilities(template.circuit, inputs=inputs), p, atol=1e-12
        )
        np.testing.assert_allclose(program_probabilities(template.circuit, values=row), p,
                                   atol=1e-12)


def test_parameter_scale_is_kept():
    c = Circuit(1, (Gate("ry", (0,), (Parameter(0, -0.5),)),))
    # ry(-θ/2) at θ = 2π/3: P(1) = sin²(π/6) = 1/4
    np.testing.assert_allclose(program_probabilities(c, values=[2 * np.pi / 3]), [0.75, 0.25])
    inputs = {"theta_0": 2 * np.pi / 3}
    np.testing.assert_allclose(local_simulator_probabilities(c, inputs=inputs), [0.75, 0.25])


def test_idle_qubits_are_simulated_and_get_no_gate_noise():
    c = Circuit(3, (Gate("x", (1,)),))
    assert [i.operator.name for i in to_braket(c).instructions] == ["I", "I", "X"]
    np.testing.assert_allclose(program_probabilities(c, NoiseModel(depolarizing_1q=0.3)),
                               [0.2, 0, 0.8, 0, 0, 0, 0, 0], atol=1e-12)
    assert np.argmax(local_simulator_probabilities(Circuit(2, ()))) == 0


# -- noise --------------------------------------------------------------------------------------
def test_noise_mapping_rates_are_not_rescaled():
    mapped = to_braket_noise(NoiseModel(0.03, 0.15, 0.02))
    assert isinstance(mapped.one_qubit, Noise.Depolarizing)
    assert isinstance(mapped.two_qubit, Noise.TwoQubitDepolarizing)
    assert isinstance(mapped.readout, Noise.BitFlip)
    assert (mapped.one_qubit.probability, mapped.two_qubit.probability,
            mapped.readout.probability) == (0.03, 0.15, 0.02)
    assert to_braket_noise(None) is None and to_braket_noise(NoiseModel()) is None
    with pytest.raises(qtcore.InvalidInput):
        to_braket_noise("depolarizing")


def _superoperator(kraus: list[np.ndarray]) -> np.ndarray:
    return sum(np.kron(k, k.conj()) for k in kraus)


def test_braket_channels_are_the_pauli_mixtures_of_the_convention():
    p = 0.27
    one = [np.sqrt(1 - p) * I2] + [np.sqrt(p / 3) * P for P in PAULIS[1:]]
    paulis_2q = [np.kron(A, B) for A, B in itertools.product(PAULIS, PAULIS)][1:]
    two = [np.sqrt(1 - p) * np.eye(4), *(np.sqrt(p / 15) * P for P in paulis_2q)]
    flip = [np.sqrt(1 - p) * I2, np.sqrt(p) * PAULIS[1]]
    for channel, kraus in ((Noise.Depolarizing(p), one), (Noise.TwoQubitDepolarizing(p), two),
                           (Noise.BitFlip(p), flip)):
        np.testing.assert_allclose(_superoperator(channel.to_matrix()), _superoperator(kraus),
                                   atol=1e-12)
    # The compiled program's channels are the simulator's, with the same mixtures.
    program = compile_program(Circuit(2, (Gate("h", (0,)), Gate("cz", (0, 1)))),
                              NoiseModel(p, p, p))
    ops = program.operations([])
    for op, kraus in zip(ops[1::2], (one, two)):
        np.testing.assert_allclose(_superoperator(op.matrices), _superoperator(kraus), atol=1e-12)
    for op in ops[4:]:
        np.testing.assert_allclose(_superoperator(op.matrices), _superoperator(flip), atol=1e-12)


def test_noise_follows_every_gate_on_its_qubits_and_readout_comes_last():
    c = Circuit(3, (Gate("h", (0,)), Gate("cx", (0, 2)), Gate("rz", (1,), (0.3,))))
    bc = to_braket(c, NoiseModel(0.01, 0.02, 0.03), probability=False)
    got = [(i.operator.name, [int(q) for q in i.target]) for i in bc.instructions]
    assert got == [
        ("H", [0]), ("Depolarizing", [0]),
        ("CNot", [0, 2]), ("TwoQubitDepolarizing", [0, 2]),
        ("Rz", [1]), ("Depolarizing", [1]),
        ("BitFlip", [0]), ("BitFlip", [1]), ("BitFlip", [2]),
    ]
    program = compile_program(c, NoiseModel(0.01, 0.02, 0.03))
    names = [(type(op).__name__, list(op.targets)) for op in program.operations([])]
    assert names == [
        ("Hadamard", [0]), ("Depolarizing", [0]),
        ("CX", [0, 2]), ("TwoQubitDepolarizing", [0, 2]),
        ("RotZ", [1]), ("Depolarizing", [1]),
        ("BitFlip", [0]), ("BitFlip", [1]), ("BitFlip", [2]),
    ]
    # A zero rate adds no channel at all.
    only_2q = to_braket(c, NoiseModel(depolarizing_2q=0.02), probability=False)
    assert [i.operator.name for i in only_2q.instructions].count("Depolarizing") == 0


def test_depolarizing_closed_forms():
    p = 0.3
    one = program_probabilities(Circuit(1, (Gate("x", (0,)),)), NoiseModel(depolarizing_1q=p))
    np.testing.assert_allclose(one, [2 * p / 3, 1 - 2 * p / 3], atol=1e-12)
    two = program_probabilities(Circuit(2, (Gate("cx", (0, 1)),)), NoiseModel(depolarizing_2q=p))
    np.testing.assert_allclose(1 - two[0], 12 * p / 15, atol=1e-12)
    ro = program_probabilities(Circuit(2, (Gate("x", (1,)),)), NoiseModel(readout=0.1))
    np.testing.assert_allclose(ro, [0.09, 0.81, 0.01, 0.09], atol=1e-12)


# -- measurement counts -------------------------------------------------------------------------
def test_counts_from_measurements_weights_by_measured_qubit():
    assert counts_from_measurements({"01": 2, "10": 5}, [0, 1], 2).tolist() == [0, 2, 5, 0]
    assert counts_from_measurements({"01": 2, "10": 5}, [1, 0], 2).tolist() == [0, 5, 2, 0]
    with pytest.raises(ValueError, match="not each of the 3 qubits"):
        counts_from_measurements({"01": 1}, [0, 1], 3)
    with pytest.raises(ValueError, match="has 3 bits"):
        counts_from_measurements({"011": 1}, [0, 1], 2)


def test_counts_from_a_local_simulator_task_land_on_the_prepared_index():
    c = Circuit(3, (Gate("x", (0,)), Gate("x", (2,))))
    result = LocalSimulator("braket_sv").run(to_braket(c, probability=False), shots=7).result()
    counts = counts_from_measurements(result.measurement_counts, result.measured_qubits, 3)
    assert counts.tolist() == [0, 0, 0, 0, 0, 7, 0, 0]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5),
    data=st.data(),
)
def test_counts_do_not_depend_on_the_order_qubits_are_listed(n, data):
    """With qubits listed 0…n-1 a bit string is the big-endian index; permuting the listing
    together with every string's characters changes nothing."""
    strings = data.draw(st.dictionaries(st.text("01", min_size=n, max_size=n),
                                        st.integers(1, 50), min_size=1, max_size=8))
    direct = counts_from_measurements(strings, list(range(n)), n)
    expected = np.zeros(2**n, dtype=np.int64)
    for bits, count in strings.items():
        expected[int(bits, 2)] += count
    assert direct.tolist() == expected.tolist()
    order = data.draw(st.permutations(range(n)))
    permuted = {"".join(bits[q] for q in order): c for bits, c in strings.items()}
    assert counts_from_measurements(permuted, list(order), n).tolist() == expected.tolist()
