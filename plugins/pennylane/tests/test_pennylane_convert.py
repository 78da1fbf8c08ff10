"""IR -> PennyLane conversion: gate matrices, parameter slots, and outcome (bit) order."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
from qtcore_pennylane.convert import (
    GATE_OPERATIONS,
    broadcast_groups,
    counts_from_samples,
    to_quantum_function,
)

import qtcore
from qtcore import Circuit, Gate, Parameter
from qtcore.simulator import gate_matrices

ANGLES = [0.0, np.pi / 2, -np.pi / 2, np.pi, 2 * np.pi, 4 * np.pi, 0.7311, -2.2]


def test_every_ir_gate_has_a_pennylane_operation():
    assert set(GATE_OPERATIONS) == set(qtcore.GATES)


@pytest.mark.parametrize("name", ["rx", "ry", "rz"])
@pytest.mark.parametrize("theta", ANGLES)
def test_rotation_matrices_equal_qtcore_convention(name, theta):
    # qtcore's rotations are exp(-iθP/2); equal matrices, not equal up to phase.
    ours = gate_matrices(name, np.array([theta]))[0]
    theirs = qml.matrix(GATE_OPERATIONS[name](theta, wires=0))
    np.testing.assert_allclose(theirs, ours, atol=1e-12)


@pytest.mark.parametrize("name", ["h", "x"])
def test_fixed_one_qubit_matrices(name):
    ours = gate_matrices(name, np.array([0.0]))[0]
    np.testing.assert_allclose(qml.matrix(GATE_OPERATIONS[name](wires=0)), ours, atol=1e-12)


def test_two_qubit_gates_act_on_control_then_target():
    # In wire order [0, 1] with wire 0 the most significant bit (qtcore's order):
    # cx(0, 1) maps |10> to |11>, cx(1, 0) maps |01> to |11>.
    cx01 = qml.matrix(GATE_OPERATIONS["cx"](wires=[0, 1]), wire_order=[0, 1])
    cx10 = qml.matrix(GATE_OPERATIONS["cx"](wires=[1, 0]), wire_order=[0, 1])
    assert cx01[3, 2] == 1 and cx01[2, 3] == 1 and cx01[0, 0] == 1 and cx01[1, 1] == 1
    assert cx10[3, 1] == 1 and cx10[1, 3] == 1 and cx10[0, 0] == 1 and cx10[2, 2] == 1
    cz = qml.matrix(GATE_OPERATIONS["cz"](wires=[0, 1]), wire_order=[0, 1])
    np.testing.assert_allclose(cz, np.diag([1, 1, 1, -1]))


def test_parameter_slots_become_scaled_broadcast_arrays():
    circuit = Circuit(
        2,
        (
            Gate("ry", (0,), (Parameter(1),)),
            Gate("rz", (1,), (Parameter(0, scale=-0.5),)),
            Gate("rx", (0,), (0.25,)),
            Gate("cx", (1, 0)),
        ),
    )
    params = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    tape = qml.tape.make_qscript(to_quantum_function(circuit))(params)
    assert tape.batch_size == 3
    ops = tape.operations
    assert [op.name for op in ops] == ["RY", "RZ", "RX", "CNOT"]
    assert [list(op.wires) for op in ops] == [[0], [1], [0], [1, 0]]
    np.testing.assert_array_equal(ops[0].parameters[0], [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(ops[1].parameters[0], [-0.5, -1.5, -2.5])
    assert ops[2].parameters == [0.25]
    assert list(tape.measurements[0].wires) == [0, 1]


def test_counts_from_samples_is_big_endian_in_wire_order():
    # Shots of n = 3 with bits (wire0, wire1, wire2).
    samples = np.array([[[1, 0, 0], [0, 0, 1], [0, 1, 1], [1, 0, 0]], [[0, 0, 0]] * 4])
    counts = counts_from_samples(samples, 3)
    assert counts.tolist() == [[0, 1, 0, 1, 2, 0, 0, 0], [4, 0, 0, 0, 0, 0, 0, 0]]
    assert counts.dtype == np.int64


def test_counts_from_samples_rejects_wrong_width():
    with pytest.raises(qtcore.InvalidInput, match="shape"):
        counts_from_samples(np.zeros((1, 4, 2), dtype=int), 3)


def test_pennylane_sample_column_k_is_wire_k():
    # The fact counts_from_samples relies on, checked on PennyLane itself.
    def qfunc():
        qml.PauliX(wires=1)
        return qml.sample(wires=[0, 1, 2])

    samples = qml.QNode(qfunc, qml.device("default.qubit", wires=3, seed=0), shots=2)()
    assert np.asarray(samples).tolist() == [[0, 1, 0], [0, 1, 0]]


def test_pennylane_counts_keys_and_probs_are_big_endian_too():
    # What counts_from_samples' docstring states about qml.counts and qml.probs.
    def counts():
        qml.PauliX(wires=0)
        return qml.counts(wires=[0, 1, 2])

    def probs():
        qml.PauliX(wires=0)
        return qml.probs(wires=[0, 1, 2])

    device = qml.device("default.qubit", wires=3, seed=0)
    assert dict(qml.QNode(counts, device, shots=4)()) == {"100": 4}
    assert int(np.argmax(qml.QNode(probs, device)())) == 4


def test_broadcast_groups_keep_order_and_split_structures():
    a = Circuit(2, (Gate("ry", (0,), (0.1,)), Gate("cx", (0, 1))))
    b = Circuit(2, (Gate("ry", (1,), (0.2,)), Gate("cx", (0, 1))))
    a2 = Circuit(2, (Gate("ry", (0,), (0.3,)), Gate("cx", (0, 1))))
    empty = Circuit(2)
    groups = broadcast_groups([a, b, empty, a2])
    assert [g.rows.tolist() for g in groups] == [[0, 3], [1], [2]]
    assert groups[0].values.tolist() == [[0.1], [0.3]]
    assert groups[2].values.shape == (1, 0)
    assert groups[0].template.bind([0.3]) == a2


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_x_on_each_qubit_lands_on_its_big_endian_index(pl_backend, n):
    circuits = [Circuit(n, (Gate("x", (q,)),)) for q in range(n)]
    counts = pl_backend.run(circuits, shots=7, seed=11)
    for q in range(n):
        assert counts[q, 2 ** (n - 1 - q)] == 7, (q, counts[q].tolist())


def test_cx_direction_and_non_adjacent_pairs(pl_backend):
    # |100> --cx(0,2)--> |101> = 5 ; |100> --cx(2,0)--> |100> = 4 ; |001> --cx(2,0)--> |101>.
    circuits = [
        Circuit(3, (Gate("x", (0,)), Gate("cx", (0, 2)))),
        Circuit(3, (Gate("x", (0,)), Gate("cx", (2, 0)))),
        Circuit(3, (Gate("x", (2,)), Gate("cx", (2, 0)))),
        Circuit(3, (Gate("x", (1,)), Gate("cx", (1, 2)), Gate("cz", (2, 1)))),
    ]
    counts = pl_backend.run(circuits, shots=5, seed=2)
    assert [int(np.argmax(c)) for c in counts] == [5, 4, 5, 3]
    assert np.all(counts.max(axis=1) == 5)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_one_hot_rows_land_on_their_own_index(pl_backend, n):
    rng = np.random.default_rng(n)
    picks = sorted({1 % 2**n, 2 ** (n - 1), int(rng.integers(2**n)), 2**n - 2})
    P = np.zeros((len(picks), 2**n))
    P[np.arange(len(picks)), picks] = 1.0
    counts = pl_backend.sample_distributions(P, shots=9, seed=n)
    np.testing.assert_array_equal(counts, 9 * P.astype(np.int64))
