"""Plugin discovery with real entry points: distributions written to a temporary sys.path
entry (a ``*.dist-info`` folder with ``entry_points.txt``), found by importlib.metadata."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import qtcore
from qtcore.registry import Registry, reset_registry


def make_dist(root: Path, dist: str, module: str, source: str, ep_name: str | None = None) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[qtcore]\n{ep_name or module} = {module}\n")


GOOD = """
import qtcore

@qtcore.hookimpl
def qtcore_backends():
    return [qtcore.BackendInfo("{name}", factory=qtcore.ReferenceBackend, description="ok")]
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    for var in ("QTCORE_DISABLED_PLUGINS", "QTCORE_LOAD_PLUGINS", "QTCORE_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    reset_registry()
    yield tmp_path
    reset_registry()
    for mod in [m for m in sys.modules if m.startswith("qtplug_")]:
        del sys.modules[mod]


def test_a_plugin_is_found_through_its_entry_point(site) -> None:
    make_dist(site, "qtcore-good", "qtplug_good", GOOD.format(name="good.sim"))
    entry = next(e for e in qtcore.backends() if e.name == "good.sim")
    assert (entry.plugin.distribution, entry.plugin.version) == ("qtcore-good", "1.2.3")
    assert isinstance(qtcore.get_backend("good.sim"), qtcore.ReferenceBackend)


def test_import_failure_is_isolated_and_reported(site) -> None:
    make_dist(site, "qtcore-good", "qtplug_good", GOOD.format(name="good.sim"))
    make_dist(site, "qtcore-bad", "qtplug_bad", "import not_a_real_module_xyz\n")
    records = {r.name: r for r in qtcore.plugins()}
    assert records["qtplug_bad"].status == "broken"
    assert "not_a_real_module_xyz" in records["qtplug_bad"].reason
    assert records["qtplug_good"].status == "ok"
    assert "good.sim" in {e.name for e in qtcore.backends()}
    assert qtcore.get_backend("reference").name == "reference"


@pytest.mark.parametrize(
    "body",
    [
        "    raise RuntimeError('registration exploded')",
        "    return ['not a BackendInfo']",
        "    return [qtcore.BackendInfo('Bad Name!', factory=dict)]",
    ],
)
def test_a_hook_that_raises_or_returns_garbage_is_isolated(site, body) -> None:
    source = f"import qtcore\n\n@qtcore.hookimpl\ndef qtcore_backends():\n{body}\n"
    make_dist(site, "qtcore-raises", "qtplug_raises", source)
    make_dist(site, "qtcore-good", "qtplug_good", GOOD.format(name="good.sim"))
    record = next(r for r in qtcore.plugins() if r.name == "qtplug_raises")
    assert record.status == "broken"
    assert "qtcore_backends" in record.reason
    assert {"good.sim", "reference"} <= {e.name for e in qtcore.backends()}


def test_a_broken_plugin_contributes_nothing_from_any_hook(site) -> None:
    source = """
    import qtcore

    @qtcore.hookimpl
    def qtcore_backends():
        return [qtcore.BackendInfo("half.sim", factory=qtcore.ReferenceBackend)]

    @qtcore.hookimpl
    def qtcore_samplers():
        raise RuntimeError("boom")
    """
    make_dist(site, "qtcore-half", "qtplug_half", source)
    assert "half.sim" not in {e.name for e in qtcore.backends()}
    assert next(r for r in qtcore.plugins() if r.name == "qtplug_half").status == "broken"


def test_duplicate_names_raise_naming_both_distributions(site) -> None:
    make_dist(site, "qtcore-one", "qtplug_one", GOOD.format(name="same.sim"))
    make_dist(site, "qtcore-two", "qtplug_two", GOOD.format(name="same.sim"))
    with pytest.raises(qtcore.PluginConflict) as info:
        qtcore.backends()
    assert "qtcore-one" in str(info.value) and "qtcore-two" in str(info.value)
    assert "QTCORE_DISABLED_PLUGINS" in str(info.value)


def test_a_plugin_cannot_take_the_core_name(site) -> None:
    make_dist(site, "qtcore-evil", "qtplug_evil", GOOD.format(name="reference"))
    with pytest.raises(qtcore.PluginConflict, match="qtcore-evil"):
        qtcore.backends()


def test_disabled_and_load_only_environment(site, monkeypatch) -> None:
    make_dist(site, "qtcore-one", "qtplug_one", GOOD.format(name="one.sim"))
    make_dist(site, "qtcore-two", "qtplug_two", GOOD.format(name="two.sim"))
    monkeypatch.setenv("QTCORE_DISABLED_PLUGINS", "qtcore-one")
    names = {e.name for e in qtcore.backends()}
    assert "one.sim" not in names and "two.sim" in names
    assert next(r for r in qtcore.plugins() if r.name == "qtplug_one").status == "disabled"
    reset_registry()
    monkeypatch.delenv("QTCORE_DISABLED_PLUGINS")
    monkeypatch.setenv("QTCORE_LOAD_PLUGINS", "qtplug_one")
    names = {e.name for e in qtcore.backends()}
    assert {"one.sim", "reference"} <= names and "two.sim" not in names


def test_trace_environment_writes_hook_calls_to_stderr(site) -> None:
    make_dist(site, "qtcore-good", "qtplug_good", GOOD.format(name="good.sim"))
    code = "import qtcore; qtcore.backends()"
    env = {"QTCORE_TRACE_PLUGINS": "1", "PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert "qtcore_backends" in out.stderr


def test_unknown_names_suggest_close_matches(site) -> None:
    with pytest.raises(qtcore.UnknownName) as info:
        qtcore.get_backend("referense")
    msg = str(info.value)
    assert "Did you mean 'reference'" in msg and "Installed backends: " in msg
    with pytest.raises(qtcore.UnknownName):
        qtcore.get_sampler("nope")
    with pytest.raises(qtcore.UnknownName):
        qtcore.get_mitigator("nope")


def test_parametric_names_and_availability(site) -> None:
    source = """
    import qtcore

    class Dev(qtcore.ReferenceBackend):
        def __init__(self, variant, scale=1):
            self.variant, self.scale = variant, scale

    @qtcore.hookimpl
    def qtcore_backends():
        return [
            qtcore.BackendInfo("dev.fake", factory=Dev, parametric=True, variants=("a", "b")),
            qtcore.BackendInfo("dev.cloud", factory=Dev, availability=lambda: "no credentials"),
        ]
    """
    make_dist(site, "qtcore-dev", "qtplug_dev", source)
    backend = qtcore.get_backend("dev.fake:a", scale=3)
    assert (backend.variant, backend.scale) == ("a", 3)
    with pytest.raises(qtcore.InvalidInput, match="needs a variant"):
        qtcore.get_backend("dev.fake")
    with pytest.raises(qtcore.BackendUnavailable, match="no credentials"):
        qtcore.get_backend("dev.cloud")
    with pytest.raises(qtcore.InvalidInput, match="rejected the options"):
        qtcore.get_backend("dev.fake:a", colour="red")
    with pytest.raises(qtcore.UnknownName):
        qtcore.get_backend("reference:x")


def test_registry_with_explicit_entry_points_and_environment(site) -> None:
    make_dist(site, "qtcore-good", "qtplug_good", GOOD.format(name="good.sim"))
    eps = list(md.entry_points(group="qtcore", name="qtplug_good"))
    reg = Registry(entry_points=eps, environ={"QTCORE_DISABLED_PLUGINS": "qtplug_good"})
    assert [e.name for e in reg.entries("backend")] == ["reference"]
    assert Registry(entry_points=eps, environ={}).get("backend", "good.sim").name == "good.sim"


def test_builtins_go_through_the_same_hooks() -> None:
    core = next(p for p in qtcore.plugins() if p.name == "qtcore")
    assert core.hooks == ("qtcore_backends", "qtcore_mitigators", "qtcore_samplers")
    assert qtcore.get_registry().get("backend", "reference").plugin is core or (
        qtcore.get_registry().get("backend", "reference").plugin.name == "qtcore"
    )


def test_importing_qtcore_imports_no_heavy_framework() -> None:
    code = (
        "import sys, qtcore; qtcore.backends();"
        "heavy = {'torch', 'scipy', 'rich', 'qiskit', 'cirq', 'pennylane', 'transformers'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
