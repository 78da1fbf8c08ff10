"""IR -> PennyLane quantum functions, and PennyLane samples -> qtcore's big-endian counts.

qtcore's qubit ``q`` is PennyLane wire ``q`` (wires ``0 … n-1``). The gate conventions are
the same on both sides, so the mapping is one PennyLane operation per IR gate:
``rx/ry/rz(θ) = exp(-iθP/2) = qml.RX/RY/RZ(θ)``, ``h = qml.Hadamard``, ``x = qml.PauliX``,
``cx(c, t) = qml.CNOT([c, t])``, ``cz = qml.CZ``.

A :class:`~qtcore.Parameter` slot becomes ``scale * params[..., index]``: with ``params`` of
shape (B, k) every slot is a length-B array, which is PennyLane's parameter broadcasting (one
tape, B rows). Outcome order is handled in exactly one function, :func:`counts_from_samples`.

Example:
    >>> import numpy as np
    >>> import pennylane as qml
    >>> from qtcore import Circuit, Gate
    >>> from qtcore_pennylane.convert import counts_from_samples, to_quantum_function
    >>> qfunc = to_quantum_function(Circuit(2, (Gate("x", (0,)),)))
    >>> qnode = qml.QNode(qfunc, qml.device("default.qubit", wires=2, seed=1), shots=3)
    >>> counts_from_samples(np.asarray(qnode(None)).reshape(1, 3, 2), 2).tolist()
    [[0, 0, 3, 0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pennylane as qml

from qtcore import Circuit, Gate, InvalidInput, Parameter

__all__ = [
    "GATE_OPERATIONS",
    "BroadcastGroup",
    "broadcast_groups",
    "counts_from_samples",
    "to_quantum_function",
]

#: IR gate name -> the PennyLane operation with the same matrix.
GATE_OPERATIONS: dict[str, type[qml.operation.Operator]] = {
    "rx": qml.RX,
    "ry": qml.RY,
    "rz": qml.RZ,
    "h": qml.Hadamard,
    "x": qml.PauliX,
    "cx": qml.CNOT,
    "cz": qml.CZ,
}

# The op list is fixed per circuit: (operation, wires, angles) with each angle a float or a
# Parameter slot, so a quantum function only indexes arrays when it is called.
_OpSpec = tuple[type[qml.operation.Operator], list[int], tuple[float | Parameter, ...]]


def to_quantum_function(circuit: Circuit) -> Callable[[np.ndarray | None], Any]:
    """A quantum function ``qfunc(params)`` that queues ``circuit`` on wires ``0 … n-1``.

    Args:
        circuit: a circuit, possibly with :class:`~qtcore.Parameter` slots.

    Returns:
        ``qfunc(params)``: queues one PennyLane operation per gate, a slot taking the value
        ``scale * params[..., index]`` (``params`` (B, k) broadcasts over B rows, (k,) runs one
        row, ``None`` when the circuit has no slots), and returns
        ``qml.sample(wires=range(n))``.

    Raises:
        InvalidInput: a gate outside the IR (cannot happen for a valid Circuit).

    Example:
        >>> import numpy as np
        >>> import pennylane as qml
        >>> from qtcore import encoding_template
        >>> from qtcore_pennylane.convert import to_quantum_function
        >>> tape = qml.tape.make_qscript(to_quantum_function(encoding_template(2).circuit))(
        ...     np.zeros((5, 3)))
        >>> [op.name for op in tape.operations], tape.batch_size
        (['RY', 'RY', 'CNOT', 'RY', 'CNOT'], 5)
    """
    specs: list[_OpSpec] = []
    for gate in circuit.gates:
        if gate.name not in GATE_OPERATIONS:
            raise InvalidInput(f"gate {gate.name!r} has no PennyLane mapping")
        specs.append((GATE_OPERATIONS[gate.name], list(gate.qubits), gate.params))
    wires = list(range(circuit.n_qubits))

    def qfunc(params: np.ndarray | None) -> Any:
        for op, op_wires, angles in specs:
            args = [
                a.scale * params[..., a.index]  # type: ignore[index]
                if isinstance(a, Parameter)
                else a
                for a in angles
            ]
            op(*args, wires=op_wires)
        return qml.sample(wires=wires)

    return qfunc


@dataclass(frozen=True)
class BroadcastGroup:
    """Circuits of one structure, as a template plus one row of slot values per circuit.

    Attributes:
        template: the shared circuit with every angle replaced by a Parameter slot.
        rows: positions of the group's circuits in the input list, int64 (R,).
        values: slot values (R, template.num_parameters), float64.

    Example:
        >>> from qtcore import Circuit, Gate
        >>> from qtcore_pennylane.convert import broadcast_groups
        >>> [group] = broadcast_groups([Circuit(1, (Gate("rz", (0,), (0.5,)),))])
        >>> group.template.gates[0].params, group.values.tolist()
        ((Parameter(index=0, scale=1.0),), [[0.5]])
    """

    template: Circuit
    rows: np.ndarray
    values: np.ndarray


def broadcast_groups(circuits: Sequence[Circuit]) -> list[BroadcastGroup]:
    """Group circuits that differ only in their angles, so each group runs as one broadcast.

    Groups come in order of first appearance; within a group rows keep their input order.

    Example:
        >>> from qtcore import Circuit, Gate
        >>> from qtcore_pennylane.convert import broadcast_groups
        >>> cs = [Circuit(1, (Gate("ry", (0,), (a,)),)) for a in (0.1, 0.2)]
        >>> cs.append(Circuit(1, (Gate("x", (0,)),)))
        >>> [(g.rows.tolist(), g.values.tolist()) for g in broadcast_groups(cs)]
        [([0, 1], [[0.1], [0.2]]), ([2], [[]])]
    """
    order: dict[tuple[Any, ...], tuple[Circuit, list[int], list[list[float]]]] = {}
    for i, circuit in enumerate(circuits):
        key = (circuit.n_qubits, tuple((g.name, g.qubits) for g in circuit.gates))
        angles = [float(p) for g in circuit.gates for p in g.params]  # type: ignore[arg-type]
        if key not in order:
            order[key] = (_slotted(circuit), [], [])
        order[key][1].append(i)
        order[key][2].append(angles)
    return [
        BroadcastGroup(
            template,
            np.asarray(rows, dtype=np.int64),
            np.asarray(values, dtype=np.float64).reshape(len(rows), -1),
        )
        for template, rows, values in order.values()
    ]


def _slotted(circuit: Circuit) -> Circuit:
    gates, slot = [], 0
    for g in circuit.gates:
        params = []
        for _ in g.params:
            params.append(Parameter(slot))
            slot += 1
        gates.append(Gate(g.name, g.qubits, tuple(params)))
    return Circuit(circuit.n_qubits, tuple(gates))


def counts_from_samples(samples: np.ndarray, n_qubits: int) -> np.ndarray:
    """Counts (B, 2**n) in qtcore's big-endian order from PennyLane bit samples (B, S, n).

    This is the one place outcome order is converted. ``qml.sample(wires=[0, …, n-1])``
    returns, per shot, the bit of wire ``k`` in column ``k``; qtcore's qubit ``q`` is wire
    ``q`` and the most significant bit, so the outcome index is ``Σ_k bit_k · 2**(n-1-k)``.
    (PennyLane's ``qml.counts`` keys and ``qml.probs`` order are big-endian in the listed
    wires as well; the plugin uses neither.)

    Args:
        samples: int array (B, S, n) of 0/1.
        n_qubits: n.

    Returns:
        int64 counts (B, 2**n), each row summing to S.

    Raises:
        InvalidInput: ``samples`` does not have shape (B, S, n_qubits).

    Example:
        >>> import numpy as np
        >>> from qtcore_pennylane.convert import counts_from_samples
        >>> counts_from_samples(np.array([[[1, 0], [1, 1], [1, 0]]]), 2).tolist()
        [[0, 0, 2, 1]]
    """
    bits = np.asarray(samples)
    if bits.ndim != 3 or bits.shape[2] != n_qubits:
        raise InvalidInput(f"samples must have shape (B, S, {n_qubits}), got {bits.shape}")
    rows, _, _ = bits.shape
    weights = np.left_shift(1, np.arange(n_qubits - 1, -1, -1, dtype=np.int64))
    index = bits.astype(np.int64) @ weights
    width = 2**n_qubits
    flat = (index + width * np.arange(rows, dtype=np.int64)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * width).reshape(rows, width).astype(np.int64)
