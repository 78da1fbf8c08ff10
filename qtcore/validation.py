"""Input validation at the API boundary, shared by the core and every plugin.

Nothing is silently fixed: NaN, inf, negative entries or rows that do not sum to 1 raise
:class:`~qtcore.InvalidInput`. The one documented adjustment is that a row whose sum is
within :data:`NORMALIZATION_ATOL` of 1 is divided by its sum (float round-off), and that rows
of width N are padded with zero probabilities to ``2**n_qubits(N)``.

Example:
    >>> import numpy as np
    >>> from qtcore.validation import validate_distributions
    >>> validate_distributions(np.array([[0.5, 0.25, 0.25]])).shape
    (1, 4)
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from qtcore.errors import InvalidInput

__all__ = [
    "NORMALIZATION_ATOL",
    "num_qubits_for",
    "validate_distributions",
    "validate_seed",
    "validate_shots",
]

#: Rows may differ from a sum of 1 by this much (float32 input: ``1e-4``, since summing
#: a thousand float32 values loses about that much). Larger deviations raise.
NORMALIZATION_ATOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}


def num_qubits_for(width: int) -> int:
    """Qubits needed to amplitude-encode ``width`` outcomes: ``max(1, ceil(log2(width)))``.

    Example:
        >>> from qtcore.validation import num_qubits_for
        >>> [num_qubits_for(w) for w in (1, 2, 3, 4, 5, 1024)]
        [1, 1, 2, 2, 3, 10]
    """
    if width < 1:
        raise InvalidInput(f"a distribution needs at least one outcome, got width {width}")
    return max(1, int(width - 1).bit_length())


def validate_distributions(P: Any) -> np.ndarray:
    """Check a batch of probability rows and return it as float64 of width ``2**n``.

    Args:
        P: array-like of shape (B, N): non-negative, finite, each row summing to 1.
            B may be 0. Rows are zero-padded to the next power of two (at least 2).

    Returns:
        A new float64 array (B, 2**n); the input is never modified.

    Raises:
        InvalidInput: wrong rank, non-numeric, NaN/inf, negative entries, or a row whose
            sum is off 1 by more than :data:`NORMALIZATION_ATOL`.

    Example:
        >>> import numpy as np
        >>> from qtcore.validation import validate_distributions
        >>> validate_distributions([[1.0]])
        array([[1., 0.]])
    """
    arr = np.asarray(P)
    if (
        arr.dtype == object
        or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer))
        or arr.dtype == np.bool_
    ):
        raise InvalidInput(f"P must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidInput(
            f"P must have shape (batch, N), got shape {arr.shape}; wrap a single row as P[None, :]"
        )
    batch, width = arr.shape
    if width < 1:
        raise InvalidInput("P has zero columns; each row needs at least one outcome")
    atol = NORMALIZATION_ATOL.get(arr.dtype, 1e-6)
    out = arr.astype(np.float64, copy=True)
    if not np.all(np.isfinite(out)):
        bad = np.argwhere(~np.isfinite(out))[0]
        raise InvalidInput(f"P has a non-finite entry {out[tuple(bad)]} at {tuple(bad)}")
    if np.any(out < 0):
        bad = np.argwhere(out < 0)[0]
        raise InvalidInput(
            f"P has a negative entry {out[tuple(bad)]:g} at {tuple(int(i) for i in bad)}; "
            "probabilities must be ≥ 0"
        )
    sums = out.sum(axis=1)
    off = np.abs(sums - 1.0) > atol
    if np.any(off):
        row = int(np.argmax(off))
        raise InvalidInput(
            f"row {row} of P sums to {sums[row]!r}, not 1 (tolerance {atol:g}); "
            "normalise the rows (P / P.sum(axis=1, keepdims=True)) before sampling"
        )
    if batch:
        out /= sums[:, None]
    n = num_qubits_for(width)
    if width < 2**n:
        out = np.concatenate([out, np.zeros((batch, 2**n - width))], axis=1)
    return out


def validate_shots(shots: Any, max_shots: int | None = None) -> int:
    """Check a shot count: an integer ≥ 1 (and ≤ ``max_shots`` when given).

    Example:
        >>> from qtcore.validation import validate_shots
        >>> validate_shots(32)
        32
    """
    if isinstance(shots, bool) or not isinstance(shots, numbers.Integral):
        raise InvalidInput(f"shots must be a positive integer, got {shots!r}")
    value = int(shots)
    if value < 1:
        raise InvalidInput(f"shots must be ≥ 1, got {value}")
    if max_shots is not None and value > max_shots:
        from qtcore.errors import CapabilityError

        raise CapabilityError(
            f"shots={value} exceeds this backend's max_shots={max_shots}; "
            "split the job or lower shots"
        )
    return value


def validate_seed(seed: Any) -> int | None:
    """Check a seed: ``None`` or an integer ≥ 0.

    Example:
        >>> from qtcore.validation import validate_seed
        >>> validate_seed(7), validate_seed(None)
        (7, None)
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInput(f"seed must be None or an integer ≥ 0, got {seed!r}")
    return int(seed)
