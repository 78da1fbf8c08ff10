"""``mitiq.zne``: exact extrapolation, bias reduction on ``reference``, unbiased shot path,
noiseless invariance, seeds, shot accounting and input errors.

Every stochastic assertion states its false-failure rate; seeds are fixed, so a run is
deterministic, and the stated rate is the probability over seeds that a correct
implementation fails.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from qtcore_mitiq import (
    REMMitigator,
    ZNEMitigator,
    extrapolate,
    extrapolation_weights,
    project_to_simplex,
)
from scipy import stats

import qtcore
from qtcore import Circuit, Gate, NoiseModel
from qtcore.shots import sample_counts

REF = qtcore.ReferenceBackend()
NOISE = NoiseModel(depolarizing_1q=0.001, depolarizing_2q=0.01)


def tvd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(a - b).sum(axis=-1)


def dirichlet(n: int, rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(2**n), size=rows)


class PolynomialBackend(qtcore.BackendBase):
    """A synthetic executor: outcome probabilities are a known polynomial in the scale factor.

    The scale factor of a circuit is its gate count over the unfolded count ``base_gates``
    (exact for odd integer folding); row b's probabilities are
    ``p0[b] + Σ_m coeffs[m][b] · λ^(m+1)`` (coefficient rows sum to 0).
    """

    name = "test.polynomial"
    capabilities = qtcore.Capabilities(max_qubits=4, noise=True, exact_probabilities=True)

    def __init__(self, p0: np.ndarray, coeffs: list[np.ndarray], base_gates: int) -> None:
        self.p0, self.coeffs, self.base_gates = p0, coeffs, base_gates
        self.calls: list[tuple[int, int]] = []

    def probabilities(self, circuits: list[Circuit], noise: NoiseModel | None = None) -> np.ndarray:
        lam = np.array([len(c.gates) / self.base_gates for c in circuits])
        out = self.p0[: len(circuits)].copy()
        for m, a in enumerate(self.coeffs):
            out += a[: len(circuits)] * lam[:, None] ** (m + 1)
        return out

    def _run(self, circuits, *, shots, seed, noise):  # type: ignore[no-untyped-def]
        self.calls.append((len(circuits), shots))
        return sample_counts(self.probabilities(circuits), shots, seed)


class ExponentialBackend(PolynomialBackend):
    """Global depolarization in closed form: p(λ) = u + (p0 − u)·exp(−cλ), u uniform."""

    def probabilities(self, circuits: list[Circuit], noise: NoiseModel | None = None) -> np.ndarray:
        lam = np.array([len(c.gates) / self.base_gates for c in circuits])
        u = 1.0 / self.p0.shape[1]
        return u + (self.p0[: len(circuits)] - u) * np.exp(-0.3 * lam)[:, None]


def _synthetic(degree: int, seed: int = 0) -> tuple[np.ndarray, list[Circuit], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    p0 = rng.dirichlet(np.ones(4), size=3)
    coeffs = []
    for _ in range(degree):
        a = rng.normal(scale=1e-3, size=(3, 4))
        coeffs.append(a - a.mean(axis=1, keepdims=True))
    return p0, qtcore.amplitude_encoding(p0), coeffs


@pytest.mark.parametrize(
    ("options", "degree"),
    [
        ({}, 2),  # Richardson at (1, 3, 5) is exact on quadratics
        ({"factory": "linear"}, 1),
        ({"factory": "poly", "order": 2, "scale_factors": (1, 3, 5, 7)}, 2),
        ({"factory": "richardson", "scale_factors": (1, 3, 5, 7)}, 3),
        ({"scaling": "fold_global"}, 2),
    ],
)
def test_extrapolation_is_exact_on_a_polynomial_executor(options: dict, degree: int) -> None:
    p0, circuits, coeffs = _synthetic(degree)
    backend = PolynomialBackend(p0, coeffs, base_gates=len(circuits[0].gates))
    q = ZNEMitigator(exact=True, **options).run(backend, circuits, shots=1, noise=NOISE)
    np.testing.assert_allclose(q, p0, atol=1e-12)
    # and the test has teeth: the unmitigated values are far off
    assert tvd(backend.probabilities(circuits), p0).min() > 1e-4


def test_exp_factory_is_exact_on_global_depolarization() -> None:
    p0, circuits, _ = _synthetic(0)
    backend = ExponentialBackend(p0, [], base_gates=len(circuits[0].gates))
    q = ZNEMitigator(exact=True, factory="exp").run(backend, circuits, shots=1, noise=NOISE)
    np.testing.assert_allclose(q, p0, atol=1e-10)
    assert tvd(backend.probabilities(circuits), p0).min() > 1e-3


def test_weights_equal_mitiqs_own_extrapolation() -> None:
    from mitiq.zne.inference import LinearFactory, PolyFactory, RichardsonFactory

    rng = np.random.default_rng(3)
    lam = [1.0, 2.0, 3.5, 5.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(20):
            y = list(rng.normal(size=4))
            for name, want in (
                ("richardson", RichardsonFactory.extrapolate(lam, y)),
                ("linear", LinearFactory.extrapolate(lam, y)),
            ):
                assert extrapolation_weights(lam, name) @ y == pytest.approx(want, abs=1e-9)
            got = extrapolation_weights(lam, "poly", order=2) @ y
            assert got == pytest.approx(PolyFactory.extrapolate(lam, y, order=2), abs=1e-9)
    np.testing.assert_allclose(extrapolation_weights((1, 3, 5)), [15 / 8, -10 / 8, 3 / 8])


@pytest.mark.parametrize("n", [2, 3, 4])
def test_zne_reduces_the_bias_on_reference(n: int) -> None:
    # Exact probabilities, amplitude-encoded Dirichlet rows, depolarizing_2q = 0.01.
    # Measured on these rows: raw/ZNE TVD ratio 775× (n=2), 122× (n=3), 32× (n=4) with either
    # scaling; we require 20× (deterministic: exact probabilities, odd scale factors).
    P = dirichlet(n, rows=6, seed=n)
    raw = REF.distribution_probabilities(P, NOISE)
    for scaling in ("fold_gates_at_random", "fold_global"):
        q = ZNEMitigator(exact=True, scaling=scaling).sample_distributions(
            REF, P, shots=1, noise=NOISE, seed=0
        )
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
        assert tvd(q, P).mean() * 20 < tvd(raw, P).mean()


def test_mitiqs_default_scale_factors_are_worse_than_ours() -> None:
    # DESIGN.md: random folding at (1, 2, 3) folds a random subset of gates whatever their
    # noise; on a Bell pair it makes the distribution worse, (1, 3, 5) does not.
    bell = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
    exact = np.array([[0.5, 0.0, 0.0, 0.5]])
    raw = REF.probabilities([bell], NOISE)
    ours = ZNEMitigator(exact=True).run(REF, [bell], shots=1, noise=NOISE, seed=0)
    mitiq_default = ZNEMitigator(exact=True, scale_factors=(1, 2, 3)).run(
        REF, [bell], shots=1, noise=NOISE, seed=0
    )
    assert tvd(ours, exact)[0] * 100 < tvd(raw, exact)[0]
    assert tvd(mitiq_default, exact)[0] > tvd(raw, exact)[0]


def test_shot_path_is_the_exact_extrapolation_plus_unbiased_noise() -> None:
    # With shots, ZNE = Σ_k w_k f_k where f_k are multinomial frequencies at scale λ_k, so
    # E[q] = exact-mode ZNE and Cov[q] = Σ_k w_k² (diag p_k − p_k p_kᵀ)/S. A χ² test of
    # the difference (rank D−1 per row) over 24 independent rows:
    # false-failure rate 1e-6 (assert p > 1e-6).
    n, rows, shots = 2, 24, 20_000
    P = dirichlet(n, rows, seed=11)
    noise = NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.05)
    zne = ZNEMitigator()
    q = zne.sample_distributions(REF, P, shots=shots, noise=noise, seed=5)
    mean = ZNEMitigator(exact=True).sample_distributions(REF, P, shots=1, noise=noise, seed=5)
    circuits = qtcore.amplitude_encoding(P)
    w = extrapolation_weights(zne.scale_factors)
    pk = [REF.probabilities(zne.fold(circuits, s, seed=0), noise) for s in zne.scale_factors]
    stat, dof = 0.0, 0
    for b in range(rows):
        cov = sum(wk**2 * (np.diag(p[b]) - np.outer(p[b], p[b])) for wk, p in zip(w, pk)) / shots
        d = q[b] - mean[b]
        stat += float(d @ np.linalg.pinv(cov) @ d)
        dof += 2**n - 1
    assert stats.chi2.sf(stat, dof) > 1e-6
    # the test has teeth: the unmitigated scale-1 frequencies sit many standard deviations
    # away from that mean
    d_raw = zne.last_scaled[0] - mean
    assert np.abs(d_raw).max() > 10 * np.sqrt(np.diag(cov)).max()


def test_mitigation_reduces_the_error_over_repeated_trials() -> None:
    # One-sided binomial test at equal budget: in each of T = 20 trials (independent seeds),
    # does ZNE at S shots per scale factor beat the raw distribution measured with 3·S shots?
    # H0: win probability ≤ 1/2; require p < 1e-3 (≥ 18 wins of 20).
    # Sizing: n = 3, depolarizing_2q = 0.02, this row: raw bias TVD 0.046. Measured over
    # 400 other seeds at S = 1e5: ZNE TVD mean 0.0071, max 0.0151; raw TVD min 0.0452;
    # 400 wins of 400. A lost trial needs the ZNE shot noise to triple its worst case in 400,
    # so the win probability is > 0.999 and P(≤ 17 wins of 20) < 1.2e-6: the false-failure
    # rate.
    noise = NoiseModel(depolarizing_1q=0.002, depolarizing_2q=0.02)
    P = dirichlet(3, rows=1, seed=21)
    zne = ZNEMitigator()
    shots = 100_000
    wins = 0
    for trial in range(20):
        q = zne.sample_distributions(REF, P, shots=shots, noise=noise, seed=1000 + trial)
        assert zne.last_shots_spent == 3 * shots
        raw = REF.sample_distributions(P, shots=3 * shots, noise=noise, seed=1000 + trial) / (
            3 * shots
        )
        wins += int(tvd(q, P)[0] < tvd(raw, P)[0])
    assert stats.binomtest(wins, 20, 0.5, alternative="greater").pvalue < 1e-3


def test_noiseless_backend_mitigated_equals_raw() -> None:
    # With exact probabilities: identical to round-off (the weights sum to 1 and every
    # folded circuit has the unfolded unitary).
    P = dirichlet(3, rows=4, seed=2)
    for options in ({}, {"factory": "linear"}, {"scaling": "fold_global"}):
        q = ZNEMitigator(exact=True, **options).sample_distributions(REF, P, shots=1, seed=0)
        np.testing.assert_allclose(q, P, atol=1e-10)


class NoiselessBackend(qtcore.BackendBase):
    """A backend that cannot model noise (capabilities.noise is False)."""

    name = "test.noiseless"
    capabilities = qtcore.Capabilities(max_qubits=4)

    def _run(self, circuits, *, shots, seed, noise):  # type: ignore[no-untyped-def]
        from qtcore.simulator import probabilities

        return sample_counts(probabilities(circuits), shots, seed)


def test_backend_without_noise_equals_raw_in_expectation() -> None:
    # E[q] = Σ w_k p = p; Var per outcome = Σ w_k² p(1−p)/S. z-test per outcome over 8 rows
    # × 8 outcomes, Bonferroni: false-failure rate ≤ 64 · 2·Φ(−6.0) ≈ 1.3e-7.
    P = dirichlet(3, rows=8, seed=4)
    zne = ZNEMitigator()
    backend = NoiselessBackend()
    shots = 4000
    q = zne.sample_distributions(backend, P, shots=shots, seed=9)
    sd = np.sqrt((extrapolation_weights(zne.scale_factors) ** 2).sum() * P * (1 - P) / shots)
    z = np.abs(q - P) / np.where(sd > 0, sd, 1.0)
    assert z.max() < 6.0
    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        zne.sample_distributions(backend, P, shots=10, noise=NOISE)


def test_same_seed_same_result_different_seed_differs() -> None:
    P = dirichlet(2, rows=3, seed=1)
    zne = ZNEMitigator(scale_factors=(1, 2, 3))
    a = zne.sample_distributions(REF, P, shots=500, noise=NOISE, seed=42)
    b = zne.sample_distributions(REF, P, shots=500, noise=NOISE, seed=42)
    c = zne.sample_distributions(REF, P, shots=500, noise=NOISE, seed=43)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # seed=None draws fresh entropy; the shapes and sums still hold
    d = zne.sample_distributions(REF, P, shots=500, noise=NOISE)
    np.testing.assert_allclose(d.sum(axis=1), 1.0, atol=1e-12)


def test_shot_accounting_matches_what_the_backend_ran() -> None:
    p0, circuits, coeffs = _synthetic(1)
    backend = PolynomialBackend(p0, coeffs, base_gates=len(circuits[0].gates))
    rem = REMMitigator(confusion="calibrate", calibration_shots=700)
    for mitigator in (ZNEMitigator(), ZNEMitigator(scale_factors=(1, 2), rem=rem), rem):
        backend.calls.clear()
        budget = mitigator.shots_per_call(len(circuits), 300, n_qubits=2)
        mitigator.run(backend, circuits, shots=300, seed=1)
        ran = sum(b * s for b, s in backend.calls)
        assert mitigator.last_shots_spent == ran == budget
    z = ZNEMitigator(exact=True)
    z.run(REF, circuits, shots=300, seed=1)
    assert z.last_shots_spent == 0 == z.shots_per_call(3, 300)


def test_project_gives_probability_rows() -> None:
    P = np.array([[0.97, 0.01, 0.01, 0.01]])
    noise = NoiseModel(depolarizing_2q=0.05)
    q = ZNEMitigator(project=True).sample_distributions(REF, P, shots=200, noise=noise, seed=3)
    assert np.all(q >= 0)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)


def test_project_to_simplex_is_the_euclidean_projection() -> None:
    # Against the KKT characterisation: p = max(q − τ, 0) with Σp = 1, and a brute-force
    # check that no random probability vector is closer.
    rng = np.random.default_rng(0)
    Q = rng.normal(scale=0.5, size=(50, 6)) + 1 / 6
    Pj = project_to_simplex(Q)
    np.testing.assert_allclose(Pj.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(Pj >= 0)
    cand = rng.dirichlet(np.ones(6) * 0.3, size=(2000,))
    for q, p in zip(Q, Pj):
        assert np.linalg.norm(p - q) <= np.linalg.norm(cand - q, axis=1).min() + 1e-12
        tau = (q - p)[p > 0]
        np.testing.assert_allclose(tau, tau[0], atol=1e-12)
    np.testing.assert_array_equal(project_to_simplex(np.array([[0.2, 0.8]])), [[0.2, 0.8]])


def test_exp_factory_runs_on_reference() -> None:
    P = dirichlet(2, rows=2, seed=8)
    raw = REF.distribution_probabilities(P, NOISE)
    q = ZNEMitigator(exact=True, factory="exp").sample_distributions(REF, P, shots=1, noise=NOISE)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    assert tvd(q, P).mean() * 10 < tvd(raw, P).mean()


def test_registered_and_protocol() -> None:
    zne = qtcore.get_mitigator("mitiq.zne", factory="linear")
    rem = qtcore.get_mitigator("mitiq.rem")
    assert isinstance(zne, qtcore.Mitigator) and isinstance(rem, qtcore.Mitigator)
    assert zne.factory == "linear"
    entry = next(e for e in qtcore.mitigators() if e.name == "mitiq.zne")
    assert entry.plugin.distribution == "qtcore-mitiq"


@pytest.mark.parametrize(
    "options",
    [
        {"scale_factors": (1, 1, 3)},
        {"scale_factors": (0.5, 1)},
        {"scale_factors": (1,)},
        {"scale_factors": "abc"},
        {"scale_factors": (1, float("nan"))},
        {"factory": "cubic"},
        {"factory": "poly"},
        {"factory": "poly", "order": 3},
        {"factory": "linear", "order": 1},
        {"factory": "exp", "scale_factors": (1, 3)},
        {"asymptote": 0.5},
        {"scaling": "fold_randomly"},
        {"rem": "yes"},
        {"rem": REMMitigator(exact=True)},
    ],
)
def test_bad_options_raise(options: dict) -> None:
    with pytest.raises(qtcore.InvalidInput):
        ZNEMitigator(**options)


def test_bad_calls_raise() -> None:
    zne = ZNEMitigator()
    bell = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
    with pytest.raises(qtcore.InvalidInput, match="backend object"):
        zne.run("reference", [bell], shots=10)  # type: ignore[arg-type]
    with pytest.raises(qtcore.InvalidInput):
        zne.run(object(), [bell], shots=10)  # type: ignore[arg-type]
    with pytest.raises(qtcore.InvalidInput):
        zne.run(REF, bell, shots=10)  # type: ignore[arg-type]
    with pytest.raises(qtcore.InvalidInput):
        zne.run(REF, [bell, Circuit(3)], shots=10)
    for shots in (0, -1, 1.5, True):
        with pytest.raises(qtcore.InvalidInput):
            zne.run(REF, [bell], shots=shots)
    with pytest.raises(qtcore.InvalidInput):
        zne.run(REF, [bell], shots=10, seed=-1)
    with pytest.raises(qtcore.InvalidInput):
        zne.run(REF, [bell], shots=10, noise="depolarizing")  # type: ignore[arg-type]
    with pytest.raises(qtcore.InvalidInput):
        zne.sample_distributions(REF, np.array([[0.5, 0.6]]), shots=10)
    with pytest.raises(qtcore.CapabilityError):
        ZNEMitigator(exact=True).run(NoiselessBackend(), [bell], shots=1)
    with pytest.raises(qtcore.CapabilityError):
        zne.run(REF, [Circuit(11)], shots=1)
    assert zne.run(REF, [], shots=10).shape == (0, 0)
    with pytest.raises(qtcore.InvalidInput):
        extrapolate((1, 3, 5), np.zeros((2, 1, 4)))
