"""Sampled counts of the Cirq backends against exact probabilities (``reference`` and closed forms).

Every stochastic assertion goes through :func:`assert_fits`: a G-test (scipy.stats
``power_divergence``, log-likelihood) of the counts against the exact probabilities, passing
when p > ALPHA = 1e-6. Each assertion therefore fails by chance with probability 1e-6; this
module makes 92 of them (counted per section below), so a correct backend fails a run with
probability ≤ 9.2e-5 (union bound). Seeds are fixed, so a run is reproducible; nothing is
ever rerun.

Tests that could pass vacuously also check their power: the same counts must be *rejected*
(p < ALPHA) against the probabilities a plausible bug would give (Qiskit's λ taken for our p,
noise per qubit instead of per two-qubit gate, readout on the wrong qubit, a bit-reversed
index). Those rejections are decided by effects of 10+ standard errors at the shots used.
"""

import numpy as np
import pytest
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
    obs = list(counts[keep])
    exp = list(expected[keep])
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


def random_circuit(rng: np.random.Generator, n: int, depth: int) -> Circuit:
    gates = []
    while len(gates) < depth:
        name = str(rng.choice(sorted(qtcore.GATES)))
        arity, n_params = qtcore.GATES[name]
        if arity > n:
            continue
        qubits = tuple(int(q) for q in rng.choice(n, arity, replace=False))
        params = tuple(float(a) for a in rng.normal(scale=3, size=n_params))
        gates.append(Gate(name, qubits, params))
    return Circuit(n, tuple(gates))


def bit_reversed(probs: np.ndarray, n: int) -> np.ndarray:
    return probs.reshape((2,) * n).transpose(tuple(reversed(range(n)))).reshape(-1)


@pytest.fixture(scope="module", params=["cirq.simulator", "cirq.density_matrix"])
def backend(request):
    return qtcore.get_backend(request.param)


@pytest.fixture(scope="module")
def dm():
    return qtcore.get_backend("cirq.density_matrix")


# -- amplitude encoding, noiseless (2 backends × 3 α × 3 n × 3 rows = 54 assertions) ----------
@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_dirichlet_rows_match_their_distribution(backend, alpha):
    rng = np.random.default_rng(int(alpha * 10))
    for n in (1, 3, 5):
        P = rng.dirichlet(np.full(2**n, alpha), size=3)
        counts = backend.sample_distributions(P, shots=4000, seed=100 + n)
        for i in range(len(P)):
            assert_fits(counts[i], P[i], f"{backend.name} n={n} α={alpha} row {i}")


def test_encoding_bit_order_has_power(backend):
    # The bit-reversed row differs by TVD 0.35 here: 4000 shots reject it by far.
    n = 3
    row = np.array([0.30, 0.02, 0.20, 0.03, 0.25, 0.05, 0.10, 0.05])
    counts = backend.sample_distributions(row[None], shots=4000, seed=1)[0]
    assert_fits(counts, row, f"{backend.name} asymmetric row")
    assert_rejects(counts, bit_reversed(row, n), f"{backend.name} bit-reversed row")


# -- noisy distributions against the reference density matrix (12 + 12 assertions) -----------
NOISE = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.08, readout=0.03)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_noisy_encoding_matches_reference(dm, n):
    rng = np.random.default_rng(n)
    P = np.vstack([rng.dirichlet(np.ones(2**n), size=2), np.eye(2**n)[[2 ** (n - 1)]]])
    counts = dm.sample_distributions(P, shots=20000, seed=n, noise=NOISE)
    exact = REF.distribution_probabilities(P, NOISE)
    for i in range(len(P)):
        assert_fits(counts[i], exact[i], f"noisy encoding n={n} row {i}")


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_noisy_random_circuits_match_reference(dm, n):
    rng = np.random.default_rng(10 + n)
    circuits = [random_circuit(rng, n, 12) for _ in range(3)]
    noise = NoiseModel(depolarizing_1q=0.05, depolarizing_2q=0.15, readout=0.05)
    counts = dm.run(circuits, shots=20000, seed=n, noise=noise)
    exact = REF.probabilities(circuits, noise)
    for i in range(len(circuits)):
        assert_fits(counts[i], exact[i], f"noisy random circuit n={n} #{i}")


# -- closed forms (12 assertions; the rejections are power checks, not counted) --------------
def test_one_qubit_depolarizing_after_x_pairs(dm):
    # m depolarized gates on a classical state: the bit ends flipped with (1 - (1 - 4p/3)^m)/2.
    # A second, idle qubit must never flip: noise is per gate, not per moment.
    p, shots = 0.05, 20000
    for pairs in range(6):
        c = Circuit(2, tuple(Gate("x", (0,)) for _ in range(2 * pairs)))
        counts = dm.run([c], shots=shots, seed=pairs, noise=NoiseModel(depolarizing_1q=p))[0]
        assert counts[1] == 0 and counts[3] == 0, "noise reached the idle qubit 1"
        flip = (1 - (1 - 4 * p / 3) ** (2 * pairs)) / 2
        assert_fits(counts[[0, 2]], np.array([1 - flip, flip]), f"{2 * pairs} x gates")
        if pairs == 5:
            lam = 4 * p / 3  # Qiskit's λ taken for p: flip (1 - (1 - 4λ/3)^m)/2
            wrong = (1 - (1 - 4 * lam / 3) ** (2 * pairs)) / 2
            assert_rejects(counts[[0, 2]], np.array([1 - wrong, wrong]), "λ for p")


def test_one_qubit_depolarizing_on_zero_after_one_x_pair_large_rate(dm):
    # x·x on |0>: P(1) = (1 - (1 - 4p/3)^2)/2; at p = 0.3 that is 0.32.
    p = 0.3
    c = Circuit(1, (Gate("x", (0,)), Gate("x", (0,))))
    counts = dm.run([c], shots=20000, seed=7, noise=NoiseModel(depolarizing_1q=p))[0]
    want = (1 - (1 - 4 * p / 3) ** 2) / 2
    assert want == pytest.approx(0.32)
    assert_fits(counts, np.array([1 - want, want]), "x·x at p=0.3")


def test_two_qubit_depolarizing_on_00(dm):
    # cx on |00>, then one of 15 Paulis with p/15 each: 12 flip a bit, 4 land on each of
    # 01, 10, 11. Applying 1-qubit depolarize(p) to each qubit instead would give
    # P(not 00) = 1 - (1 - 2p/3)^2 = 0.36 at p = 0.3, not 12p/15 = 0.24.
    q = 0.3
    counts = dm.run(
        [Circuit(2, (Gate("cx", (0, 1)),))],
        shots=20000,
        seed=3,
        noise=NoiseModel(depolarizing_2q=q),
    )[0]
    want = np.array([1 - 12 * q / 15, 4 * q / 15, 4 * q / 15, 4 * q / 15])
    assert_fits(counts, want, "cx on |00>")
    f = 2 * q / 3
    per_qubit = np.kron([1 - f, f], [1 - f, f])
    assert_rejects(counts, per_qubit, "two 1-qubit channels for one 2-qubit channel")


def test_two_qubit_depolarizing_reaches_both_operands_in_a_deeper_circuit(dm):
    # k cx(0, 2) pairs on |000> with idle qubit 1: the 2q channel after each cx acts on
    # qubits 0 and 2 only; qubit 1 must stay 0, and the exact law is the reference's.
    q = 0.2
    for pairs in (1, 3):
        c = Circuit(3, tuple(Gate("cx", (0, 2)) for _ in range(2 * pairs)))
        noise = NoiseModel(depolarizing_2q=q)
        counts = dm.run([c], shots=20000, seed=pairs, noise=noise)[0]
        assert counts[[2, 3, 6, 7]].sum() == 0, "noise reached the idle qubit 1"
        assert_fits(counts, REF.probabilities([c], noise)[0], f"{2 * pairs} cx(0,2)")


def test_readout_on_an_asymmetric_probe(dm):
    # |01> (x on qubit 1) measured with readout r: bits flip independently on their own
    # qubit, so P(00, 01, 10, 11) = (r(1-r), (1-r)^2, r^2, r(1-r)). The wrong-qubit law
    # swaps 01 and 10.
    r = 0.1
    c = Circuit(2, (Gate("x", (1,)),))
    counts = dm.run([c], shots=20000, seed=11, noise=NoiseModel(readout=r))[0]
    want = np.array([r * (1 - r), (1 - r) ** 2, r**2, r * (1 - r)])
    assert_fits(counts, want, "readout on |01>")
    assert_rejects(counts, want[[0, 2, 1, 3]], "readout law of |10>")


def test_readout_after_gate_noise(dm):
    # x on qubit 1 with 1q noise p and readout r: qubit 1 reads 1 with (1-f)(1-r) + f r,
    # f = 2p/3; the idle qubit 0 only sees readout, r.
    p, r = 0.3, 0.1
    f = 2 * p / 3
    one = (1 - f) * (1 - r) + f * r
    c = Circuit(2, (Gate("x", (1,)),))
    counts = dm.run([c], shots=20000, seed=12, noise=NoiseModel(depolarizing_1q=p, readout=r))[0]
    want = np.kron([1 - r, r], [1 - one, one])
    assert_fits(counts, want, "x on qubit 1 with gate noise and readout")
    z = f * (1 - r) + (1 - f) * r  # what qubit 0 would read as 1 if the gate's noise hit it
    idle_noisy = np.kron([1 - z, z], [1 - one, one])
    assert_rejects(counts, idle_noisy, "gate noise on the idle qubit")
