"""``mitiq.rem``: exact inversion of a known readout channel, unbiasedness with shots,
calibration, composition with ZNE, and input errors. False-failure rates are stated."""

from __future__ import annotations

import numpy as np
import pytest
from qtcore_mitiq import REMMitigator, ZNEMitigator
from scipy import stats

import qtcore
from qtcore import Circuit, Gate, NoiseModel

REF = qtcore.ReferenceBackend()


def tvd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(a - b).sum(axis=-1)


def dirichlet(n: int, rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(2**n), size=rows)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("confusion", ["noise", "calibrate"])
def test_inverts_a_known_readout_channel_exactly(n: int, confusion: str) -> None:
    P = dirichlet(n, rows=4, seed=n)
    noise = NoiseModel(readout=0.08)
    raw = REF.distribution_probabilities(P, noise)
    q = REMMitigator(exact=True, confusion=confusion).sample_distributions(
        REF, P, shots=1, noise=noise
    )
    np.testing.assert_allclose(q, P, atol=1e-12)
    assert tvd(raw, P).min() > 1e-3


def test_bit_order_asymmetric_probe() -> None:
    # |01⟩ (x on qubit 1, big-endian index 1) under a readout channel: mitigation must put
    # the mass back on index 1, which a reversed tensor order would not.
    c = [Circuit(2, (Gate("x", (1,)),))]
    noise = NoiseModel(readout=0.2)
    q = REMMitigator(exact=True).run(REF, c, shots=1, noise=noise)
    np.testing.assert_allclose(q, [[0.0, 1.0, 0.0, 0.0]], atol=1e-12)


def test_calibration_recovers_asymmetric_per_qubit_rates() -> None:
    class Asymmetric(qtcore.BackendBase):
        """Noiseless gates; qubit q reads 0→1 with p0[q] and 1→0 with p1[q]."""

        name = "test.asymmetric"
        capabilities = qtcore.Capabilities(max_qubits=3, exact_probabilities=True)
        p0, p1 = (0.02, 0.05, 0.1), (0.07, 0.01, 0.15)

        def probabilities(self, circuits, noise=None):  # type: ignore[no-untyped-def]
            from qtcore.simulator import probabilities

            probs = probabilities(circuits)
            n = circuits[0].n_qubits
            t = probs.reshape((len(circuits),) + (2,) * n)
            for q in range(n):
                cm = np.array([[1 - self.p0[q], self.p1[q]], [self.p0[q], 1 - self.p1[q]]])
                t = np.moveaxis(np.tensordot(t, cm, axes=([1 + q], [1])), -1, 1 + q)
            return t.reshape(len(circuits), 2**n)

        def _run(self, circuits, *, shots, seed, noise):  # type: ignore[no-untyped-def]
            from qtcore.shots import sample_counts

            return sample_counts(self.probabilities(circuits), shots, seed)

    backend = Asymmetric()
    P = dirichlet(3, rows=3, seed=0)
    rem = REMMitigator(exact=True)  # "auto" with noise=None: calibrate
    q = rem.sample_distributions(backend, P, shots=1)
    np.testing.assert_allclose(q, P, atol=1e-12)
    for q_idx, m in enumerate(rem.last_confusion_matrices):
        np.testing.assert_allclose(m[1, 0], backend.p0[q_idx], atol=1e-12)
        np.testing.assert_allclose(m[0, 1], backend.p1[q_idx], atol=1e-12)


def _chi2_pvalue(
    q: np.ndarray, P: np.ndarray, noisy: np.ndarray, inv: np.ndarray, shots: int
) -> float:
    """χ² of q − P with the exact covariance A⁻¹ Σ A⁻ᵀ, Σ the multinomial covariance of the
    noisy frequencies; rank D − 1 per row (rows sum to 1)."""
    stat, dof = 0.0, 0
    for b in range(q.shape[0]):
        sigma = (np.diag(noisy[b]) - np.outer(noisy[b], noisy[b])) / shots
        cov = inv @ sigma @ inv.T
        d = q[b] - P[b]
        stat += float(d @ np.linalg.pinv(cov, rcond=1e-10) @ d)
        dof += q.shape[1] - 1
    return float(stats.chi2.sf(stat, dof))


def test_unbiased_with_shots() -> None:
    # E[A⁻¹ f] = P for a readout-only channel: χ² test over 16 rows of n = 3,
    # false-failure rate 1e-6 (assert p > 1e-6). Power: the raw frequencies, biased by TVD
    # ≈ 0.1, are rejected at p < 1e-6 by the same statistic.
    n, rows, shots = 3, 16, 20_000
    P = dirichlet(n, rows, seed=3)
    noise = NoiseModel(readout=0.05)
    rem = REMMitigator()
    q = rem.sample_distributions(REF, P, shots=shots, seed=17, noise=noise)
    noisy = REF.distribution_probabilities(P, noise)
    inv = rem.inverse_confusion_matrix(rem.last_confusion_matrices)
    assert _chi2_pvalue(q, P, noisy, inv, shots) > 1e-6
    raw = REF.sample_distributions(P, shots=shots, seed=17, noise=noise) / shots
    assert _chi2_pvalue(raw @ np.linalg.inv(inv).T, P, noisy, inv, shots) < 1e-6


def test_calibrated_rem_reduces_the_error_over_repeated_trials() -> None:
    # One-sided binomial test at equal budget: REM with calibration (S shots on the circuit,
    # S on each of the two calibration circuits) vs raw with 3·S shots, 20 seeds, readout
    # 0.05 on n = 3 (this row: raw bias TVD 0.065). H0: win probability ≤ 1/2; require
    # p < 1e-3 (≥ 18 wins). Measured over 400 other seeds at S = 2e4: REM TVD mean 0.0081,
    # max 0.0156; raw TVD min 0.058; 400 wins. A loss needs a shot-noise excursion ~4× the
    # worst of 400, so the win probability is > 0.999 and the false-failure rate is
    # P(≤ 17 wins | q = 0.999) < 1.2e-6.
    P = dirichlet(3, rows=1, seed=30)
    noise = NoiseModel(readout=0.05)
    rem = REMMitigator(confusion="calibrate")
    shots, wins = 20_000, 0
    for trial in range(20):
        q = rem.sample_distributions(REF, P, shots=shots, seed=trial, noise=noise)
        assert rem.last_shots_spent == 3 * shots
        raw = REF.sample_distributions(P, shots=3 * shots, seed=trial, noise=noise) / (3 * shots)
        wins += int(tvd(q, P)[0] < tvd(raw, P)[0])
    assert stats.binomtest(wins, 20, 0.5, alternative="greater").pvalue < 1e-3


def test_zne_with_rem_removes_gate_and_readout_noise() -> None:
    P = dirichlet(3, rows=4, seed=9)
    noise = NoiseModel(depolarizing_1q=0.001, depolarizing_2q=0.01, readout=0.02)
    raw = REF.distribution_probabilities(P, noise)
    zne_only = ZNEMitigator(exact=True).sample_distributions(REF, P, shots=1, noise=noise)
    rem_only = REMMitigator(exact=True).sample_distributions(REF, P, shots=1, noise=noise)
    both = ZNEMitigator(exact=True, rem=True).sample_distributions(REF, P, shots=1, noise=noise)
    # readout is not scaled by folding: ZNE alone keeps most of the readout bias
    e_raw, e_zne, e_rem, e_both = (tvd(x, P).mean() for x in (raw, zne_only, rem_only, both))
    assert e_both * 20 < min(e_zne, e_rem) and e_both * 100 < e_raw
    # and with only gate noise, "both" equals ZNE (the inverse confusion is the identity)
    gate_only = NoiseModel(depolarizing_1q=0.001, depolarizing_2q=0.01)
    np.testing.assert_allclose(
        ZNEMitigator(exact=True, rem=True).sample_distributions(REF, P, shots=1, noise=gate_only),
        ZNEMitigator(exact=True).sample_distributions(REF, P, shots=1, noise=gate_only),
        atol=1e-12,
    )


def test_noiseless_rem_is_the_identity() -> None:
    P = dirichlet(2, rows=3, seed=1)
    counts = REF.sample_distributions(P, shots=100, seed=4)
    rem = REMMitigator(confusion="noise")
    q = rem.sample_distributions(REF, P, shots=100, seed=4)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    # identical counts are not guaranteed (the mitigator derives its own backend seed),
    # but the result is a frequency vector of 100 shots: a multiple of 1/100
    np.testing.assert_allclose(q * 100, np.round(q * 100), atol=1e-9)
    assert counts.shape == q.shape


def test_seeds_and_projection() -> None:
    P = dirichlet(2, rows=2, seed=2)
    noise = NoiseModel(readout=0.1)
    rem = REMMitigator(confusion="calibrate")
    a = rem.sample_distributions(REF, P, shots=300, seed=1, noise=noise)
    b = rem.sample_distributions(REF, P, shots=300, seed=1, noise=noise)
    c = rem.sample_distributions(REF, P, shots=300, seed=2, noise=noise)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    proj = REMMitigator(project=True).sample_distributions(
        REF, np.array([[1.0, 0.0, 0.0, 0.0]]), shots=50, seed=0, noise=NoiseModel(readout=0.2)
    )
    assert np.all(proj >= 0) and proj.sum() == pytest.approx(1.0)


def test_bad_inputs_raise() -> None:
    with pytest.raises(qtcore.InvalidInput):
        REMMitigator(confusion="matrix")
    with pytest.raises(qtcore.InvalidInput):
        REMMitigator(calibration_shots=0)
    rem = REMMitigator()
    with pytest.raises(qtcore.InvalidInput, match="erases"):
        rem.sample_distributions(
            REF, np.array([[0.5, 0.5]]), shots=5, noise=NoiseModel(readout=0.5)
        )
    with pytest.raises(qtcore.InvalidInput):
        rem.sample_distributions(REF, np.array([[np.nan, 1.0]]), shots=5)
    with pytest.raises(qtcore.InvalidInput):
        rem.run(REF, [Circuit(1)], shots=0)

    class Scrambled(qtcore.BackendBase):
        """Reads every bit inverted: calibration finds p0 + p1 = 2."""

        name = "test.scrambled"
        capabilities = qtcore.Capabilities(max_qubits=2)

        def _run(self, circuits, *, shots, seed, noise):  # type: ignore[no-untyped-def]
            from qtcore.simulator import probabilities

            p = probabilities(circuits)[:, ::-1]
            return np.round(p * shots).astype(np.int64)

    with pytest.raises(qtcore.BackendError, match="no information"):
        rem.run(Scrambled(), [Circuit(1)], shots=10)
