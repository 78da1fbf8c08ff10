"""Exact numpy simulation of the IR: batched statevectors and density matrices.

The state of B circuits of identical structure (same gates and qubits, per-row angles) is
one array: statevectors (B, 2, …, 2) with n qubit axes, density matrices (B, 2, …, 2) with
2n axes (rows, then columns). Axis ``1 + q`` is qubit ``q``, so flattening gives big-endian
outcome indices. Noise follows :mod:`qtcore.noise`; the depolarizing channels are applied in
their partial-trace form, ``(1 - 4p/3)ρ + (4p/3)·I/2 ⊗ Tr_q ρ`` for one qubit and
``(1 - 16p/15)ρ + (16p/15)·I/4 ⊗ Tr_ab ρ`` for two, which equal the Pauli-sum definitions.

Example:
    >>> import numpy as np
    >>> from qtcore import Circuit, Gate
    >>> from qtcore.simulator import probabilities
    >>> probabilities([Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))]).round(3).tolist()
    [[0.5, 0.0, 0.0, 0.5]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qtcore.circuit import Circuit, Parameter
from qtcore.errors import InvalidInput
from qtcore.noise import NoiseModel, normalize_noise

__all__ = ["gate_matrices", "probabilities", "statevectors"]

_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)


def gate_matrices(name: str, theta: np.ndarray) -> np.ndarray:
    """Matrices (B, 2, 2) of a one-qubit gate for a batch of angles (B,).

    Example:
        >>> import numpy as np
        >>> from qtcore.simulator import gate_matrices
        >>> gate_matrices("ry", np.array([np.pi])).real.round(6).tolist()
        [[[0.0, -1.0], [1.0, 0.0]]]
    """
    theta = np.asarray(theta, dtype=np.float64)
    B = theta.shape[0]
    if name == "h":
        return np.broadcast_to(_H, (B, 2, 2))
    if name == "x":
        return np.broadcast_to(_X, (B, 2, 2))
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    m = np.zeros((B, 2, 2), dtype=np.complex128)
    if name == "ry":
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    elif name == "rx":
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -1j * s, -1j * s, c
    elif name == "rz":
        m[:, 0, 0], m[:, 1, 1] = np.exp(-0.5j * theta), np.exp(0.5j * theta)
    else:
        raise InvalidInput(f"{name!r} is not a one-qubit gate")
    return m


def _apply_1q(state: np.ndarray, axis: int, m: np.ndarray) -> np.ndarray:
    moved = np.moveaxis(state, axis, -1)
    out = np.einsum("bij,b...j->b...i", m, moved)
    return np.moveaxis(out, -1, axis)


def _apply_cx(state: np.ndarray, ctrl: int, tgt: int) -> np.ndarray:
    state = state.copy()
    idx: list[slice | int] = [slice(None)] * state.ndim
    idx[ctrl] = 1
    sub_axis = tgt - 1 if tgt > ctrl else tgt
    state[tuple(idx)] = np.flip(state[tuple(idx)], axis=sub_axis)
    return state


def _apply_cz(state: np.ndarray, a: int, b: int) -> np.ndarray:
    state = state.copy()
    idx: list[slice | int] = [slice(None)] * state.ndim
    idx[a] = 1
    idx[b] = 1
    state[tuple(idx)] *= -1
    return state


def _depolarize(rho: np.ndarray, n: int, qubits: tuple[int, ...], p: float) -> np.ndarray:
    k = len(qubits)
    lam = p * 4**k / (4**k - 1)
    rows = [1 + q for q in qubits]
    cols = [1 + n + q for q in qubits]
    moved = np.moveaxis(rho, rows + cols, list(range(-2 * k, 0)))
    dim = 2**k
    flat = moved.reshape(*moved.shape[: -2 * k], dim, dim)
    trace = np.einsum("...ii->...", flat)
    out = (1 - lam) * flat
    eye = np.eye(dim) / dim
    out = out + lam * trace[..., None, None] * eye
    out = out.reshape(moved.shape)
    return np.moveaxis(out, list(range(-2 * k, 0)), rows + cols)


def _structure(circuit: Circuit) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple((g.name, g.qubits) for g in circuit.gates)


def _angle_table(circuits: Sequence[Circuit]) -> list[np.ndarray]:
    """Per gate, the angles of that gate across the batch (empty for fixed gates)."""
    first = circuits[0]
    table: list[np.ndarray] = []
    for j, g in enumerate(first.gates):
        if not g.params:
            table.append(np.zeros(0))
            continue
        vals = []
        for c in circuits:
            p = c.gates[j].params[0]
            if isinstance(p, Parameter):
                raise InvalidInput(
                    f"gate {j} ({g.name}) still has parameter slot {p.index}: bind the "
                    "circuit (Circuit.bind) before running it"
                )
            vals.append(p)
        table.append(np.asarray(vals, dtype=np.float64))
    return table


def _evolve_pure(circuits: Sequence[Circuit], angles: list[np.ndarray]) -> np.ndarray:
    """Statevectors (B, 2**n) of circuits that share one structure."""
    n = circuits[0].n_qubits
    B = len(circuits)
    state = np.zeros((B,) + (2,) * n, dtype=np.complex128)
    state[(slice(None),) + (0,) * n] = 1.0
    for g, theta in zip(circuits[0].gates, angles):
        axes = [1 + q for q in g.qubits]
        if g.name == "cx":
            state = _apply_cx(state, axes[0], axes[1])
        elif g.name == "cz":
            state = _apply_cz(state, axes[0], axes[1])
        else:
            m = gate_matrices(g.name, theta if theta.size else np.zeros(B))
            state = _apply_1q(state, axes[0], m)
    return state.reshape(B, 2**n)


def _simulate_group(circuits: Sequence[Circuit], noise: NoiseModel | None) -> np.ndarray:
    """Probabilities (B, 2**n) of circuits that share one structure."""
    n = circuits[0].n_qubits
    B = len(circuits)
    angles = _angle_table(circuits)
    if noise is None:
        probs: np.ndarray = np.abs(_evolve_pure(circuits, angles)) ** 2
        return probs
    rho = np.zeros((B,) + (2,) * (2 * n), dtype=np.complex128)
    rho[(slice(None),) + (0,) * (2 * n)] = 1.0
    for g, theta in zip(circuits[0].gates, angles):
        rows = [1 + q for q in g.qubits]
        cols = [1 + n + q for q in g.qubits]
        if g.name == "cx":
            rho = _apply_cx(_apply_cx(rho, rows[0], rows[1]), cols[0], cols[1])
        elif g.name == "cz":
            rho = _apply_cz(_apply_cz(rho, rows[0], rows[1]), cols[0], cols[1])
        else:
            m = gate_matrices(g.name, theta if theta.size else np.zeros(B))
            rho = _apply_1q(_apply_1q(rho, rows[0], m), cols[0], m.conj())
        p = noise.gate_error(len(g.qubits))
        if p:
            rho = _depolarize(rho, n, g.qubits, p)
    diag = np.einsum("bii->bi", rho.reshape(B, 2**n, 2**n)).real
    probs = np.clip(diag, 0.0, None)
    if noise.readout:
        r = noise.readout
        flip = np.array([[1 - r, r], [r, 1 - r]])
        t = probs.reshape((B,) + (2,) * n)
        for q in range(n):
            t = np.moveaxis(np.tensordot(t, flip, axes=([1 + q], [0])), -1, 1 + q)
        probs = t.reshape(B, 2**n)
    return probs


def _chunk_rows(n: int, noisy: bool) -> int:
    # Keep one chunk's state under ~2**23 complex numbers (128 MiB).
    per_row = 4**n if noisy else 2**n
    return int(max(1, 2**23 // per_row))


def probabilities(circuits: Sequence[Circuit], noise: NoiseModel | None = None) -> np.ndarray:
    """Exact outcome probabilities (B, 2**n) of circuits on the same number of qubits.

    Circuits that share a structure are simulated together, in chunks that bound memory.

    Raises:
        InvalidInput: circuits differ in ``n_qubits`` or have unbound parameters.

    Example:
        >>> from qtcore import Circuit, Gate, NoiseModel
        >>> from qtcore.simulator import probabilities
        >>> p = probabilities([Circuit(1, (Gate("x", (0,)),))], NoiseModel(readout=0.1))
        >>> p.round(6).tolist()
        [[0.1, 0.9]]
    """
    circuits = list(circuits)
    if not circuits:
        return np.zeros((0, 0))
    noise = normalize_noise(noise)
    n, chunks = _grouped(circuits, noisy=noise is not None)
    out = np.zeros((len(circuits), 2**n))
    for chunk in chunks:
        out[chunk] = _simulate_group([circuits[i] for i in chunk], noise)
    return out


def _grouped(circuits: Sequence[Circuit], noisy: bool) -> tuple[int, list[list[int]]]:
    """Check widths and split row indices into same-structure chunks that bound memory."""
    n = circuits[0].n_qubits
    if any(c.n_qubits != n for c in circuits):
        raise InvalidInput(
            "all circuits in one call must have the same n_qubits; got "
            f"{sorted({c.n_qubits for c in circuits})}. Split the batch by width."
        )
    groups: dict[tuple[tuple[str, tuple[int, ...]], ...], list[int]] = {}
    for i, c in enumerate(circuits):
        groups.setdefault(_structure(c), []).append(i)
    step = _chunk_rows(n, noisy)
    chunks = [rows[s : s + step] for rows in groups.values() for s in range(0, len(rows), step)]
    return n, chunks


def statevectors(circuits: Sequence[Circuit]) -> np.ndarray:
    """Final statevectors (B, 2**n) complex128 of noiseless circuits (big-endian index).

    Example:
        >>> import numpy as np
        >>> from qtcore import amplitude_encoding
        >>> from qtcore.simulator import statevectors
        >>> sv = statevectors(amplitude_encoding(np.array([[0.25, 0.75]])))
        >>> np.round(sv.real, 6).tolist()
        [[0.5, 0.866025]]
    """
    circuits = list(circuits)
    if not circuits:
        return np.zeros((0, 0), dtype=np.complex128)
    n, chunks = _grouped(circuits, noisy=False)
    out = np.zeros((len(circuits), 2**n), dtype=np.complex128)
    for chunk in chunks:
        group = [circuits[i] for i in chunk]
        out[chunk] = _evolve_pure(group, _angle_table(group))
    return out
