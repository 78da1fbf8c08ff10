"""The reference simulator against an independent brute-force implementation and closed forms.

The brute force below builds full 2ⁿ×2ⁿ matrices with np.kron and applies the noise channels
as explicit Pauli sums (the definition in DESIGN.md), sharing no code with qtcore.simulator.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

import qtcore
from qtcore import Circuit, Gate, NoiseModel
from qtcore.simulator import probabilities, statevectors

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0 + 0j, -1.0])
H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)


def _rot(P: np.ndarray, theta: float) -> np.ndarray:
    return math.cos(theta / 2) * I2 - 1j * math.sin(theta / 2) * P


def _embed(ops: dict[int, np.ndarray], n: int) -> np.ndarray:
    out = np.array([[1.0 + 0j]])
    for q in range(n):  # qubit 0 is the most significant: it comes first in the kron
        out = np.kron(out, ops.get(q, I2))
    return out


def _unitary(g: Gate, n: int) -> np.ndarray:
    if g.name in ("rx", "ry", "rz"):
        return _embed({g.qubits[0]: _rot({"rx": X, "ry": Y, "rz": Z}[g.name], g.params[0])}, n)
    if g.name in ("h", "x"):
        return _embed({g.qubits[0]: {"h": H, "x": X}[g.name]}, n)
    a, b = g.qubits
    p0, p1 = np.diag([1.0 + 0j, 0]), np.diag([0j, 1.0])
    if g.name == "cx":
        return _embed({a: p0}, n) + _embed({a: p1, b: X}, n)
    return _embed({a: p0}, n) + _embed({a: p1, b: Z}, n)


def _brute_probs(c: Circuit, noise: NoiseModel | None) -> np.ndarray:
    n = c.n_qubits
    rho = np.zeros((2**n, 2**n), dtype=complex)
    rho[0, 0] = 1
    for g in c.gates:
        U = _unitary(g, n)
        rho = U @ rho @ U.conj().T
        p = 0.0 if noise is None else noise.gate_error(len(g.qubits))
        if p:
            paulis = [
                _embed(dict(zip(g.qubits, combo)), n)
                for combo in itertools.product([I2, X, Y, Z], repeat=len(g.qubits))
            ][1:]  # drop the identity
            rho = (1 - p) * rho + (p / len(paulis)) * sum(P @ rho @ P.conj().T for P in paulis)
    probs = np.real(np.diag(rho))
    if noise is not None and noise.readout:
        r = noise.readout
        M = np.array([[1.0]])
        for _ in range(n):
            M = np.kron(M, np.array([[1 - r, r], [r, 1 - r]]))
        probs = M @ probs
    return probs


def _random_circuit(n: int, depth: int, rng: np.random.Generator) -> Circuit:
    gates = []
    for _ in range(depth):
        name = rng.choice(["rx", "ry", "rz", "h", "x", "cx", "cz"] if n > 1 else ["rx", "ry", "h"])
        if name in ("cx", "cz"):
            a, b = rng.choice(n, size=2, replace=False)
            gates.append(Gate(str(name), (int(a), int(b))))
        elif name in ("h", "x"):
            gates.append(Gate(str(name), (int(rng.integers(n)),)))
        else:
            gates.append(Gate(str(name), (int(rng.integers(n)),), (float(rng.uniform(-7, 7)),)))
    return Circuit(n, tuple(gates))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "noise",
    [None, NoiseModel(0.05, 0.1, 0.03), NoiseModel(depolarizing_2q=0.3), NoiseModel(readout=0.2)],
)
def test_random_circuits_match_brute_force(n: int, noise: NoiseModel | None) -> None:
    rng = np.random.default_rng(n * 31 + (0 if noise is None else 7))
    circuits = [_random_circuit(n, 12, rng) for _ in range(6)]
    got = probabilities(circuits, noise)
    want = np.stack([_brute_probs(c, noise) for c in circuits])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_statevector_matches_brute_force_with_phases() -> None:
    rng = np.random.default_rng(5)
    c = _random_circuit(3, 20, rng)
    U = np.eye(8, dtype=complex)
    for g in c.gates:
        U = _unitary(g, 3) @ U
    np.testing.assert_allclose(statevectors([c])[0], U[:, 0], atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_bit_order_is_big_endian(n: int) -> None:
    ref = qtcore.ReferenceBackend()
    assert ref.probabilities([Circuit(n, (Gate("x", (0,)),))])[0].argmax() == 2 ** (n - 1)
    assert ref.probabilities([Circuit(n, (Gate("x", (n - 1,)),))])[0].argmax() == 1
    # cx(0, 2) after x(0) sets qubit 2; cx(2, 0) after x(0) does nothing.
    a = Circuit(n if n > 2 else 3, (Gate("x", (0,)), Gate("cx", (0, 2))))
    b = Circuit(n if n > 2 else 3, (Gate("x", (0,)), Gate("cx", (2, 0))))
    m = a.n_qubits
    assert ref.probabilities([a])[0].argmax() == 2 ** (m - 1) + 2 ** (m - 3)
    assert ref.probabilities([b])[0].argmax() == 2 ** (m - 1)


def test_rotation_sign_and_period_conventions() -> None:
    ref = qtcore.ReferenceBackend()
    theta = 0.7
    # h·rz(θ)·h = rx(θ) up to phase: P(1) = sin²(θ/2), which tells θ from θ/2.
    c = Circuit(1, (Gate("h", (0,)), Gate("rz", (0,), (theta,)), Gate("h", (0,))))
    assert ref.probabilities([c])[0, 1] == pytest.approx(math.sin(theta / 2) ** 2)
    # ry(π/2)·rz(±θ)·rx(π/2) reads the Bloch y component, sin(±θ): P(1) = (1 ∓ sin θ)/2.
    def yprobe(angle: float) -> Circuit:
        return Circuit(1, (Gate("ry", (0,), (math.pi / 2,)), Gate("rz", (0,), (angle,)),
                           Gate("rx", (0,), (math.pi / 2,))))

    p, q = ref.probabilities([yprobe(theta), yprobe(-theta)])[:, 1]
    assert p == pytest.approx((1 - math.sin(theta)) / 2)
    assert q == pytest.approx((1 + math.sin(theta)) / 2)
    # 4π is the identity; 2π only up to a global phase.
    full = Circuit(1, (Gate("h", (0,)), Gate("rz", (0,), (2 * math.pi,)), Gate("h", (0,))))
    assert ref.probabilities([full])[0, 0] == pytest.approx(1.0)


def test_mirror_circuits_return_to_zero() -> None:
    rng = np.random.default_rng(9)
    for n in (1, 3, 5):
        c = _random_circuit(n, 25, rng)
        mirror = Circuit(n, c.gates + c.inverse().gates)
        assert probabilities([mirror])[0, 0] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.05, 0.3, 0.75])
def test_depolarizing_closed_forms(p: float) -> None:
    ref = qtcore.ReferenceBackend()
    one = ref.probabilities([Circuit(1, (Gate("h", (0,)), Gate("h", (0,))))],
                            NoiseModel(depolarizing_1q=p))
    # two noisy gates on |0⟩: each flips the Z population with probability 2p/3
    q = 2 * p / 3
    assert one[0, 1] == pytest.approx((1 - (1 - 2 * q) ** 2) / 2)
    two = ref.probabilities([Circuit(2, (Gate("cz", (0, 1)),))],
                            NoiseModel(depolarizing_2q=min(p, 15 / 16)))
    assert 1 - two[0, 0] == pytest.approx(12 * min(p, 15 / 16) / 15)


@pytest.mark.parametrize("pairs", [0, 1, 3, 10])
def test_noise_after_every_gate_depth_sweep(pairs: int) -> None:
    p = 0.04
    c = Circuit(1, tuple(Gate("x", (0,)) for _ in range(2 * pairs)))
    got = qtcore.ReferenceBackend().probabilities([c], NoiseModel(depolarizing_1q=p))[0, 1]
    assert got == pytest.approx((1 - (1 - 4 * p / 3) ** (2 * pairs)) / 2, abs=1e-12)


def test_readout_flips_each_measured_bit_after_gate_noise() -> None:
    r = 0.1
    c = Circuit(2, (Gate("x", (1,)),))  # |01⟩: outcome 1
    got = qtcore.ReferenceBackend().probabilities([c], NoiseModel(readout=r))[0]
    np.testing.assert_allclose(got, [r * (1 - r), (1 - r) ** 2, r * r, (1 - r) * r])


def test_noiseless_model_equals_none() -> None:
    ref = qtcore.ReferenceBackend()
    P = np.random.default_rng(1).dirichlet(np.ones(8), size=3)
    a = ref.sample_distributions(P, shots=500, seed=3, noise=None)
    b = ref.sample_distributions(P, shots=500, seed=3, noise=NoiseModel())
    np.testing.assert_array_equal(a, b)


def test_sample_distributions_matches_run_of_the_encoding() -> None:
    ref = qtcore.ReferenceBackend()
    P = np.random.default_rng(2).dirichlet(np.ones(8), size=4)
    noise = NoiseModel(0.01, 0.05, 0.02)
    exact_dist = ref.distribution_probabilities(P, noise)
    exact_run = ref.probabilities(qtcore.amplitude_encoding(P), noise)
    np.testing.assert_allclose(exact_dist, exact_run, atol=1e-12)
    np.testing.assert_allclose(ref.distribution_probabilities(P), P, atol=1e-12)


def test_shots_follow_the_exact_distribution() -> None:
    # G-test per row at a 1e-6 false-failure rate each (3 rows ⇒ ≤ 3e-6 for the test).
    ref = qtcore.ReferenceBackend()
    P = np.random.default_rng(4).dirichlet(np.ones(8), size=3)
    noise = NoiseModel(0.02, 0.05, 0.01)
    probs = ref.distribution_probabilities(P, noise)
    counts = ref.sample_distributions(P, shots=200_000, seed=11, noise=noise)
    for c, p in zip(counts, probs):
        _, pvalue = stats.power_divergence(c, p * c.sum(), lambda_="log-likelihood")
        assert pvalue > 1e-6


def test_seeds_reproduce_and_rows_are_independent() -> None:
    ref = qtcore.ReferenceBackend()
    P = np.tile(np.full(16, 1 / 16), (4, 1))
    a = ref.sample_distributions(P, shots=1000, seed=5)
    np.testing.assert_array_equal(a, ref.sample_distributions(P, shots=1000, seed=5))
    assert not np.array_equal(a, ref.sample_distributions(P, shots=1000, seed=6))
    # identical rows in one batch get independent draws
    assert len({tuple(r) for r in a}) == 4
    # a row's counts do not depend on the rest of the batch
    np.testing.assert_array_equal(ref.sample_distributions(P[:1], shots=1000, seed=5), a[:1])


def test_unseeded_calls_differ() -> None:
    ref = qtcore.ReferenceBackend()
    P = np.full((1, 64), 1 / 64)
    assert not np.array_equal(ref.sample_distributions(P, shots=5000),
                              ref.sample_distributions(P, shots=5000))
