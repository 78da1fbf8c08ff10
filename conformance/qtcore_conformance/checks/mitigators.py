"""Mitigators: the output contract, and extrapolation that is exact where it must be.

A mitigator's ``run(backend, circuits, *, shots, seed, noise)`` returns quasi-probabilities.
The checks hand it synthetic backends whose counts are *exact* (largest-remainder rounding of
``p × shots``, so no shot noise) and whose noise is a known polynomial of the number of gates:

* noiseless: every noise scale sees the same counts, so any extrapolation must return them
  (mitigated = raw = ideal);
* linear noise ``p(g) = ideal + c·g·(uniform − ideal)`` in the gate count g: folding scales g
  by the scale factor, and every extrapolation exact for linear functions (linear,
  Richardson, polynomial) must return the ideal distribution.

These are deterministic, so they spend no false-failure budget.

Example:
    >>> import numpy as np
    >>> from qtcore_conformance.checks.mitigators import exact_counts
    >>> exact_counts(np.array([[0.5, 0.25, 0.25]]), 8).tolist()
    [[4, 2, 2]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import qtcore
from qtcore import Circuit, Gate, NoiseModel
from qtcore.simulator import probabilities
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext

SHOTS = 10**8
TOLERANCE = 1e-5  # rounding of exact counts is ≤ 1/SHOTS per outcome; folds amplify it


def exact_counts(probs: np.ndarray, shots: int) -> np.ndarray:
    """Counts summing to ``shots`` closest to ``probs × shots`` (largest remainder)."""
    target = np.clip(np.asarray(probs, dtype=np.float64), 0, None)
    target = target / target.sum(axis=1, keepdims=True) * shots
    out = np.floor(target).astype(np.int64)
    short = shots - out.sum(axis=1)
    for i, k in enumerate(short):
        if k > 0:
            out[i, np.argsort(out[i] - target[i])[:k]] += 1
    return out


class _SyntheticBackend(qtcore.BackendBase):
    """Exact counts of the ideal circuit, mixed toward uniform by ``slope`` per gate."""

    name = "conformance.synthetic"
    capabilities = qtcore.Capabilities(max_qubits=6, noise=True, exact_probabilities=True)

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def probabilities(self, circuits: Sequence[Circuit], noise: NoiseModel | None = None
                      ) -> np.ndarray:
        ideal = probabilities(list(circuits))
        gates = np.array([len(c.gates) for c in circuits], dtype=np.float64)[:, None]
        mix = np.clip(self.slope * gates, 0.0, 1.0)
        uniform = np.full_like(ideal, 1.0 / ideal.shape[1])
        return np.asarray(ideal + mix * (uniform - ideal))

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        return exact_counts(self.probabilities(circuits), shots)


def _circuits() -> list[Circuit]:
    h, x = (lambda q: Gate("h", (q,))), (lambda q: Gate("x", (q,)))
    return [
        Circuit(2, (h(0), Gate("cx", (0, 1)))),
        Circuit(2, (x(1), Gate("ry", (0,), (0.7,)), Gate("cx", (0, 1)))),
    ]


def _mitigate(ctx: CheckContext, backend: qtcore.Backend) -> np.ndarray:
    out = ctx.backend.run(backend, _circuits(), shots=SHOTS, seed=ctx.seed,
                          noise=NoiseModel(depolarizing_2q=0.01))
    return np.asarray(out, dtype=np.float64)


@check("mitigators", tier="mitigation")
def mitigator_output_contract(ctx: CheckContext) -> None:
    """Quasi-probabilities have shape (B, 2**n), are finite and each row sums to 1."""
    got = _mitigate(ctx, _SyntheticBackend(slope=0.01))
    if got.shape != (2, 4) or not np.all(np.isfinite(got)):
        ctx.fail(f"mitigated result has shape {got.shape} (expected (2, 4)) or is not finite")
    sums = got.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        ctx.fail(f"mitigated rows sum to {sums.tolist()}, not 1")


@check("mitigators", tier="mitigation")
def mitigator_noiseless_is_identity(ctx: CheckContext) -> None:
    """On a noiseless backend the mitigated distribution equals the raw (ideal) one."""
    got = _mitigate(ctx, _SyntheticBackend(slope=0.0))
    ideal = probabilities(_circuits())
    err = float(np.max(np.abs(got - ideal)))
    if err > TOLERANCE:
        ctx.fail(f"noiseless: mitigated differs from the raw distribution by {err:.3g} "
                 f"(tolerance {TOLERANCE:g}); extrapolating a constant must return it")


@check("mitigators", tier="mitigation")
def mitigator_exact_on_linear_noise(ctx: CheckContext) -> None:
    """Noise linear in the gate count is extrapolated away exactly (to the ideal)."""
    backend = _SyntheticBackend(slope=0.02)
    ideal = probabilities(_circuits())
    raw = backend.probabilities(_circuits())
    got = _mitigate(ctx, backend)
    err, raw_err = float(np.max(np.abs(got - ideal))), float(np.max(np.abs(raw - ideal)))
    if err > TOLERANCE:
        ctx.fail(f"linear noise: mitigated differs from the ideal by {err:.3g} (raw error "
                 f"{raw_err:.3g}, tolerance {TOLERANCE:g}); a zero-noise extrapolation exact "
                 "for linear functions must remove it")
