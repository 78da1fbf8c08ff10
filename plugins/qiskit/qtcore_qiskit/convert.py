"""Conversions between qtcore and Qiskit: IR -> ``QuantumCircuit``, Qiskit counts -> ours.

The IR's qubit ``q`` becomes Qiskit's qubit ``q`` and is measured into classical bit ``q``.
Qiskit reads classical bit 0 as the *least* significant bit of an outcome, qtcore reads
qubit 0 as the *most* significant one; :func:`counts_to_array` is the one place where that
is reconciled (a bit reversal of the outcome index). Nothing else in this plugin touches
bit order.

Example:
    >>> from qtcore import Circuit, Gate
    >>> from qtcore_qiskit.convert import counts_to_array, to_quantum_circuit
    >>> qc = to_quantum_circuit(Circuit(3, (Gate("x", (0,)),)))
    >>> qc.count_ops()["x"], qc.num_clbits
    (1, 3)
    >>> counts_to_array([{"0x1": 5}], 3).tolist()      # Qiskit's '001' is our qubit 0 = 1
    [[0, 0, 0, 0, 5, 0, 0, 0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qtcore import Circuit, InvalidInput, Parameter

__all__ = ["counts_to_array", "slot_columns", "to_quantum_circuit"]


def to_quantum_circuit(
    circuit: Circuit,
    parameters: ParameterVector | None = None,
    *,
    measure: bool = True,
) -> QuantumCircuit:
    """The Qiskit circuit of an IR circuit, gate for gate, measuring every qubit at the end.

    Each IR gate becomes exactly one Qiskit gate of the same name (``ry``, ``rz``, ``rx``,
    ``h``, ``x``, ``cx``, ``cz``), so a noise model attached to those names acts after every
    IR gate, as qtcore's noise convention requires. A :class:`qtcore.Parameter` slot
    ``(index, scale)`` becomes ``scale * parameters[index]`` (just ``parameters[index]`` when
    the scale is 1).

    Args:
        circuit: an IR circuit, bound or with parameter slots.
        parameters: the Qiskit parameters for the slots; created (named ``"theta"``) when
            the circuit has slots and none is given.
        measure: append ``measure_all`` (classical bit q holds qubit q).

    Returns:
        A new ``QuantumCircuit`` on ``circuit.n_qubits`` qubits.

    Raises:
        InvalidInput: ``parameters`` has fewer entries than the circuit has slots.

    Example:
        >>> from qtcore import encoding_template
        >>> from qtcore_qiskit.convert import to_quantum_circuit
        >>> qc = to_quantum_circuit(encoding_template(2).circuit)
        >>> qc.num_parameters, sorted(qc.count_ops().items())
        (3, [('barrier', 1), ('cx', 2), ('measure', 2), ('ry', 3)])
    """
    slots = circuit.num_parameters
    if slots and parameters is None:
        parameters = ParameterVector("theta", slots)
    if slots and parameters is not None and len(parameters) < slots:
        raise InvalidInput(
            f"circuit has {slots} parameter slots but only {len(parameters)} Qiskit "
            "parameters were given; pass a ParameterVector of at least that length"
        )
    qc = QuantumCircuit(circuit.n_qubits)
    for gate in circuit.gates:
        params = []
        for p in gate.params:
            if isinstance(p, Parameter):
                assert parameters is not None  # slots > 0 here
                element = parameters[p.index]
                params.append(element if p.scale == 1.0 else p.scale * element)
            else:
                params.append(p)
        getattr(qc, gate.name)(*params, *gate.qubits)
    if measure:
        qc.measure_all()
    return qc


def slot_columns(qc: QuantumCircuit, parameters: ParameterVector) -> np.ndarray:
    """For each of ``qc.parameters`` (Qiskit's order), the qtcore slot index it stands for.

    SamplerV2 takes parameter values in the order of ``qc.parameters``; indexing the
    (B, slots) angle array with these columns puts every value where Qiskit expects it.

    Example:
        >>> from qiskit.circuit import ParameterVector
        >>> from qtcore import encoding_template
        >>> from qtcore_qiskit.convert import slot_columns, to_quantum_circuit
        >>> pv = ParameterVector("theta", 15)
        >>> qc = to_quantum_circuit(encoding_template(4).circuit, pv)
        >>> slot_columns(qc, pv).tolist() == list(range(15))
        True
    """
    position = {p: i for i, p in enumerate(parameters)}
    return np.array([position[p] for p in qc.parameters], dtype=np.int64)


@cache
def _reversal(n: int) -> np.ndarray:
    index = np.arange(2**n, dtype=np.int64)
    out = np.zeros_like(index)
    for bit in range(n):
        out |= ((index >> bit) & 1) << (n - 1 - bit)
    return out


def counts_to_array(counts: Sequence[Mapping[str | int, int]], n: int) -> np.ndarray:
    """Qiskit counts, one mapping per experiment, as a big-endian qtcore array (B, 2**n).

    Keys may be Aer's hex strings (``"0x5"``), Qiskit bit strings (``"101"``, classical
    bit 0 rightmost, spaces between registers ignored) or integers; all are read as Qiskit's
    little-endian outcome integer and bit-reversed to qtcore's index, where qubit 0 is the
    most significant bit. This is the only bit-order conversion in the plugin.

    Args:
        counts: one ``{outcome: count}`` mapping per experiment.
        n: the number of measured qubits.

    Returns:
        int64 array (B, 2**n).

    Raises:
        InvalidInput: an outcome does not fit in ``n`` bits.

    Example:
        >>> from qtcore_qiskit.convert import counts_to_array
        >>> counts_to_array([{"01": 3, "10": 1}, {2: 4}], 2).tolist()
        [[0, 1, 3, 0], [0, 4, 0, 0]]
    """
    little = np.zeros((len(counts), 2**n), dtype=np.int64)
    for row, mapping in enumerate(counts):
        for key, value in mapping.items():
            if isinstance(key, str):
                index = int(key, 16) if key.startswith("0x") else int(key.replace(" ", ""), 2)
            else:
                index = int(key)
            if not 0 <= index < 2**n:
                raise InvalidInput(
                    f"outcome {key!r} does not fit in {n} bits; the circuit measured more "
                    "qubits than expected"
                )
            little[row, index] += int(value)
    return little[:, _reversal(n)]
