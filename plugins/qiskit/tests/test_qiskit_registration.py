"""Registration: the plugin lists its backends and imports nothing heavy to do so."""

from __future__ import annotations

import json
import subprocess
import sys

from qtcore_qiskit import plugin

import qtcore


def test_registration_imports_no_framework() -> None:
    code = (
        "import sys, qtcore\n"
        "names = sorted(e.name for e in qtcore.backends())\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'qiskit', 'qiskit_aer', 'qiskit_ibm_runtime', 'scipy', 'torch'})\n"
        "import json; print(json.dumps([names, heavy]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    names, heavy = json.loads(out)
    assert {"qiskit.aer", "qiskit.fake", "qiskit.ibm"} <= set(names)
    assert heavy == [], f"registering qtcore-qiskit imported {heavy}"


def test_backends_are_registered_by_this_distribution() -> None:
    entries = {e.name: e for e in qtcore.backends()}
    for name in ("qiskit.aer", "qiskit.fake", "qiskit.ibm"):
        assert entries[name].plugin.distribution == "qtcore-qiskit"
        assert entries[name].description
    assert entries["qiskit.aer"].unavailable_reason() is None
    assert entries["qiskit.fake"].unavailable_reason() is None


def test_cli_lists_every_backend_with_capabilities(capsys: object) -> None:
    from qtcore.cli import main

    assert main(["backends", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}  # type: ignore[attr-defined]
    assert rows["qiskit.aer"]["capabilities"]["noise"] is True
    assert "manila" in rows["qiskit.fake:<variant>"]["variants"]
    assert set(rows) >= {"qiskit.aer", "qiskit.fake:<variant>", "qiskit.ibm:<variant>"}


def test_hook_returns_fresh_infos() -> None:
    assert [i.name for i in plugin.qtcore_backends()] == ["qiskit.aer", "qiskit.fake", "qiskit.ibm"]
