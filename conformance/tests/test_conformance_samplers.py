"""The sampler checks on toy torch samplers: an honest one passes, broken ones fail the check
named for their fault. False-failure rate of the honest runs: each check's share of 1e-6."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from qtcore_conformance.base import DEFAULT_BUDGET, DEFAULT_SEED, check_alpha
from qtcore_conformance.catalog import CHECKS
from qtcore_conformance.context import CheckContext, CheckFailed, derive_seed

torch = pytest.importorskip("torch")


class HonestMultinomial:
    """W = counts / S of S i.i.d. draws from p (rows that are all zero give zeros)."""

    name = "toy.multinomial"

    def sample_weights(self, p: Any, num_samples: int, *, generator: Any = None) -> Any:
        flat = p.reshape(-1, p.shape[-1]).double()
        mass = flat.sum(dim=1, keepdim=True)
        safe = torch.where(mass > 0, flat, torch.ones_like(flat))
        idx = torch.multinomial(safe, num_samples, replacement=True, generator=generator)
        counts = torch.zeros_like(flat).scatter_add_(1, idx, torch.ones_like(idx, dtype=flat.dtype))
        W = torch.where(mass > 0, counts / num_samples * mass, torch.zeros_like(flat))
        return W.reshape(p.shape).to(p.dtype)


class Sharpened(HonestMultinomial):
    """Samples from p^1.2 (renormalised): biased toward heavy keys."""

    name = "toy.sharpened"

    def sample_weights(self, p: Any, num_samples: int, *, generator: Any = None) -> Any:
        q = p.double() ** 1.2
        q = q / q.sum(dim=-1, keepdim=True).clamp_min(1e-300)
        return super().sample_weights(q.to(p.dtype), num_samples, generator=generator)


class LeaksSupport(HonestMultinomial):
    """Smooths p with 1e-3 before sampling: keys of probability 0 get weight."""

    name = "toy.leaks_support"

    def sample_weights(self, p: Any, num_samples: int, *, generator: Any = None) -> Any:
        q = p.double() + 1e-3 * (p.sum(dim=-1, keepdim=True) > 0)
        return super().sample_weights(q.to(p.dtype), num_samples, generator=generator)


class Unseeded(HonestMultinomial):
    """Ignores the generator."""

    name = "toy.unseeded"

    def sample_weights(self, p: Any, num_samples: int, *, generator: Any = None) -> Any:
        return super().sample_weights(p, num_samples, generator=None)


def run_check(name: str, sampler: object) -> None:
    chk = CHECKS[name]
    ctx = CheckContext(sampler, getattr(sampler, "name", "?"), name,
                       check_alpha(chk, DEFAULT_BUDGET), derive_seed(DEFAULT_SEED, name),
                       reproduce="(test)")
    chk.func(ctx)


SAMPLER_CHECKS = sorted(n for n, c in CHECKS.items() if c.kind == "sampler")


@pytest.mark.parametrize("check_name", SAMPLER_CHECKS)
def test_honest_sampler_passes(check_name: str) -> None:
    run_check(check_name, HonestMultinomial())


@pytest.mark.parametrize(
    ("sampler", "check_name"),
    [(Sharpened(), "sampler_unbiased"), (LeaksSupport(), "sampler_shape_and_support"),
     (Unseeded(), "sampler_seeded_reproducible")],
    ids=["sharpened", "leaks_support", "unseeded"],
)
def test_broken_sampler_fails_its_check(sampler: object, check_name: str) -> None:
    with pytest.raises(CheckFailed, match=check_name):
        run_check(check_name, sampler)


def test_sampler_tests_base_class_runs_through_pytest(tmp_path: Path) -> None:
    (tmp_path / "toy_sampler_plugin.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import qtcore
        from test_conformance_samplers import HonestMultinomial

        @qtcore.hookimpl
        def qtcore_samplers():
            return [qtcore.SamplerInfo("toy.multinomial", factory=HonestMultinomial)]
    """))
    test_file = tmp_path / "test_toy_sampler_conformance.py"
    test_file.write_text(textwrap.dedent(f"""
        import sys, importlib.metadata as md
        sys.path.insert(0, {str(tmp_path)!r})
        import qtcore.registry as registry
        ep = md.EntryPoint(name="toy", value="toy_sampler_plugin", group="qtcore")
        registry._REGISTRY = registry.Registry(entry_points=[ep])
        import qtcore_conformance

        class TestToy(qtcore_conformance.SamplerTests):
            sampler_name = "toy.multinomial"
    """))
    out = subprocess.run(
        # The unbiasedness check ran directly above; here the wiring matters.
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
         "-k", "not unbiased"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert f"{len(SAMPLER_CHECKS) - 1} passed, 1 deselected" in out.stdout
