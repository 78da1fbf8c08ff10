"""End to end: ``qtcore new-plugin`` writes a plugin that installs and passes conformance.

The plugin is installed into a fresh virtual environment (no network: ``--no-deps
--no-build-isolation``, with this environment's packages visible through a ``.pth`` file), and
run there, as a third-party author's CI would: its own tests (which subclass
``BackendTests``) and ``qtcore conformance`` with a JSON report.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from qtcore.cli import main


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    # addsitedir (not a bare path) so this environment's own .pth files (editable installs)
    # are processed too.
    lines = [f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()]
    Path(purelib, "qtcore_parent_env.pth").write_text("\n".join(lines) + "\n")
    return python


@pytest.mark.slow
def test_new_plugin_installs_and_passes_conformance(tmp_path: Path) -> None:
    assert main(["new-plugin", "e2eplug", "--directory", str(tmp_path)]) == 0
    root = tmp_path / "qtcore-e2eplug"
    python = _venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-build-isolation", "--no-index", "-e", str(root)],
        check=True, env=env, capture_output=True, text=True,
    )
    # The plugin's own tests: direct tests plus the whole shared suite via BackendTests.
    tests = subprocess.run(
        [str(python), "-m", "pytest", str(root / "tests"), "-q", "-p", "no:cacheprovider",
         "-rs"],
        cwd=root, env=env, capture_output=True, text=True,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    # The CLI on the installed backend: exit status 0 and a JSON report without failures.
    report_path = tmp_path / "report.json"
    cli = subprocess.run(
        [str(python), "-m", "qtcore.cli", "conformance", "e2eplug.sim", "--json",
         str(report_path), "--check", "registration_manifest", "--check",
         "registration_api_range", "--check", "bit_order_one_hot_probes"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    assert cli.returncode == 0, cli.stdout[-4000:] + cli.stderr[-2000:]
    report = json.loads(report_path.read_text())
    outcomes = {r["check"]: r["outcome"] for r in report["results"]}
    assert outcomes == {"registration_manifest": "passed", "registration_api_range": "passed",
                        "bit_order_one_hot_probes": "passed"}
    assert report["budget"] == 1e-6
