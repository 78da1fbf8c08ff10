"""Backends with injected faults for the executor tests (tests/test_chunking.py,
tests/test_scale_dask.py).

They live in their own module, not in a test file, because process workers must import
them by name: the tests put this folder on ``sys.path`` (a spawned worker inherits it).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np

from qtcore import Capabilities, NoiseModel
from qtcore.reference import ReferenceBackend


class KillWorker(ReferenceBackend):
    """``reference``, except that the chunk holding row ``kill_row`` kills its own process
    (SIGKILL, as an out-of-memory killer would): once, leaving ``marker`` so that a retry
    succeeds, or every time when ``always``.
    """

    def __init__(self, marker: str, kill_row: int, always: bool = False) -> None:
        self.marker = marker
        self.kill_row = kill_row
        self.always = always

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        if row_offset <= self.kill_row < row_offset + P.shape[0]:
            marker = Path(self.marker)
            if self.always or not marker.exists():
                with marker.open("a") as f:
                    f.write(f"{os.getpid()}\n")
                os.kill(os.getpid(), signal.SIGKILL)
        return super()._sample_distributions(
            P, shots=shots, seed=seed, noise=noise, row_offset=row_offset
        )


class RaiseOnRow(ReferenceBackend):
    """``reference``, except that the chunk holding row ``bad_row`` raises a RuntimeError."""

    def __init__(self, bad_row: int) -> None:
        self.bad_row = bad_row

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        if row_offset <= self.bad_row < row_offset + P.shape[0]:
            raise RuntimeError(f"simulated device fault at row {self.bad_row}")
        return super()._sample_distributions(
            P, shots=shots, seed=seed, noise=noise, row_offset=row_offset
        )


class PerCallStream(ReferenceBackend):
    """``reference`` with one random stream per call, as PennyLane's devices draw: not
    ``row_seeded``, so an executor gives its chunks derived seeds."""

    name = "test.per_call"
    capabilities = Capabilities(max_qubits=6, noise=True)

    def _sample_distributions(
        self, P: np.ndarray, *, shots: int, seed: int | None, noise: NoiseModel | None
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return np.stack([rng.multinomial(shots, row / row.sum()) for row in self._exact(P, noise)])


class NotThreadSafe(ReferenceBackend):
    """``reference`` declaring ``thread_safe=False``, recording how many calls overlapped."""

    name = "test.not_thread_safe"
    capabilities = Capabilities(max_qubits=6, row_seeded=True, thread_safe=False)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        # Long enough that four pool threads would overlap here if nothing serialised them.
        time.sleep(0.02)
        with self._lock:
            self.inside -= 1
        return super()._sample_distributions(
            P, shots=shots, seed=seed, noise=noise, row_offset=row_offset
        )
