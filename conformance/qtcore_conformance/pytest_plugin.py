"""The pytest plugin (entry point ``pytest11``): ``--qtcore-backend NAME`` and the budget.

``pytest --qtcore-backend reference`` adds the suite (:mod:`qtcore_conformance.suite`) to the
run, parametrised over every ``--qtcore-backend`` given; a plugin's own ``BackendTests``
subclasses run with the same options. At the end the plugin prints the budget, the number of
statistical assertions, and Holm's step-down verdict over all of them.

Heavy imports (scipy, the checks) happen only when a conformance test is collected.

Example:
    >>> from qtcore_conformance import pytest_plugin
    >>> callable(pytest_plugin.pytest_addoption)
    True
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from qtcore_conformance.session import STATE, Outcome, RunState

DEFAULT_BUDGET = 1e-6
DEFAULT_SEED = 20240611
SUITE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--qtcore-*`` options."""
    group = parser.getgroup("qtcore", "qtcore backend conformance")
    group.addoption("--qtcore-backend", action="append", default=[], dest="qtcore_backend",
                    metavar="NAME",
                    help="run the qtcore conformance suite on this backend (repeatable)")
    group.addoption("--qtcore-sampler", action="append", default=[], dest="qtcore_sampler",
                    metavar="NAME", help="run the sampler checks on this sampler (repeatable)")
    group.addoption("--qtcore-mitigator", action="append", default=[], dest="qtcore_mitigator",
                    metavar="NAME",
                    help="run the mitigator checks on this mitigator (repeatable)")
    group.addoption("--qtcore-budget", type=float, default=DEFAULT_BUDGET, dest="qtcore_budget",
                    help="false-failure budget of the whole run (default 1e-6), split over "
                         "backends and then over checks by their fixed shares")
    group.addoption("--qtcore-seed", type=int, default=DEFAULT_SEED, dest="qtcore_seed",
                    help="base seed; each check derives its own from it and its name")
    group.addoption("--qtcore-tolerance-tvd", type=float, default=None,
                    dest="qtcore_tolerance_tvd",
                    help="for --qtcore-backend backends with intrinsic device noise: test "
                         "TVD ≤ this instead of exact goodness of fit")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, create the run state, and add the suite when asked for."""
    config.addinivalue_line(
        "markers", "qtcore_check(name, tier, group): a qtcore conformance check"
    )
    budget = float(config.getoption("qtcore_budget"))
    if not 0.0 < budget < 1.0:
        raise pytest.UsageError(f"--qtcore-budget must be in (0, 1), got {budget}")
    state = RunState(budget=budget, base_seed=int(config.getoption("qtcore_seed")))
    config.stash[STATE] = state
    config.pluginmanager.register(_Recorder(state), f"qtcore-conformance-recorder-{id(config)}")
    if any(config.getoption(o) for o in ("qtcore_backend", "qtcore_sampler", "qtcore_mitigator")):
        given = {os.path.abspath(str(a).split("::")[0]) for a in config.args}
        if SUITE_FILE not in given:
            config.args.append(SUITE_FILE)


def _subject_name(cls: Any) -> Any:
    """The backend (or sampler) a suite class names, or None."""
    for attr in ("backend_name", "sampler_name", "mitigator_name"):
        name = getattr(cls, attr, None)
        if name is not None:
            return name
    return None


_KIND_FIXTURES = (
    ("backend_name", "qtcore_backend_name", "qtcore_backend"),
    ("sampler_name", "qtcore_sampler_name", "qtcore_sampler"),
    ("mitigator_name", "qtcore_mitigator_name", "qtcore_mitigator"),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise the generic suite classes over the ``--qtcore-*`` names."""
    cls = metafunc.cls
    if cls is None or not hasattr(cls, "known_failures"):
        return
    for attr, fixture, option in _KIND_FIXTURES:
        if hasattr(cls, attr) and getattr(cls, attr) is None and fixture in metafunc.fixturenames:
            names = list(dict.fromkeys(metafunc.config.getoption(option)))
            if names:  # none named: the items are deselected at collection
                metafunc.parametrize(fixture, names, scope="class", ids=names)


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    for _, fixture, _ in _KIND_FIXTURES:
        if callspec is not None and fixture in callspec.params:
            return str(callspec.params[fixture])
    name = _subject_name(getattr(item, "cls", None))
    return None if name is None else str(name)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Count the backends (for the budget split) and apply known failures as strict xfails."""
    state = config.stash[STATE]
    # Generic suite classes for a kind nobody named (no --qtcore-sampler, say) do not run.
    unnamed = [item for item in items if item.get_closest_marker("qtcore_check") is not None
               and _backend_of(item) is None]
    if unnamed:
        config.hook.pytest_deselected(items=unnamed)
        dropped = set(unnamed)
        items[:] = [item for item in items if item not in dropped]
    backends: set[tuple[str, str]] = set()
    checked_classes: set[type] = set()
    for item in items:
        mark = item.get_closest_marker("qtcore_check")
        if mark is None:
            continue
        cls = item.cls
        backend = _backend_of(item)
        if backend is not None and cls is not None:
            backends.add((f"{cls.__module__}.{cls.__qualname__}", backend))
        check_name = mark.args[0]
        if cls is not None and cls not in checked_classes:
            checked_classes.add(cls)
            from qtcore_conformance.catalog import CHECKS

            unknown = sorted(set(cls.known_failures) - set(CHECKS))
            if unknown:
                raise pytest.UsageError(
                    f"{cls.__qualname__}.known_failures names unknown checks {unknown}; "
                    f"the checks are: {', '.join(sorted(CHECKS))}"
                )
        reason = (cls.known_failures or {}).get(check_name) if cls is not None else None
        if reason:
            item.add_marker(pytest.mark.xfail(reason=f"known failure: {reason}", strict=True,
                                              raises=AssertionError))
    state.n_backends = max(len(backends), 1)


class _Recorder:
    """Per-session plugin object: remembers which nodes are checks and records outcomes.

    Reports carry only the node id, so the (check, backend) of each node is noted at
    collection. Kept on the session's config (not in module globals) so that nested runs,
    such as ``qtcore conformance`` called from inside a test, do not mix their results.
    """

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.nodes: dict[str, tuple[str, str]] = {}

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        mark = item.get_closest_marker("qtcore_check")
        if mark is not None:
            self.nodes[item.nodeid] = (mark.args[0], _backend_of(item) or "?")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        info = self.nodes.get(report.nodeid)
        if info is None:
            return
        check, backend = info
        seed = next((v for k, v in report.user_properties if k == "qtcore_seed"), None)
        outcome: str | None = None
        reason = ""
        if hasattr(report, "wasxfail"):
            if report.skipped:
                outcome, reason = "xfailed", str(report.wasxfail)
            elif report.when == "call":
                outcome = "failed"
                reason = f"known failure now passes (strict xfail): {report.wasxfail}"
        elif report.skipped:
            outcome, reason = "skipped", _skip_reason(report)
        elif report.failed:
            outcome = "failed" if report.when == "call" else "error"
            reason = str(report.longrepr)[-4000:]
        elif report.when == "call":
            outcome = "passed"
        if outcome is None:
            return
        self.state.outcomes.append(
            Outcome(check, backend, outcome, reason, float(report.duration), report.nodeid, seed)
        )


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def holm_summary(state: RunState) -> dict[str, Any]:
    """Holm's weighted step-down over every statistical assertion of the run.

    Each record was tested at its own α (the first step of Holm); this adds the adjusted
    p-values and the hypotheses Holm rejects in later steps.

    Example:
        >>> from qtcore_conformance.session import RunState
        >>> holm_summary(RunState(1e-6, 1))["assertions"]
        0
    """
    from qtcore_conformance.stats import holm_adjust

    recs = state.records
    family = sum(r["alpha"] for r in recs)
    adjusted = holm_adjust([r["p_value"] for r in recs], [r["alpha"] for r in recs])
    for rec, adj in zip(recs, adjusted):
        rec["p_value_holm"] = adj
    rejected = [f"{r['check']}[{r['backend']}]" for r, a in zip(recs, adjusted)
                if family > 0 and a <= family]
    ratio = min((r["p_value"] / r["alpha"] for r in recs), default=float("inf"))
    return {
        "budget": state.budget,
        "budget_per_backend": state.budget_per_backend,
        "backends": state.n_backends,
        "assertions": len(recs),
        "alpha_spent": family,
        "holm_rejected": rejected,
        "min_p_over_alpha": ratio,
    }


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the budget and Holm's verdict when conformance checks ran."""
    state = config.stash.get(STATE, None)
    if state is None or not state.outcomes:
        return
    s = holm_summary(state)
    tr = terminalreporter
    tr.section("qtcore conformance")
    tr.write_line(
        f"false-failure budget {s['budget']:g} for the run ({s['backends']} under test: "
        f"{s['budget_per_backend']:.3g} each), base seed {state.base_seed}"
    )
    tr.write_line(
        f"{s['assertions']} statistical assertions tested at fixed shares (α spent "
        f"{s['alpha_spent']:.3g}); smallest p/α = {s['min_p_over_alpha']:.3g}"
    )
    if s["holm_rejected"]:
        tr.write_line("Holm's step-down rejects: " + ", ".join(s["holm_rejected"]), red=True)
    else:
        tr.write_line("Holm's step-down rejects nothing")
