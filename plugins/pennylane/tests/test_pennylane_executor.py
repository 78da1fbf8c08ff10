"""``executor=`` on ``pennylane.default``: one device stream per call, so not row-seeded;
chunks get derived seeds and the counts depend on the chunk size only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import qtcore


def test_pennylane_chunks_reproducible_for_a_fixed_chunk_size():
    backend = qtcore.get_backend("pennylane.default")
    assert not backend.capabilities.row_seeded
    P = np.random.default_rng(5).dirichlet(np.ones(4), size=6)
    whole = backend.sample_distributions(P, shots=64, seed=7)
    with ThreadPoolExecutor(2) as ex:
        one_chunk = backend.sample_distributions(P, shots=64, seed=7, executor=ex, chunk_size=6)
        a = backend.sample_distributions(P, shots=64, seed=7, executor=ex, chunk_size=2)
    with ThreadPoolExecutor(1) as serial:
        b = backend.sample_distributions(P, shots=64, seed=7, executor=serial, chunk_size=2)
    np.testing.assert_array_equal(one_chunk, whole)
    np.testing.assert_array_equal(a, b)
    # The first chunk keeps the call's seed, so its rows are one call's first rows.
    np.testing.assert_array_equal(a[:2], whole[:2])
