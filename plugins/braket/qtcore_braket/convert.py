"""IR → Braket circuits and simulator programs, and Braket results → qtcore's big-endian arrays.

Qubit ``q`` of a qtcore circuit is Braket qubit ``q``. Braket's basis order is big-endian
(qubit 0 is the most significant bit of a state index, as in qtcore), so the probability
vectors of Braket's simulators need no reordering; the measurement counts of a Braket task
are bit strings whose character ``j`` is qubit ``measured_qubits[j]``, and
:func:`counts_from_measurements` is the one function that turns them into counts. No other
code in this plugin touches bit order.

Two targets, built from the same gate table and the same noise channels
(:func:`qtcore_braket.noise.to_braket_noise`):

* :func:`to_braket`: a ``braket.circuits.Circuit``, what ``LocalSimulator`` and ``AwsDevice``
  run. A :class:`qtcore.Parameter` slot ``i`` with scale ``s`` becomes the
  ``FreeParameter("theta_i")`` (times ``s`` when ``s != 1``), bound per task with
  ``inputs={"theta_i": value}``.
* :func:`compile_program`: the same circuit as the list of operations of Braket's default
  simulator (``braket.default_simulator.gate_operations`` / ``noise_operations``), which
  is what ``LocalSimulator("braket_sv" | "braket_dm")`` builds from the OpenQASM text of a
  task before it evolves ``StateVectorSimulation`` / ``DensityMatrixSimulation``. Compiled
  once, it is bound per row without writing and re-parsing OpenQASM (see
  :mod:`qtcore_braket.backend` for why that matters).

Gate conventions are the same in both libraries: ``rx/ry/rz(θ) = exp(-iθP/2)`` are Braket's
``Rx/Ry/Rz``; ``h, x, cx, cz`` are ``H, X, CNot, CZ``.

Example:
    >>> from qtcore import Circuit, Gate
    >>> from qtcore_braket.convert import to_braket
    >>> print(to_braket(Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))).to_ir().source)
    OPENQASM 3.0;
    qubit[2] q;
    h q[0];
    cnot q[0], q[1];
    #pragma braket result probability all
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from braket.circuits import Circuit as BraketCircuit
from braket.circuits import FreeParameter, Instruction, Noise
from braket.default_simulator import gate_operations as ops
from braket.default_simulator import noise_operations as channels

from qtcore import Circuit, NoiseModel, Parameter
from qtcore_braket.noise import to_braket_noise

__all__ = [
    "SimulatorProgram",
    "compile_program",
    "counts_from_measurements",
    "parameter_name",
    "to_braket",
]

#: IR gate -> the ``braket.circuits.Circuit`` method that appends it.
_SDK_GATES = {"rx": "rx", "ry": "ry", "rz": "rz", "h": "h", "x": "x", "cx": "cnot", "cz": "cz"}
#: IR gate -> Braket default simulator's operation class.
_SIM_GATES: dict[str, Any] = {
    "rx": ops.RotX,
    "ry": ops.RotY,
    "rz": ops.RotZ,
    "h": ops.Hadamard,
    "x": ops.PauliX,
    "cx": ops.CX,
    "cz": ops.CZ,
}
#: Braket SDK noise channel -> Braket default simulator's channel class.
_SIM_CHANNELS: dict[type, Any] = {
    Noise.Depolarizing: channels.Depolarizing,
    Noise.TwoQubitDepolarizing: channels.TwoQubitDepolarizing,
    Noise.BitFlip: channels.BitFlip,
}


def parameter_name(index: int) -> str:
    """The Braket input name of qtcore parameter slot ``index``.

    Example:
        >>> from qtcore_braket.convert import parameter_name
        >>> parameter_name(3)
        'theta_3'
    """
    return f"theta_{index}"


def _sdk_angle(angle: float | Parameter) -> Any:
    if isinstance(angle, Parameter):
        symbol = FreeParameter(parameter_name(angle.index))
        return symbol if angle.scale == 1.0 else angle.scale * symbol
    return float(angle)


def _idle_qubits(circuit: Circuit) -> list[int]:
    used = {q for g in circuit.gates for q in g.qubits}
    return [q for q in range(circuit.n_qubits) if q not in used]


def to_braket(
    circuit: Circuit, noise: NoiseModel | None = None, *, probability: bool = True
) -> BraketCircuit:
    """The Braket SDK circuit of ``circuit`` under qtcore's ``noise`` convention.

    Every qubit appears in the Braket circuit: a qubit no gate touches gets Braket's identity
    gate ``i`` (no gate noise: it is not a gate of the qtcore circuit), because Braket only
    simulates and measures the qubits its instructions use.

    Args:
        circuit: a qtcore circuit; its :class:`~qtcore.Parameter` slots become
            ``FreeParameter("theta_i")``.
        noise: qtcore noise, mapped by :func:`qtcore_braket.noise.to_braket_noise`.
        probability: add the ``Probability`` result type over all qubits (exact
            probabilities at ``shots=0``); without it a task measures every qubit.

    Returns:
        A ``braket.circuits.Circuit``.

    Example:
        >>> from qtcore import Circuit, Gate, NoiseModel, Parameter
        >>> from qtcore_braket.convert import to_braket
        >>> c = Circuit(2, (Gate("ry", (1,), (Parameter(0, -0.5),)),))
        >>> bc = to_braket(c, NoiseModel(depolarizing_1q=0.1), probability=False)
        >>> [(i.operator.name, [int(q) for q in i.target]) for i in bc.instructions]
        [('I', [0]), ('Ry', [1]), ('Depolarizing', [1])]
        >>> str(bc.instructions[1].operator.angle)
        '-0.5*theta_0'
    """
    mapped = to_braket_noise(noise)
    out = BraketCircuit()
    if mapped is None or mapped.readout is None:
        for q in _idle_qubits(circuit):
            out.i(q)
    for g in circuit.gates:
        getattr(out, _SDK_GATES[g.name])(*g.qubits, *(_sdk_angle(a) for a in g.params))
        channel = None if mapped is None else mapped.after_gate(len(g.qubits))
        if channel is not None:
            out.add_instruction(Instruction(channel, list(g.qubits)))
    if mapped is not None and mapped.readout is not None:
        for q in range(circuit.n_qubits):
            out.add_instruction(Instruction(mapped.readout, q))
    if probability:
        out.probability()
    return out


@dataclass(frozen=True)
class SimulatorProgram:
    """A circuit compiled to Braket default-simulator operations, bound row by row.

    Args:
        n_qubits: the circuit width.
        steps: per operation either a ready operation (no parameter) or a tuple
            ``(operation class, targets, slot, scale)`` whose angle is ``scale·values[slot]``.
        num_parameters: the number of slots a row binds.

    Example:
        >>> import numpy as np
        >>> from qtcore import encoding_template
        >>> from qtcore_braket.convert import compile_program
        >>> program = compile_program(encoding_template(2).circuit)
        >>> [type(op).__name__ for op in program.operations(np.zeros(3))]
        ['RotY', 'RotY', 'CX', 'RotY', 'CX']
    """

    n_qubits: int
    steps: tuple[Any, ...]
    num_parameters: int

    def operations(self, values: np.ndarray) -> list[Any]:
        """The operations with every slot bound to ``values`` (length ``num_parameters``).

        Example:
            >>> import numpy as np
            >>> from qtcore import encoding_template
            >>> from qtcore_braket.convert import compile_program
            >>> op = compile_program(encoding_template(1).circuit).operations(np.array([np.pi]))[0]
            >>> op.matrix.real.round(6).tolist()          # ry(π) = [[0, -1], [1, 0]]
            [[0.0, -1.0], [1.0, 0.0]]
        """
        bound = []
        for step in self.steps:
            if isinstance(step, tuple):
                cls, targets, slot, scale = step
                bound.append(cls(targets, scale * float(values[slot])))
            else:
                bound.append(step)
        return bound


def compile_program(circuit: Circuit, noise: NoiseModel | None = None) -> SimulatorProgram:
    """``circuit`` as Braket default-simulator operations, the program ``to_braket`` becomes.

    The operations are those ``LocalSimulator`` would build from the OpenQASM text of
    :func:`to_braket`'s circuit (a test checks that both give the same probabilities), and
    with the same idle-qubit identities and noise channels. Operations without a parameter
    are built once and shared by every row.

    Args:
        circuit: a qtcore circuit, bound or with :class:`~qtcore.Parameter` slots.
        noise: qtcore noise (through :func:`qtcore_braket.noise.to_braket_noise`).

    Returns:
        A :class:`SimulatorProgram`.

    Example:
        >>> from qtcore import Circuit, Gate, NoiseModel
        >>> from qtcore_braket.convert import compile_program
        >>> p = compile_program(Circuit(1, (Gate("x", (0,)),)), NoiseModel(readout=0.1))
        >>> [type(op).__name__ for op in p.operations([])]
        ['PauliX', 'BitFlip']
    """
    mapped = to_braket_noise(noise)
    steps: list[Any] = []
    if mapped is None or mapped.readout is None:
        steps.extend(ops.Identity([q]) for q in _idle_qubits(circuit))
    slots = 0
    for g in circuit.gates:
        cls = _SIM_GATES[g.name]
        angle = g.params[0] if g.params else None
        if isinstance(angle, Parameter):
            steps.append((cls, list(g.qubits), angle.index, angle.scale))
            slots = max(slots, angle.index + 1)
        elif angle is not None:
            steps.append(cls(list(g.qubits), float(angle)))
        else:
            steps.append(cls(list(g.qubits)))
        channel = None if mapped is None else mapped.after_gate(len(g.qubits))
        if channel is not None:
            steps.append(_SIM_CHANNELS[type(channel)](list(g.qubits), channel.probability))
    if mapped is not None and mapped.readout is not None:
        readout = _SIM_CHANNELS[type(mapped.readout)]
        steps.extend(readout([q], mapped.readout.probability) for q in range(circuit.n_qubits))
    return SimulatorProgram(circuit.n_qubits, tuple(steps), slots)


def counts_from_measurements(
    measurement_counts: Mapping[str, int], measured_qubits: Sequence[int], n_qubits: int
) -> np.ndarray:
    """A Braket task's ``measurement_counts`` as qtcore counts (2**n,) int64, big-endian.

    Args:
        measurement_counts: bit string -> count; character ``j`` is qubit
            ``measured_qubits[j]`` (Braket's ``GateModelQuantumTaskResult``).
        measured_qubits: the task's ``measured_qubits``.
        n_qubits: the qtcore circuit width.

    Returns:
        Counts indexed by ``Σ_j bit_j · 2**(n-1-measured_qubits[j])``.

    Raises:
        ValueError: ``measured_qubits`` is not every qubit of the circuit exactly once (an
            unmeasured qubit has no bit to count), or a bit string has the wrong length.

    Example:
        >>> from qtcore_braket.convert import counts_from_measurements
        >>> counts_from_measurements({"100": 3, "001": 1}, [2, 0, 1], 3).tolist()
        [0, 3, 1, 0, 0, 0, 0, 0]
    """
    qubits = [int(q) for q in measured_qubits]
    if sorted(qubits) != list(range(n_qubits)):
        raise ValueError(
            f"measured qubits {qubits} are not each of the {n_qubits} qubits once; measure "
            "every qubit (qtcore_braket.convert.to_braket gives every qubit an instruction)"
        )
    weights = [1 << (n_qubits - 1 - q) for q in qubits]
    out = np.zeros(2**n_qubits, dtype=np.int64)
    for bits, count in measurement_counts.items():
        if len(bits) != len(qubits):
            raise ValueError(
                f"bit string {bits!r} has {len(bits)} bits for {len(qubits)} measured qubits"
            )
        out[sum(w for w, b in zip(weights, bits) if b == "1")] += int(count)
    return out
