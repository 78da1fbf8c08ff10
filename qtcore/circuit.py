"""The circuit IR every backend understands.

A :class:`Circuit` is a number of qubits and a tuple of :class:`Gate`. Measurement of every
qubit at the end is implicit. Outcome indices are **big-endian**: qubit 0 is the most
significant bit, so on three qubits the outcome ``0b100 = 4`` means qubit 0 read 1.
Plugins convert to their framework's order in one function each (Qiskit is little-endian).

Gate conventions (the same as Qiskit's and PennyLane's):

* ``rx(θ) = exp(-iθX/2)``, ``ry(θ) = exp(-iθY/2)``, ``rz(θ) = exp(-iθZ/2)``
* ``h``, ``x`` as usual; ``cx(c, t)`` flips ``t`` when ``c`` is 1; ``cz(a, b)`` is symmetric.

Example:
    >>> from qtcore import Circuit, Gate
    >>> bell = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
    >>> bell.inverse().gates[0]
    Gate(name='cx', qubits=(0, 1), params=())
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from qtcore.errors import InvalidInput

__all__ = ["GATES", "Circuit", "Gate", "Parameter"]

#: name -> (number of qubits, number of parameters)
GATES: dict[str, tuple[int, int]] = {
    "rx": (1, 1),
    "ry": (1, 1),
    "rz": (1, 1),
    "h": (1, 0),
    "x": (1, 0),
    "cx": (2, 0),
    "cz": (2, 0),
}

_SELF_INVERSE = {"h", "x", "cx", "cz"}


@dataclass(frozen=True)
class Parameter:
    """A slot for an angle, filled by :meth:`Circuit.bind`.

    ``scale`` lets a template use ``-θ`` or ``θ/2`` of one slot without a new symbol.

    Example:
        >>> from qtcore import Circuit, Gate, Parameter
        >>> Circuit(1, (Gate("ry", (0,), (Parameter(0),)),)).bind([0.5]).gates[0].params
        (0.5,)
    """

    index: int
    scale: float = 1.0

    def __neg__(self) -> Parameter:
        return Parameter(self.index, -self.scale)


Angle = Union[float, Parameter]  # noqa: UP007 (a runtime alias on Python 3.10)


@dataclass(frozen=True)
class Gate:
    """One gate: a name from :data:`GATES`, the qubits it acts on, and its angles.

    Example:
        >>> from qtcore import Gate
        >>> Gate("cx", (0, 2)).qubits
        (0, 2)
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[Angle, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.name not in GATES:
            raise InvalidInput(
                f"unknown gate {self.name!r}; the IR has {sorted(GATES)}. "
                "Decompose other gates into these before building the Circuit."
            )
        n_qubits, n_params = GATES[self.name]
        qubits = tuple(int(q) for q in self.qubits)
        if len(qubits) != n_qubits:
            raise InvalidInput(f"gate {self.name!r} acts on {n_qubits} qubit(s), got {qubits}")
        if len(set(qubits)) != len(qubits):
            raise InvalidInput(f"gate {self.name!r} got the same qubit twice: {qubits}")
        if any(q < 0 for q in qubits):
            raise InvalidInput(f"qubit indices must be ≥ 0, got {qubits}")
        if len(self.params) != n_params:
            raise InvalidInput(
                f"gate {self.name!r} takes {n_params} angle(s), got {len(self.params)}"
            )
        params: list[Angle] = []
        for p in self.params:
            if isinstance(p, Parameter):
                params.append(p)
                continue
            value = float(p)
            if not math.isfinite(value):
                raise InvalidInput(f"gate {self.name!r} got a non-finite angle {p!r}")
            params.append(value)
        object.__setattr__(self, "qubits", qubits)
        object.__setattr__(self, "params", tuple(params))

    def inverse(self) -> Gate:
        """The inverse gate (rotations negate their angle).

        Example:
            >>> from qtcore import Gate
            >>> Gate("rz", (0,), (0.3,)).inverse().params
            (-0.3,)
        """
        if self.name in _SELF_INVERSE:
            return self
        return Gate(self.name, self.qubits, tuple(-p for p in self.params))


@dataclass(frozen=True)
class Circuit:
    """An immutable circuit on ``n_qubits`` qubits; all qubits are measured at the end.

    Args:
        n_qubits: number of qubits, ≥ 1.
        gates: the gates in time order.

    Raises:
        InvalidInput: a gate touches a qubit outside ``range(n_qubits)``.

    Example:
        >>> from qtcore import Circuit, Gate
        >>> c = Circuit(3, [Gate("x", (0,))])
        >>> c.n_qubits, len(c.gates), c.num_parameters
        (3, 1, 0)
    """

    n_qubits: int
    gates: tuple[Gate, ...] = ()

    def __post_init__(self) -> None:
        n = self.n_qubits
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InvalidInput(f"n_qubits must be an integer ≥ 1, got {n!r}")
        gates = tuple(self.gates)
        for g in gates:
            if not isinstance(g, Gate):
                raise InvalidInput(f"Circuit gates must be qtcore.Gate, got {type(g).__name__}")
            if max(g.qubits) >= n:
                raise InvalidInput(
                    f"gate {g.name}{g.qubits} touches a qubit ≥ n_qubits={n}; "
                    "raise n_qubits or fix the qubit index"
                )
        object.__setattr__(self, "n_qubits", int(n))
        object.__setattr__(self, "gates", gates)

    @property
    def num_parameters(self) -> int:
        """Number of parameter slots (one more than the largest slot index used)."""
        indices = [p.index for g in self.gates for p in g.params if isinstance(p, Parameter)]
        return max(indices) + 1 if indices else 0

    def inverse(self) -> Circuit:
        """The circuit that undoes this one: gates reversed, each inverted.

        Example:
            >>> from qtcore import Circuit, Gate
            >>> c = Circuit(1, (Gate("h", (0,)), Gate("rz", (0,), (0.2,))))
            >>> [g.name for g in c.inverse().gates]
            ['rz', 'h']
        """
        return Circuit(self.n_qubits, tuple(g.inverse() for g in reversed(self.gates)))

    def bind(self, values: Sequence[float] | np.ndarray) -> Circuit:
        """Fill every :class:`Parameter` slot with ``scale * values[index]``.

        Raises:
            InvalidInput: fewer values than slots, or a non-finite value.

        Example:
            >>> from qtcore import encoding_template
            >>> t = encoding_template(1)
            >>> t.circuit.bind([1.0]).gates[0].params
            (1.0,)
        """
        vals = np.asarray(values, dtype=float).reshape(-1)
        if vals.size < self.num_parameters:
            raise InvalidInput(
                f"circuit has {self.num_parameters} parameter slots, got {vals.size} values"
            )
        gates = tuple(
            Gate(
                g.name,
                g.qubits,
                tuple(
                    p.scale * float(vals[p.index]) if isinstance(p, Parameter) else p
                    for p in g.params
                ),
            )
            for g in self.gates
        )
        return Circuit(self.n_qubits, gates)

    def count_ops(self) -> dict[str, int]:
        """How many gates of each name the circuit has.

        Example:
            >>> from qtcore import amplitude_encoding
            >>> import numpy as np
            >>> amplitude_encoding(np.full((1, 8), 1 / 8))[0].count_ops()
            {'ry': 7, 'cx': 6}
        """
        counts: dict[str, int] = {}
        for g in self.gates:
            counts[g.name] = counts.get(g.name, 0) + 1
        return counts

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (used to print a failing circuit in conformance reports).

        Example:
            >>> from qtcore import Circuit, Gate
            >>> Circuit(1, (Gate("x", (0,)),)).to_json()
            {'n_qubits': 1, 'gates': [['x', [0], []]]}
        """
        gates: list[list[object]] = []
        for g in self.gates:
            params: list[object] = [
                {"slot": p.index, "scale": p.scale} if isinstance(p, Parameter) else p
                for p in g.params
            ]
            gates.append([g.name, list(g.qubits), params])
        return {"n_qubits": self.n_qubits, "gates": gates}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Circuit:
        """Inverse of :meth:`to_json`.

        Example:
            >>> from qtcore import Circuit, Gate
            >>> c = Circuit(2, (Gate("cx", (1, 0)),))
            >>> Circuit.from_json(c.to_json()) == c
            True
        """
        raw_gates = data["gates"]
        n_qubits = data["n_qubits"]
        if not isinstance(raw_gates, Iterable) or not isinstance(n_qubits, int):
            raise InvalidInput("circuit JSON needs 'n_qubits' (int) and 'gates' (list)")
        gates = []
        for name, qubits, params in raw_gates:
            ps = tuple(
                Parameter(int(p["slot"]), float(p["scale"])) if isinstance(p, dict) else float(p)
                for p in params
            )
            gates.append(Gate(str(name), tuple(qubits), ps))
        return cls(n_qubits, tuple(gates))
