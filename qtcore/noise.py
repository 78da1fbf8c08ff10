"""qtcore's one noise convention, which every plugin converts to its native form.

After **every** gate, on the qubits it acts on, a depolarizing channel:

* 1-qubit gates: with probability ``p = depolarizing_1q`` one of X, Y, Z (p/3 each);
* 2-qubit gates: with probability ``p = depolarizing_2q`` one of the 15 non-identity
  two-qubit Paulis (p/15 each).

Then, at measurement, every qubit's bit flips independently with probability ``readout``.

Qiskit's ``depolarizing_error(λ)`` is ``(1-λ)ρ + λ I/d``; it equals ours at
``λ = 4p/3`` (1q) and ``λ = 16p/15`` (2q): see :meth:`NoiseModel.qiskit_lambda`.

Example:
    >>> from qtcore import NoiseModel
    >>> nm = NoiseModel(depolarizing_2q=0.01)
    >>> nm.is_noiseless, round(nm.qiskit_lambda(2), 6)
    (False, 0.010667)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qtcore.errors import InvalidInput

__all__ = ["NoiseModel"]


@dataclass(frozen=True)
class NoiseModel:
    """Depolarizing gate noise and symmetric readout flips (see the module docstring).

    Args:
        depolarizing_1q: probability of a Pauli error after each 1-qubit gate, in [0, 3/4].
        depolarizing_2q: probability of a Pauli error after each 2-qubit gate, in [0, 15/16].
        readout: probability each measured bit flips, in [0, 1/2].

    Raises:
        InvalidInput: a rate is NaN or outside its range. The upper bounds are the fully
            depolarizing points; beyond them the channel is no longer "depolarizing".

    Example:
        >>> from qtcore import NoiseModel
        >>> NoiseModel(readout=0.02).readout
        0.02
    """

    depolarizing_1q: float = 0.0
    depolarizing_2q: float = 0.0
    readout: float = 0.0

    def __post_init__(self) -> None:
        limits = {"depolarizing_1q": 0.75, "depolarizing_2q": 15 / 16, "readout": 0.5}
        for name, upper in limits.items():
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"NoiseModel.{name} must be a number, got {value!r}") from None
            if not math.isfinite(value) or not 0.0 <= value <= upper:
                raise InvalidInput(
                    f"NoiseModel.{name}={value!r} is outside [0, {upper:g}]; "
                    "pass a probability in that range"
                )
            object.__setattr__(self, name, value)

    @property
    def is_noiseless(self) -> bool:
        """True when every rate is zero (equivalent to ``noise=None``)."""
        return self.depolarizing_1q == 0 and self.depolarizing_2q == 0 and self.readout == 0

    def qiskit_lambda(self, num_qubits: int) -> float:
        """The λ of ``qiskit_aer.noise.depolarizing_error(λ, num_qubits)`` equal to our channel.

        Example:
            >>> from qtcore import NoiseModel
            >>> NoiseModel(depolarizing_1q=0.03).qiskit_lambda(1)
            0.04
        """
        if num_qubits == 1:
            return 4 * self.depolarizing_1q / 3
        if num_qubits == 2:
            return 16 * self.depolarizing_2q / 15
        raise InvalidInput(f"num_qubits must be 1 or 2, got {num_qubits}")

    def gate_error(self, num_qubits: int) -> float:
        """The Pauli-error probability after a gate on ``num_qubits`` qubits.

        Example:
            >>> from qtcore import NoiseModel
            >>> NoiseModel(depolarizing_1q=0.1, depolarizing_2q=0.2).gate_error(2)
            0.2
        """
        if num_qubits == 1:
            return self.depolarizing_1q
        if num_qubits == 2:
            return self.depolarizing_2q
        raise InvalidInput(f"num_qubits must be 1 or 2, got {num_qubits}")


def normalize_noise(noise: NoiseModel | None) -> NoiseModel | None:
    """``None`` for no noise, whether given as ``None`` or as an all-zero model.

    Example:
        >>> from qtcore.noise import normalize_noise
        >>> from qtcore import NoiseModel
        >>> normalize_noise(NoiseModel()) is None
        True
    """
    if noise is None:
        return None
    if not isinstance(noise, NoiseModel):
        raise InvalidInput(f"noise must be a qtcore.NoiseModel or None, got {type(noise).__name__}")
    return None if noise.is_noiseless else noise
