"""qtcore's :class:`~qtcore.NoiseModel` as a Cirq noise model: the one place noise is mapped.

qtcore's convention (see :mod:`qtcore.noise`) puts a depolarizing channel after **every**
gate, on the qubits that gate acts on, and flips each measured bit with probability
``readout``. Cirq's channels match it without any rescaling:

* ``cirq.depolarize(p)`` applies X, Y or Z with probability p/3 each: our 1-qubit channel.
* ``cirq.depolarize(p, n_qubits=2)`` applies each of the 15 non-identity two-qubit Paulis with
  probability p/15: our 2-qubit channel (Cirq's ``p`` is the total error probability, not
  Qiskit's λ, so no 4/3 or 16/15 factor appears here).
* ``cirq.bit_flip(r)`` on a qubit right before it is measured flips the recorded bit with
  probability r: our readout error.

Cirq's ready-made global models (``cirq.ConstantQubitNoiseModel``, ``circuit.with_noise(
cirq.depolarize(p))``) add noise to every qubit in every moment, idle ones included, and are
not qtcore's convention; :class:`QtcoreNoiseModel` adds noise per operation instead.

Example:
    >>> import cirq
    >>> from qtcore import NoiseModel
    >>> from qtcore_cirq.noise import to_cirq_noise
    >>> q = cirq.LineQubit.range(2)
    >>> model = to_cirq_noise(NoiseModel(depolarizing_2q=0.15))
    >>> noisy = cirq.Circuit(cirq.CNOT(*q)).with_noise(model)
    >>> [str(op.untagged) for op in noisy.all_operations()]
    ['CNOT(q(0), q(1))', 'depolarize(p=0.15,n_qubits=2)(q(0), q(1))']
"""

from __future__ import annotations

import cirq

from qtcore.noise import NoiseModel, normalize_noise

__all__ = ["QtcoreNoiseModel", "to_cirq_noise"]


class QtcoreNoiseModel(cirq.NoiseModel):  # type: ignore[misc]
    """A Cirq noise model that applies qtcore's convention operation by operation.

    After each gate on k qubits (k = 1, 2) it inserts ``cirq.depolarize(p_k, n_qubits=k)`` on
    exactly those qubits; before each measurement it inserts ``cirq.bit_flip(readout)`` on
    every measured qubit. Channels it inserts carry ``cirq.VirtualTag`` and are never made
    noisy themselves.

    Args:
        noise: the qtcore model to reproduce.

    Example:
        >>> import cirq
        >>> from qtcore import NoiseModel
        >>> from qtcore_cirq.noise import QtcoreNoiseModel
        >>> q = cirq.LineQubit(0)
        >>> ops = QtcoreNoiseModel(NoiseModel(readout=0.1)).noisy_operation(cirq.measure(q))
        >>> [type(op.untagged.gate).__name__ for op in ops]
        ['BitFlipChannel', 'MeasurementGate']
    """

    def __init__(self, noise: NoiseModel) -> None:
        self.noise = noise

    def noisy_operation(self, operation: cirq.Operation) -> cirq.OP_TREE:
        """``operation`` followed (gates) or preceded (measurements) by qtcore's noise.

        Args:
            operation: a Cirq operation of the converted circuit.

        Returns:
            The operations that replace it, in time order.

        Raises:
            ValueError: a gate on more than two qubits (the qtcore IR has none).

        Example:
            >>> import cirq
            >>> from qtcore import NoiseModel
            >>> from qtcore_cirq.noise import QtcoreNoiseModel
            >>> model = QtcoreNoiseModel(NoiseModel(depolarizing_1q=0.3))
            >>> [str(op.untagged) for op in model.noisy_operation(cirq.H(cirq.LineQubit(0)))]
            ['H(q(0))', 'depolarize(p=0.3)(q(0))']
        """
        if cirq.VirtualTag() in operation.tags:
            return operation
        qubits = operation.qubits
        if cirq.is_measurement(operation):
            if not self.noise.readout:
                return operation
            flips = [
                cirq.bit_flip(self.noise.readout).on(q).with_tags(cirq.VirtualTag()) for q in qubits
            ]
            return [*flips, operation]
        if len(qubits) not in (1, 2):
            raise ValueError(
                f"qtcore noise is defined for 1- and 2-qubit gates, got {operation!r}; "
                "decompose it into the qtcore IR first"
            )
        p = self.noise.gate_error(len(qubits))
        if not p:
            return operation
        channel = cirq.depolarize(p, n_qubits=len(qubits)).on(*qubits)
        return [operation, channel.with_tags(cirq.VirtualTag())]

    def __repr__(self) -> str:
        return f"QtcoreNoiseModel({self.noise!r})"


def to_cirq_noise(noise: NoiseModel | None) -> cirq.NoiseModel:
    """The Cirq noise model equal to qtcore's ``noise`` (``cirq.NO_NOISE`` for none).

    Args:
        noise: a :class:`~qtcore.NoiseModel`, or None; an all-zero model counts as None.

    Returns:
        A :class:`QtcoreNoiseModel`, or ``cirq.NO_NOISE``.

    Raises:
        qtcore.InvalidInput: ``noise`` is neither None nor a qtcore NoiseModel.

    Example:
        >>> import cirq
        >>> from qtcore import NoiseModel
        >>> from qtcore_cirq.noise import to_cirq_noise
        >>> to_cirq_noise(NoiseModel()) is cirq.NO_NOISE
        True
    """
    model = normalize_noise(noise)
    return cirq.NO_NOISE if model is None else QtcoreNoiseModel(model)
