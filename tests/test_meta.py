"""Meta-tests of the project itself: documented hooks, documented public API."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import qtcore
from qtcore import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("qtcore_"))


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_and_has_a_spec_docstring(hook: str) -> None:
    assert hook in (ROOT / "docs" / "architecture.md").read_text()
    assert len(inspect.getdoc(getattr(hookspecs, hook)) or "") > 100


def test_every_hook_is_exercised_by_the_core_plugin() -> None:
    core = next(p for p in qtcore.plugins() if p.name == "qtcore")
    assert list(core.hooks) == HOOKS


PUBLIC = [
    name
    for name in qtcore.__all__
    if (inspect.isfunction(getattr(qtcore, name)) or inspect.isclass(getattr(qtcore, name)))
    and getattr(getattr(qtcore, name), "__module__", "").startswith("qtcore")
]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_symbols_have_a_docstring_with_an_example(name: str) -> None:
    obj = getattr(qtcore, name)
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and issubclass(obj, Exception):
        assert doc, f"{name} needs a docstring"
        return
    if name in {"Backend", "Sampler", "Mitigator", "BackendBase"}:
        # protocols and the base class: documented by prose and by the module example
        assert doc and ">>>" in (inspect.getdoc(inspect.getmodule(obj)) or "")
        return
    assert ">>>" in doc, f"{name}'s docstring has no runnable example"


def test_every_module_is_in_the_api_reference() -> None:
    api = "".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.md"))
    core_modules = sorted(p.stem for p in (ROOT / "qtcore").glob("*.py")
                          if p.stem not in {"__init__", "markers"})
    missing = [m for m in core_modules if f"::: qtcore.{m}" not in api]
    assert not missing, f"add these modules to docs/api/: {missing}"
