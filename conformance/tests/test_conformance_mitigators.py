"""The mitigator checks on toy zero-noise extrapolators: an honest Richardson ZNE passes,
broken ones fail the check named for their fault. The checks are deterministic (exact counts),
so these tests have no false-failure rate."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtcore_conformance.base import DEFAULT_BUDGET, DEFAULT_SEED, check_alpha
from qtcore_conformance.catalog import CHECKS
from qtcore_conformance.context import CheckContext, CheckFailed, derive_seed

from qtcore import Circuit


def _fold(circuit: Circuit, scale: int) -> Circuit:
    """Fold every gate G -> G (G† G)^k for an odd scale 2k + 1."""
    k = (scale - 1) // 2
    gates = []
    for g in circuit.gates:
        gates += [g] + [g.inverse(), g] * k
    return Circuit(circuit.n_qubits, tuple(gates))


class RichardsonZNE:
    """Folds every gate at scales 1, 3, 5 and extrapolates to 0 (Richardson, exact for
    quadratics)."""

    name = "toy.zne"
    scales = (1, 3, 5)

    def run(self, backend: Any, circuits: Any, *, shots: int, seed: Any = None,
            noise: Any = None) -> np.ndarray:
        circuits = list(circuits)
        est = []
        for i, s in enumerate(self.scales):
            counts = backend.run([_fold(c, s) for c in circuits], shots=shots,
                                 seed=None if seed is None else seed + i, noise=noise)
            est.append(counts / shots)
        nodes = np.asarray(self.scales, dtype=float)
        weights = [np.prod([b / (b - a) for b in nodes if b != a]) for a in nodes]
        return np.asarray(sum(w * e for w, e in zip(weights, est)))


class NoExtrapolation(RichardsonZNE):
    """Returns the scale-1 estimate: mitigates nothing."""

    name = "toy.no_extrapolation"
    scales = (1,)


class Unnormalised(RichardsonZNE):
    """Scales its result by 1.01."""

    name = "toy.unnormalised"

    def run(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return 1.01 * super().run(*args, **kwargs)


def run_check(name: str, mitigator: object) -> None:
    chk = CHECKS[name]
    ctx = CheckContext(mitigator, getattr(mitigator, "name", "?"), name,
                       check_alpha(chk, DEFAULT_BUDGET), derive_seed(DEFAULT_SEED, name),
                       reproduce="(test)")
    chk.func(ctx)


MITIGATOR_CHECKS = sorted(n for n, c in CHECKS.items() if c.kind == "mitigator")


@pytest.mark.parametrize("check_name", MITIGATOR_CHECKS)
def test_honest_zne_passes(check_name: str) -> None:
    run_check(check_name, RichardsonZNE())


@pytest.mark.parametrize(
    ("mitigator", "check_name"),
    [(NoExtrapolation(), "mitigator_exact_on_linear_noise"),
     (Unnormalised(), "mitigator_output_contract"),
     (Unnormalised(), "mitigator_noiseless_is_identity")],
    ids=["no_extrapolation", "unnormalised_contract", "unnormalised_identity"],
)
def test_broken_mitigator_fails_its_check(mitigator: object, check_name: str) -> None:
    with pytest.raises(CheckFailed, match=check_name):
        run_check(check_name, mitigator)


def test_mitigator_tests_base_class_runs_through_pytest(tmp_path: Path) -> None:
    (tmp_path / "toy_mitigator_plugin.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import qtcore
        from test_conformance_mitigators import RichardsonZNE

        @qtcore.hookimpl
        def qtcore_mitigators():
            return [qtcore.MitigatorInfo("toy.zne", factory=RichardsonZNE)]
    """))
    test_file = tmp_path / "test_toy_mitigator_conformance.py"
    test_file.write_text(textwrap.dedent(f"""
        import sys, importlib.metadata as md
        sys.path.insert(0, {str(tmp_path)!r})
        import qtcore.registry as registry
        ep = md.EntryPoint(name="toy", value="toy_mitigator_plugin", group="qtcore")
        registry._REGISTRY = registry.Registry(entry_points=[ep])
        import qtcore_conformance

        class TestToyZNE(qtcore_conformance.MitigatorTests):
            mitigator_name = "toy.zne"
    """))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert f"{len(MITIGATOR_CHECKS)} passed" in out.stdout
