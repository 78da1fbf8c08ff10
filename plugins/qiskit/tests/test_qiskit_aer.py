"""``qiskit.aer`` against qtcore's exact ``reference`` backend.

Statistical assertions go through ``assert_fits`` (conftest.py): a G-test per row at
α = 1e-6 / rows, so each test below fails a correct backend with probability ≤ 1e-6.
Binomial assertions state their own α, also 1e-6.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from qtcore_qiskit.backend import AER_MAX_QUBITS, choose_method
from scipy import stats

import qtcore
from qtcore import Circuit, Gate, NoiseModel

ALPHA = 1e-6
Fits = Callable[[np.ndarray, np.ndarray], None]
PValue = Callable[[np.ndarray, np.ndarray], float]
REF = qtcore.ReferenceBackend()


@pytest.fixture(scope="module")
def aer() -> qtcore.Backend:
    return qtcore.get_backend("qiskit.aer")


# -- bit order ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_x_on_qubit_0_lands_on_the_most_significant_bit(aer: qtcore.Backend, n: int) -> None:
    counts = aer.run([Circuit(n, (Gate("x", (0,)),))], shots=16, seed=0)
    assert np.flatnonzero(counts[0]).tolist() == [2 ** (n - 1)]


def test_cx_direction_and_non_adjacent_pairs(aer: qtcore.Backend) -> None:
    circuits = [
        Circuit(3, (Gate("x", (0,)), Gate("cx", (0, 2)))),  # 101 = 5
        Circuit(3, (Gate("x", (2,)), Gate("cx", (2, 0)))),  # 101 = 5
        Circuit(3, (Gate("x", (0,)), Gate("cx", (2, 0)))),  # control 0: stays 100 = 4
        Circuit(3, (Gate("x", (2,)), Gate("cx", (0, 2)))),  # control 0: stays 001 = 1
        Circuit(3, (Gate("x", (1,)), Gate("cx", (1, 2)))),  # 011 = 3
    ]
    counts = aer.run(circuits, shots=8, seed=1)
    assert [int(np.flatnonzero(row)[0]) for row in counts] == [5, 5, 4, 1, 3]
    assert (counts.max(axis=1) == 8).all()


def test_one_hot_rows_land_only_on_their_index(aer: qtcore.Backend) -> None:
    n = 5
    indices = [1, 2 ** (n - 1), 0b10110, 0, 2**n - 1, 0b00011]
    P = np.zeros((len(indices), 2**n))
    P[np.arange(len(indices)), indices] = 1.0
    counts = aer.sample_distributions(P, shots=50, seed=2)
    assert (counts == 50 * P).all()


# -- amplitude encoding ------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_dirichlet_rows_match_the_reference(
    aer: qtcore.Backend, assert_fits: Fits, alpha: float
) -> None:
    rng = np.random.default_rng(int(alpha * 10))
    P = rng.dirichlet(np.full(16, alpha), size=6)
    counts = aer.sample_distributions(P, shots=20_000, seed=3)
    assert_fits(counts, P)


def test_rows_not_a_power_of_two_are_padded(aer: qtcore.Backend) -> None:
    P = np.array([[0.2, 0.3, 0.5]])
    counts = aer.sample_distributions(P, shots=1000, seed=4)
    assert counts.shape == (1, 4) and counts[0, 3] == 0


# -- noise ---------------------------------------------------------------------------------
NOISES = [
    NoiseModel(depolarizing_1q=0.02),
    NoiseModel(depolarizing_2q=0.08),
    NoiseModel(readout=0.05),
    NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.05, readout=0.02),
]


@pytest.mark.parametrize("noise", NOISES, ids=["1q", "2q", "readout", "all"])
def test_noisy_distributions_match_the_reference_density_matrix(
    aer: qtcore.Backend, assert_fits: Fits, g_pvalue: PValue, noise: NoiseModel
) -> None:
    rng = np.random.default_rng(6)
    P = rng.dirichlet(np.ones(8), size=3)
    counts = aer.sample_distributions(P, shots=200_000, seed=5, noise=noise)
    assert_fits(counts, REF.distribution_probabilities(P, noise))
    # Power: the same shots must reject a mis-converted model (λ used as p, readout 25 %
    # low), or this test could not fail on the classic conversion bug.
    off = REF.distribution_probabilities(
        P,
        NoiseModel(
            depolarizing_1q=noise.depolarizing_1q * 0.75,  # λ = p instead of 4p/3
            depolarizing_2q=noise.depolarizing_2q * 15 / 16,  # λ = p instead of 16p/15
            readout=noise.readout * 0.75,
        ),
    )
    worst = min(g_pvalue(c, p) for c, p in zip(counts, off))
    assert worst < ALPHA, "the test cannot tell the λ = p mistake from the right conversion"


def test_noisy_random_circuits_match_the_reference(aer: qtcore.Backend, assert_fits: Fits) -> None:
    rng = np.random.default_rng(7)
    circuits = []
    for _ in range(4):
        gates = []
        for _ in range(10):
            kind = str(rng.choice(["rx", "ry", "rz", "h", "x", "cx", "cz"]))
            if kind in ("cx", "cz"):
                a, b = rng.choice(3, size=2, replace=False)
                gates.append(Gate(kind, (int(a), int(b))))
            elif kind in ("h", "x"):
                gates.append(Gate(kind, (int(rng.integers(3)),)))
            else:
                gates.append(Gate(kind, (int(rng.integers(3)),), (float(rng.uniform(-4, 4)),)))
        circuits.append(Circuit(3, tuple(gates)))
    noise = NoiseModel(depolarizing_1q=0.03, depolarizing_2q=0.1, readout=0.04)
    counts = aer.run(circuits, shots=100_000, seed=8, noise=noise)
    assert_fits(counts, REF.probabilities(circuits, noise))


def test_depolarizing_closed_form_1q_and_2q(aer: qtcore.Backend) -> None:
    # 1q: x on |0⟩ then X/Y/Z at p/3 each: X and Y undo the flip, so P(0) = 2p/3.
    # 2q: cx on |00⟩: 12 of the 15 Paulis flip a bit, so P(≠ 00) = 12p/15.
    p1, p2, shots = 0.3, 0.3, 50_000
    c1 = aer.run(
        [Circuit(1, (Gate("x", (0,)),))], shots=shots, seed=9, noise=NoiseModel(depolarizing_1q=p1)
    )
    c2 = aer.run(
        [Circuit(2, (Gate("cx", (0, 1)),))],
        shots=shots,
        seed=10,
        noise=NoiseModel(depolarizing_2q=p2),
    )
    for k, want in ((int(c1[0, 0]), 2 * p1 / 3), (int(shots - c2[0, 0]), 12 * p2 / 15)):
        assert stats.binomtest(k, shots, want).pvalue > ALPHA / 2


@pytest.mark.parametrize("pairs", [1, 3, 8])
def test_noise_after_every_gate_even_when_gates_cancel(aer: qtcore.Backend, pairs: int) -> None:
    # x·x pairs are the identity: a transpiler that cancelled them would drop their noise.
    # Each gate flips the bit with q = 2p/3, so after m gates P(1) = (1 - (1 - 2q)**m) / 2.
    p, shots, m = 0.05, 40_000, 2 * pairs
    circuit = Circuit(1, tuple(Gate("x", (0,)) for _ in range(m)))
    counts = aer.run([circuit], shots=shots, seed=11 + pairs, noise=NoiseModel(depolarizing_1q=p))
    want = (1 - (1 - 4 * p / 3) ** m) / 2
    assert stats.binomtest(int(counts[0, 1]), shots, want).pvalue > ALPHA


def test_readout_flips_the_right_qubit(aer: qtcore.Backend, assert_fits: Fits) -> None:
    # |01⟩ (x on qubit 1) read with flip probability r on each bit, independently.
    r = 0.1
    counts = aer.run(
        [Circuit(2, (Gate("x", (1,)),))], shots=100_000, seed=12, noise=NoiseModel(readout=r)
    )
    want = np.array([r * (1 - r), (1 - r) ** 2, r * r, (1 - r) * r])
    assert_fits(counts, want)


def test_all_zero_noise_equals_no_noise(aer: qtcore.Backend) -> None:
    P = np.random.default_rng(13).dirichlet(np.ones(8), size=4)
    a = aer.sample_distributions(P, shots=500, seed=14, noise=NoiseModel())
    b = aer.sample_distributions(P, shots=500, seed=14)
    assert (a == b).all()


def test_method_choice_is_the_cheaper_exact_one() -> None:
    assert choose_method("auto", 7, 32, noisy=False) == "statevector"
    assert choose_method("auto", 7, 10_000, noisy=True) == "density_matrix"
    assert choose_method("auto", 7, 32, noisy=True) == "statevector"  # 32 trajectories
    assert choose_method("auto", 14, 10**6, noisy=True) == "statevector"  # 4 GiB matrix
    assert choose_method("density_matrix", 7, 32, noisy=True) == "density_matrix"


def test_noisy_trajectories_match_the_reference_too(assert_fits: Fits) -> None:
    aer = qtcore.get_backend("qiskit.aer", method="statevector")
    P = np.random.default_rng(15).dirichlet(np.ones(4), size=2)
    noise = NoiseModel(depolarizing_1q=0.05, depolarizing_2q=0.1, readout=0.03)
    counts = aer.sample_distributions(P, shots=20_000, seed=16, noise=noise)
    assert_fits(counts, REF.distribution_probabilities(P, noise))


# -- seeds ---------------------------------------------------------------------------------
def test_same_seed_same_counts_and_different_seeds_differ(aer: qtcore.Backend) -> None:
    P = np.random.default_rng(17).dirichlet(np.ones(32), size=20)
    noise = NoiseModel(depolarizing_2q=0.02, readout=0.01)
    for kw in ({}, {"noise": noise}):
        a = aer.sample_distributions(P, shots=64, seed=123, **kw)
        b = aer.sample_distributions(P, shots=64, seed=123, **kw)
        c = aer.sample_distributions(P, shots=64, seed=124, **kw)
        assert (a == b).all() and not (a == c).all()
    circuits = qtcore.amplitude_encoding(P[:3])
    assert (aer.run(circuits, shots=64, seed=5) == aer.run(circuits, shots=64, seed=5)).all()
    # A fresh backend object (a fresh process would be the same) reproduces the counts.
    fresh = qtcore.get_backend("qiskit.aer")
    assert (
        fresh.sample_distributions(P, shots=64, seed=123)
        == aer.sample_distributions(P, shots=64, seed=123)
    ).all()


def test_sample_distributions_equals_run_of_the_encoding_circuits(aer: qtcore.Backend) -> None:
    # The template binding and the bound circuits are the same Aer experiments.
    P = np.random.default_rng(28).dirichlet(np.ones(32), size=6)
    noise = NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.03, readout=0.02)
    for kw in ({}, {"noise": noise}):
        fast = aer.sample_distributions(P, shots=200, seed=29, **kw)
        slow = aer.run(qtcore.amplitude_encoding(P), shots=200, seed=29, **kw)
        assert (fast == slow).all()


def test_identical_rows_get_independent_draws(aer: qtcore.Backend) -> None:
    # 200 copies of a uniform row over 64 outcomes at 32 shots: identical counts in two
    # rows have probability < 1e-30, so any repeat means shared random streams.
    P = np.full((200, 64), 1 / 64)
    counts = aer.sample_distributions(P, shots=32, seed=18)
    assert len({row.tobytes() for row in counts}) == 200


def test_a_row_does_not_depend_on_later_rows(aer: qtcore.Backend) -> None:
    P = np.random.default_rng(19).dirichlet(np.ones(16), size=10)
    whole = aer.sample_distributions(P, shots=100, seed=20)
    head = aer.sample_distributions(P[:4], shots=100, seed=20)
    assert (whole[:4] == head).all()


# -- capabilities --------------------------------------------------------------------------
def test_max_qubits_runs_and_one_more_raises(aer: qtcore.Backend) -> None:
    n = AER_MAX_QUBITS
    assert aer.capabilities.max_qubits == n
    counts = aer.run([Circuit(n, (Gate("x", (0,)), Gate("x", (n - 1,))))], shots=4, seed=0)
    assert counts[0, 2 ** (n - 1) + 1] == 4
    with pytest.raises(qtcore.CapabilityError):
        aer.run([Circuit(n + 1, (Gate("x", (0,)),))], shots=1)
    with pytest.raises(qtcore.CapabilityError):
        aer.sample_distributions(np.full((1, 2**n + 1), 1 / (2**n + 1)), shots=1)


def test_bad_method_is_rejected() -> None:
    with pytest.raises(qtcore.InvalidInput, match="method"):
        qtcore.get_backend("qiskit.aer", method="stabilizer")
