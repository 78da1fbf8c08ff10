"""``executor=`` on a real Dask cluster: ``distributed.LocalCluster`` with two worker
processes on loopback, through ``Client.get_executor()``.

One cluster serves the module (starting one costs seconds). The scheduler allows one lost
worker per task (``allowed-failures=1``): a task whose worker is killed once is retried and
the batch completes; a task that kills every worker it runs on fails with a BackendError
naming its rows after the second loss.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import qtcore

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

sys.path.insert(0, str(Path(__file__).parent))
import qtcore_scale_faults as faults  # noqa: E402  (after the sys.path entry)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executor():
    # Spawned worker processes import the fault backends by name from this folder.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                worker_dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.run(sys.path.insert, 0, str(Path(__file__).parent))
            yield client.get_executor()


def _rows(B: int, N: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(N), size=B)


def test_reference_on_dask_equals_one_call(executor):
    ref = qtcore.get_backend("reference")
    P = _rows(10)
    noise = qtcore.NoiseModel(depolarizing_2q=0.05, readout=0.02)
    whole = ref.sample_distributions(P, shots=300, seed=4, noise=noise)
    for size in (None, 3):  # None: one chunk per worker thread (ceil(10 / 2) = 5)
        got = ref.sample_distributions(
            P, shots=300, seed=4, noise=noise, executor=executor, chunk_size=size
        )
        np.testing.assert_array_equal(got, whole)
    circuits = qtcore.amplitude_encoding(P)
    np.testing.assert_array_equal(
        ref.run(circuits, shots=300, seed=4, executor=executor, chunk_size=4),
        ref.run(circuits, shots=300, seed=4),
    )


def test_seed_none_on_dask_is_fresh_every_call(executor):
    # Dask caches a task by its arguments; seed=None must still give new draws. 4 uniform
    # rows at 4096 shots over 8 outcomes are equal by chance with probability < 2.4e-10.
    ref = qtcore.get_backend("reference")
    P = np.full((8, 8), 1 / 8)
    a = ref.sample_distributions(P, shots=4096, executor=executor, chunk_size=4)
    b = ref.sample_distributions(P, shots=4096, executor=executor, chunk_size=4)
    assert not np.array_equal(a[:4], a[4:])
    assert not np.array_equal(a, b)


def test_qiskit_aer_on_dask_equals_one_call(executor):
    pytest.importorskip("qtcore_qiskit")
    aer = qtcore.get_backend("qiskit.aer")
    P = _rows(9)
    noise = qtcore.NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.05, readout=0.02)
    for nz in (None, noise):
        whole = aer.sample_distributions(P, shots=256, seed=8, noise=nz)
        got = aer.sample_distributions(
            P, shots=256, seed=8, noise=nz, executor=executor, chunk_size=2
        )
        np.testing.assert_array_equal(got, whole)


def test_worker_killed_once_is_retried_and_the_batch_completes(executor, tmp_path):
    marker = tmp_path / "killed"
    backend = faults.KillWorker(str(marker), kill_row=5)
    P = _rows(8)
    got = backend.sample_distributions(P, shots=100, seed=6, executor=executor, chunk_size=2)
    assert marker.read_text().count("\n") == 1, "the chunk of row 5 killed its worker once"
    # Every row there, each with exactly one call's counts: nothing lost or repeated.
    np.testing.assert_array_equal(
        got, qtcore.get_backend("reference").sample_distributions(P, shots=100, seed=6)
    )


def test_worker_killed_every_time_raises_backend_error_naming_rows(executor, tmp_path):
    marker = tmp_path / "killed"
    backend = faults.KillWorker(str(marker), kill_row=5, always=True)
    with pytest.raises(qtcore.BackendError) as caught:
        backend.sample_distributions(_rows(8), shots=100, seed=6, executor=executor, chunk_size=2)
    # The chunk of row 5 kills every worker it runs on; a chunk that was running on the same
    # worker at that moment dies with it, so the first chunk reported may be that one: the
    # message must name a chunk, its rows and the KilledWorker, whichever it is.
    found = re.search(
        r"chunk ([1-4]) of 4 \(rows (\d)–(\d) of 8\).*KilledWorker", str(caught.value)
    )
    assert found, str(caught.value)
    chunk, first, last = (int(x) for x in found.groups())
    assert (first, last) == (2 * chunk - 2, 2 * chunk - 1)
    assert marker.read_text().count("\n") == 2, "tried on a second worker, then given up"
