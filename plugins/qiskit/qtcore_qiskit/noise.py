"""``qtcore.NoiseModel`` -> ``qiskit_aer.noise.NoiseModel``.

qtcore's convention: after every gate, on its qubits, a Pauli error with probability p
(1q: X, Y, Z at p/3 each; 2q: each of the 15 non-identity Paulis at p/15), then independent
symmetric readout flips. Aer's ``depolarizing_error(λ, k)`` is ``(1-λ)ρ + λ·I/2**k``; the
maximally mixed part includes the identity Pauli, so λ = 4p/3 (k=1) and λ = 16p/15 (k=2),
which is :meth:`qtcore.NoiseModel.qiskit_lambda`.

Example:
    >>> import qtcore
    >>> from qtcore_qiskit.noise import to_aer_noise_model
    >>> aer = to_aer_noise_model(qtcore.NoiseModel(depolarizing_1q=0.03, readout=0.01))
    >>> sorted(aer.noise_instructions)
    ['h', 'measure', 'rx', 'ry', 'rz', 'x']
"""

from __future__ import annotations

from qiskit_aer.noise import NoiseModel as AerNoiseModel
from qiskit_aer.noise import ReadoutError, depolarizing_error

from qtcore import GATES, NoiseModel

__all__ = ["GATES_1Q", "GATES_2Q", "to_aer_noise_model"]

#: The IR's gates by width. ``to_quantum_circuit`` emits exactly these names, one Qiskit
#: gate per IR gate, so noise attached to them acts after every IR gate.
GATES_1Q = tuple(sorted(name for name, (k, _) in GATES.items() if k == 1))
GATES_2Q = tuple(sorted(name for name, (k, _) in GATES.items() if k == 2))


def to_aer_noise_model(noise: NoiseModel) -> AerNoiseModel:
    """The Aer noise model equal to ``noise`` on circuits made by ``to_quantum_circuit``.

    A depolarizing error of λ = ``noise.qiskit_lambda(k)`` is attached to every IR gate name
    on all qubits, and a symmetric ``ReadoutError`` to every measurement. Zero rates add
    nothing. The model's basis gates are the IR's gates, so Aer runs the circuit as built:
    no gate is merged, cancelled or re-synthesised before the noise is applied.

    Args:
        noise: a qtcore noise model.

    Returns:
        A new ``qiskit_aer.noise.NoiseModel``.

    Example:
        >>> import qtcore
        >>> from qtcore_qiskit.noise import to_aer_noise_model
        >>> aer = to_aer_noise_model(qtcore.NoiseModel(depolarizing_2q=0.15))
        >>> sorted(aer.noise_instructions)
        ['cx', 'cz']
    """
    model = AerNoiseModel(basis_gates=[*GATES_1Q, *GATES_2Q])
    if noise.depolarizing_1q > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(noise.qiskit_lambda(1), 1), GATES_1Q)
    if noise.depolarizing_2q > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(noise.qiskit_lambda(2), 2), GATES_2Q)
    if noise.readout > 0:
        r = noise.readout
        model.add_all_qubit_readout_error(ReadoutError([[1 - r, r], [r, 1 - r]]))
    return model
