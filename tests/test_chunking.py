"""``executor=`` / ``chunk_size=`` on BackendBase (qtcore.chunking), with local pools.

The Dask cluster tests are in test_scale_dask.py. Everything here is deterministic except
where a false-failure bound is stated.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import qtcore
import qtcore.reference
from qtcore.chunking import ShippedBackend, chunk_seed, plan_chunks

sys.path.insert(0, str(Path(__file__).parent))
import qtcore_scale_faults as faults

NOISE = qtcore.NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.05, readout=0.03)


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(3) as ex:
        yield ex


def _rows(B: int, N: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(N), size=B)


@pytest.mark.parametrize("noise", [None, NOISE])
def test_reference_chunked_equals_one_call_for_every_chunk_size(pool, noise):
    ref = qtcore.get_backend("reference")
    P = _rows(13)
    whole = ref.sample_distributions(P, shots=200, seed=11, noise=noise)
    circuits = qtcore.amplitude_encoding(P)
    whole_run = ref.run(circuits, shots=200, seed=11, noise=noise)
    for size in (1, 2, 4, 5, 12, 13, 40, None):
        got = ref.sample_distributions(
            P, shots=200, seed=11, noise=noise, executor=pool, chunk_size=size
        )
        np.testing.assert_array_equal(got, whole, err_msg=f"chunk_size={size}")
        got_run = ref.run(circuits, shots=200, seed=11, noise=noise, executor=pool, chunk_size=size)
        np.testing.assert_array_equal(got_run, whole_run, err_msg=f"run, chunk_size={size}")


def test_reference_chunked_in_processes_equals_one_call():
    ref = qtcore.get_backend("reference")
    P = _rows(7)
    whole = ref.sample_distributions(P, shots=100, seed=5)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as ex:
        got = ref.sample_distributions(P, shots=100, seed=5, executor=ex, chunk_size=3)
    np.testing.assert_array_equal(got, whole)


def test_default_backend_path_passes_row_offset_to_run(pool):
    # A row-seeded backend that only implements _run: the default sample path must hand
    # row_offset to _run, or rows after the first chunk would repeat the first chunk's streams.
    class RunOnly(qtcore.BackendBase):
        name = "test.run_only"
        capabilities = qtcore.Capabilities(max_qubits=4, row_seeded=True)

        def _run(self, circuits, *, shots, seed, noise, row_offset=0):
            from qtcore.shots import sample_counts
            from qtcore.simulator import probabilities

            return sample_counts(probabilities(circuits), shots, seed, row_offset)

    P = np.full((6, 4), 0.25)
    backend = RunOnly()
    whole = backend.sample_distributions(P, shots=4096, seed=2)
    got = backend.sample_distributions(P, shots=4096, seed=2, executor=pool, chunk_size=2)
    np.testing.assert_array_equal(got, whole)


def test_not_row_seeded_backend_chunks_get_derived_seeds(pool):
    backend = faults.PerCallStream()
    P = np.full((8, 8), 1 / 8)
    whole = backend.sample_distributions(P, shots=4096, seed=3)
    # A chunk covering the whole batch keeps the call's seed: the counts of one call.
    one_chunk = backend.sample_distributions(P, shots=4096, seed=3, executor=pool, chunk_size=8)
    np.testing.assert_array_equal(one_chunk, whole)
    # A fixed chunk size gives the same counts again, on any executor.
    a = backend.sample_distributions(P, shots=4096, seed=3, executor=pool, chunk_size=2)
    with ThreadPoolExecutor(1) as serial:
        b = backend.sample_distributions(P, shots=4096, seed=3, executor=serial, chunk_size=2)
    np.testing.assert_array_equal(a, b)
    # The first chunk keeps the call's seed; the others draw from chunk_seed(3, start), not
    # from a repeat of chunk 0's stream. Equal uniform rows at 4096 shots over 8 outcomes
    # occur with probability ≤ 0.0039 per pair (equal_draw_bound); two rows at once ≤ 1.6e-5.
    np.testing.assert_array_equal(a[:2], whole[:2])
    for start in (2, 4, 6):
        assert not np.array_equal(a[start : start + 2], a[:2]), f"chunk at {start} repeated"
        assert chunk_seed(3, start) != 3


def test_subclass_overriding_without_row_offset_falls_back_to_chunk_seeds(pool):
    # It inherits row_seeded=True from ReferenceBackend but its override cannot take
    # row_offset: chunks must get derived seeds, not a TypeError and not repeated streams.
    class Override(qtcore.reference.ReferenceBackend):
        def _sample_distributions(self, P, *, shots, seed, noise):
            return super()._sample_distributions(P, shots=shots, seed=seed, noise=noise)

    backend = Override()
    P = np.full((8, 8), 1 / 8)
    whole = backend.sample_distributions(P, shots=4096, seed=4)
    one_chunk = backend.sample_distributions(P, shots=4096, seed=4, executor=pool, chunk_size=8)
    np.testing.assert_array_equal(one_chunk, whole)
    a = backend.sample_distributions(P, shots=4096, seed=4, executor=pool, chunk_size=4)
    # Equal by chance with probability ≤ 0.0039**4 < 2.4e-10 (4 uniform rows, 4096 shots).
    assert not np.array_equal(a[:4], a[4:]), "chunk 2 repeated chunk 1's streams"
    np.testing.assert_array_equal(
        a, backend.sample_distributions(P, shots=4096, seed=4, executor=pool, chunk_size=4)
    )


def test_seed_none_chunks_are_independent(pool):
    # seed=None becomes one fresh seed per call: identical rows in different chunks, and two
    # calls, differ. Each assertion compares 4 uniform rows at 4096 shots over 8 outcomes:
    # equal by chance with probability ≤ 0.0039**4 < 2.4e-10.
    ref = qtcore.get_backend("reference")
    P = np.full((8, 8), 1 / 8)
    a = ref.sample_distributions(P, shots=4096, executor=pool, chunk_size=4)
    b = ref.sample_distributions(P, shots=4096, executor=pool, chunk_size=4)
    assert not np.array_equal(a[:4], a[4:])
    assert not np.array_equal(a[:4], b[:4])


def test_unseeded_backend_gets_a_fresh_seed_per_call_even_with_a_seed():
    # Dask caches tasks by their arguments: a backend that cannot seed must not send the
    # same arguments twice, or the second call would silently repeat the first's counts.
    class Unseeded(qtcore.reference.ReferenceBackend):
        capabilities = qtcore.Capabilities(max_qubits=4, seeded=False)

    class Recording(ThreadPoolExecutor):
        def __init__(self):
            super().__init__(1)
            self.seeds = []

        def submit(self, fn, *args, **kwargs):
            self.seeds.append(args[4])
            return super().submit(fn, *args, **kwargs)

    with Recording() as ex:
        for _ in range(2):
            Unseeded().sample_distributions(_rows(2, N=4), shots=5, seed=7, executor=ex)
    assert len(ex.seeds) == 2 and ex.seeds[0] != ex.seeds[1] and 7 not in ex.seeds


def test_chunked_counts_follow_the_reference_distribution(pool):
    # A G-test of the pooled counts of 40 identical rows against P, chunked by 3: a correct
    # backend fails with probability 1e-6 (the threshold).
    from scipy import stats

    ref = qtcore.get_backend("reference")
    p = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.1, 0.1, 0.05])
    P = np.tile(p, (40, 1))
    counts = ref.sample_distributions(P, shots=500, seed=21, executor=pool, chunk_size=3)
    _, pvalue = stats.power_divergence(counts.sum(axis=0), p * 40 * 500, lambda_="log-likelihood")
    assert pvalue > 1e-6


def test_bad_executor_or_chunk_size_raise_invalid_input(pool):
    ref = qtcore.get_backend("reference")
    P = _rows(3)
    with pytest.raises(qtcore.InvalidInput, match="submit"):
        ref.sample_distributions(P, shots=5, executor=object())
    for bad in (0, -1, 2.0, True, "4"):
        with pytest.raises(qtcore.InvalidInput, match="chunk_size"):
            ref.sample_distributions(P, shots=5, executor=pool, chunk_size=bad)
    with pytest.raises(qtcore.InvalidInput, match="chunk_size"):
        ref.run(qtcore.amplitude_encoding(P), shots=5, executor=pool, chunk_size=0)


def test_empty_batch_with_executor(pool):
    ref = qtcore.get_backend("reference")
    assert ref.sample_distributions(np.zeros((0, 4)), shots=5, executor=pool).shape == (0, 4)
    assert ref.run([], shots=5, executor=pool).shape == (0, 0)


def test_failing_chunk_raises_backend_error_naming_its_rows(pool):
    backend = faults.RaiseOnRow(bad_row=5)
    with pytest.raises(qtcore.BackendError, match=r"chunk 2 of 4 \(rows 3–5 of 10\)") as info:
        backend.sample_distributions(_rows(10), shots=10, seed=0, executor=pool, chunk_size=3)
    assert "simulated device fault at row 5" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_chunk_with_a_missing_row_raises_backend_error_naming_its_rows(pool):
    class DropsRowAfterRow4(qtcore.reference.ReferenceBackend):
        def _sample_distributions(self, P, *, shots, seed, noise, row_offset=0):
            counts = super()._sample_distributions(
                P, shots=shots, seed=seed, noise=noise, row_offset=row_offset
            )
            return counts[:-1] if row_offset >= 4 else counts

    with pytest.raises(qtcore.BackendError, match=r"rows 4–7 of 8\) returned malformed"):
        DropsRowAfterRow4().sample_distributions(
            _rows(8), shots=10, seed=0, executor=pool, chunk_size=4
        )


def test_killed_process_worker_raises_backend_error(tmp_path):
    # A process pool does not retry: the kill must surface as a BackendError naming rows.
    backend = faults.KillWorker(str(tmp_path / "killed"), kill_row=4, always=True)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as ex:
        with pytest.raises(qtcore.BackendError, match=r"rows .* of 8.*BrokenProcessPool"):
            backend.sample_distributions(_rows(8), shots=10, seed=0, executor=ex, chunk_size=2)
    assert (tmp_path / "killed").exists()


def test_not_thread_safe_backend_runs_one_chunk_at_a_time():
    backend = faults.NotThreadSafe()
    P = _rows(8, N=4)
    with ThreadPoolExecutor(4) as ex:
        got = backend.sample_distributions(P, shots=50, seed=1, executor=ex, chunk_size=1)
    assert backend.most_inside == 1
    np.testing.assert_array_equal(got, backend.sample_distributions(P, shots=50, seed=1))


def test_plan_chunks_cover_the_batch_in_order():
    for batch in range(0, 30):
        for size in range(1, 12):
            chunks = plan_chunks(batch, size)
            rows = [i for start, stop in chunks for i in range(start, stop)]
            assert rows == list(range(batch))
            assert all(0 < stop - start <= size for start, stop in chunks)


def _registered_backends():
    names = []
    for entry in qtcore.backends():
        if entry.unavailable_reason():
            continue
        if entry.info.parametric:
            if not entry.info.variants:
                continue
            # One cheap variant: a 127-qubit fake device takes a minute to build.
            cheap = [v for v in entry.info.variants if v in ("manila", "default.qubit")]
            names.append(f"{entry.name}:{(cheap or entry.info.variants)[0]}")
        else:
            names.append(entry.name)
    return names


@pytest.mark.parametrize("name", _registered_backends())
def test_every_backend_ships_to_workers_by_name(name):
    """Every installed backend made by get_backend pickles as (name, options) and is
    rebuilt once per process; a chunk then runs on the rebuilt object."""
    try:
        backend = qtcore.get_backend(name)
    except qtcore.BackendUnavailable as exc:
        pytest.skip(str(exc))
    blob = pickle.dumps(ShippedBackend(backend))
    assert len(blob) < 1000, "shipped as its name and options, not as the whole object"
    there = pickle.loads(blob).backend
    assert there.name == backend.name
    assert there.capabilities == backend.capabilities
    assert pickle.loads(blob).backend is there, "rebuilt once per process, then reused"
