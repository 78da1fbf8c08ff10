"""``qtcore conformance`` and the pytest plugin: exit status, reports, strict known failures."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import qtcore
from qtcore.cli import main

HERE = Path(__file__).parent

# Registers the broken backends of conformance_mutants.py as if installed, then runs the CLI.
_CLI_WITH_MUTANTS = """
import sys, importlib.metadata as md
sys.path.insert(0, {here!r})
import qtcore.registry as registry
ep = md.EntryPoint(name="mutants", value="conformance_mutants", group="qtcore")
registry._REGISTRY = registry.Registry(entry_points=[*md.entry_points(group="qtcore"), ep])
from qtcore.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CLI_WITH_MUTANTS.format(here=str(HERE)), *args],
        cwd=cwd, capture_output=True, text=True,
    )


def test_cli_fails_a_broken_backend_and_writes_reports(tmp_path: Path) -> None:
    out = _cli(["conformance", "reference", "mutant.little_endian", "--check",
                "bit_order_one_hot_probes", "--check", "bit_order_x_gates",
                "--json", "r.json", "--junit-xml", "r.xml"], tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL" in out.stdout and "qtcore conformance" in out.stdout
    assert "budget 1e-06" in out.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    got = {(r["check"], r["backend"]): r["outcome"] for r in report["results"]}
    assert got == {
        ("bit_order_one_hot_probes", "reference"): "passed",
        ("bit_order_x_gates", "reference"): "passed",
        ("bit_order_one_hot_probes", "mutant.little_endian"): "failed",
        ("bit_order_x_gates", "mutant.little_endian"): "failed",
    }
    # The budget is split over the two backends, and the reproducing command pins it.
    assert report["summary"]["budget_per_backend"] == pytest.approx(5e-7)
    failed = next(r for r in report["results"] if r["outcome"] == "failed")
    assert "reproduce: qtcore conformance mutant.little_endian --check" in failed["reason"]
    assert "--budget 5e-07" in failed["reason"]
    xml = (tmp_path / "r.xml").read_text()
    assert "qtcore_seed" in xml and "<failure" in xml


def test_cli_passes_reference_subset(tmp_path: Path) -> None:
    out = _cli(["conformance", "reference", "--check", "seed_same_counts", "--check",
                "noise_depolarizing_closed_form"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "pass" in out.stdout


def test_cli_without_the_suite_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "qtcore_conformance.engine", None)
    assert main(["conformance", "reference"]) == 2
    assert "pip install qtcore-conformance" in capsys.readouterr().err


def test_cli_rejects_unknown_check(tmp_path: Path) -> None:
    out = _cli(["conformance", "reference", "--check", "no_such_check"], tmp_path)
    assert out.returncode == 1 and "unknown check" in out.stderr


def test_known_failures_are_strict_xfails_and_names_are_validated(tmp_path: Path) -> None:
    test_file = tmp_path / "test_mutant_conformance.py"
    test_file.write_text(textwrap.dedent(f"""
        import sys, importlib.metadata as md
        sys.path.insert(0, {str(HERE)!r})
        import qtcore.registry as registry
        ep = md.EntryPoint(name="mutants", value="conformance_mutants", group="qtcore")
        registry._REGISTRY = registry.Registry(
            entry_points=[*md.entry_points(group="qtcore"), ep])
        import qtcore_conformance

        class TestLittle(qtcore_conformance.BackendTests):
            backend_name = "mutant.little_endian"
            known_failures = {{"bit_order_one_hot_probes": "reports little-endian"}}

        class TestReferenceXpass(qtcore_conformance.BackendTests):
            backend_name = "reference"
            known_failures = {{"bit_order_x_gates": "not really broken"}}
    """))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider",
         "-k", "bit_order_one_hot_probes or bit_order_x_gates", "-rxXf"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    # Little-endian: x gates fail (not declared), one-hot probes xfail; reference: the
    # "known failure" that passes is a strict XPASS failure.
    assert out.returncode == 1, out.stdout
    assert "1 xfailed" in out.stdout and "2 failed" in out.stdout, out.stdout
    assert "XPASS(strict)" in out.stdout
    test_file.write_text(test_file.read_text().replace("bit_order_x_gates", "bit_order_typo"))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode != 0 and "unknown checks ['bit_order_typo']" in out.stderr + out.stdout


def test_new_plugin_rejects_bad_names(tmp_path: Path) -> None:
    from qtcore.scaffold import plugin_files, write_plugin

    for bad in ("My-Plugin", "1abc", "", "a.b"):
        with pytest.raises(qtcore.InvalidInput):
            plugin_files(bad)
    write_plugin("twice", tmp_path)
    with pytest.raises(qtcore.InvalidInput, match="exists"):
        write_plugin("twice", tmp_path)
    assert (write_plugin("twice", tmp_path, force=True) / "pyproject.toml").exists()


def test_cli_all_runs_every_installed_backend(tmp_path: Path) -> None:
    out = _cli(["conformance", "--all", "--check", "registration_manifest", "--json", "a.json"],
               tmp_path)
    report = json.loads((tmp_path / "a.json").read_text())
    outcomes = {r["backend"]: r["outcome"] for r in report["results"]}
    assert outcomes["reference"] == "passed"
    # The test mutants are registered without an installed distribution: the manifest check
    # (distribution and version) fails them, so the run fails.
    assert outcomes["mutant.little_endian"] == "failed"
    assert out.returncode == 1
    assert report["summary"]["backends"] == len(outcomes) > 10
    # attending samplers have no sample_weights for SamplerTests: named, not run
    assert "importance" not in outcomes and "hyper" not in outcomes
    assert "importance" in out.stderr and "topk" in json.dumps(report)


def test_cli_runs_samplers_and_mitigators(tmp_path: Path) -> None:
    (tmp_path / "toy_plug.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        import qtcore
        from test_conformance_mitigators import RichardsonZNE
        from test_conformance_samplers import HonestMultinomial

        @qtcore.hookimpl
        def qtcore_samplers():
            return [qtcore.SamplerInfo("toy.multinomial", factory=HonestMultinomial)]

        @qtcore.hookimpl
        def qtcore_mitigators():
            return [qtcore.MitigatorInfo("toy.zne", factory=RichardsonZNE)]
    """))
    script = textwrap.dedent(f"""
        import sys, importlib.metadata as md
        sys.path.insert(0, {str(tmp_path)!r})
        import qtcore.registry as registry
        ep = md.EntryPoint(name="toy", value="toy_plug", group="qtcore")
        registry._REGISTRY = registry.Registry(entry_points=[ep])
        from qtcore.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script, "conformance", "--sampler", "toy.multinomial",
         "--mitigator", "toy.zne", "--check", "sampler_seeded_reproducible", "--check",
         "mitigator_output_contract", "--json", "s.json"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "s.json").read_text())
    got = {(r["check"], r["backend"]): r["outcome"] for r in report["results"]}
    assert got == {("sampler_seeded_reproducible", "toy.multinomial"): "passed",
                   ("mitigator_output_contract", "toy.zne"): "passed"}
