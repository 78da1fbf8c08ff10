"""qtcore backends on Cirq's simulators: ``cirq.simulator`` and ``cirq.density_matrix``.

How a job runs:

1. Circuits are converted once per structure (:mod:`qtcore_cirq.convert`): the encoding
   template once per (n, noise) — without noise as ``n`` multiplexed RY operations
   (:class:`~qtcore_cirq.convert.MultiplexedRy`, one per level of the Möttönen tree, the
   same state as its ``2**n − 1`` RY and ``2**n − 2`` CX gates), with noise as the IR's RY
   and CX gates, after each of which the noise channels act — and ``run()``'s circuits
   grouped by gate sequence with their angles lifted into sympy symbols. Each row is a
   ``cirq.ParamResolver``.
2. One ``simulate_sweep_iter`` over those resolvers gives each row's final state vector
   (``cirq.Simulator``) or density matrix (``cirq.DensityMatrixSimulator``, with qtcore's
   noise channels in the circuit). Rows whose resolved circuits are identical are simulated
   once: the simulation of a fixed circuit is deterministic.
3. Each row is measured by Cirq's draw (``cirq.sample_state_vector`` /
   ``cirq.sample_density_matrix``: one ``choice`` over the final state's probabilities,
   counted without Cirq's per-shot bit loop, :func:`qtcore_cirq.convert.sample_counts`)
   under its own seeded stream,
   ``SeedSequence(seed, spawn_key=(row,))`` (:func:`qtcore.shots.row_generators`), so the same
   seed gives the same counts and row i's counts do not depend on the other rows. This is
   what ``cirq.Simulator.run`` does for terminal measurements (simulate once, sample the
   final state), with a stream per row instead of one per call.

Example:
    >>> import numpy as np
    >>> from qtcore_cirq.backend import CirqSimulatorBackend
    >>> backend = CirqSimulatorBackend()
    >>> backend.sample_distributions(np.array([[0.0, 0.0, 1.0, 0.0]]), shots=8, seed=1).tolist()
    [[0, 0, 8, 0]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import cirq
import numpy as np

from qtcore import (
    BackendBase,
    Capabilities,
    Circuit,
    Gate,
    NoiseModel,
    Parameter,
    encoding_template,
)
from qtcore.shots import row_generators
from qtcore.validation import validate_distributions
from qtcore_cirq.convert import (
    level_angles,
    line_qubits,
    multiplexed_template,
    outcome_probabilities,
    parameter_symbol,
    sample_counts,
    template_circuit,
    to_cirq,
)

__all__ = ["CirqBackend", "CirqDensityMatrixBackend", "CirqSimulatorBackend"]

_Structure = tuple[tuple[str, tuple[int, ...]], ...]


def _lift(circuit: Circuit) -> tuple[Circuit, list[float]]:
    """The circuit with every angle replaced by its own slot, and the angles in slot order."""
    gates, values = [], []
    for g in circuit.gates:
        if g.params:
            slots = tuple(Parameter(len(values) + k) for k in range(len(g.params)))
            values.extend(float(p) for p in g.params)
            gates.append(Gate(g.name, g.qubits, slots))
        else:
            gates.append(g)
    return Circuit(circuit.n_qubits, tuple(gates)), values


@lru_cache(maxsize=128)
def _compiled(template: Circuit, noise: NoiseModel | None) -> cirq.FrozenCircuit:
    return to_cirq(template, noise, measure=False).freeze()


class CirqBackend(BackendBase):
    """Common machinery of the Cirq backends; use a subclass.

    Args:
        dtype: the simulator's complex dtype. ``complex128`` (the default) keeps the exact
            probabilities within 1e-10 of ``reference`` (tested); ``complex64`` is Cirq's own
            default, single precision, and measured only ~10% faster at n = 7, where Cirq's
            per-gate overhead dominates.

    Raises:
        InvalidInput: ``dtype`` is not complex64 or complex128.

    Example:
        >>> import numpy as np
        >>> from qtcore_cirq.backend import CirqBackend, CirqSimulatorBackend
        >>> backend = CirqSimulatorBackend(dtype=np.complex64)
        >>> isinstance(backend, CirqBackend), backend.dtype.__name__
        (True, 'complex64')
    """

    def __init__(self, *, dtype: type = np.complex128) -> None:
        if np.dtype(dtype) not in (np.dtype(np.complex64), np.dtype(np.complex128)):
            from qtcore import InvalidInput

            raise InvalidInput(f"dtype must be numpy.complex64 or complex128, got {dtype!r}")
        self.dtype = np.dtype(dtype).type

    # -- what a subclass provides -----------------------------------------------------------
    def _simulator(self) -> Any:
        raise NotImplementedError

    def _final_state(self, result: Any) -> np.ndarray:
        raise NotImplementedError

    # -- the shared sweep -------------------------------------------------------------------
    def _sweep(
        self, circuit: cirq.AbstractCircuit, values: np.ndarray, n: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(rows, final state) for each distinct row of ``values`` (B, K): symbol k = column k."""
        if values.shape[1] == 0:
            unique, inverse = values[:1], np.zeros(values.shape[0], dtype=np.int64)
        else:
            unique, inverse = np.unique(values, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
        names = [parameter_symbol(k).name for k in range(values.shape[1])]
        resolvers = [cirq.ParamResolver(dict(zip(names, row.tolist()))) for row in unique]
        results = self._simulator().simulate_sweep_iter(
            circuit, params=resolvers, qubit_order=line_qubits(n)
        )
        order = np.argsort(inverse, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(inverse, minlength=len(unique)))[:-1])
        for rows, result in zip(members, results):
            yield rows, self._final_state(result)

    def _groups(
        self, circuits: Sequence[Circuit], noise: NoiseModel | None
    ) -> Iterator[tuple[np.ndarray, cirq.FrozenCircuit, np.ndarray]]:
        """(row indices, compiled circuit, angle table) per gate structure of ``circuits``."""
        groups: dict[_Structure, tuple[Circuit, list[int], list[list[float]]]] = {}
        for i, c in enumerate(circuits):
            template, values = _lift(c)
            key = tuple((g.name, g.qubits) for g in c.gates)
            groups.setdefault(key, (template, [], []))
            groups[key][1].append(i)
            groups[key][2].append(values)
        for template, rows, table in groups.values():
            values = np.asarray(table, dtype=np.float64).reshape(len(rows), -1)
            yield np.asarray(rows), _compiled(template, noise), values

    # -- BackendBase hooks ------------------------------------------------------------------
    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        n = circuits[0].n_qubits
        rngs = row_generators(seed, len(circuits))
        out = np.zeros((len(circuits), 2**n), dtype=np.int64)
        for rows, circuit, values in self._groups(circuits, noise):
            for members, state in self._sweep(circuit, values, n):
                for i in rows[members]:
                    out[i] = sample_counts(state, n, shots, rngs[i])
        return out

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        n = P.shape[1].bit_length() - 1
        if noise is None:
            # One multiplexed RY per level: the same state in n operations per row.
            circuit, angles = multiplexed_template(n), level_angles(P)
        else:
            # Noise acts after each RY and CX of the IR template, so that form is kept.
            circuit = template_circuit(n, noise)
            angles = encoding_template(n).angles(P, validated=True)
        rngs = row_generators(seed, P.shape[0])
        out = np.zeros((P.shape[0], 2**n), dtype=np.int64)
        for members, state in self._sweep(circuit, angles, n):
            for i in members:
                out[i] = sample_counts(state, n, shots, rngs[i])
        return out

    # -- exact probabilities --------------------------------------------------------------
    def probabilities(
        self, circuits: Sequence[Circuit], noise: NoiseModel | None = None
    ) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) float64 of the simulator's final states.

        Raises:
            InvalidInput, CapabilityError: as :meth:`run`.

        Example:
            >>> from qtcore import Circuit, Gate
            >>> from qtcore_cirq.backend import CirqSimulatorBackend
            >>> c = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
            >>> CirqSimulatorBackend().probabilities([c]).round(6).tolist()
            [[0.5, 0.0, 0.0, 0.5]]
        """
        _, _, noise = self._check_common(1, None, noise)
        circuits = list(circuits)
        if not circuits:
            return np.zeros((0, 0))
        n = self._check_circuits(circuits)
        out = np.zeros((len(circuits), 2**n))
        for rows, circuit, values in self._groups(circuits, noise):
            for members, state in self._sweep(circuit, values, n):
                out[rows[members]] = outcome_probabilities(state, n)
        return out

    def distribution_probabilities(self, P: Any, noise: NoiseModel | None = None) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) of the encoding template run on each row of P.

        Example:
            >>> import numpy as np
            >>> from qtcore_cirq.backend import CirqSimulatorBackend
            >>> CirqSimulatorBackend().distribution_probabilities([[0.3, 0.7]]).round(6)
            array([[0.3, 0.7]])
        """
        _, _, noise = self._check_common(1, None, noise)
        padded = validate_distributions(P)
        n = padded.shape[1].bit_length() - 1
        self._check_width(n)
        out = np.zeros(padded.shape)
        if padded.shape[0] == 0:
            return out
        angles = encoding_template(n).angles(padded, validated=True)
        for members, state in self._sweep(template_circuit(n, noise), angles, n):
            out[members] = outcome_probabilities(state, n)
        return out


class CirqSimulatorBackend(CirqBackend):
    """``cirq.simulator``: ``cirq.Simulator`` (state vector), noiseless, up to 16 qubits.

    A :class:`~qtcore.NoiseModel` with any non-zero rate raises
    :class:`~qtcore.CapabilityError`; use ``cirq.density_matrix`` for noise.

    Example:
        >>> import qtcore
        >>> from qtcore_cirq.backend import CirqSimulatorBackend
        >>> try:
        ...     CirqSimulatorBackend().sample_distributions(
        ...         [[1.0, 0.0]], shots=1, noise=qtcore.NoiseModel(readout=0.1))
        ... except qtcore.CapabilityError:
        ...     print("no noise")
        no noise
    """

    name = "cirq.simulator"
    capabilities = Capabilities(
        max_qubits=16,
        noise=False,
        parameter_binding=True,
        exact_probabilities=True,
    )

    def _simulator(self) -> cirq.Simulator:
        # Encoding circuits entangle every qubit, so tracking separable factors only costs.
        return cirq.Simulator(dtype=self.dtype, split_untangled_states=False)

    def _final_state(self, result: Any) -> np.ndarray:
        state: np.ndarray = result.final_state_vector
        return state


class CirqDensityMatrixBackend(CirqBackend):
    """``cirq.density_matrix``: ``cirq.DensityMatrixSimulator`` with qtcore's noise, ≤ 10 qubits.

    Noise is qtcore's convention (:mod:`qtcore_cirq.noise`): ``cirq.depolarize`` after every
    gate on its qubits, ``cirq.bit_flip`` on every qubit before measurement.

    Example:
        >>> from qtcore import Circuit, Gate, NoiseModel
        >>> from qtcore_cirq.backend import CirqDensityMatrixBackend
        >>> c = Circuit(1, (Gate("x", (0,)),))
        >>> p = CirqDensityMatrixBackend().probabilities([c], NoiseModel(depolarizing_1q=0.3))
        >>> p.round(6).tolist()                 # X or Y after the gate flips back: 2p/3
        [[0.2, 0.8]]
    """

    name = "cirq.density_matrix"
    capabilities = Capabilities(
        max_qubits=10,
        noise=True,
        parameter_binding=True,
        exact_probabilities=True,
    )

    def _simulator(self) -> cirq.DensityMatrixSimulator:
        return cirq.DensityMatrixSimulator(dtype=self.dtype, split_untangled_states=False)

    def _final_state(self, result: Any) -> np.ndarray:
        rho: np.ndarray = result.final_density_matrix
        return rho
