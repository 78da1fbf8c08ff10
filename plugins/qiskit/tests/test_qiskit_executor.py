"""``executor=`` on the Qiskit backends: Aer's per-experiment seeds make them row-seeded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from qtcore_qiskit import backend as qiskit_backend

import qtcore

NOISE = qtcore.NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.05, readout=0.02)


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(2) as ex:
        yield ex


@pytest.mark.parametrize("noise", [None, NOISE])
def test_aer_chunked_equals_one_call_for_every_chunk_size(pool, noise):
    aer = qtcore.get_backend("qiskit.aer")
    assert aer.capabilities.row_seeded
    P = np.random.default_rng(1).dirichlet(np.ones(8), size=7)
    circuits = qtcore.amplitude_encoding(P)
    whole = aer.sample_distributions(P, shots=128, seed=3, noise=noise)
    whole_run = aer.run(circuits, shots=128, seed=3, noise=noise)
    for size in (1, 3, 7, None):
        got = aer.sample_distributions(
            P, shots=128, seed=3, noise=noise, executor=pool, chunk_size=size
        )
        np.testing.assert_array_equal(got, whole, err_msg=f"chunk_size={size}")
        got_run = aer.run(circuits, shots=128, seed=3, noise=noise, executor=pool, chunk_size=size)
        np.testing.assert_array_equal(got_run, whole_run, err_msg=f"run, chunk_size={size}")


def test_fake_device_chunked_equals_one_call(pool):
    fake = qtcore.get_backend("qiskit.fake:manila")
    P = np.random.default_rng(2).dirichlet(np.ones(4), size=5)
    whole = fake.sample_distributions(P, shots=64, seed=1)
    got = fake.sample_distributions(P, shots=64, seed=1, executor=pool, chunk_size=2)
    np.testing.assert_array_equal(got, whole)


def test_aer_seed_stride_is_checked_on_chunked_jobs(pool, monkeypatch):
    # If a qiskit-aer release spaced experiment seeds differently, chunked counts would
    # silently differ from one call's: the job's reported seeds are checked instead.
    monkeypatch.setattr(qiskit_backend, "AER_SEED_STRIDE", 2112)
    aer = qtcore.get_backend("qiskit.aer")
    P = np.full((4, 4), 0.25)
    with pytest.raises(qtcore.BackendError, match="seeds experiments"):
        aer.sample_distributions(P, shots=8, seed=0, executor=pool, chunk_size=2)
