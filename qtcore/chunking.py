"""Splitting a batch over a ``concurrent.futures.Executor`` and putting it back in order.

``backend.run(..., executor=ex)`` and ``backend.sample_distributions(..., executor=ex)``
validate the whole batch in the calling process, cut it into consecutive chunks of
``chunk_size`` rows, submit one task per chunk to ``ex`` (a thread or process pool, or Dask's
``Client.get_executor()``) and concatenate the counts in row order.

Seeds. With ``seed=None`` (or any seed, for a backend that declares ``seeded=False``) the
caller's process draws one seed from fresh OS entropy, so the chunks are independent and no
two tasks look alike to an executor that caches results by their arguments (Dask's
``submit`` does). With a seed:

* a backend whose capabilities declare ``row_seeded`` (``reference``, ``qiskit.aer``,
  ``qiskit.fake:*``, ``cirq.*``) and whose ``_run`` / ``_sample_distributions`` take
  ``row_offset`` is told each chunk's first row and seeds every row from its index in the
  whole batch: the counts equal those of one call without
  an executor, for every chunk size and every executor;
* any other backend gets, for the chunk starting at row ``r``, the seed :func:`chunk_seed`
  ``(seed, r)`` (``seed`` itself for ``r = 0``): the same seed and the same chunk size give
  the same counts on every executor, and a chunk size covering the whole batch gives the
  counts of a call without an executor; another chunk size gives other (equally valid)
  draws.

Shipping the backend. A backend made by :func:`qtcore.get_backend` travels to process
workers as its name and options and is rebuilt there once per worker process (so a
simulator's compiled templates are built once per worker, not once per chunk, and a
backend holding locks or native handles need not pickle). A backend constructed directly is
pickled whole. A thread pool receives the object itself.

Failures. If a task raises, or its worker dies and the executor gives up (Dask retries a
task whose worker was lost, ``distributed.scheduler.allowed-failures`` times), the call
raises :class:`~qtcore.BackendError` naming the chunk's rows and the cause, after cancelling
the chunks not yet started. Every chunk's counts are checked (shape, sum) as a whole call's
are, so a batch never comes back with fewer rows.

Example:
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> import numpy as np
    >>> import qtcore
    >>> ref = qtcore.get_backend("reference")
    >>> P = np.random.default_rng(0).dirichlet(np.ones(4), size=6)
    >>> with ThreadPoolExecutor(2) as ex:
    ...     chunked = ref.sample_distributions(P, shots=50, seed=3, executor=ex, chunk_size=4)
    >>> bool(np.array_equal(chunked, ref.sample_distributions(P, shots=50, seed=3)))
    True
"""

from __future__ import annotations

import math
import os
import pickle
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import CancelledError, Executor, Future
from typing import TYPE_CHECKING, Any

import numpy as np

from qtcore.errors import BackendError, InvalidInput

if TYPE_CHECKING:
    from qtcore.backend import BackendBase
    from qtcore.noise import NoiseModel

__all__ = [
    "ShippedBackend",
    "chunk_seed",
    "default_chunk_size",
    "executor_workers",
    "plan_chunks",
    "run_chunk",
    "run_chunked",
    "validate_chunking",
]


def chunk_seed(seed: int, first_row: int) -> int:
    """The seed of the chunk starting at ``first_row``, for a backend that is not row-seeded.

    ``seed`` itself for the first chunk; otherwise 63 bits of
    ``numpy.random.SeedSequence(seed, spawn_key=(first_row,))``, so chunks get unrelated
    streams and neighbouring seeds do not overlap.

    Args:
        seed: the call's seed, an int ≥ 0.
        first_row: the chunk's first row in the whole batch.

    Returns:
        An int in ``[0, 2**63)``.

    Example:
        >>> from qtcore.chunking import chunk_seed
        >>> chunk_seed(7, 0), chunk_seed(7, 4) == chunk_seed(7, 4), chunk_seed(7, 4) != 7
        (7, True, True)
    """
    if first_row == 0:
        return seed
    state = np.random.SeedSequence(seed, spawn_key=(first_row,)).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))


def executor_workers(executor: Executor) -> int | None:
    """How many tasks ``executor`` runs at once, where it says: ``None`` when unknown.

    Knows ``ThreadPoolExecutor`` / ``ProcessPoolExecutor`` (``max_workers``) and Dask's
    ``ClientExecutor`` (the cluster's threads when the call is made).

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from qtcore.chunking import executor_workers
        >>> with ThreadPoolExecutor(3) as ex:
        ...     executor_workers(ex)
        3
    """
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    client = getattr(executor, "_client", None)
    nthreads = getattr(client, "nthreads", None)
    if callable(nthreads):
        try:
            total = sum(int(n) for n in nthreads().values())
        except Exception:  # a client that cannot answer now: fall back to the default
            return None
        return total if total > 0 else None
    return None


def default_chunk_size(batch: int, executor: Executor) -> int:
    """``ceil(batch / workers)``: one chunk per worker, with ``os.cpu_count()`` standing in
    for the number of workers when the executor does not say.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from qtcore.chunking import default_chunk_size
        >>> with ThreadPoolExecutor(4) as ex:
        ...     default_chunk_size(10, ex)
        3
    """
    workers = executor_workers(executor) or os.cpu_count() or 1
    return max(1, math.ceil(batch / workers))


def plan_chunks(batch: int, chunk_size: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` row ranges of at most ``chunk_size`` rows covering
    ``range(batch)``.

    Example:
        >>> from qtcore.chunking import plan_chunks
        >>> plan_chunks(7, 3)
        [(0, 3), (3, 6), (6, 7)]
    """
    return [(start, min(start + chunk_size, batch)) for start in range(0, batch, chunk_size)]


def validate_chunking(executor: Any, chunk_size: Any) -> int | None:
    """Check ``executor`` (has ``submit``) and ``chunk_size`` (None or an int ≥ 1).

    Returns:
        ``chunk_size``.

    Raises:
        InvalidInput: either is not valid.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> from qtcore.chunking import validate_chunking
        >>> with ThreadPoolExecutor(1) as ex:
        ...     validate_chunking(ex, 4)
        4
    """
    if not callable(getattr(executor, "submit", None)):
        raise InvalidInput(
            f"executor must be a concurrent.futures.Executor (something with submit()), got "
            f"{type(executor).__name__}; pass e.g. ThreadPoolExecutor() or "
            "distributed.Client(...).get_executor()"
        )
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidInput(f"chunk_size must be None or an integer ≥ 1, got {chunk_size!r}")
    return chunk_size


# Backends rebuilt from (name, options) in this process, so each worker builds one once.
_REBUILT: dict[bytes, BackendBase] = {}
_REBUILT_LOCK = threading.Lock()
# Backends that declare thread_safe=False run one chunk at a time per object.
_CALL_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()


class ShippedBackend:
    """A backend as it travels to executor workers.

    Pickles as ``(name, options)`` when :func:`qtcore.get_backend` made the backend (the
    worker rebuilds it with ``get_backend``, once per process), else as the backend itself.
    Unpickled nowhere (a thread pool), it is the very same object.

    Args:
        backend: the backend to ship.

    Example:
        >>> import pickle
        >>> import qtcore
        >>> from qtcore.chunking import ShippedBackend
        >>> there = pickle.loads(pickle.dumps(ShippedBackend(qtcore.get_backend("reference"))))
        >>> there.backend.name
        'reference'
    """

    def __init__(self, backend: BackendBase) -> None:
        self.backend = backend

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        spec = getattr(self.backend, "_qtcore_spec", None)
        if spec is None:
            return (ShippedBackend, (self.backend,))
        return (_rebuilt, spec)


def _rebuilt(name: str, options: dict[str, Any]) -> ShippedBackend:
    key = pickle.dumps((name, sorted(options.items())))
    with _REBUILT_LOCK:
        backend = _REBUILT.get(key)
        if backend is None:
            import qtcore

            made = qtcore.get_backend(name, **options)
            from qtcore.backend import BackendBase

            if not isinstance(made, BackendBase):
                raise BackendError(f"backend {name!r} rebuilt in a worker is not a BackendBase")
            backend = _REBUILT[key] = made
    return ShippedBackend(backend)


def run_chunk(
    shipped: ShippedBackend,
    kind: str,
    payload: Any,
    shots: int,
    seed: int,
    noise: NoiseModel | None,
    first_row: int,
    by_row: bool,
) -> np.ndarray:
    """Worker side: the counts of one chunk (inputs were validated by the caller).

    Args:
        shipped: the backend.
        kind: ``"run"`` (``payload`` a list of circuits) or ``"sample"`` (``payload`` P).
        shots, noise: as for the whole call.
        seed: the chunk's seed (the call's seed for a row-seeded backend).
        first_row: the chunk's first row in the whole batch.
        by_row: pass ``first_row`` to the backend as ``row_offset`` (a row-seeded backend).

    Returns:
        int64 counts (rows, 2**n).

    Example:
        >>> import numpy as np
        >>> import qtcore
        >>> from qtcore.chunking import ShippedBackend, run_chunk
        >>> ref = ShippedBackend(qtcore.get_backend("reference"))
        >>> run_chunk(ref, "sample", np.array([[0.0, 1.0]]), 5, 0, None, 3, True).tolist()
        [[0, 5]]
    """
    backend = shipped.backend
    row_offset = first_row if by_row else None
    if backend.capabilities.thread_safe:
        return backend._execute(
            kind, payload, shots=shots, seed=seed, noise=noise, row_offset=row_offset
        )
    with _REBUILT_LOCK:
        lock = _CALL_LOCKS.setdefault(backend, threading.Lock())
    with lock:
        return backend._execute(
            kind, payload, shots=shots, seed=seed, noise=noise, row_offset=row_offset
        )


def run_chunked(
    backend: BackendBase,
    kind: str,
    payload: Sequence[Any] | np.ndarray,
    n: int,
    *,
    shots: int,
    seed: int | None,
    noise: NoiseModel | None,
    executor: Executor,
    chunk_size: int | None,
) -> np.ndarray:
    """The whole batch's counts (B, 2**n), computed chunk by chunk on ``executor``.

    Called by :class:`qtcore.BackendBase` after validation; see the module docstring for
    seeds, shipping and failures.

    Raises:
        BackendError: a chunk failed, or its worker was lost for good; the message names
            the chunk's rows and the cause.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> import numpy as np
        >>> import qtcore
        >>> from qtcore.chunking import run_chunked
        >>> ref = qtcore.get_backend("reference")
        >>> with ThreadPoolExecutor(2) as ex:
        ...     run_chunked(ref, "sample", np.eye(2), 1, shots=3, seed=0, noise=None,
        ...                 executor=ex, chunk_size=1).tolist()
        [[3, 0], [0, 3]]
    """
    batch = len(payload)
    size = chunk_size if chunk_size is not None else default_chunk_size(batch, executor)
    if seed is None or not backend.capabilities.seeded:
        # One fresh seed per call; for a backend that cannot seed, also so that an executor
        # caching tasks by their arguments (Dask) never returns an earlier call's counts.
        seed = _fresh_seed()
    by_row = backend._seeds_rows(kind)
    shipped = ShippedBackend(backend)
    chunks = plan_chunks(batch, size)
    futures: list[Future[np.ndarray]] = []

    def failure(index: int, exc: BaseException, what: str) -> BackendError:
        for future in futures:
            future.cancel()
        start, stop = chunks[index]
        hint = ""
        if getattr(backend, "_qtcore_spec", None) is None and "pickl" in str(exc).lower():
            hint = (
                "; this backend was not made by qtcore.get_backend, so it is pickled whole "
                "for process workers: make it with qtcore.get_backend(name, **options) and "
                "workers rebuild it by name"
            )
        return BackendError(
            f"backend {backend.name!r}: chunk {index + 1} of {len(chunks)} (rows {start}–"
            f"{stop - 1} of {batch}) {what} on {type(executor).__name__}: "
            f"{type(exc).__name__}: {exc}{hint}"
        )

    for index, (start, stop) in enumerate(chunks):
        part = payload[start:stop]
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
        try:
            futures.append(
                executor.submit(
                    run_chunk,
                    shipped,
                    kind,
                    part,
                    shots,
                    seed if by_row else chunk_seed(seed, start),
                    noise,
                    start,
                    by_row,
                )
            )
        except Exception as exc:
            raise failure(index, exc, "could not be submitted") from exc
    results = []
    for index, future in enumerate(futures):
        start, stop = chunks[index]
        try:
            counts = future.result()
        except (Exception, CancelledError) as exc:
            raise failure(index, exc, "failed") from exc
        try:
            results.append(backend._check_counts(counts, stop - start, n, shots))
        except BackendError as exc:
            raise failure(index, exc, "returned malformed counts") from exc
    return np.concatenate(results, axis=0)
