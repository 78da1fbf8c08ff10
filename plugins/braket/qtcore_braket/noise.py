"""qtcore's :class:`~qtcore.NoiseModel` as Braket noise channels: the one place noise is mapped.

qtcore's convention (see :mod:`qtcore.noise`) puts a depolarizing channel after **every**
gate, on the qubits that gate acts on, and flips each measured bit with probability
``readout``. Braket's channels match it without any rescaling:

* ``Noise.Depolarizing(p)`` is ``(1-p)ρ + p/3 (XρX + YρY + ZρZ)``: our 1-qubit channel.
* ``Noise.TwoQubitDepolarizing(p)`` applies each of the 15 non-identity two-qubit Paulis with
  probability p/15: our 2-qubit channel (Braket's ``p`` is the total error probability, not
  Qiskit's λ, so no 4/3 or 16/15 factor appears here).
* ``Noise.BitFlip(r)`` on a qubit after its last gate flips the measured bit with
  probability r: our readout error.

Braket's ready-made ``Circuit.apply_gate_noise(noise)`` with a one-qubit channel puts it on
*every* target of a multi-qubit gate, and its ``NoiseModel`` needs one criterion per gate
type; the per-gate mapping below is explicit instead, and both the SDK circuit
(:func:`qtcore_braket.convert.to_braket`) and the compiled simulator program
(:func:`qtcore_braket.convert.compile_program`) take their channels from it.

Example:
    >>> from qtcore import NoiseModel
    >>> from qtcore_braket.noise import to_braket_noise
    >>> channels = to_braket_noise(NoiseModel(depolarizing_2q=0.15, readout=0.02))
    >>> type(channels.after_gate(2)).__name__, channels.after_gate(1), channels.readout.probability
    ('TwoQubitDepolarizing', None, 0.02)
"""

from __future__ import annotations

from dataclasses import dataclass

from braket.circuits import Noise

from qtcore.noise import NoiseModel, normalize_noise

__all__ = ["BraketNoise", "to_braket_noise"]


@dataclass(frozen=True)
class BraketNoise:
    """The Braket channels that reproduce one qtcore :class:`~qtcore.NoiseModel`.

    Args:
        one_qubit: ``Noise.Depolarizing`` after every 1-qubit gate, or None.
        two_qubit: ``Noise.TwoQubitDepolarizing`` after every 2-qubit gate, or None.
        readout: ``Noise.BitFlip`` on every qubit after its last gate, or None.

    Example:
        >>> from qtcore import NoiseModel
        >>> from qtcore_braket.noise import to_braket_noise
        >>> to_braket_noise(NoiseModel(depolarizing_1q=0.3)).after_gate(1).probability
        0.3
    """

    one_qubit: Noise.Depolarizing | None
    two_qubit: Noise.TwoQubitDepolarizing | None
    readout: Noise.BitFlip | None

    def after_gate(self, num_qubits: int) -> Noise | None:
        """The channel that follows a gate on ``num_qubits`` qubits (None: no noise).

        Raises:
            ValueError: ``num_qubits`` is not 1 or 2 (the qtcore IR has no larger gate).

        Example:
            >>> from qtcore import NoiseModel
            >>> from qtcore_braket.noise import to_braket_noise
            >>> to_braket_noise(NoiseModel(readout=0.1)).after_gate(2) is None
            True
        """
        if num_qubits == 1:
            return self.one_qubit
        if num_qubits == 2:
            return self.two_qubit
        raise ValueError(
            f"qtcore noise is defined for 1- and 2-qubit gates, got a {num_qubits}-qubit gate; "
            "decompose it into the qtcore IR first"
        )


def to_braket_noise(noise: NoiseModel | None) -> BraketNoise | None:
    """The Braket channels equal to qtcore's ``noise`` (None for no noise).

    Args:
        noise: a :class:`~qtcore.NoiseModel`, or None; an all-zero model counts as None.

    Returns:
        A :class:`BraketNoise` whose zero-rate channels are None, or None.

    Raises:
        qtcore.InvalidInput: ``noise`` is neither None nor a qtcore NoiseModel.

    Example:
        >>> from qtcore import NoiseModel
        >>> from qtcore_braket.noise import to_braket_noise
        >>> to_braket_noise(NoiseModel()) is None
        True
    """
    model = normalize_noise(noise)
    if model is None:
        return None
    return BraketNoise(
        one_qubit=Noise.Depolarizing(model.depolarizing_1q) if model.depolarizing_1q else None,
        two_qubit=(
            Noise.TwoQubitDepolarizing(model.depolarizing_2q) if model.depolarizing_2q else None
        ),
        readout=Noise.BitFlip(model.readout) if model.readout else None,
    )
