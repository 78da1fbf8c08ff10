"""``cuquantum.statevec`` on a GPU: exact states, the sampler draw for draw, statistics, seeds.

Skipped, with the reason, where the backend is unavailable (no GPU, driver or CUDA library;
CI has none). Statistical assertions are G-tests passing at p > ALPHA = 1e-6, so each fails
by chance with probability 1e-6; this module makes 8 of them (4 in
``test_counts_fit_reference`` and 4 in ``test_run_fits_reference``), a false-failure rate
≤ 8e-6 per run (union bound). Seeds are fixed; nothing is rerun.
"""

import numpy as np
import pytest
from qtcore_cuquantum.device import unavailable_reason

import qtcore
from qtcore import Circuit, Gate

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"cuquantum.statevec: {REASON}")

ALPHA = 1e-6
REF = qtcore.ReferenceBackend()


@pytest.fixture(scope="module", params=[np.complex128, np.complex64])
def backend(request):
    return qtcore.get_backend("cuquantum.statevec", dtype=request.param)


def g_test(counts, probs):
    from scipy import stats

    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() * probs / probs.sum()
    keep = expected >= 5
    obs, exp = list(counts[keep]), list(expected[keep])
    rest = (~keep) & (probs > 0)
    if rest.any():
        obs.append(counts[rest].sum())
        exp.append(expected[rest].sum())
    if len(obs) < 2:
        return 1.0
    return float(stats.power_divergence(obs, exp, lambda_="log-likelihood").pvalue)


def inverse_cdf_bitstrings(probs, randnums):
    """What cuStateVec's sampler computes with ``bit_ordering = 0…n−1``: the inverse CDF."""
    cdf = np.cumsum(probs)
    return np.minimum(np.searchsorted(cdf, randnums * cdf[-1], side="right"), len(probs) - 1)


def test_exact_probabilities_equal_reference(backend):
    rng = np.random.default_rng(1)
    tol = 1e-12 if backend.dtype == np.complex128 else 1e-6
    for n in (1, 3, 6):
        circuits = []
        for _ in range(8):
            gates = []
            for _ in range(15):
                name = str(rng.choice(sorted(qtcore.GATES)))
                arity, n_params = qtcore.GATES[name]
                if arity > n:
                    continue
                qubits = tuple(int(q) for q in rng.choice(n, arity, replace=False))
                gates.append(Gate(name, qubits, tuple(rng.normal(scale=3, size=n_params))))
            circuits.append(Circuit(n, tuple(gates)))
        np.testing.assert_allclose(
            backend.probabilities(circuits), REF.probabilities(circuits), atol=tol
        )
        P = rng.dirichlet(np.ones(2**n), size=5)
        np.testing.assert_allclose(backend.distribution_probabilities(P), P, atol=tol)


def test_sampler_is_the_inverse_cdf_of_the_row_uniforms(backend):
    from qtcore.shots import row_generators

    P = np.random.default_rng(2).dirichlet(np.full(64, 0.5), size=6)
    shots = 4096
    counts = backend.sample_distributions(P, shots=shots, seed=11)
    for i, rng in enumerate(row_generators(11, len(P))):
        u = rng.random(shots)
        want = np.bincount(inverse_cdf_bitstrings(P[i], u), minlength=64)
        # Draws may only differ where a uniform lies within float round-off of a CDF step.
        cdf = np.cumsum(P[i])
        slack = 1e-5 if backend.dtype == np.complex64 else 1e-12
        near = np.min(np.abs(u[:, None] - cdf[None, :]), axis=1) < slack
        assert np.abs(counts[i] - want).sum() <= 2 * near.sum(), f"row {i}"


def test_counts_fit_reference(backend):
    rng = np.random.default_rng(3)
    for alpha in (0.1, 1.0, 10.0):
        P = rng.dirichlet(np.full(32, alpha), size=1)
        counts = backend.sample_distributions(P, shots=20000, seed=5)
        assert counts[0][P[0] == 0].sum() == 0
        p = g_test(counts[0], P[0])
        assert p > ALPHA, f"Dirichlet({alpha}) row: G-test p = {p:.3g}"
    # power: a bit-reversed index is rejected
    P = rng.dirichlet(np.ones(8), size=1)
    counts = backend.sample_distributions(P, shots=20000, seed=6)
    assert g_test(counts[0], P[0]) > ALPHA
    reversed_index = [int(f"{j:03b}"[::-1], 2) for j in range(8)]
    assert g_test(counts[0], P[0][reversed_index]) < ALPHA


def test_run_fits_reference(backend):
    circuits = [
        Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1)))),
        Circuit(3, (Gate("ry", (0,), (1.1,)), Gate("cx", (0, 2)), Gate("rx", (1,), (0.4,)))),
        Circuit(3, (Gate("h", (2,)), Gate("cz", (2, 0)), Gate("h", (0,)))),
        Circuit(1, (Gate("rz", (0,), (0.3,)), Gate("ry", (0,), (2.0,)))),
    ]
    for c in circuits:
        counts = backend.run([c], shots=20000, seed=9)[0]
        probs = REF.probabilities([c])[0]
        assert counts[probs < 1e-12].sum() == 0
        assert g_test(counts, probs) > ALPHA


def test_one_hot_rows_and_bit_order(backend):
    for n in (1, 4, 9):
        idx = [1, 2 ** (n - 1), (2**n - 1) // 3]
        P = np.zeros((len(idx), 2**n))
        P[np.arange(len(idx)), idx] = 1.0
        counts = backend.sample_distributions(P, shots=7, seed=0)
        assert counts[np.arange(len(idx)), idx].tolist() == [7] * len(idx)
    x0 = backend.run([Circuit(3, (Gate("x", (0,)),))], shots=5, seed=0)
    assert x0[0].tolist() == [0, 0, 0, 0, 5, 0, 0, 0]


def test_seeds_rows_and_chunks(backend):
    P = np.random.default_rng(4).dirichlet(np.ones(16), size=5)
    P[3] = P[1]
    a = backend.sample_distributions(P, shots=500, seed=7)
    b = backend.sample_distributions(P, shots=500, seed=7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, backend.sample_distributions(P, shots=500, seed=8))
    assert not np.array_equal(a[1], a[3])  # identical rows, independent draws
    small = qtcore.get_backend(
        "cuquantum.statevec", dtype=backend.dtype.type, device_memory=2 * 16 * 16
    )
    assert small._rows_per_chunk(4) < len(P)
    assert np.array_equal(a, small.sample_distributions(P, shots=500, seed=7))
    assert np.array_equal(a[2:3], backend.sample_distributions(P, shots=500, seed=7)[2:3])


def test_noise_raises_capability_error(backend):
    with pytest.raises(qtcore.CapabilityError):
        backend.sample_distributions(
            np.array([[1.0, 0.0]]), shots=1, noise=qtcore.NoiseModel(readout=0.1)
        )
