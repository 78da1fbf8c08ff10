"""Conversions of qtcore-cirq: gates, parameters, bit order, noise placement, noise maths.

Everything here is exact (matrices, deterministic outcomes, operation lists); the
statistical tests are in test_cirq_statistics.py.
"""

import itertools

import cirq
import numpy as np
import pytest
from qtcore_cirq.convert import (
    MEASUREMENT_KEY,
    counts_from_measurements,
    line_qubits,
    outcome_probabilities,
    sample_counts,
    template_circuit,
    to_cirq,
)
from qtcore_cirq.noise import QtcoreNoiseModel, to_cirq_noise

import qtcore
from qtcore import Circuit, Gate, NoiseModel, Parameter
from qtcore.simulator import gate_matrices, statevectors

ANGLES = [0.0, np.pi / 2, -np.pi / 2, np.pi, 2 * np.pi, 4 * np.pi, 0.7312, -2.2]
PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}


# -- gates -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rx", "ry", "rz"])
@pytest.mark.parametrize("theta", ANGLES)
def test_rotation_is_exp_minus_i_theta_p_over_2_exactly(name, theta):
    # Global phase included: rz(θ) = diag(e^{-iθ/2}, e^{iθ/2}), not cirq.Z**t.
    got = cirq.unitary(to_cirq(Circuit(1, (Gate(name, (0,), (theta,)),)), measure=False))
    want = gate_matrices(name, np.array([theta]))[0]
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("name", ["h", "x"])
def test_fixed_one_qubit_gates(name):
    got = cirq.unitary(to_cirq(Circuit(1, (Gate(name, (0,)),)), measure=False))
    np.testing.assert_allclose(got, gate_matrices(name, np.zeros(1))[0], atol=1e-12)


def test_cx_control_is_first_qubit_and_qubit_zero_is_most_significant():
    # On 2 qubits, big-endian basis |q0 q1>: cx(0, 1) maps |10> (index 2) to |11> (index 3).
    got = cirq.unitary(to_cirq(Circuit(2, (Gate("cx", (0, 1)),)), measure=False))
    want = np.eye(4)[[0, 1, 3, 2]]
    np.testing.assert_allclose(got, want)
    got_rev = cirq.unitary(to_cirq(Circuit(2, (Gate("cx", (1, 0)),)), measure=False))
    np.testing.assert_allclose(got_rev, np.eye(4)[[0, 3, 2, 1]])


def test_cz_is_symmetric_phase():
    for qubits in [(0, 1), (1, 0)]:
        got = cirq.unitary(to_cirq(Circuit(2, (Gate("cz", qubits),)), measure=False))
        np.testing.assert_allclose(got, np.diag([1, 1, 1, -1]))


def test_random_circuits_equal_the_reference_statevector():
    rng = np.random.default_rng(11)
    ref = qtcore.ReferenceBackend()
    for n in (1, 2, 3, 4):
        for _ in range(5):
            gates = []
            for _ in range(15):
                name = str(rng.choice(["rx", "ry", "rz", "h", "x", "cx", "cz"]))
                if qtcore.GATES[name][0] == 2:
                    if n < 2:
                        continue
                    a, b = rng.choice(n, 2, replace=False)
                    gates.append(Gate(name, (int(a), int(b))))
                else:
                    params = (float(rng.normal(scale=3)),) if qtcore.GATES[name][1] else ()
                    gates.append(Gate(name, (int(rng.integers(n)),), params))
            c = Circuit(n, tuple(gates))
            sv = cirq.final_state_vector(
                to_cirq(c, measure=False), qubit_order=line_qubits(n), dtype=np.complex128
            )
            np.testing.assert_allclose(sv, statevectors([c])[0], atol=1e-10)
            np.testing.assert_allclose(
                outcome_probabilities(sv, n), ref.probabilities([c])[0], atol=1e-10
            )


# -- parameters -------------------------------------------------------------------------------
def test_parameter_slots_become_symbols_with_their_scale():
    c = Circuit(1, (Gate("ry", (0,), (Parameter(0, -0.5),)), Gate("rz", (0,), (Parameter(1),))))
    cc = to_cirq(c, measure=False)
    assert cirq.parameter_names(cc) == {"theta_0", "theta_1"}
    resolved = cirq.resolve_parameters(cc, {"theta_0": 1.3, "theta_1": -0.4})
    bound = to_cirq(c.bind([1.3, -0.4]), measure=False)
    np.testing.assert_allclose(cirq.unitary(resolved), cirq.unitary(bound), atol=1e-12)


def test_template_binds_to_the_encoded_state():
    rng = np.random.default_rng(5)
    for n in (1, 3, 5):
        P = rng.dirichlet(np.ones(2**n), size=3)
        angles = qtcore.encoding_template(n).angles(P)
        for row, p in zip(angles, P):
            resolver = {f"theta_{k}": v for k, v in enumerate(row)}
            sv = cirq.final_state_vector(
                cirq.resolve_parameters(template_circuit(n, None), resolver),
                qubit_order=line_qubits(n),
                dtype=np.complex128,
            )
            np.testing.assert_allclose(sv, np.sqrt(p), atol=1e-10)


# -- bit order --------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_x_on_qubit_q_lands_on_index_2_pow_n_minus_1_minus_q(n):
    for q in range(n):
        result = cirq.Simulator().run(to_cirq(Circuit(n, (Gate("x", (q,)),))), repetitions=3)
        counts = counts_from_measurements([result], n)
        assert counts[0, 2 ** (n - 1 - q)] == 3


def test_non_palindromic_pattern_and_measurement_order():
    n = 4
    pattern = (0, 1, 3)  # |1101> = 13
    c = to_cirq(Circuit(n, tuple(Gate("x", (q,)) for q in pattern)))
    measure = list(c.all_operations())[-1]
    assert measure.qubits == line_qubits(n) and cirq.measurement_key_name(measure) == "m"
    result = cirq.Simulator().run(c, repetitions=2)
    assert result.measurements[MEASUREMENT_KEY].tolist() == [[1, 1, 0, 1]] * 2
    assert counts_from_measurements([result], n)[0, 13] == 2


def test_counts_from_measurements_rejects_bad_records():
    with pytest.raises(qtcore.InvalidInput, match="shape"):
        counts_from_measurements([np.zeros((4, 2), dtype=int)], 3)
    with pytest.raises(qtcore.InvalidInput, match="other than 0 and 1"):
        counts_from_measurements([np.full((4, 3), 2)], 3)


def test_outcome_probabilities_rejects_wrong_shape():
    with pytest.raises(qtcore.InvalidInput, match="shape"):
        outcome_probabilities(np.ones(3), 2)


def test_to_cirq_rejects_non_circuits():
    with pytest.raises(qtcore.InvalidInput, match=r"qtcore\.Circuit"):
        to_cirq(cirq.Circuit())


def test_empty_circuit_measures_all_qubits():
    c = to_cirq(Circuit(3))
    assert list(c.all_operations()) == [cirq.measure(*line_qubits(3), key="m")]
    assert len(to_cirq(Circuit(3), measure=False)) == 0


def test_sample_counts_equal_cirqs_own_sampler_draw_for_draw():
    # Same generator state: the counts of sample_counts and of Cirq's sampler followed by
    # the bit-order conversion must be identical, for state vectors and density matrices.
    rng = np.random.default_rng(8)
    for n in (1, 3, 5):
        a = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
        sv = a / np.linalg.norm(a)
        m = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
        rho = m @ m.conj().T
        rho /= np.trace(rho).real
        for state, cirq_sampler in (
            (sv, cirq.sample_state_vector),
            (rho, cirq.sample_density_matrix),
        ):
            for seed in range(3):
                bits = cirq_sampler(
                    state,
                    list(range(n)),
                    qid_shape=(2,) * n,
                    repetitions=500,
                    seed=np.random.default_rng(seed),
                )
                want = counts_from_measurements([bits], n)[0]
                got = sample_counts(state, n, 500, np.random.default_rng(seed))
                np.testing.assert_array_equal(got, want)


def test_sample_counts_rejects_wrong_shape():
    with pytest.raises(qtcore.InvalidInput, match="shape"):
        sample_counts(np.ones(3), 2, 5, np.random.default_rng(0))


# -- noise mapping ----------------------------------------------------------------------------
def _pauli(label: str) -> np.ndarray:
    out = np.eye(1)
    for ch in label:
        out = np.kron(out, PAULI[ch])
    return out


def _mixture_as_dict(channel) -> dict[str, float]:
    """Pauli label -> probability, matching each mixture unitary to a Pauli (up to phase)."""
    k = cirq.num_qubits(channel)
    labels = ["".join(t) for t in itertools.product("IXYZ", repeat=k)]
    out: dict[str, float] = {}
    for prob, u in cirq.mixture(channel):
        match = [
            lab for lab in labels if abs(abs(np.trace(_pauli(lab).conj().T @ u)) - 2**k) < 1e-9
        ]
        assert len(match) == 1, u
        out[match[0]] = out.get(match[0], 0.0) + prob
    return out


@pytest.mark.parametrize("p", [0.0, 0.01, 0.3, 0.75])
def test_one_qubit_depolarize_is_x_y_z_with_p_over_3(p):
    got = _mixture_as_dict(cirq.depolarize(p))
    want = {"I": 1 - p, "X": p / 3, "Y": p / 3, "Z": p / 3}
    assert got.keys() == want.keys()
    for lab in want:
        assert got[lab] == pytest.approx(want[lab], abs=1e-12)


@pytest.mark.parametrize("p", [0.01, 0.3, 15 / 16])
def test_two_qubit_depolarize_is_fifteen_paulis_with_p_over_15(p):
    got = _mixture_as_dict(cirq.depolarize(p, n_qubits=2))
    assert len(got) == 16
    for lab, prob in got.items():
        assert prob == pytest.approx(1 - p if lab == "II" else p / 15, abs=1e-12)


def test_two_qubit_channel_superoperator_equals_the_reference_partial_trace_form():
    # qtcore's reference applies (1 - 16p/15) ρ + (16p/15) I/4 ⊗ Tr_ab ρ; compare on a random ρ.
    from qtcore.simulator import _depolarize

    rng = np.random.default_rng(2)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = a @ a.conj().T
    rho /= np.trace(rho)
    p = 0.2
    got = sum(prob * u @ rho @ u.conj().T for prob, u in cirq.mixture(cirq.depolarize(p, 2)))
    want = _depolarize(rho.reshape(1, 2, 2, 2, 2), 2, (0, 1), p).reshape(4, 4)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_noise_follows_every_gate_on_its_qubits_only():
    nm = NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.02, readout=0.03)
    gates = (Gate("h", (0,)), Gate("cx", (0, 2)), Gate("rz", (2,), (0.3,)), Gate("x", (0,)))
    circuit = to_cirq(Circuit(4, gates), nm)
    ops = list(circuit.all_operations())
    # Each qubit's history in time order: a moment holds operations on disjoint qubits only.
    timeline = {q: [] for q in range(4)}
    for moment in circuit:
        for op in moment:
            label = type(op.untagged.gate).__name__
            if isinstance(op.untagged.gate, cirq.DepolarizingChannel):
                label = f"D{op.untagged.gate.num_qubits()}({op.untagged.gate.p})"
            for q in op.qubits:
                timeline[q.x].append(label)
    assert timeline == {
        0: [
            "HPowGate",
            "D1(0.01)",
            "CXPowGate",
            "D2(0.02)",
            "_PauliX",
            "D1(0.01)",
            "BitFlipChannel",
            "MeasurementGate",
        ],
        # idle qubits get no gate noise, only the readout flip before the measurement
        1: ["BitFlipChannel", "MeasurementGate"],
        2: ["CXPowGate", "D2(0.02)", "Rz", "D1(0.01)", "BitFlipChannel", "MeasurementGate"],
        3: ["BitFlipChannel", "MeasurementGate"],
    }
    two = [
        op
        for op in ops
        if isinstance(op.untagged.gate, cirq.DepolarizingChannel)
        and op.untagged.gate.num_qubits() == 2
    ]
    assert [tuple(q.x for q in op.qubits) for op in two] == [(0, 2)]
    flips = [op.untagged.gate for op in ops if isinstance(op.untagged.gate, cirq.BitFlipChannel)]
    assert [g.p for g in flips] == [0.03] * 4


def test_zero_rates_insert_nothing():
    gates = (Gate("h", (0,)), Gate("cx", (0, 1)))
    ideal = list(to_cirq(Circuit(2, gates)).all_operations())
    for nm in (None, NoiseModel(), NoiseModel(depolarizing_2q=0.1), NoiseModel(readout=0.1)):
        ops = list(to_cirq(Circuit(2, gates), nm).all_operations())
        extra = len(ops) - len(ideal)
        expected = 0 if nm is None else (nm.depolarizing_2q > 0) + 2 * (nm.readout > 0)
        assert extra == expected


def test_inserted_channels_are_never_made_noisy():
    # Applying the model again adds a channel after the one real gate, none after the
    # channels the first pass inserted (they carry cirq.VirtualTag).
    once = to_cirq(Circuit(1, (Gate("x", (0,)),)), NoiseModel(depolarizing_1q=0.1))
    twice = once.with_noise(QtcoreNoiseModel(NoiseModel(depolarizing_1q=0.1)))
    assert len(list(once.all_operations())) == 3  # x, channel, measurement
    assert len(list(twice.all_operations())) == 4


def test_to_cirq_noise_none_and_type_errors():
    assert to_cirq_noise(None) is cirq.NO_NOISE
    with pytest.raises(qtcore.InvalidInput, match="NoiseModel"):
        to_cirq_noise(0.1)
    with pytest.raises(ValueError, match="1- and 2-qubit"):
        QtcoreNoiseModel(NoiseModel(depolarizing_1q=0.1)).noisy_operation(
            cirq.CCX(*cirq.LineQubit.range(3))
        )


def test_multiplexed_ry_apply_unitary_matches_its_matrix() -> None:
    from qtcore_cirq.convert import MultiplexedRy

    rng = np.random.default_rng(4)
    for k in range(4):
        gate = MultiplexedRy(rng.uniform(-np.pi, np.pi, 2**k).tolist())
        cirq.testing.assert_has_consistent_apply_unitary(gate)
        u = cirq.unitary(gate)
        np.testing.assert_allclose(u @ u.T, np.eye(2 ** (k + 1)), atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_multiplexed_template_prepares_the_same_state_as_the_ry_cx_template(n: int) -> None:
    from qtcore_cirq.convert import (
        level_angles,
        line_qubits,
        multiplexed_template,
        parameter_symbol,
        template_circuit,
    )

    from qtcore import encoding_template

    rng = np.random.default_rng(n)
    P = rng.dirichlet(np.full(2**n, 0.3), size=3)
    P[0, : 2 ** (n - 1)] = 0.0  # a prefix with no mass
    P[0] /= P[0].sum()
    sim = cirq.Simulator(dtype=np.complex128)
    for row, fast, slow in zip(
        P, level_angles(P), encoding_template(n).angles(P), strict=True
    ):
        states = []
        for circuit, values in ((multiplexed_template(n), fast), (template_circuit(n, None), slow)):
            resolver = {parameter_symbol(i).name: float(x) for i, x in enumerate(values)}
            result = sim.simulate(circuit, resolver, qubit_order=line_qubits(n))
            states.append(result.final_state_vector)
        np.testing.assert_allclose(states[0], states[1], atol=1e-10)
        np.testing.assert_allclose(np.abs(states[0]) ** 2, row, atol=1e-10)
