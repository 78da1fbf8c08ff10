"""``BackendBase``: validation and the default amplitude-encoding path, shared by backends.

A backend author subclasses it, sets ``name`` and ``capabilities``, and implements
``_run`` (and, for speed, ``_sample_distributions``). The public ``run`` and
``sample_distributions`` validate every input first and check what ``_run`` returns, so a
plugin never sees a bad input and never hands back a malformed result.

Example:
    >>> import numpy as np
    >>> import qtcore
    >>> class Exact(qtcore.BackendBase):
    ...     name = "doc.exact"
    ...     capabilities = qtcore.Capabilities(max_qubits=4)
    ...     def _run(self, circuits, *, shots, seed, noise):
    ...         from qtcore.simulator import probabilities
    ...         from qtcore.shots import sample_counts
    ...         return sample_counts(probabilities(circuits), shots, seed)
    >>> Exact().sample_distributions(np.array([[0.0, 1.0]]), shots=8, seed=0).tolist()
    [[0, 8]]
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from qtcore.chunking import run_chunked, validate_chunking
from qtcore.circuit import Circuit, Parameter
from qtcore.encoding import encoding_template
from qtcore.errors import BackendError, CapabilityError, InvalidInput
from qtcore.noise import NoiseModel, normalize_noise
from qtcore.types import Capabilities
from qtcore.validation import validate_distributions, validate_seed, validate_shots

__all__ = ["BackendBase"]


class BackendBase:
    """Base class for backends: subclass, set ``name``/``capabilities``, implement ``_run``.

    ``_run(circuits, *, shots, seed, noise)`` receives a non-empty list of validated circuits
    on one width, ``shots`` ≥ 1, ``seed`` None or int ≥ 0, and ``noise`` None or a non-trivial
    :class:`~qtcore.NoiseModel` (only when ``capabilities.noise``). It returns counts
    (B, 2**n) with big-endian outcome indices.
    """

    name: str = ""
    capabilities: Capabilities

    # -- the public contract -------------------------------------------------------------
    def run(
        self,
        circuits: Sequence[Circuit],
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
        executor: Executor | None = None,
        chunk_size: int | None = None,
    ) -> np.ndarray:
        """Run circuits and return counts (B, 2**n) int64; each row sums to ``shots``.

        Args:
            circuits: circuits on one number of qubits, every parameter bound.
            shots: measurements per circuit, ≥ 1.
            seed: None for fresh randomness, or an int ≥ 0: the same seed gives the same
                counts, and row i's counts do not depend on the other rows.
            noise: a :class:`~qtcore.NoiseModel`, if the backend declares ``noise``.
            executor: a ``concurrent.futures.Executor`` (a thread or process pool, Dask's
                ``Client.get_executor()``): the batch runs as chunks of ``chunk_size`` rows
                in parallel, reassembled in order. With a seed, a ``row_seeded`` backend
                gives exactly the counts of a call without an executor, for any chunk size;
                another gives the same counts for the same chunk size (see
                :mod:`qtcore.chunking`).
            chunk_size: rows per chunk; default ``ceil(B / workers)`` (the executor's
                workers where it says, else ``os.cpu_count()``).

        Returns:
            int64 (B, 2**n); ``(0, 0)`` for an empty list.

        Raises:
            InvalidInput: bad circuits, shots, seed, executor or chunk_size.
            CapabilityError: too many qubits, a gate or noise the backend does not support.
            BackendError: the backend failed; with an executor, a chunk failed or its worker
                was lost for good (the message names the chunk's rows).
        """
        shots, seed, noise = self._check_common(shots, seed, noise)
        if executor is not None:
            chunk_size = validate_chunking(executor, chunk_size)
        circuits = list(circuits)
        if not circuits:
            return np.zeros((0, 0), dtype=np.int64)
        n = self._check_circuits(circuits)
        if executor is not None:
            return run_chunked(
                self,
                "run",
                circuits,
                n,
                shots=shots,
                seed=seed,
                noise=noise,
                executor=executor,
                chunk_size=chunk_size,
            )
        counts = self._run(circuits, shots=shots, seed=seed, noise=noise)
        return self._check_counts(counts, len(circuits), n, shots)

    def sample_distributions(
        self,
        P: Any,
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
        executor: Executor | None = None,
        chunk_size: int | None = None,
    ) -> np.ndarray:
        """Measure ``amplitude_encoding(P)``: counts (B, 2**n) int64, ``n = ceil(log2 N)``.

        Args:
            P: (B, N) probabilities; see :func:`qtcore.validation.validate_distributions`.
            shots, seed, noise, executor, chunk_size: as in :meth:`run`.

        Raises:
            InvalidInput: P invalid (NaN, negative, rows not summing to 1, wrong rank), or a
                bad executor or chunk_size.
            CapabilityError: ``n`` above ``capabilities.max_qubits``, or unsupported noise.
            BackendError: as in :meth:`run`.
        """
        shots, seed, noise = self._check_common(shots, seed, noise)
        if executor is not None:
            chunk_size = validate_chunking(executor, chunk_size)
        padded = validate_distributions(P)
        n = padded.shape[1].bit_length() - 1
        self._check_width(n)
        if padded.shape[0] == 0:
            return np.zeros((0, 2**n), dtype=np.int64)
        if executor is not None:
            return run_chunked(
                self,
                "sample",
                padded,
                n,
                shots=shots,
                seed=seed,
                noise=noise,
                executor=executor,
                chunk_size=chunk_size,
            )
        counts = self._sample_distributions(padded, shots=shots, seed=seed, noise=noise)
        return self._check_counts(counts, padded.shape[0], n, shots)

    def _seeds_rows(self, kind: str) -> bool:
        """Whether chunks of this call can be seeded by row: ``row_seeded`` is declared and
        the method that will run (``_run`` for the default sample path) takes ``row_offset``.

        The signature is checked because a subclass may inherit ``row_seeded=True`` (from
        :class:`~qtcore.reference.ReferenceBackend`, say) yet override the method without
        ``row_offset``: its chunks then get derived seeds instead of failing.
        """
        if not self.capabilities.row_seeded:
            return False
        default_path = kind == "sample" and not _overrides(self, "_sample_distributions")
        name = "_run" if kind == "run" or default_path else "_sample_distributions"
        parameters = inspect.signature(getattr(self, name)).parameters.values()
        return any(
            p.name == "row_offset" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
        )

    def _execute(
        self,
        kind: str,
        payload: Any,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int | None,
    ) -> np.ndarray:
        """One chunk of an executor call (validated inputs): ``_run`` or
        ``_sample_distributions``, told ``row_offset`` unless it is None (see
        :meth:`_seeds_rows`).
        """
        extra = {} if row_offset is None else {"row_offset": row_offset}
        if extra and kind == "sample" and not _overrides(self, "_sample_distributions"):
            # The default path is _run on the encoded circuits; row_offset goes there.
            kind, payload = "run", _encode(payload)
        if kind == "run":
            counts = self._run(payload, shots=shots, seed=seed, noise=noise, **extra)
        else:
            counts = self._sample_distributions(
                payload, shots=shots, seed=seed, noise=noise, **extra
            )
        return np.asarray(counts)

    # -- what subclasses implement --------------------------------------------------------
    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _run")

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        """Default: bind the encoding template per row and :meth:`_run` the circuits."""
        return self._run(_encode(P), shots=shots, seed=seed, noise=noise)

    # -- checks ---------------------------------------------------------------------------
    def _check_common(
        self, shots: Any, seed: Any, noise: Any
    ) -> tuple[int, int | None, NoiseModel | None]:
        shots = validate_shots(shots, self.capabilities.max_shots)
        seed = validate_seed(seed)
        noise = normalize_noise(noise)
        if noise is not None and not self.capabilities.noise:
            raise CapabilityError(
                f"backend {self.name!r} does not model noise; pass noise=None or choose a "
                "backend whose capabilities include noise (qtcore backends lists them)"
            )
        return shots, seed, noise

    def _check_width(self, n: int) -> None:
        if n > self.capabilities.max_qubits:
            raise CapabilityError(
                f"backend {self.name!r} runs at most {self.capabilities.max_qubits} qubits, "
                f"this job needs {n}; use fewer keys per row or another backend"
            )

    def _check_circuits(self, circuits: list[Circuit]) -> int:
        for c in circuits:
            if not isinstance(c, Circuit):
                raise InvalidInput(f"run() takes qtcore.Circuit objects, got {type(c).__name__}")
        n = circuits[0].n_qubits
        if any(c.n_qubits != n for c in circuits):
            raise InvalidInput(
                "all circuits in one run() call must have the same n_qubits, got "
                f"{sorted({c.n_qubits for c in circuits})}; split the batch by width"
            )
        self._check_width(n)
        allowed = self.capabilities.gates
        for c in circuits:
            for g in c.gates:
                if g.name not in allowed:
                    raise CapabilityError(
                        f"backend {self.name!r} does not support gate {g.name!r}; "
                        f"it supports {sorted(allowed)}"
                    )
                if any(isinstance(p, Parameter) for p in g.params):
                    raise InvalidInput(
                        f"gate {g.name}{g.qubits} has an unbound parameter; call "
                        "Circuit.bind(values) before run()"
                    )
        return n

    def _check_counts(self, counts: Any, batch: int, n: int, shots: int) -> np.ndarray:
        arr = np.asarray(counts)
        if arr.shape != (batch, 2**n):
            raise BackendError(
                f"backend {self.name!r} returned counts of shape {arr.shape}, expected "
                f"{(batch, 2**n)}: this is a bug in the backend plugin"
            )
        if not np.issubdtype(arr.dtype, np.integer):
            raise BackendError(f"backend {self.name!r} returned {arr.dtype} counts, not integers")
        # a copy: never hand back a plugin's internal buffer
        arr = np.array(arr, dtype=np.int64, copy=True)
        if np.any(arr < 0) or np.any(arr.sum(axis=1) != shots):
            raise BackendError(
                f"backend {self.name!r} returned counts that are negative or do not sum to "
                f"shots={shots}: this is a bug in the backend plugin"
            )
        return arr

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.capabilities.summary()}>"


def _encode(P: np.ndarray) -> list[Circuit]:
    template = encoding_template(P.shape[1].bit_length() - 1)
    return template.bind(template.angles(P, validated=True))


def _overrides(backend: BackendBase, method: str) -> bool:
    return getattr(type(backend), method) is not getattr(BackendBase, method)
