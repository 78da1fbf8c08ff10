"""NoiseModel -> PennyLane channels: the definitions, exact agreement with the reference
density matrix, and sampled agreement through pennylane.default (default.mixed).

Binomial checks assert p > 1e-6 (false-failure rate 1e-6 each); distribution checks use
``check_counts`` (conftest, ≤ 1e-6 per call). Noisy runs stay at n ≤ 3: default.mixed is slow.
"""

from __future__ import annotations

import itertools

import numpy as np
import pennylane as qml
import pytest
from qtcore_pennylane.convert import to_quantum_function
from qtcore_pennylane.noise import depolarizing_2q_kraus, to_pennylane_noise
from scipy.stats import binomtest

import qtcore
from qtcore import Circuit, Gate, NoiseModel

ALPHA = 1e-6
I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)


def test_pennylane_depolarizing_channel_is_ours():
    # qtcore: with probability p one of X, Y, Z at p/3 each (Kraus √(1-p) I, √(p/3) P).
    p = 0.27
    kraus = qml.DepolarizingChannel(p, wires=0).kraus_matrices()
    expected = [np.sqrt(1 - p) * I2, np.sqrt(p / 3) * X, np.sqrt(p / 3) * Y, np.sqrt(p / 3) * Z]
    np.testing.assert_allclose(np.array(kraus), np.array(expected), atol=1e-12)


def test_two_qubit_kraus_are_the_fifteen_paulis_at_p_over_15():
    p = 0.4
    kraus = depolarizing_2q_kraus(p)
    paulis = [np.kron(a, b) for a, b in itertools.product([I2, X, Y, Z], repeat=2)]
    assert len(kraus) == 16
    weights = []
    for k, pauli in zip(kraus, paulis):
        # k = c·P with |c|² the probability of that Pauli.
        c = np.trace(pauli.conj().T @ k) / 4
        np.testing.assert_allclose(k, c * pauli, atol=1e-12)
        weights.append(abs(c) ** 2)
    np.testing.assert_allclose(weights, [1 - p] + [p / 15] * 15, atol=1e-12)
    np.testing.assert_allclose(sum(k.conj().T @ k for k in kraus), np.eye(4), atol=1e-12)


def test_bit_flip_is_symmetric_readout():
    kraus = qml.BitFlip(0.1, wires=0).kraus_matrices()
    np.testing.assert_allclose(np.array(kraus), [np.sqrt(0.9) * I2, np.sqrt(0.1) * X], atol=1e-12)


def test_zero_rates_add_no_channels():
    model = to_pennylane_noise(NoiseModel(readout=0.05))
    assert len(model.model_map) == 0 and len(model.meas_map) == 1
    circuit = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
    tape = qml.tape.make_qscript(to_quantum_function(circuit))(None)
    [noisy], _ = qml.add_noise(tape, model)
    assert [op.name for op in noisy.operations] == ["Hadamard", "CNOT", "BitFlip", "BitFlip"]


def test_channels_follow_every_gate_on_its_qubits_then_readout_last():
    model = to_pennylane_noise(NoiseModel(0.01, 0.02, 0.03))
    circuit = Circuit(3, (Gate("rx", (2,), (0.3,)), Gate("cz", (2, 0)), Gate("x", (1,))))
    tape = qml.tape.make_qscript(to_quantum_function(circuit))(None)
    [noisy], _ = qml.add_noise(tape, model)
    got = [(op.name, list(op.wires)) for op in noisy.operations]
    assert got == [
        ("RX", [2]),
        ("DepolarizingChannel", [2]),
        ("CZ", [2, 0]),
        ("QubitChannel", [2, 0]),
        ("PauliX", [1]),
        ("DepolarizingChannel", [1]),
        ("BitFlip", [0]),
        ("BitFlip", [1]),
        ("BitFlip", [2]),
    ]


def _exact_pennylane(circuits, noise):
    """default.mixed's exact probabilities under our noise model (analytic, no shots)."""
    model = to_pennylane_noise(noise)
    tapes = []
    for c in circuits:
        ops = qml.tape.make_qscript(to_quantum_function(c))(None).operations
        tape = qml.tape.QuantumScript(ops, [qml.probs(wires=range(c.n_qubits))])
        [noisy], _ = qml.add_noise(tape, model)
        tapes.append(noisy)
    return np.array(qml.execute(tapes, qml.device("default.mixed", wires=circuits[0].n_qubits)))


def _random_circuit(rng, n, depth):
    names = sorted(qtcore.GATES)
    gates = []
    for _ in range(depth):
        name = names[int(rng.integers(len(names)))]
        width, n_params = qtcore.GATES[name]
        qubits = tuple(int(q) for q in rng.choice(n, size=width, replace=False))
        gates.append(Gate(name, qubits, tuple(rng.uniform(-4, 4, size=n_params))))
    return Circuit(n, tuple(gates))


@pytest.mark.parametrize("n", [2, 3])
def test_noise_mapping_equals_reference_density_matrix_exactly(reference, n):
    # Deterministic: the channels PennyLane applies give the reference's probabilities to
    # 1e-10, for random circuits over every gate, with each rate alone and all together.
    rng = np.random.default_rng(n)
    circuits = [_random_circuit(rng, n, 10) for _ in range(4)]
    for noise in (
        NoiseModel(depolarizing_1q=0.2),
        NoiseModel(depolarizing_2q=0.3),
        NoiseModel(readout=0.15),
        NoiseModel(0.05, 0.12, 0.04),
    ):
        np.testing.assert_allclose(
            _exact_pennylane(circuits, noise), reference.probabilities(circuits, noise), atol=1e-10
        )


def test_one_qubit_closed_form(pl_default):
    # x on |0>, then depolarizing(p): P(0) = 2p/3.
    p, shots = 0.3, 100_000
    counts = pl_default.run(
        [Circuit(1, (Gate("x", (0,)),))], shots=shots, seed=1, noise=NoiseModel(depolarizing_1q=p)
    )
    assert binomtest(int(counts[0, 0]), shots, 2 * p / 3).pvalue > ALPHA


def test_two_qubit_closed_form(pl_default):
    # cx on |00>, then the 2q channel: P(outcome ≠ 00) = 12p/15 (12 of 15 Paulis flip a bit).
    p, shots = 0.6, 100_000
    counts = pl_default.run(
        [Circuit(2, (Gate("cx", (0, 1)),))], shots=shots, seed=2, noise=NoiseModel(0, p, 0)
    )
    assert binomtest(int(shots - counts[0, 0]), shots, 12 * p / 15).pvalue > ALPHA


@pytest.mark.parametrize("pairs", [1, 3, 6])
def test_noise_after_every_gate_depth_sweep(pl_default, pairs):
    # 2·pairs x gates, each followed by depolarizing(p): the bit ends flipped with
    # probability (1 - (1 - 4p/3)**(2·pairs)) / 2. Noise on only some gates would fail.
    p, shots = 0.05, 100_000
    circuit = Circuit(1, tuple(Gate("x", (0,)) for _ in range(2 * pairs)))
    counts = pl_default.run([circuit], shots=shots, seed=pairs, noise=NoiseModel(p, 0, 0))
    flip = (1 - (1 - 4 * p / 3) ** (2 * pairs)) / 2
    assert binomtest(int(counts[0, 1]), shots, flip).pvalue > ALPHA


def test_readout_flips_each_measured_qubit_after_gate_noise(pl_default, check_counts):
    # |01> (x on qubit 1), readout r: P = [r(1-r), (1-r)^2, r^2, r(1-r)] in big-endian order.
    r = 0.1
    counts = pl_default.run(
        [Circuit(2, (Gate("x", (1,)),))], shots=100_000, seed=3, noise=NoiseModel(readout=r)
    )
    expected = np.array([[r * (1 - r), (1 - r) ** 2, r**2, r * (1 - r)]])
    check_counts(counts, expected, what="readout")


@pytest.mark.parametrize("n", [2, 3])
def test_noisy_distributions_match_reference(pl_default, reference, check_counts, n):
    rng = np.random.default_rng(10 + n)
    P = rng.dirichlet(np.ones(2**n), size=3)
    noise = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.08, readout=0.03)
    counts = pl_default.sample_distributions(P, shots=100_000, seed=n, noise=noise)
    check_counts(counts, reference.distribution_probabilities(P, noise), what=f"noisy n={n}")


def test_noisy_random_circuits_match_reference(pl_default, reference, check_counts):
    rng = np.random.default_rng(5)
    circuits = [_random_circuit(rng, 3, 8) for _ in range(4)]
    noise = NoiseModel(0.03, 0.1, 0.05)
    counts = pl_default.run(circuits, shots=60_000, seed=6, noise=noise)
    check_counts(counts, reference.probabilities(circuits, noise), what="noisy circuits")


def test_noiseless_model_equals_no_noise(pl_default):
    circuit = [Circuit(2, (Gate("x", (0,)), Gate("cx", (0, 1))))]
    for noise in (None, NoiseModel()):
        assert pl_default.run(circuit, shots=50, seed=0, noise=noise).tolist() == [[0, 0, 0, 50]]
