"""The ``qtcore`` script, run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import qtcore

SCRIPT = shutil.which("qtcore", path=str(Path(sys.executable).parent))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    assert SCRIPT, "the qtcore console script is not installed next to this Python"
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=300)


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"qtcore {qtcore.__version__}"


def test_backends_json_lists_every_registered_backend() -> None:
    out = run("backends", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    names = {r["name"].split(":")[0] for r in rows}
    assert {e.name for e in qtcore.backends()} <= names
    ref = next(r for r in rows if r["name"] == "reference")
    assert ref["status"] == "available" and ref["distribution"] == "qtcore"
    assert ref["capabilities"]["max_qubits"] == 10 and ref["capabilities"]["noise"] is True


def test_backends_table_is_readable() -> None:
    out = run("backends")
    assert out.returncode == 0, out.stderr
    assert "reference" in out.stdout and "available" in out.stdout


def test_errors_exit_non_zero_with_a_message(tmp_path: Path) -> None:
    out = run("new-plugin", "Bad Name", "--directory", str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.startswith("qtcore: error: plugin name 'Bad Name'")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [[], ["--help"]])
def test_help(argv: list[str]) -> None:
    out = run(*argv)
    assert out.returncode == 0 and "backends" in out.stdout
