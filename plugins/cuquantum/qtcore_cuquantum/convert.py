"""IR → cuStateVec operations, and cuStateVec samples → qtcore counts: all bit-order fixes.

cuStateVec numbers the *index bits* of a state vector little-endian: bit ``b`` of an
amplitude's index is the value of index bit ``b``. qtcore's outcome index is big-endian
(qubit 0 is the most significant bit), so qtcore qubit ``q`` is cuStateVec index bit
``n − 1 − q`` (:func:`index_bit`). With that mapping the integer index of an amplitude is
the same in both conventions, which is why

* a distribution is loaded directly: amplitude ``j`` is ``√P_j`` (:func:`amplitudes`), and
* the sampler is asked for bit strings with ``bit_ordering = [0, 1, …, n − 1]``
  (:func:`bit_ordering`): bit ``i`` of a sampled bit string is index bit ``i``, so the
  bit string *is* the qtcore outcome index (:func:`counts_from_bitstrings`).

Example:
    >>> from qtcore import Gate
    >>> from qtcore_cuquantum.convert import gate_operation
    >>> op = gate_operation(Gate("cx", (0, 2)), 3)
    >>> op.targets, op.controls
    ((0,), (2,))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtcore.circuit import Gate
from qtcore.errors import InvalidInput
from qtcore.simulator import gate_matrices

__all__ = [
    "GateOperation",
    "amplitudes",
    "bit_ordering",
    "counts_from_bitstrings",
    "gate_operation",
    "index_bit",
]

_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Z = np.array([[1, 0], [0, -1]], dtype=np.complex128)


def index_bit(qubit: int, n_qubits: int) -> int:
    """cuStateVec's index bit for qtcore qubit ``qubit`` on ``n_qubits`` qubits.

    Example:
        >>> from qtcore_cuquantum.convert import index_bit
        >>> [index_bit(q, 3) for q in range(3)]
        [2, 1, 0]
    """
    return n_qubits - 1 - qubit


def bit_ordering(n_qubits: int) -> np.ndarray:
    """The sampler's ``bit_ordering``: index bits 0…n−1, so a bit string equals the index.

    Example:
        >>> from qtcore_cuquantum.convert import bit_ordering
        >>> bit_ordering(3).tolist()
        [0, 1, 2]
    """
    return np.arange(n_qubits, dtype=np.int32)


@dataclass(frozen=True)
class GateOperation:
    """One IR gate as cuStateVec applies it: ``apply_matrix`` on ``targets`` under ``controls``.

    Attributes:
        matrices: complex128 (B, 2, 2) row-major, one per state vector of the batch, or
            (1, 2, 2) shared by all (a gate without angles).
        targets: the index bits the matrix acts on (one).
        controls: index bits that must read 1 for the matrix to apply (``cx``, ``cz``).

    Example:
        >>> from qtcore import Gate
        >>> from qtcore_cuquantum.convert import gate_operation
        >>> gate_operation(Gate("x", (0,)), 2).matrices.real.tolist()
        [[[0.0, 1.0], [1.0, 0.0]]]
    """

    matrices: np.ndarray
    targets: tuple[int, ...]
    controls: tuple[int, ...] = ()


def gate_operation(gate: Gate, n_qubits: int, angles: np.ndarray | None = None) -> GateOperation:
    """The cuStateVec operation of ``gate`` on ``n_qubits`` qubits, batched over angles.

    Args:
        gate: an IR gate; for ``rx``/``ry``/``rz`` its bound angle is used unless
            ``angles`` is given.
        n_qubits: n.
        angles: (B,) float64 angles of this gate position across a batch of circuits that
            share the gate sequence (``None``: the gate's own angle).

    Returns:
        A :class:`GateOperation`. ``cx(c, t)`` is X on ``t`` controlled by ``c``;
        ``cz(a, b)`` is Z on ``b`` controlled by ``a`` (cz is symmetric).

    Raises:
        InvalidInput: an angle is unbound (a :class:`qtcore.Parameter`).

    Example:
        >>> import numpy as np
        >>> from qtcore import Gate
        >>> from qtcore_cuquantum.convert import gate_operation
        >>> op = gate_operation(Gate("ry", (1,), (0.0,)), 2, angles=np.array([0.0, np.pi]))
        >>> op.matrices.shape, op.targets
        ((2, 2, 2), (0,))
    """
    bits = tuple(index_bit(q, n_qubits) for q in gate.qubits)
    if gate.name in ("cx", "cz"):
        matrix = _X if gate.name == "cx" else _Z
        return GateOperation(matrix[None], targets=(bits[1],), controls=(bits[0],))
    if gate.name in ("h", "x"):
        return GateOperation(gate_matrices(gate.name, np.zeros(1)).copy(), targets=bits)
    if angles is None:
        try:
            angles = np.array([float(gate.params[0])])
        except TypeError as exc:
            raise InvalidInput(
                f"gate {gate.name}{gate.qubits} has an unbound parameter; bind it first"
            ) from exc
    return GateOperation(gate_matrices(gate.name, np.asarray(angles, np.float64)), targets=bits)


def amplitudes(P: np.ndarray, dtype: type = np.complex128) -> np.ndarray:
    """The state vectors (B, 2**n) whose measurement distribution is P: ``√P`` as complex.

    This is the direct amplitude load that stands in for the encoding circuit when no noise
    is asked: the Möttönen circuit prepares exactly ``Σ_j √P_j |j⟩`` (real, non-negative
    amplitudes), and cuStateVec's index equals qtcore's (see the module docstring).

    Example:
        >>> import numpy as np
        >>> from qtcore_cuquantum.convert import amplitudes
        >>> amplitudes(np.array([[0.25, 0.75]])).round(4).tolist()
        [[(0.5+0j), (0.866+0j)]]
    """
    return np.sqrt(np.clip(np.asarray(P, dtype=np.float64), 0.0, None)).astype(dtype)


def counts_from_bitstrings(bitstrings: np.ndarray, n_qubits: int) -> np.ndarray:
    """qtcore counts (2**n,) int64 of one row's sampled bit strings (``bit_ordering(n)``).

    Args:
        bitstrings: int64 (shots,) as written by ``custatevec.sampler_sample`` with
            :func:`bit_ordering`.
        n_qubits: n.

    Raises:
        InvalidInput: a bit string lies outside [0, 2**n).

    Example:
        >>> import numpy as np
        >>> from qtcore_cuquantum.convert import counts_from_bitstrings
        >>> counts_from_bitstrings(np.array([4, 4, 1]), 3).tolist()  # qubit 0 is the top bit
        [0, 1, 0, 0, 2, 0, 0, 0]
    """
    bits = np.asarray(bitstrings, dtype=np.int64)
    dim = 2**n_qubits
    if bits.size and (bits.min() < 0 or bits.max() >= dim):
        raise InvalidInput(
            f"sampled bit strings must lie in [0, {dim}), got [{bits.min()}, {bits.max()}]"
        )
    return np.bincount(bits, minlength=dim).astype(np.int64)
