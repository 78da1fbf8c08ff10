"""What a check sees: the backend, its α-share and seed, and the assertions that use them.

Every stochastic assertion goes through :class:`CheckContext`, which tests it at the check's
fixed share of the budget (split again, Bonferroni, over the cases of one assertion), records
statistic, p-value, α, seed, TVD and power, and fails with a message that names the check,
the numbers and a one-line command reproducing the failure.

Example:
    >>> import numpy as np, qtcore
    >>> from qtcore_conformance.context import CheckContext
    >>> ctx = CheckContext.for_backend("reference", check_name="demo", alpha=1e-6, seed=1)
    >>> counts = ctx.sample(np.array([[0.25, 0.75]]), shots=4000, seed=ctx.seed)
    >>> ctx.assert_fit([("demo row", counts[0], np.array([0.25, 0.75]))], effect=0.05)
    >>> ctx.records[0]["passed"]
    True
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy.stats import chi2, ncx2, norm

import qtcore
from qtcore import Circuit, NoiseModel
from qtcore_conformance import stats

__all__ = ["CheckContext", "CheckFailed", "derive_seed"]


class CheckFailed(AssertionError):
    """A conformance check found the backend non-conformant (the message says how)."""


def derive_seed(base_seed: int, check_name: str) -> int:
    """The seed of one check: fixed by the run's base seed and the check's name.

    Example:
        >>> from qtcore_conformance.context import derive_seed
        >>> derive_seed(0, "a") == derive_seed(0, "a") != derive_seed(1, "a")
        True
    """
    return int((base_seed * 1_000_003 + zlib.crc32(check_name.encode())) % 2**31)


@dataclass
class CheckContext:
    """The state of one check on one backend.

    Attributes:
        backend: the backend under test.
        backend_name: its registered name.
        check_name: the running check.
        alpha: this check's share of the false-failure budget.
        seed: this check's seed (derived from the run's base seed and the check name).
        tolerance: ``distribution_tolerance_tvd`` of the backend, or None for exact tests.
        reproduce: the one-line command that re-runs this check with this seed.
        records: one dict per statistical assertion (for the JSON / JUnit reports).
    """

    backend: Any
    backend_name: str
    check_name: str
    alpha: float
    seed: int
    tolerance: float | None = None
    reproduce: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    base_seed: int | None = None
    sink: list[tuple[str, object]] | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    _used_share: float = 0.0

    @classmethod
    def for_backend(
        cls,
        name: str,
        *,
        check_name: str,
        alpha: float,
        seed: int,
        options: dict[str, Any] | None = None,
        tolerance: float | None = None,
        reproduce: str = "",
    ) -> CheckContext:
        """A context for the registered backend ``name`` (created with ``options``)."""
        backend = qtcore.get_backend(name, **(options or {}))
        return cls(
            backend, name, check_name, alpha, seed, tolerance, reproduce, dict(options or {})
        )

    # -- capabilities ---------------------------------------------------------------------
    @property
    def caps(self) -> qtcore.Capabilities:
        """The backend's declared capabilities."""
        caps: qtcore.Capabilities = self.backend.capabilities
        return caps

    @property
    def reference(self) -> qtcore.ReferenceBackend:
        """The exact ground truth."""
        return qtcore.ReferenceBackend()

    def rng(self, tag: str = "") -> np.random.Generator:
        """A generator for the check's test design (random rows, circuits), fixed by seed."""
        return np.random.default_rng([self.seed, zlib.crc32(tag.encode())])

    def max_n(self, cap: int) -> int:
        """The largest width to test: the declared max_qubits, capped for time."""
        return min(self.caps.max_qubits, cap)

    def require(self, flag: bool, reason: str) -> None:
        """Skip the check, with ``reason``, unless ``flag`` (a declared capability) holds."""
        if not flag:
            pytest.skip(reason)

    def require_exact_mode(self) -> None:
        """Skip checks that need exact (noise-free) sampling on a backend with device noise."""
        if self.tolerance is not None:
            pytest.skip(
                f"backend has intrinsic device noise (distribution_tolerance_tvd="
                f"{self.tolerance:g}); this check needs an exactly modelled backend"
            )

    # -- calling the backend with the output contract checked -----------------------------
    def _checked(self, counts: Any, batch: int, width: int, shots: int, what: str) -> np.ndarray:
        arr = np.asarray(counts)
        problems = []
        if arr.shape != (batch, width):
            problems.append(f"shape {arr.shape}, expected {(batch, width)}")
        elif arr.dtype != np.int64:
            problems.append(f"dtype {arr.dtype}, expected int64")
        elif batch and (np.any(arr < 0) or np.any(arr.sum(axis=1) != shots)):
            sums = arr.sum(axis=1)
            bad = int(np.flatnonzero(sums != shots)[0]) if np.any(sums != shots) else -1
            problems.append(
                f"negative counts or rows not summing to shots={shots} "
                f"(row {bad} sums to {int(sums[bad]) if bad >= 0 else '?'})"
            )
        if problems:
            self.fail(f"{what} broke the output contract: " + "; ".join(problems))
        return arr

    def run(
        self,
        circuits: Sequence[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None = None,
    ) -> np.ndarray:
        """``backend.run`` with the output contract checked (fails the check if broken)."""
        circuits = list(circuits)
        out = self.backend.run(circuits, shots=shots, seed=seed, noise=noise)
        if not circuits:
            return np.asarray(out)
        return self._checked(out, len(circuits), 2 ** circuits[0].n_qubits, shots, "run()")

    def sample(
        self, P: np.ndarray, *, shots: int, seed: int | None, noise: NoiseModel | None = None
    ) -> np.ndarray:
        """``backend.sample_distributions`` with the output contract checked."""
        width = 2 ** max(1, int(np.shape(P)[1] - 1).bit_length())
        out = self.backend.sample_distributions(P, shots=shots, seed=seed, noise=noise)
        return self._checked(out, np.shape(P)[0], width, shots, "sample_distributions()")

    # -- deterministic assertions ---------------------------------------------------------
    def fail(self, message: str, **numbers: Any) -> None:
        """Fail the check with ``message``, the seed and the reproducing command."""
        lines = [f"conformance check {self.check_name!r} failed on backend {self.backend_name!r}"]
        lines.append(f"  {message}")
        for key, value in numbers.items():
            lines.append(f"  {key}: {value}")
        base = "" if self.base_seed is None else f" (derived from base seed {self.base_seed})"
        lines.append(f"  seed: {self.seed}{base}")
        lines.append(f"  reproduce: {self.reproduce}")
        raise CheckFailed("\n".join(lines))

    def expect_raises(
        self, error: type[BaseException], call: Callable[[], Any], case: str
    ) -> None:
        """Fail unless ``call()`` raises ``error`` (another exception or none fails too)."""
        try:
            result = call()
        except error:
            return
        except Exception as exc:
            self.fail(
                f"{case}: expected {error.__name__}, got {type(exc).__name__}: {exc}",
            )
        else:
            shape = getattr(result, "shape", None)
            self.fail(
                f"{case}: expected {error.__name__}, but the call returned "
                f"{'an array of shape ' + str(shape) if shape is not None else repr(result)[:80]}"
                " (a silently accepted bad input)"
            )

    def expect_equal(self, got: np.ndarray, want: np.ndarray, case: str) -> None:
        """Fail unless two count arrays are identical (deterministic checks)."""
        got, want = np.asarray(got), np.asarray(want)
        if got.shape != want.shape or not np.array_equal(got, want):
            diff = (
                f"shapes {got.shape} vs {want.shape}"
                if got.shape != want.shape
                else f"{int(np.sum(got != want))} entries differ; first rows "
                f"{got.reshape(got.shape[0], -1)[:1].tolist()} vs "
                f"{want.reshape(want.shape[0], -1)[:1].tolist()}"
            )
            self.fail(f"{case}: results differ ({diff})")

    # -- statistical assertions -----------------------------------------------------------
    def _take(self, share: float) -> float:
        self._used_share += share
        if self._used_share > 1.0 + 1e-9:
            raise RuntimeError(
                f"check {self.check_name!r} spends more than its declared budget share "
                "(a bug in the conformance suite)"
            )
        return self.alpha * share

    def shots_for(self, effect: float, df: int, cases: int, share: float = 1.0) -> int:
        """Shots that detect any law at TVD ≥ ``effect`` with power 0.99 at the case's α.

        Capped at the backend's ``max_shots``; the record states the power achieved.
        """
        alpha = max(self.alpha * share / max(cases, 1), 1e-300)
        shots = stats.shots_for_power(effect, max(df, 1), alpha)
        if self.caps.max_shots is not None:
            shots = min(shots, self.caps.max_shots)
        return int(shots)

    def _record(self, kind: str, label: str, res: stats.TestResult, alpha: float,
                passed: bool, extra: dict[str, Any]) -> dict[str, Any]:
        rec = {
            "check": self.check_name,
            "backend": self.backend_name,
            "kind": kind,
            "case": label,
            "statistic": res.statistic,
            "df": res.df,
            "p_value": res.p_value,
            "alpha": alpha,
            "method": res.method,
            "tvd": res.tvd,
            "tvd_bound": res.tvd_bound,
            "seed": self.seed,
            "passed": passed,
            "reproduce": self.reproduce,
            **extra,
        }
        self.records.append(rec)
        if self.sink is not None:  # pytest's user_properties: JUnit XML properties
            self.sink.append(("qtcore_record", json.dumps(rec, default=str)))
        return rec

    def _conclude(self, kind: str, results: list[tuple[str, stats.TestResult, dict[str, Any]]],
                  alpha_case: float, share_alpha: float) -> None:
        if not results:
            return
        worst_i = min(range(len(results)), key=lambda i: results[i][1].p_value)
        label, res, extra = results[worst_i]
        passed = res.p_value > alpha_case
        # One record per assertion: the worst case, with the Bonferroni-adjusted p-value.
        adjusted = min(1.0, res.p_value * len(results))
        self._record(
            kind,
            label,
            res,
            share_alpha,
            passed,
            {**extra, "cases": len(results), "p_value_case": res.p_value, "p_value": adjusted,
             "alpha_case": alpha_case},
        )
        if passed:
            return
        failing = [lbl for i, (lbl, r, _) in enumerate(results)
                   if r.p_value <= alpha_case and i != worst_i]
        numbers: dict[str, Any] = {
            "statistic": f"{res.statistic:.6g} (df={res.df}, {res.method})",
            "p-value": f"{res.p_value:.3g} for this case, {adjusted:.3g} Bonferroni-adjusted over "
            f"{len(results)} cases (α = {share_alpha:.3g} for this assertion, "
            f"{alpha_case:.3g} per case)",
        }
        if res.tvd is not None:
            numbers["TVD"] = f"{res.tvd:.5f} (shot-noise bound {res.tvd_bound:.5f} at 1-α)"
        for key, value in extra.items():
            numbers[key] = value
        if res.detail:
            numbers["detail"] = json.dumps(res.detail, default=str)
        if len(failing) > 1:
            numbers["other failing cases"] = "; ".join(failing[:6]) + (
                " …" if len(failing) > 6 else ""
            )
        self.fail(f"{kind} rejected for {label}", **numbers)

    def assert_fit(
        self,
        cases: Sequence[tuple[str, np.ndarray, np.ndarray]],
        *,
        effect: float,
        share: float = 1.0,
    ) -> None:
        """Counts fit their exact reference probabilities, for every case.

        Args:
            cases: ``(label, counts (K,), probs (K,))``.
            effect: the smallest TVD this assertion is sized to detect (stated in the record).
            share: fraction of this check's α spent here.

        With ``tolerance`` set (device noise), each case is the one-sided test
        ``TVD ≤ tolerance`` (:func:`stats.tvd_tolerance_test`) instead.
        """
        share_alpha = self._take(share)
        alpha_case = share_alpha / max(len(cases), 1)
        results = []
        for label, counts, probs in cases:
            if self.tolerance is None:
                res = stats.goodness_of_fit(
                    counts, probs, alpha=alpha_case, rng=self.rng("mc:" + label)
                )
                shots = int(np.sum(counts))
                df = max(int(np.sum(np.asarray(probs) > 1e-15)) - 1, 1)
                power = stats.chi2_power(shots, effect, df, alpha_case) if alpha_case < 1 else 1.0
                extra = {"effect_tvd": effect, "shots": shots, "power": round(power, 6)}
            else:
                res = stats.tvd_tolerance_test(
                    counts, probs, tolerance=self.tolerance, alpha=alpha_case
                )
                extra = {"tolerance_tvd": self.tolerance, "shots": int(np.sum(counts))}
            results.append((label, res, extra))
        self._conclude("goodness of fit", results, alpha_case, share_alpha)

    def assert_binomial(
        self,
        cases: Sequence[tuple[str, int, int, float]],
        *,
        effect: float,
        share: float = 1.0,
    ) -> None:
        """Exact binomial tests: ``(label, successes, trials, p)`` for every case.

        ``effect`` is the smallest absolute error in ``p`` the shots are sized for.
        """
        share_alpha = self._take(share)
        alpha_case = share_alpha / max(len(cases), 1)
        results = []
        for label, k, n, p in cases:
            res = stats.binomial_test(k, n, p)
            z_crit = float(norm.isf(alpha_case / 2))
            sd = math.sqrt(max(p * (1 - p), 1e-300) / n)
            power = float(norm.sf(z_crit - effect / sd))
            extra = {
                "observed": k / n,
                "expected_p": p,
                "effect_abs": effect,
                "shots": n,
                "power": round(power, 6),
            }
            results.append((label, res, extra))
        self._conclude("binomial test", results, alpha_case, share_alpha)

    def assert_homogeneous(
        self, cases: Sequence[tuple[str, np.ndarray]], *, effect: float, share: float = 1.0
    ) -> None:
        """Two-sample (r-sample) homogeneity G-tests: ``(label, table (r, K))``.

        ``effect`` is the TVD by which one sample must differ from the others to be detected;
        the record states the power: the non-centrality is at least ``4δ²·n_a·n_b/(n_a+n_b)``
        for a sample of size n_a against the n_b pooled others (asymptotic, as for a fit).
        """
        share_alpha = self._take(share)
        alpha_case = share_alpha / max(len(cases), 1)
        results = []
        for label, table in cases:
            t = np.asarray(table)
            res = stats.homogeneity_test(t)
            sizes = t.sum(axis=1).astype(float)
            n_a, n_b = float(sizes.min()), float(sizes.sum() - sizes.min())
            df = max(res.df, 1)
            lam = 4.0 * effect**2 * n_a * n_b / (n_a + n_b)
            power = float(ncx2.sf(chi2.isf(alpha_case, df), df, lam))
            extra = {"shots_per_sample": int(n_a), "effect_tvd": effect, "power": round(power, 6)}
            results.append((label, res, extra))
        self._conclude("homogeneity test", results, alpha_case, share_alpha)

    def assert_results(
        self,
        kind: str,
        cases: Sequence[tuple[str, stats.TestResult, dict[str, Any]]],
        *,
        share: float = 1.0,
    ) -> None:
        """Test p-values a check computed itself (``(label, result, extra)``), Bonferroni."""
        share_alpha = self._take(share)
        alpha_case = share_alpha / max(len(cases), 1)
        self._conclude(kind, list(cases), alpha_case, share_alpha)

    def assert_bound(self, label: str, p_value: float, statistic: float, method: str,
                     share: float = 1.0, **extra: Any) -> None:
        """Record a p-value computed by the check itself (an exact bound) and test it."""
        share_alpha = self._take(share)
        res = stats.TestResult(statistic, p_value, method)
        self._conclude("exact test", [(label, res, extra)], share_alpha, share_alpha)

