"""Sampled counts of the Braket backends against exact probabilities (``reference`` and closed
forms), including the counts Braket's own simulator draws (``BraketDeviceBackend``).

Every stochastic assertion goes through :func:`assert_fits`: a G-test (scipy.stats
``power_divergence``, log-likelihood) of the counts against the exact probabilities, passing
when p > ALPHA = 1e-6. Each assertion therefore fails by chance with probability 1e-6; this
module makes 28 of them (counted per test below), so a correct backend fails a run with
probability ≤ 2.8e-5 (union bound). Seeds are fixed where the backend takes one, so those runs
are reproducible; nothing is ever rerun. Braket's own samplers cannot be seeded (its simulators
draw from an unseeded generator): the 5 assertions on counts Braket drew
(``shots_from="braket"`` and ``BraketDeviceBackend``) are the only ones that vary from run to
run, each still at false-failure rate 1e-6.

Tests that could pass vacuously also check their power: the same counts must be *rejected*
(p < ALPHA) against the probabilities a plausible bug would give (Qiskit's λ taken for our p,
1-qubit noise on each qubit of a 2-qubit gate, readout on the wrong qubit, a bit-reversed
index). Those rejections are decided by effects of 10+ standard errors at the shots used.
"""

import numpy as np
import pytest
from braket.devices import LocalSimulator
from qtcore_braket.backend import BraketDeviceBackend
from scipy import stats

import qtcore
from qtcore import Circuit, Gate, NoiseModel

ALPHA = 1e-6  # per-assertion false-failure rate
MIN_EXPECTED = 5.0  # cells expected fewer times are pooled, so the χ² approximation holds
REF = qtcore.ReferenceBackend()


def g_test(counts: np.ndarray, probs: np.ndarray) -> float:
    """p-value of a G-test of ``counts`` against ``probs`` (cells with p = 0 excluded)."""
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.clip(np.asarray(probs, dtype=np.float64), 0.0, None)
    probs = probs / probs.sum()
    expected = counts.sum() * probs
    keep = expected >= MIN_EXPECTED
    obs, exp = list(counts[keep]), list(expected[keep])
    rest = (~keep) & (probs > 0)
    if rest.any():
        obs.append(counts[rest].sum())
        exp.append(expected[rest].sum())
    if len(obs) < 2:
        return 1.0
    return float(stats.power_divergence(obs, exp, lambda_="log-likelihood").pvalue)


def assert_fits(counts: np.ndarray, probs: np.ndarray, what: str) -> None:
    """Counts are a sample of ``probs``: support contained, and G-test p-value > ALPHA."""
    outside = int(np.asarray(counts)[np.asarray(probs) <= 0].sum())
    assert outside == 0, f"{what}: {outside} shots on outcomes of probability 0"
    p = g_test(counts, probs)
    assert p > ALPHA, f"{what}: G-test p = {p:.3g} ≤ {ALPHA} (false-failure rate {ALPHA})"


def assert_rejects(counts: np.ndarray, wrong: np.ndarray, what: str) -> None:
    """Power check: the G-test tells the counts from a plausible wrong distribution."""
    p = g_test(counts, wrong)
    assert p < ALPHA, f"{what}: the test cannot tell this bug apart (p = {p:.3g})"


def bit_reversed(probs: np.ndarray, n: int) -> np.ndarray:
    return probs.reshape((2,) * n).transpose(tuple(reversed(range(n)))).reshape(-1)


@pytest.fixture(scope="module", params=["braket.sv", "braket.dm"])
def backend(request):
    return qtcore.get_backend(request.param)


def test_dirichlet_rows_fit_their_distribution(backend):
    """2 × 4 rows = 8 assertions per backend, 16 in all."""
    rng = np.random.default_rng(21)
    for alpha in (0.3, 1.0):
        P = rng.dirichlet(np.full(8, alpha), size=4)
        counts = backend.sample_distributions(P, shots=20_000, seed=7)
        for i, (c, p) in enumerate(zip(counts, P)):
            assert_fits(c, p, f"{backend.name} Dirichlet(α={alpha}) row {i}")
        assert_rejects(counts[0], bit_reversed(P[0], 3) * 0.5 + P[0] * 0.5,
                       "half bit-reversed row")


def test_noisy_encoding_fits_the_reference_density_matrix():
    """4 assertions."""
    dm = qtcore.get_backend("braket.dm")
    noise = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.1, readout=0.04)
    P = np.random.default_rng(22).dirichlet(np.ones(8), size=4)
    exact = REF.distribution_probabilities(P, noise)
    counts = dm.sample_distributions(P, shots=20_000, seed=8, noise=noise)
    for i, (c, p) in enumerate(zip(counts, exact)):
        assert_fits(c, p, f"noisy row {i}")
    assert_rejects(counts[0], P[0], "the same row without noise")


def test_depolarizing_and_readout_closed_forms():
    """3 assertions, each with the bug it must reject."""
    dm = qtcore.get_backend("braket.dm")
    p, shots = 0.3, 20_000
    one = dm.run([Circuit(1, (Gate("x", (0,)),))], shots=shots, seed=1,
                 noise=NoiseModel(depolarizing_1q=p))[0]
    assert_fits(one, [2 * p / 3, 1 - 2 * p / 3], "1q depolarizing: P(0) = 2p/3")
    lam = 4 * p / 3  # Qiskit's λ taken for our p flips with 2λ/3
    assert_rejects(one, [2 * lam / 3, 1 - 2 * lam / 3], "Qiskit λ = 4p/3 in place of p")

    two = dm.run([Circuit(2, (Gate("cx", (0, 1)),))], shots=shots, seed=2,
                 noise=NoiseModel(depolarizing_2q=p))[0]
    assert_fits(two, [1 - 12 * p / 15, 4 * p / 15, 4 * p / 15, 4 * p / 15],
                "2q depolarizing: P(≠00) = 12p/15")
    q = 2 * p / 3  # 1-qubit depolarizing(p) on each qubit instead
    assert_rejects(two, [(1 - q) ** 2, (1 - q) * q, q * (1 - q), q**2], "per-qubit 2q noise")

    r = 0.1
    ro = dm.run([Circuit(2, (Gate("x", (1,)),))], shots=shots, seed=3,
                noise=NoiseModel(readout=r))[0]
    assert_fits(ro, [r * (1 - r), (1 - r) ** 2, r * r, r * (1 - r)], "readout on |01⟩")
    assert_rejects(ro, [r * (1 - r), r * r, (1 - r) ** 2, r * (1 - r)], "readout bit swapped")


def test_simulation_drawn_shots_fit():
    """2 assertions: ``shots_from="braket"`` (the simulation's own sampler, unseeded)."""
    own = qtcore.get_backend("braket.dm", shots_from="braket")
    noise = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.1, readout=0.04)
    P = np.random.default_rng(24).dirichlet(np.full(8, 0.5), size=2)
    counts = own.sample_distributions(P, shots=20_000, noise=noise)
    for i, (c, p) in enumerate(zip(counts, REF.distribution_probabilities(P, noise))):
        assert_fits(c, p, f"Braket-sampled noisy row {i}")
    assert_rejects(counts[0], P[0], "the same row without noise")


def test_device_backend_counts_drawn_by_braket_fit():
    """3 assertions: Braket's own (unseeded) draws through run_batch and measurement_counts."""
    device = BraketDeviceBackend(LocalSimulator("braket_sv"), name="braket.device",
                                 max_qubits=6, run_batch_options={"max_parallel": 1})
    assert not device.capabilities.seeded
    P = np.random.default_rng(23).dirichlet(np.full(8, 0.5), size=2)
    counts = device.sample_distributions(P, shots=20_000)
    for i, (c, p) in enumerate(zip(counts, P)):
        assert_fits(c, p, f"Braket-drawn row {i}")
    assert_rejects(counts[0], bit_reversed(P[0], 3) * 0.5 + P[0] * 0.5, "half bit-reversed")
    c = Circuit(3, (Gate("h", (0,)), Gate("cx", (0, 2)), Gate("x", (1,))))
    run = device.run([c], shots=20_000)[0]
    assert_fits(run, REF.probabilities([c])[0], "Bell pair on qubits 0, 2 with x on 1")
    with pytest.raises(qtcore.CapabilityError):
        device.run([c], shots=10, noise=NoiseModel(readout=0.1))
