"""IR → Cirq circuits, and Cirq measurement records → qtcore's big-endian counts.

Qubit ``q`` of a qtcore circuit is ``cirq.LineQubit(q)``. Every circuit measures
``line_qubits(n)`` in that order under the key :data:`MEASUREMENT_KEY`, and the simulators
are given the same ``qubit_order``, so column ``j`` of a measurement record is qubit ``j``.
qtcore's outcome index is big-endian (qubit 0 most significant); the one function that turns
records into counts, :func:`counts_from_measurements`, weighs column ``j`` by ``2**(n-1-j)``.
No other code in this plugin touches bit order.

Gate conventions are the same in both: ``rx/ry/rz(θ) = exp(-iθP/2)`` are ``cirq.rx/ry/rz(θ)``
(Cirq's ``Rx``/``Ry``/``Rz``, not the ``XPowGate`` family, whose global phase differs);
``h, x, cx, cz`` are ``cirq.H, cirq.X, cirq.CNOT, cirq.CZ``. A :class:`qtcore.Parameter`
slot ``i`` with scale ``s`` becomes the sympy expression ``s·theta_i`` (plain ``theta_i`` when
``s = 1``), so one Cirq circuit serves every row and rows differ only in their resolver.

Example:
    >>> import numpy as np
    >>> import cirq
    >>> from qtcore import Circuit, Gate
    >>> from qtcore_cirq.convert import counts_from_measurements, to_cirq
    >>> circuit = to_cirq(Circuit(3, (Gate("x", (0,)),)))          # |100⟩
    >>> result = cirq.Simulator().run(circuit, repetitions=5)
    >>> int(np.argmax(counts_from_measurements([result], 3)[0]))    # big-endian: 0b100
    4
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import cirq
import numpy as np
import sympy

from qtcore import Circuit, InvalidInput, NoiseModel, Parameter
from qtcore_cirq.noise import to_cirq_noise

__all__ = [
    "MEASUREMENT_KEY",
    "MultiplexedRy",
    "counts_from_measurements",
    "level_angles",
    "line_qubits",
    "multiplexed_template",
    "outcome_probabilities",
    "parameter_symbol",
    "sample_counts",
    "template_circuit",
    "to_cirq",
]

#: The measurement key of every circuit this plugin builds.
MEASUREMENT_KEY = "m"

_GATES: dict[str, Callable[..., cirq.Operation]] = {
    "rx": lambda qs, a: cirq.rx(a).on(*qs),
    "ry": lambda qs, a: cirq.ry(a).on(*qs),
    "rz": lambda qs, a: cirq.rz(a).on(*qs),
    "h": lambda qs: cirq.H.on(*qs),
    "x": lambda qs: cirq.X.on(*qs),
    "cx": lambda qs: cirq.CNOT.on(*qs),
    "cz": lambda qs: cirq.CZ.on(*qs),
}


@cache
def line_qubits(n: int) -> tuple[cirq.LineQubit, ...]:
    """The Cirq qubits of an n-qubit qtcore circuit: IR qubit q is ``cirq.LineQubit(q)``.

    Example:
        >>> from qtcore_cirq.convert import line_qubits
        >>> line_qubits(2)
        (cirq.LineQubit(0), cirq.LineQubit(1))
    """
    return tuple(cirq.LineQubit.range(n))


@cache
def parameter_symbol(index: int) -> sympy.Symbol:
    """The sympy symbol of qtcore parameter slot ``index``: ``theta_<index>``.

    Example:
        >>> from qtcore_cirq.convert import parameter_symbol
        >>> parameter_symbol(3)
        theta_3
    """
    return sympy.Symbol(f"theta_{index}")


def _angle(value: float | Parameter) -> float | sympy.Expr:
    if isinstance(value, Parameter):
        symbol = parameter_symbol(value.index)
        # A bare symbol resolves by a dict lookup; a product goes through sympy per row.
        return symbol if value.scale == 1.0 else value.scale * symbol
    return float(value)


def to_cirq(
    circuit: Circuit, noise: NoiseModel | None = None, *, measure: bool = True
) -> cirq.Circuit:
    """The Cirq circuit of a qtcore circuit, with qtcore's noise inserted per gate.

    Args:
        circuit: a qtcore circuit; :class:`~qtcore.Parameter` slots become sympy symbols
            (:func:`parameter_symbol`) times their scale.
        noise: qtcore noise: a depolarizing channel after every gate on its qubits, bit
            flips on every qubit right before the measurement (see :mod:`qtcore_cirq.noise`).
        measure: end with ``cirq.measure(*line_qubits(n), key=MEASUREMENT_KEY)``. With
            False only that measurement is left out (the readout flips stay): simulate the
            circuit with ``qubit_order=line_qubits(n)`` and sample every qubit in order to get
            what measuring it gives.

    Returns:
        A new ``cirq.Circuit`` on ``line_qubits(circuit.n_qubits)``.

    Raises:
        InvalidInput: ``circuit`` is not a qtcore Circuit.

    Example:
        >>> from qtcore import Circuit, Gate, NoiseModel, Parameter
        >>> from qtcore_cirq.convert import to_cirq
        >>> c = Circuit(1, (Gate("ry", (0,), (Parameter(0, -0.5),)),))
        >>> print(to_cirq(c, NoiseModel(readout=0.25), measure=False))
        0: ───Ry(-0.5*theta_0)───BF(0.25)[<virtual>]───
    """
    if not isinstance(circuit, Circuit):
        raise InvalidInput(f"to_cirq takes a qtcore.Circuit, got {type(circuit).__name__}")
    qubits = line_qubits(circuit.n_qubits)
    ops = []
    for gate in circuit.gates:
        targets = [qubits[q] for q in gate.qubits]
        ops.append(_GATES[gate.name](targets, *(_angle(p) for p in gate.params)))
    ops.append(cirq.measure(*qubits, key=MEASUREMENT_KEY))
    noisy = cirq.Circuit(ops).with_noise(to_cirq_noise(noise))
    if measure:
        return noisy
    # The measurement acts on every qubit after everything else, so it sits alone in the
    # last moment: dropping that moment drops exactly the measurement.
    assert len(noisy[-1]) == 1 and cirq.is_measurement(noisy[-1].operations[0])
    return noisy[:-1]


def counts_from_measurements(
    records: Sequence[cirq.Result | np.ndarray], n_qubits: int
) -> np.ndarray:
    """Big-endian counts (B, 2**n) int64 from one measurement record per row.

    This is the plugin's only bit-order conversion. Column ``j`` of a record is qubit ``j``
    (the order of ``cirq.measure(*line_qubits(n))`` and of sampling ``indices=range(n)``),
    and qtcore's index puts qubit 0 first: ``index = Σ_j bit_j · 2**(n-1-j)``.

    Args:
        records: per row, a ``cirq.Result`` holding key :data:`MEASUREMENT_KEY`, or the
            (shots, n) array of 0/1 outcomes itself.
        n_qubits: n.

    Returns:
        int64 (B, 2**n): row i counts how often each outcome came up in record i.

    Raises:
        InvalidInput: a record does not have n columns, or holds values other than 0/1.

    Example:
        >>> import numpy as np
        >>> from qtcore_cirq.convert import counts_from_measurements
        >>> bits = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 0]])   # q0=1; q2=1; q0=1
        >>> counts_from_measurements([bits], 3).tolist()
        [[0, 1, 0, 0, 2, 0, 0, 0]]
    """
    weights = 1 << np.arange(n_qubits - 1, -1, -1, dtype=np.int64)
    out = np.zeros((len(records), 2**n_qubits), dtype=np.int64)
    for i, record in enumerate(records):
        if isinstance(record, cirq.Result):
            record = record.measurements[MEASUREMENT_KEY]
        bits = np.asarray(record)
        if bits.ndim != 2 or bits.shape[1] != n_qubits:
            raise InvalidInput(
                f"measurement record {i} has shape {bits.shape}, expected (shots, {n_qubits}); "
                f"measure all {n_qubits} qubits under key {MEASUREMENT_KEY!r}"
            )
        if bits.size and (bits.min() < 0 or bits.max() > 1):
            raise InvalidInput(f"measurement record {i} holds values other than 0 and 1")
        out[i] = np.bincount(bits.astype(np.int64) @ weights, minlength=2**n_qubits)
    return out


def outcome_probabilities(final_state: np.ndarray, n_qubits: int) -> np.ndarray:
    """Big-endian outcome probabilities (2**n,) float64 of a simulator's final state.

    Cirq indexes a state by its ``qubit_order`` with the first qubit most significant; the
    backends simulate with ``qubit_order=line_qubits(n)``, so Cirq's index is already qtcore's
    and no reordering is needed: the probabilities are ``|ψ_i|²`` or ``ρ_ii``.

    Args:
        final_state: a state vector (2**n,) or a density matrix (2**n, 2**n).
        n_qubits: n.

    Raises:
        InvalidInput: the state does not have one of those shapes.

    Example:
        >>> import numpy as np
        >>> from qtcore_cirq.convert import outcome_probabilities
        >>> outcome_probabilities(np.array([0.6, 0.8j]), 1).round(6).tolist()
        [0.36, 0.64]
    """
    state = np.asarray(final_state)
    dim = 2**n_qubits
    if state.shape == (dim,):
        probs = np.abs(state) ** 2
    elif state.shape == (dim, dim):
        probs = np.real(np.diagonal(state))
    else:
        raise InvalidInput(
            f"a final state on {n_qubits} qubits has shape ({dim},) or ({dim}, {dim}), "
            f"got {state.shape}"
        )
    return np.asarray(np.clip(probs, 0.0, None), dtype=np.float64)


def sample_counts(
    final_state: np.ndarray, n_qubits: int, shots: int, rng: np.random.Generator
) -> np.ndarray:
    """Measure every qubit of a final state ``shots`` times; big-endian counts (2**n,) int64.

    The draw is Cirq's: ``cirq.sample_state_vector(state, range(n), repetitions=shots,
    seed=rng)`` (or ``cirq.sample_density_matrix``) computes the same probabilities, makes
    the same single ``rng.choice(2**n, size=shots, p=probs)`` call, and then expands every
    shot into bits in a Python loop (about 6 µs a shot). Here the drawn outcome indices are
    counted directly, so the counts equal those of Cirq's sampler followed by
    :func:`counts_from_measurements` for the same generator state (the tests check it).
    Cirq's state index is big-endian in ``qubit_order=line_qubits(n)``, i.e. qtcore's index.

    Args:
        final_state: a state vector (2**n,) or a density matrix (2**n, 2**n).
        n_qubits: n.
        shots: number of measurements, ≥ 1.
        rng: the row's generator.

    Raises:
        InvalidInput: the state does not have one of those shapes.

    Example:
        >>> import numpy as np
        >>> from qtcore_cirq.convert import sample_counts
        >>> state = np.array([0, 0, 1, 0], dtype=complex)          # |10>: qubit 0 is 1
        >>> sample_counts(state, 2, 5, np.random.default_rng(0)).tolist()
        [0, 0, 5, 0]
    """
    state = np.asarray(final_state)
    dim = 2**n_qubits
    if state.shape == (dim,):
        probs = (state * state.conj()).real
    elif state.shape == (dim, dim):
        probs = np.diagonal(state).real
    else:
        raise InvalidInput(
            f"a final state on {n_qubits} qubits has shape ({dim},) or ({dim}, {dim}), "
            f"got {state.shape}"
        )
    if probs.min() < 0:
        # Round-off can leave a diagonal entry at -1e-17, which Generator.choice rejects.
        probs = np.clip(probs, 0.0, None)
    outcomes = rng.choice(dim, size=shots, p=probs)
    return np.bincount(outcomes, minlength=dim).astype(np.int64)


@cache
def template_circuit(n_qubits: int, noise: NoiseModel | None) -> cirq.FrozenCircuit:
    """``qtcore.encoding_template(n)`` as a frozen, unmeasured Cirq circuit, built once.

    Slot ``i`` of the template is the symbol ``theta_i``; rows bind it with a resolver
    ``{"theta_i": angles[row, i]}``.

    Example:
        >>> from qtcore_cirq.convert import template_circuit
        >>> len(list(template_circuit(3, None).all_operations()))   # 7 RY + 6 CX
        13
    """
    from qtcore import encoding_template

    return to_cirq(encoding_template(n_qubits).circuit, noise, measure=False).freeze()


class MultiplexedRy(cirq.Gate):
    """A uniformly controlled RY: ``RY(θ_c)`` on the last qubit for each value c of the others.

    On ``k + 1`` qubits, controls first (the most significant, as everywhere in qtcore), with
    ``2**k`` angles ``θ_c``: the unitary is block-diagonal with blocks ``RY(θ_c)``. It is the
    level-k step of the Möttönen tree as one operation instead of ``2**k`` RY and ``2**k``
    CX gates: the same state, with Cirq's per-gate overhead paid ``n`` times per row rather
    than ``2**(n+1) − 3`` times. Angles may be sympy expressions (resolved per row by a
    ``cirq.ParamResolver``); ``_apply_unitary_`` applies every block at once with numpy.

    Args:
        thetas: the ``2**k`` angles, indexed by the controls' value (big-endian).

    Raises:
        InvalidInput: the number of angles is not a power of two.

    Example:
        >>> import numpy as np
        >>> import cirq
        >>> from qtcore_cirq.convert import MultiplexedRy
        >>> gate = MultiplexedRy([0.0, np.pi])       # RY(π) on qubit 1 when qubit 0 is 1
        >>> np.round(cirq.unitary(gate).real, 6).tolist()[2:]
        [[0.0, 0.0, 0.0, -1.0], [0.0, 0.0, 1.0, 0.0]]
    """

    def __init__(self, thetas: Sequence[object]) -> None:
        count = len(thetas)
        if count < 1 or count & (count - 1):
            raise InvalidInput(f"MultiplexedRy takes 2**k angles, got {count}")
        self._thetas = tuple(thetas)
        self._k = count.bit_length() - 1

    def _num_qubits_(self) -> int:
        return self._k + 1

    def _is_parameterized_(self) -> bool:
        return any(cirq.is_parameterized(t) for t in self._thetas)

    def _parameter_names_(self) -> set[str]:
        return {name for t in self._thetas for name in cirq.parameter_names(t)}

    def _resolve_parameters_(self, resolver: cirq.ParamResolver, recursive: bool) -> MultiplexedRy:
        return MultiplexedRy([resolver.value_of(t, recursive) for t in self._thetas])

    def _apply_unitary_(self, args: cirq.ApplyUnitaryArgs) -> np.ndarray | None:
        if self._is_parameterized_():
            return None
        half = np.asarray(self._thetas, dtype=np.float64) / 2
        cos, sin = np.cos(half)[:, None], np.sin(half)[:, None]
        front = tuple(range(self._k + 1))
        source = np.moveaxis(args.target_tensor, args.axes, front)
        blocks = source.reshape(2**self._k, 2, -1)
        out = np.empty_like(blocks)
        out[:, 0] = cos * blocks[:, 0] - sin * blocks[:, 1]
        out[:, 1] = sin * blocks[:, 0] + cos * blocks[:, 1]
        args.available_buffer[...] = np.moveaxis(out.reshape(source.shape), front, args.axes)
        return args.available_buffer

    def _unitary_(self) -> np.ndarray | None:
        if self._is_parameterized_():
            return None
        half = np.asarray(self._thetas, dtype=np.float64) / 2
        blocks = [np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in half]
        size = 2 ** (self._k + 1)
        matrix = np.zeros((size, size))
        for c, block in enumerate(blocks):
            matrix[2 * c : 2 * c + 2, 2 * c : 2 * c + 2] = block
        return matrix

    def _circuit_diagram_info_(self, args: cirq.CircuitDiagramInfoArgs) -> tuple[str, ...]:
        return ("@",) * self._k + (f"Ry(mux {2**self._k})",)

    def _value_equality_values_(self) -> tuple[object, ...]:
        return self._thetas

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultiplexedRy) and self._thetas == other._thetas

    def __hash__(self) -> int:
        return hash((MultiplexedRy, self._thetas))

    def __repr__(self) -> str:
        return f"qtcore_cirq.convert.MultiplexedRy({list(self._thetas)!r})"


@cache
def multiplexed_template(n_qubits: int) -> cirq.FrozenCircuit:
    """The noiseless encoding as ``n`` :class:`MultiplexedRy` gates, built once per n.

    Level k acts on qubits ``0 … k`` with the symbols ``theta_{2**k − 1 + c}`` for its
    ``2**k`` control values c: the per-prefix angles θ_k(c) of :mod:`qtcore.encoding`
    (before the Walsh–Hadamard/Gray-code transform that the RY + CX form needs), laid out
    level after level as :func:`level_angles` returns them.

    Example:
        >>> from qtcore_cirq.convert import multiplexed_template
        >>> len(list(multiplexed_template(3).all_operations()))
        3
    """
    qubits = line_qubits(n_qubits)
    ops = []
    for k in range(n_qubits):
        first = 2**k - 1
        symbols = [parameter_symbol(first + c) for c in range(2**k)]
        ops.append(MultiplexedRy(symbols).on(*qubits[: k + 1]))
    return cirq.Circuit(ops).freeze()


def level_angles(P: np.ndarray) -> np.ndarray:
    """θ_k(c) (B, 2**n − 1) of every level, level after level: the values of
    :func:`multiplexed_template`'s symbols for rows of probabilities ``P`` (B, 2**n).

    ``θ_k(c) = 2·atan2(√M(c1), √M(c0))`` with ``M`` the mass under a prefix (see
    :mod:`qtcore.encoding`); a prefix with no mass gets θ = 0.

    Example:
        >>> import numpy as np
        >>> from qtcore_cirq.convert import level_angles
        >>> np.round(level_angles(np.array([[0.5, 0.0, 0.0, 0.5]])) / np.pi, 6).tolist()
        [[0.5, 0.0, 1.0]]
    """
    batch, width = P.shape
    n = width.bit_length() - 1
    levels = []
    masses = np.clip(P, 0.0, None)
    for k in range(n - 1, -1, -1):
        pairs = masses.reshape(batch, 2**k, 2)
        levels.append(2.0 * np.arctan2(np.sqrt(pairs[..., 1]), np.sqrt(pairs[..., 0])))
        masses = pairs.sum(axis=-1)
    return np.concatenate(levels[::-1], axis=1) if levels else np.zeros((batch, 0))
