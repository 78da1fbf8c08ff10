"""Installing only ``qtcore`` and one plugin into a fresh environment gives a working SDK that
lists only the core's and that plugin's names. Uses the package registry (pip's cache makes
repeat runs fast); each case builds a new virtual environment, so these are slow."""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# plugin folder -> (backend-name prefix, mitigator prefix) it must add, nothing else
PLUGINS = {
    "qiskit": "qiskit.",
    "pennylane": "pennylane",
    "cirq": "cirq.",
    "mitiq": None,
    "braket": "braket.",
    "cuquantum": "cuquantum.",
}
#: Plugins whose backends need hardware CI lacks: installed without their [gpu] extra they
#: must be listed ``unavailable`` (with a reason), never ``broken``, and run nothing.
NEEDS_GPU = {"cuquantum"}

SAMPLE = """
import json, numpy as np, qtcore
names = [e.name for e in qtcore.backends()]
mitigators = [e.name for e in qtcore.mitigators()]
ran = {}
for name in names:
    if name == "reference" or ":" in name:
        continue
    entry = next(e for e in qtcore.backends() if e.name == name)
    if entry.info.parametric or entry.unavailable_reason():
        continue
    counts = qtcore.get_backend(name).sample_distributions(
        np.array([[0.0, 0.0, 1.0, 0.0]]), shots=16, seed=1)
    ran[name] = counts.tolist()
print(json.dumps({"backends": names, "mitigators": mitigators, "ran": ran}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_core_plus_one_plugin_in_a_fresh_environment(plugin: str, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    install = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
               str(ROOT), str(ROOT / "plugins" / plugin)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    out = subprocess.run([str(py), "-c", SAMPLE], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout)
    prefix = PLUGINS[plugin]
    others = [n for n in found["backends"] if n != "reference"]
    if prefix is None:
        assert others == []
        assert found["mitigators"] and all(m.startswith(f"{plugin}.") for m in found["mitigators"])
    else:
        assert others and all(n.startswith(prefix) for n in others), found
        assert found["mitigators"] == []
        # every concrete, available backend sampled the one-hot row onto outcome 2 (big-endian)
        if plugin in NEEDS_GPU:
            assert found["ran"] == {}, found
        else:
            assert found["ran"] and all(c == [[0, 0, 16, 0]] for c in found["ran"].values())
    listed = subprocess.run([str(env_dir / "bin" / "qtcore"), "backends", "--json"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr[-2000:]
    statuses = {r["name"]: r["status"] for r in json.loads(listed.stdout)}
    assert "broken" not in statuses.values(), statuses
    if plugin in NEEDS_GPU:
        mine = {name: status for name, status in statuses.items() if name.startswith(prefix)}
        assert mine and set(mine.values()) == {"unavailable"}, statuses
