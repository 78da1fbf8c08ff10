"""``executor=`` on the Cirq backends: rows are seeded by their index in the whole batch."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import qtcore


@pytest.mark.parametrize(
    ("name", "noise"),
    [
        ("cirq.simulator", None),
        ("cirq.density_matrix", qtcore.NoiseModel(depolarizing_2q=0.05, readout=0.02)),
    ],
)
def test_cirq_chunked_equals_one_call(name, noise):
    backend = qtcore.get_backend(name)
    assert backend.capabilities.row_seeded
    P = np.random.default_rng(4).dirichlet(np.ones(8), size=6)
    circuits = qtcore.amplitude_encoding(P)
    whole = backend.sample_distributions(P, shots=100, seed=2, noise=noise)
    whole_run = backend.run(circuits, shots=100, seed=2, noise=noise)
    with ThreadPoolExecutor(2) as ex:
        for size in (1, 4, None):
            got = backend.sample_distributions(
                P, shots=100, seed=2, noise=noise, executor=ex, chunk_size=size
            )
            np.testing.assert_array_equal(got, whole, err_msg=f"chunk_size={size}")
            got_run = backend.run(
                circuits, shots=100, seed=2, noise=noise, executor=ex, chunk_size=size
            )
            np.testing.assert_array_equal(got_run, whole_run, err_msg=f"run, chunk_size={size}")
