"""IR ↔ Cirq, one function each way: the only place where the two gate sets meet.

Our qubit ``i`` is ``cirq.LineQubit(i)``, so the big-endian outcome order of the IR is Cirq's
order for ``qubit_order=cirq.LineQubit.range(n)``; no bit-order fix is needed anywhere.
Gates map one to one with the same conventions: ``rx/ry/rz(θ) = exp(-iθP/2)`` are
``cirq.rx/ry/rz(θ)``, ``h, x, cx, cz`` are ``cirq.H, X, CNOT, CZ``.

:func:`to_cirq` puts each gate in its own moment so that :func:`from_cirq` gives back the
very same gate tuple (the round trip is exact, angles included). Folded circuits come back
with gates reordered only across disjoint qubits (Mitiq squashes moments), which changes
neither the unitary nor the noise: each gate's channel acts on that gate's qubits only.

Example:
    >>> from qtcore import Circuit, Gate
    >>> from qtcore_mitiq.convert import from_cirq, to_cirq
    >>> c = Circuit(2, (Gate("ry", (0,), (0.3,)), Gate("cx", (0, 1))))
    >>> from_cirq(to_cirq(c), 2) == c
    True
"""

from __future__ import annotations

import math

import cirq

from qtcore import Circuit, Gate, InvalidInput

__all__ = ["from_cirq", "to_cirq"]

_ROTATIONS = {"rx": cirq.rx, "ry": cirq.ry, "rz": cirq.rz}
_FIXED = {"h": cirq.H, "x": cirq.X, "cx": cirq.CNOT, "cz": cirq.CZ}
# Fixed gates Mitiq's folding writes as powers (G**-1): the exponent is an odd integer and
# the global shift 0, which is the same matrix as G itself.
_POWERS = (
    (cirq.HPowGate, "h"),
    (cirq.CXPowGate, "cx"),
    (cirq.CZPowGate, "cz"),
    (cirq.XPowGate, "x"),
)
_ROTATION_TYPES = ((cirq.Rx, "rx"), (cirq.Ry, "ry"), (cirq.Rz, "rz"))


def to_cirq(circuit: Circuit) -> cirq.Circuit:
    """The Cirq circuit of an IR circuit (every angle bound), one gate per moment.

    Args:
        circuit: a :class:`qtcore.Circuit` whose parameters are all bound.

    Returns:
        A ``cirq.Circuit`` on ``cirq.LineQubit(0 … n-1)``, without measurements.

    Raises:
        InvalidInput: the circuit still has an unbound :class:`qtcore.Parameter`.

    Example:
        >>> from qtcore import Circuit, Gate
        >>> from qtcore_mitiq.convert import to_cirq
        >>> print(to_cirq(Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))))
        0: ───H───@───
                  │
        1: ───────X───
    """
    if not isinstance(circuit, Circuit):
        raise InvalidInput(f"to_cirq takes a qtcore.Circuit, got {type(circuit).__name__}")
    moments = []
    for g in circuit.gates:
        qubits = [cirq.LineQubit(q) for q in g.qubits]
        if g.name in _ROTATIONS:
            theta = g.params[0]
            if not isinstance(theta, float):
                raise InvalidInput(
                    f"gate {g.name}{g.qubits} has an unbound parameter; call "
                    "Circuit.bind(values) before mitigating"
                )
            op = _ROTATIONS[g.name](theta).on(*qubits)
        else:
            op = _FIXED[g.name].on(*qubits)
        moments.append(cirq.Moment([op]))
    return cirq.Circuit(moments)


def from_cirq(circuit: cirq.Circuit, n_qubits: int) -> Circuit:
    """The IR circuit of a Cirq circuit made of the IR's gates (and their inverses).

    Args:
        circuit: a ``cirq.Circuit`` on ``cirq.LineQubit`` s below ``n_qubits`` using
            ``cirq.rx/ry/rz``, ``H``, ``X``, ``CNOT``, ``CZ`` or their odd integer powers
            (what Mitiq's folding writes). Terminal measurements are ignored: the IR
            measures every qubit.
        n_qubits: the width of the IR circuit (idle qubits do not appear in Cirq).

    Returns:
        A :class:`qtcore.Circuit` with the operations in ``circuit.all_operations()`` order.

    Raises:
        InvalidInput: an operation outside the IR's gate set, or a qubit that is not a
            ``LineQubit`` below ``n_qubits``.

    Example:
        >>> import cirq
        >>> from qtcore_mitiq.convert import from_cirq
        >>> q = cirq.LineQubit.range(2)
        >>> from_cirq(cirq.Circuit(cirq.CNOT(q[1], q[0]) ** -1), 2).gates
        (Gate(name='cx', qubits=(1, 0), params=()),)
    """
    gates = []
    for op in circuit.all_operations():
        if cirq.is_measurement(op):
            continue
        qubits = []
        for q in op.qubits:
            if not isinstance(q, cirq.LineQubit) or not 0 <= q.x < n_qubits:
                raise InvalidInput(
                    f"operation {op} acts on {q!r}; the IR needs cirq.LineQubit(i) with "
                    f"0 ≤ i < n_qubits={n_qubits}"
                )
            qubits.append(q.x)
        gates.append(Gate(_ir_name(op), tuple(qubits), _ir_params(op)))
    return Circuit(n_qubits, tuple(gates))


def _ir_name(op: cirq.Operation) -> str:
    gate = op.gate
    for kind, name in _ROTATION_TYPES:
        if isinstance(gate, kind):
            return name
    for power, name in _POWERS:
        if (
            isinstance(gate, power)
            and gate.global_shift == 0
            and isinstance(gate.exponent, (int, float))
            and float(gate.exponent).is_integer()
            and int(gate.exponent) % 2 == 1
        ):
            return name
    raise InvalidInput(
        f"Cirq operation {op} has no qtcore IR gate; the IR has rx, ry, rz, h, x, cx, cz "
        "(decompose the circuit into those first)"
    )


def _ir_params(op: cirq.Operation) -> tuple[float, ...]:
    gate = op.gate
    if isinstance(gate, (cirq.Rx, cirq.Ry, cirq.Rz)):
        # Rx/Ry/Rz keep the angle they were built with in ``_rads``; ``exponent * π`` would
        # round θ/π·π and break the exact round trip.
        theta = float(gate._rads)
        if not math.isfinite(theta):
            raise InvalidInput(f"Cirq operation {op} has a non-finite angle")
        return (theta,)
    return ()
