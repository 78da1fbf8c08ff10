"""qtcore's :class:`~qtcore.NoiseModel` as a PennyLane ``qml.NoiseModel`` (one function).

qtcore's convention (``qtcore.noise``): after every gate, on the qubits it acts on, a Pauli
error with probability ``p`` (1q: X, Y, Z at p/3 each; 2q: the 15 non-identity two-qubit
Paulis at p/15 each); then each measured bit flips with probability ``readout``.

* 1q: ``qml.DepolarizingChannel(p)`` has Kraus operators ``√(1-p) I`` and ``√(p/3) X, Y, Z``:
  exactly ours, with the same ``p`` (no λ conversion as Qiskit needs).
* 2q: PennyLane has no two-qubit depolarizing channel, so it is a ``qml.QubitChannel`` with
  the 16 Kraus operators ``√(1-p) I⊗I`` and ``√(p/15) P`` for the 15 other Paulis
  (:func:`depolarizing_2q_kraus`).
* readout: ``qml.BitFlip(readout)`` on every measured wire, inserted just before the
  measurement (after all gate noise) by the noise model's measurement map.

A rate of zero adds no channel (the channel would be the identity), so a model with only
readout noise adds only the final bit flips.

Example:
    >>> from qtcore import NoiseModel
    >>> from qtcore_pennylane.noise import to_pennylane_noise
    >>> model = to_pennylane_noise(NoiseModel(depolarizing_1q=0.01, readout=0.02))
    >>> len(model.model_map), len(model.meas_map)
    (1, 1)
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pennylane as qml

from qtcore import GATES, NoiseModel
from qtcore_pennylane.convert import GATE_OPERATIONS

__all__ = ["depolarizing_2q_kraus", "to_pennylane_noise"]

_PAULIS = (
    np.eye(2, dtype=np.complex128),
    np.array([[0, 1], [1, 0]], dtype=np.complex128),
    np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    np.array([[1, 0], [0, -1]], dtype=np.complex128),
)


def depolarizing_2q_kraus(p: float) -> list[np.ndarray]:
    """The 16 Kraus operators (4×4) of qtcore's two-qubit depolarizing channel.

    ``√(1-p) I⊗I`` first, then ``√(p/15) A⊗B`` for the 15 pairs of Paulis other than I⊗I.
    The set is symmetric under swapping the two qubits, so wire order does not matter.

    Example:
        >>> import numpy as np
        >>> from qtcore_pennylane.noise import depolarizing_2q_kraus
        >>> ks = depolarizing_2q_kraus(0.3)
        >>> len(ks), bool(np.allclose(sum(k.conj().T @ k for k in ks), np.eye(4)))
        (16, True)
    """
    pairs = [np.kron(a, b) for a, b in itertools.product(_PAULIS, repeat=2)]
    return [np.sqrt(1.0 - p) * pairs[0]] + [np.sqrt(p / 15.0) * m for m in pairs[1:]]


def to_pennylane_noise(noise: NoiseModel) -> qml.NoiseModel:
    """The ``qml.NoiseModel`` equal to ``noise``, for ``qml.add_noise`` on a tape or QNode.

    Args:
        noise: a qtcore NoiseModel.

    Returns:
        A PennyLane noise model: a channel after every IR gate with a non-zero rate for its
        width, and bit flips on every wire of a ``qml.sample``/``qml.probs``/``qml.counts``
        measurement when ``readout > 0``.

    Example:
        >>> import pennylane as qml
        >>> from qtcore import NoiseModel
        >>> from qtcore_pennylane.noise import to_pennylane_noise
        >>> @qml.qnode(qml.device("default.mixed", wires=1))
        ... def circuit():
        ...     qml.PauliX(0)
        ...     return qml.probs(wires=[0])
        >>> noisy = qml.add_noise(circuit, to_pennylane_noise(NoiseModel(depolarizing_1q=0.3)))
        >>> noisy().round(6).tolist()      # P(0) = 2p/3 after X then depolarizing(p)
        [0.2, 0.8]
    """
    one = [GATE_OPERATIONS[g].__name__ for g, (width, _) in GATES.items() if width == 1]
    two = [GATE_OPERATIONS[g].__name__ for g, (width, _) in GATES.items() if width == 2]
    p1, p2, readout = noise.depolarizing_1q, noise.depolarizing_2q, noise.readout
    kraus = depolarizing_2q_kraus(p2)

    def after_1q(op: Any, **_: Any) -> None:
        qml.DepolarizingChannel(p1, wires=op.wires)

    def after_2q(op: Any, **_: Any) -> None:
        qml.QubitChannel(kraus, wires=op.wires)

    def before_measurement(mp: Any, **_: Any) -> None:
        for wire in mp.wires:
            qml.BitFlip(readout, wires=wire)

    gate_map: dict[Any, Any] = {}
    if p1 > 0:
        gate_map[qml.noise.op_in(one)] = after_1q
    if p2 > 0:
        gate_map[qml.noise.op_in(two)] = after_2q
    meas_map: dict[Any, Any] = {}
    if readout > 0:
        measured = (
            qml.noise.meas_eq(qml.sample)
            | qml.noise.meas_eq(qml.probs)
            | qml.noise.meas_eq(qml.counts)
        )
        meas_map[measured] = before_measurement
    return qml.NoiseModel(gate_map, meas_map=meas_map or None)
