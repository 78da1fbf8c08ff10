"""Amplitude encoding: prepare ``Σ_j √p_j |j⟩`` with the Möttönen tree.

For a row ``p`` of width ``2**n`` the circuit is a cascade of uniformly controlled RY
rotations. Level ``k`` (``k = 0 … n-1``) rotates qubit ``k`` by

    θ_k(c) = 2·atan2(√M(c1), √M(c0))

for every value ``c`` of qubits ``0 … k-1``, where ``M(c0)`` / ``M(c1)`` is the probability
mass of outcomes starting with the bits ``c0`` / ``c1`` (qubit 0 most significant).
A uniformly controlled RY on ``2**k`` control values is ``2**k`` RY gates interleaved with
``2**k`` CX gates whose controls follow a Gray code; the RY angles are

    α_i = 2**-k · Σ_c (-1)^{popcount(c & gray(i))} · θ_k(c),

a Walsh–Hadamard transform of θ_k taken at Gray-code positions. Computing it with the fast
transform costs O(k·2**k) per level, O(n·2**n) per row, instead of the O(4**n) of building
and applying the matrix. The whole tree has ``2**n - 1`` RY and ``2**n - 2`` CX gates.

Example:
    >>> import numpy as np
    >>> from qtcore import amplitude_encoding
    >>> c = amplitude_encoding(np.array([[0.1, 0.2, 0.3, 0.4]]))[0]
    >>> c.n_qubits, c.count_ops()
    (2, {'ry': 3, 'cx': 2})
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from qtcore.circuit import Circuit, Gate, Parameter
from qtcore.errors import InvalidInput
from qtcore.validation import validate_distributions

__all__ = [
    "EncodingTemplate",
    "amplitude_encoding",
    "encoding_angles",
    "encoding_angles_naive",
    "encoding_template",
    "gray_code",
    "sign_matrix",
]

MAX_ENCODING_QUBITS = 24


def gray_code(m: int) -> np.ndarray:
    """The reflected binary Gray code ``i ^ (i >> 1)`` for ``i < m``.

    Example:
        >>> from qtcore.encoding import gray_code
        >>> gray_code(4).tolist()
        [0, 1, 3, 2]
    """
    i = np.arange(m, dtype=np.int64)
    return i ^ (i >> 1)


def sign_matrix(k: int) -> np.ndarray:
    """The matrix ``M[c, i] = (-1)^{popcount(c & gray(i))}`` with θ_k = M·α_k (2**k × 2**k).

    Example:
        >>> from qtcore.encoding import sign_matrix
        >>> sign_matrix(1).tolist()
        [[1.0, 1.0], [1.0, -1.0]]
    """
    m = 2**k
    bits = np.arange(m)[:, None] & gray_code(m)[None, :]
    parity = np.zeros_like(bits)
    while np.any(bits):
        parity ^= bits & 1
        bits >>= 1
    return np.where(parity == 1, -1.0, 1.0)


_RADIX_BITS = 5


@cache
def _hadamard(bits: int) -> np.ndarray:
    h = np.array([[1.0]])
    for _ in range(bits):
        h = np.block([[h, h], [h, -h]])
    return h


def _fwht(x: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh–Hadamard transform along the last axis (length 2**k).

    H_k = H_1^{⊗k}, applied a block of up to five bits at a time as a 32×32 matmul: O(2**k·32)
    per row in ⌈k/5⌉ passes, instead of k memory-bound butterfly passes.
    """
    out = np.array(x, dtype=np.float64, copy=True)
    lead = out.shape[:-1]
    k = out.shape[-1].bit_length() - 1
    done = 0
    while done < k:
        r = min(_RADIX_BITS, k - done)
        # bits [done, done + r) counted from the least significant end of the index
        view = out.reshape(-1, 2 ** (k - done - r), 2**r, 2**done)
        out = np.matmul(_hadamard(r), view).reshape(*lead, 2**k)
        done += r
    return out


def _level_halves(P: np.ndarray) -> list[np.ndarray]:
    """For each level k, the masses (B, 2**k, 2) of the two halves under every prefix.

    Built bottom-up by summing pairs, O(B·2**n) in all rather than O(n·B·2**n).
    """
    batch, width = P.shape
    n = width.bit_length() - 1
    halves: list[np.ndarray] = [np.empty(0)] * n
    masses = np.clip(P, 0.0, None)
    for k in range(n - 1, -1, -1):
        pairs = masses.reshape(batch, 2**k, 2)
        halves[k] = pairs
        masses = pairs.sum(axis=-1)
    return halves


def _level_thetas(P: np.ndarray, n: int, k: int) -> np.ndarray:
    """θ_k(c) for every prefix c of length k: shape (B, 2**k)."""
    halves = P.reshape(P.shape[0], 2**k, 2, 2 ** (n - k - 1)).sum(axis=-1)
    return _thetas_from_halves(halves)


def _thetas_from_halves(halves: np.ndarray) -> np.ndarray:
    halves = np.clip(halves, 0.0, None)
    theta: np.ndarray = 2.0 * np.arctan2(np.sqrt(halves[..., 1]), np.sqrt(halves[..., 0]))
    return theta


def _angles_from_padded(P: np.ndarray) -> np.ndarray:
    batch = P.shape[0]
    levels = []
    for k, halves in enumerate(_level_halves(P)):
        theta = _thetas_from_halves(halves)
        m = 2**k
        alpha = _fwht(theta) if k else theta
        levels.append(alpha[:, gray_code(m)] / m if k else alpha)
    return np.concatenate(levels, axis=1) if levels else np.zeros((batch, 0))


def encoding_angles(P: Any) -> np.ndarray:
    """The RY angles of the Möttönen tree for every row of P, in template slot order.

    Args:
        P: (B, N) probabilities (validated; rows padded to ``2**n``).

    Returns:
        float64 array (B, 2**n - 1): the values for :attr:`EncodingTemplate.circuit`'s slots.

    Example:
        >>> import numpy as np
        >>> from qtcore import encoding_angles
        >>> np.round(encoding_angles([[0.5, 0.5]]), 6).tolist()   # RY(π/2)|0⟩ = |+⟩
        [[1.570796]]
    """
    return _angles_from_padded(validate_distributions(P))


def encoding_angles_naive(p: Any) -> np.ndarray:
    """The same angles as :func:`encoding_angles` for one row, by solving θ = M·α directly.

    Builds each level's ``2**k × 2**k`` sign matrix ``M[c, i] = (-1)^{popcount(c & gray(i))}``
    and solves the linear system: O(8**k) per level. It exists to check the fast path and
    to measure it (``benchmarks/bench_encoding.py``); do not use it for real work.

    Example:
        >>> import numpy as np
        >>> from qtcore.encoding import encoding_angles, encoding_angles_naive
        >>> p = np.array([0.1, 0.2, 0.3, 0.15, 0.05, 0.1, 0.05, 0.05])
        >>> bool(np.allclose(encoding_angles_naive(p), encoding_angles(p[None])[0]))
        True
    """
    P = validate_distributions(np.asarray(p)[None, :])
    n = P.shape[1].bit_length() - 1
    out = []
    for k in range(n):
        theta = _level_thetas(P, n, k)[0]
        M = sign_matrix(k)
        out.append(np.asarray(np.linalg.solve(M, theta)))
    return np.concatenate(out)


@dataclass(frozen=True)
class EncodingTemplate:
    """The amplitude-encoding circuit for ``n_qubits`` with one parameter slot per RY.

    Plugins compile :attr:`circuit` once per ``n`` and bind :meth:`angles` row by row.

    Example:
        >>> import numpy as np
        >>> from qtcore import encoding_template
        >>> t = encoding_template(3)
        >>> t.circuit.num_parameters, t.angles(np.full((2, 8), 1 / 8)).shape
        (7, (2, 7))
    """

    n_qubits: int
    circuit: Circuit

    @property
    def num_parameters(self) -> int:
        """``2**n_qubits - 1``."""
        return int(2**self.n_qubits - 1)

    def angles(self, P: Any, *, validated: bool = False) -> np.ndarray:
        """Slot values (B, 2**n - 1) for the rows of P (width ≤ 2**n, zero-padded).

        Args:
            P: (B, N) probabilities.
            validated: P is already the output of
                :func:`~qtcore.validation.validate_distributions` at width exactly
                ``2**n_qubits`` — as ``BackendBase`` hands it to ``_sample_distributions`` —
                so it is not checked again.

        Raises:
            InvalidInput: P is invalid, or needs more qubits than this template has.

        Example:
            >>> import numpy as np
            >>> from qtcore import encoding_template, validate_distributions
            >>> t = encoding_template(2)
            >>> P = validate_distributions([[0.5, 0.5, 0.0]])
            >>> bool(np.array_equal(t.angles(P, validated=True), t.angles([[0.5, 0.5, 0.0]])))
            True
        """
        if validated:
            padded = np.asarray(P, dtype=np.float64)
            if padded.ndim != 2 or padded.shape[1] != 2**self.n_qubits:
                raise InvalidInput(
                    f"validated=True needs rows of width {2**self.n_qubits}, got shape "
                    f"{padded.shape}; pass validated=False to validate and pad"
                )
            return _angles_from_padded(padded)
        padded = validate_distributions(P)
        if padded.shape[1] > 2**self.n_qubits:
            raise InvalidInput(
                f"P has width {np.shape(P)[1]}, which needs more than the template's "
                f"{self.n_qubits} qubits; use encoding_template({padded.shape[1].bit_length() - 1})"
            )
        if padded.shape[1] < 2**self.n_qubits:
            padded = np.pad(padded, ((0, 0), (0, 2**self.n_qubits - padded.shape[1])))
        return _angles_from_padded(padded)

    def bind(self, angles: np.ndarray) -> list[Circuit]:
        """One concrete circuit per row of ``angles`` (B, 2**n - 1).

        Example:
            >>> import numpy as np
            >>> from qtcore import encoding_template
            >>> t = encoding_template(1)
            >>> t.bind(np.array([[0.25]]))[0].gates[0].params
            (0.25,)
        """
        angles = np.asarray(angles, dtype=np.float64)
        if angles.ndim != 2 or angles.shape[1] != self.num_parameters:
            raise InvalidInput(
                f"angles must have shape (B, {self.num_parameters}), got {angles.shape}"
            )
        return [_bind_trusted(self.circuit, row) for row in angles]


def _bind_trusted(template: Circuit, row: np.ndarray) -> Circuit:
    # Binding thousands of rows of 2**n gates: skip re-validating gates the template built.
    gates = []
    for g in template.gates:
        if g.params and isinstance(g.params[0], Parameter):
            slot = g.params[0]
            bound = object.__new__(Gate)
            object.__setattr__(bound, "name", g.name)
            object.__setattr__(bound, "qubits", g.qubits)
            object.__setattr__(bound, "params", (slot.scale * float(row[slot.index]),))
            gates.append(bound)
        else:
            gates.append(g)
    circuit = object.__new__(Circuit)
    object.__setattr__(circuit, "n_qubits", template.n_qubits)
    object.__setattr__(circuit, "gates", tuple(gates))
    return circuit


@cache
def encoding_template(n_qubits: int) -> EncodingTemplate:
    """The parameterised Möttönen circuit on ``n_qubits`` (see the module docstring).

    Raises:
        InvalidInput: ``n_qubits`` is not an integer in ``[1, 24]``.

    Example:
        >>> from qtcore import encoding_template
        >>> [g.name for g in encoding_template(2).circuit.gates]
        ['ry', 'ry', 'cx', 'ry', 'cx']
    """
    if (
        isinstance(n_qubits, bool)
        or not isinstance(n_qubits, int)
        or not (1 <= n_qubits <= MAX_ENCODING_QUBITS)
    ):
        raise InvalidInput(
            f"n_qubits must be an integer in [1, {MAX_ENCODING_QUBITS}], got {n_qubits!r}"
        )
    gates: list[Gate] = [Gate("ry", (0,), (Parameter(0),))]
    slot = 1
    for k in range(1, n_qubits):
        m = 2**k
        g = gray_code(m)
        for i in range(m):
            gates.append(Gate("ry", (k,), (Parameter(slot),)))
            slot += 1
            flipped = int(g[i] ^ g[(i + 1) % m])
            bit = flipped.bit_length() - 1
            gates.append(Gate("cx", (k - 1 - bit, k)))
    return EncodingTemplate(n_qubits, Circuit(n_qubits, tuple(gates)))


def amplitude_encoding(P: Any) -> list[Circuit]:
    """One Möttönen circuit per row of P, preparing ``Σ_j √P[b, j] |j⟩``.

    Args:
        P: (B, N) probabilities; rows are validated and zero-padded to ``2**n``,
            ``n = max(1, ceil(log2 N))``.

    Returns:
        B circuits on n qubits, each with ``2**n - 1`` RY and ``2**n - 2`` CX gates.

    Raises:
        InvalidInput: P is not a valid batch of distributions.

    Example:
        >>> import numpy as np
        >>> from qtcore import amplitude_encoding
        >>> [c.n_qubits for c in amplitude_encoding(np.full((2, 5), 0.2))]
        [3, 3]
    """
    padded = validate_distributions(P)
    n = padded.shape[1].bit_length() - 1
    template = encoding_template(n)
    return template.bind(_angles_from_padded(padded))
