"""IR -> QuantumCircuit and Qiskit counts -> qtcore's big-endian array."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Operator
from qtcore_qiskit.convert import counts_to_array, slot_columns, to_quantum_circuit

import qtcore
from qtcore import Circuit, Gate, Parameter


def test_counts_to_array_reverses_bits_for_every_key_format() -> None:
    # Qiskit's integer 1 = classical bit 0 set = IR qubit 0 = our most significant bit.
    for key in ("0x1", "001", 1, "0 0 1"):
        assert counts_to_array([{key: 7}], 3)[0].tolist() == [0, 0, 0, 0, 7, 0, 0, 0]
    # A non-palindromic pattern: qubits (0, 1, 2, 3) = (1, 1, 0, 1) is our 0b1101 = 13;
    # Qiskit writes it with qubit 3 leftmost: "1011".
    assert np.flatnonzero(counts_to_array([{"1011": 2}], 4)[0]).tolist() == [13]


def test_counts_to_array_rows_and_totals() -> None:
    out = counts_to_array([{"0x0": 3, "0x3": 1}, {}, {"0x2": 4}], 2)
    assert out.dtype == np.int64 and out.shape == (3, 4)
    assert out.tolist() == [[3, 0, 0, 1], [0, 0, 0, 0], [0, 4, 0, 0]]


def test_counts_to_array_rejects_outcomes_wider_than_n() -> None:
    with pytest.raises(qtcore.InvalidInput, match="does not fit in 2 bits"):
        counts_to_array([{"0x4": 1}], 2)


def test_each_ir_gate_becomes_one_qiskit_gate_of_the_same_name() -> None:
    gates = (
        Gate("rx", (0,), (0.1,)),
        Gate("ry", (1,), (0.2,)),
        Gate("rz", (2,), (0.3,)),
        Gate("h", (0,)),
        Gate("x", (1,)),
        Gate("cx", (2, 0)),
        Gate("cz", (0, 1)),
    )
    qc = to_quantum_circuit(Circuit(3, gates), measure=False)
    got = [
        (i.operation.name, [qc.find_bit(q).index for q in i.qubits], i.operation.params)
        for i in qc.data
    ]
    want = [(g.name, list(g.qubits), list(g.params)) for g in gates]
    assert got == want


def test_unitary_matches_the_reference_simulator_up_to_bit_order() -> None:
    rng = np.random.default_rng(5)
    gates = []
    for _ in range(12):
        kind = rng.choice(["rx", "ry", "rz", "h", "x", "cx", "cz"])
        if kind in ("cx", "cz"):
            a, b = rng.choice(3, size=2, replace=False)
            gates.append(Gate(str(kind), (int(a), int(b))))
        elif kind in ("h", "x"):
            gates.append(Gate(str(kind), (int(rng.integers(3)),)))
        else:
            gates.append(Gate(str(kind), (int(rng.integers(3)),), (float(rng.normal()),)))
    circuit = Circuit(3, tuple(gates))
    # Qiskit's Operator is little-endian; reversing the qubits gives our big-endian matrix.
    unitary = Operator(to_quantum_circuit(circuit, measure=False).reverse_bits()).data
    state = unitary[:, 0]
    probs = qtcore.ReferenceBackend().probabilities([circuit])[0]
    np.testing.assert_allclose(np.abs(state) ** 2, probs, atol=1e-12)


def test_parameter_slots_keep_their_scale() -> None:
    template = Circuit(
        2,
        (
            Gate("ry", (0,), (Parameter(0),)),
            Gate("rz", (1,), (Parameter(1, -0.5),)),
            Gate("rx", (1,), (Parameter(0, 2.0),)),
        ),
    )
    values = [0.7, 1.3]
    pv = ParameterVector("theta", 2)
    bound_here = to_quantum_circuit(template, pv, measure=False).assign_parameters(values)
    bound_core = to_quantum_circuit(template.bind(values), measure=False)
    assert Operator(bound_here).equiv(Operator(bound_core))
    assert [float(i.operation.params[0]) for i in bound_here.data] == pytest.approx(
        [0.7, -0.65, 1.4]
    )


def test_too_few_parameters_is_an_error() -> None:
    with pytest.raises(qtcore.InvalidInput, match="parameter slots"):
        to_quantum_circuit(qtcore.encoding_template(2).circuit, ParameterVector("p", 2))


def test_slot_columns_follow_qiskit_parameter_order() -> None:
    pv = ParameterVector("theta", 12)  # ≥ 10 slots: a lexical sort would put theta[10] early
    circuit = Circuit(1, tuple(Gate("ry", (0,), (Parameter(i),)) for i in reversed(range(12))))
    qc = to_quantum_circuit(circuit, pv)
    assert [pv[i] for i in slot_columns(qc, pv)] == list(qc.parameters)
