"""The engine behind ``qtcore conformance``: run the suite with pytest, report a table.

:func:`run_conformance` drives ``pytest.main`` on :mod:`qtcore_conformance.suite` with the
plugin, collects every check's outcome on every backend, prints a rich table (check ×
backend, with the tier), the budget and Holm's verdict, and writes JSON / JUnit XML.

Example:
    >>> from qtcore_conformance.engine import build_parser
    >>> build_parser().parse_args(["reference", "--check", "seed_same_counts"]).check
    ['seed_same_counts']
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import pytest

import qtcore
from qtcore_conformance.pytest_plugin import DEFAULT_BUDGET, DEFAULT_SEED, SUITE_FILE, holm_summary
from qtcore_conformance.session import STATE, RunState

__all__ = ["build_parser", "main", "main_argv", "run_conformance"]


class _Collector:
    """A pytest plugin object that keeps the run state when the session ends."""

    def __init__(self) -> None:
        self.state: RunState | None = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.state = session.config.stash.get(STATE, None)


def _all_backends() -> tuple[list[str], list[str]]:
    names, parametric = [], []
    for entry in qtcore.backends():
        if entry.info.parametric:
            parametric.append(entry.name)
        else:
            names.append(entry.name)
    return names, parametric


def _available(entries: Sequence[Any]) -> list[str]:
    return [e.name for e in entries]


def _weight_samplers() -> tuple[list[str], list[str]]:
    """Registered samplers split into those with ``sample_weights`` (what SamplerTests
    checks) and the attending ones, which choose keys from q and k and have no weights of p."""
    weighing, attending = [], []
    for entry in qtcore.samplers():
        try:
            has = hasattr(qtcore.get_sampler(entry.name), "sample_weights")
        except Exception:  # a factory that fails is reported by the run itself
            has = True
        (weighing if has else attending).append(entry.name)
    return weighing, attending


def run_conformance(
    backends: Sequence[str],
    *,
    samplers: Sequence[str] = (),
    mitigators: Sequence[str] = (),
    budget: float = DEFAULT_BUDGET,
    seed: int = DEFAULT_SEED,
    checks: Sequence[str] = (),
    tolerance_tvd: float | None = None,
    json_path: str | None = None,
    junit_path: str | None = None,
    show_table: bool = True,
    extra_pytest_args: Sequence[str] = (),
) -> tuple[int, dict[str, Any]]:
    """Run the suite on ``backends``; return (exit status, report dict).

    Args:
        backends: registered backend names.
        samplers, mitigators: registered sampler and mitigator names.
        budget: false-failure budget of the whole run.
        seed: base seed.
        checks: restrict to these check names (default: all).
        tolerance_tvd: test distributions with ``TVD ≤ tolerance`` (intrinsic device noise).
        json_path, junit_path: where to write the reports.
        show_table: print the rich table and summary.

    Returns:
        pytest's exit status (0 when every check passed or skipped with a reason) and the
        report (also written to ``json_path``).
    """
    import qtcore_conformance.checks  # noqa: F401
    from qtcore_conformance.catalog import CHECKS

    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        raise qtcore.InvalidInput(
            f"unknown check(s) {unknown}; the checks are: {', '.join(sorted(CHECKS))}"
        )
    args = [
        SUITE_FILE,
        "-p", "no:cacheprovider",
        "-q",
        "-o", "addopts=",
        "--rootdir", os.path.dirname(SUITE_FILE),
        "--qtcore-budget", repr(budget),
        "--qtcore-seed", str(seed),
    ]
    for name in backends:
        args += ["--qtcore-backend", name]
    for name in samplers:
        args += ["--qtcore-sampler", name]
    for name in mitigators:
        args += ["--qtcore-mitigator", name]
    subjects = [*backends, *samplers, *mitigators]
    if tolerance_tvd is not None:
        args += ["--qtcore-tolerance-tvd", repr(tolerance_tvd)]
    if checks:
        args += ["-k", " or ".join(f"test_{c}" for c in checks)]
    if junit_path:
        args += ["--junit-xml", junit_path, "-o", "junit_family=xunit2"]
    args += list(extra_pytest_args)
    collector = _Collector()
    status = int(pytest.main(args, plugins=[collector]))
    state = collector.state or RunState(budget, seed)
    summary = holm_summary(state)
    report = {
        "budget": budget,
        "base_seed": seed,
        "backends": list(backends),
        "samplers": list(samplers),
        "mitigators": list(mitigators),
        "summary": summary,
        "results": [
            {
                "check": o.check,
                "backend": o.backend,
                "group": CHECKS[o.check].group,
                "tier": CHECKS[o.check].tier,
                "outcome": o.outcome,
                "reason": o.reason,
                "seed": o.seed,
                "duration_s": round(o.duration, 4),
                "nodeid": o.nodeid,
            }
            for o in state.outcomes
        ],
        "assertions": state.records,
        "exit_status": status,
    }
    if not subjects:
        status = 4
    elif any(o.outcome in ("failed", "error") for o in state.outcomes):
        status = status or 1
    report["exit_status"] = status
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(report, fh, indent=2, default=str)
    if show_table:
        _print_report(report, subjects)
    return status, report


_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "skipped": "yellow",
          "xfailed": "magenta"}


def _cell(outcome: str, reason: str) -> str:
    from rich.markup import escape

    style = _STYLE.get(outcome, "default")
    label = {"passed": "pass", "failed": "FAIL", "error": "ERROR", "skipped": "skip",
             "xfailed": "xfail"}.get(outcome, outcome)
    text = label
    if outcome in ("skipped", "xfailed") and reason:
        text += f": {reason}"
    return f"[{style}]{escape(text)}[/]"


def _print_report(report: dict[str, Any], backends: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from qtcore_conformance.catalog import CHECKS, GROUPS

    console = Console(width=max(140, Console().width))
    table = Table(title="qtcore conformance", show_lines=False)
    table.add_column("check", overflow="fold")
    table.add_column("tier")
    # One column per backend, sampler and mitigator tested.
    for b in backends:
        table.add_column(b, overflow="fold")
    by = {(r["check"], r["backend"]): r for r in report["results"]}
    kind_of = {name: kind for kind in ("backend", "sampler", "mitigator")
               for name in report.get(f"{kind}s", [])}
    for chk in sorted(CHECKS.values(), key=lambda c: GROUPS.index(c.group)):
        name = chk.name
        cells = []
        seen = False
        for b in backends:
            r = by.get((name, b))
            if kind_of.get(b, "backend") != chk.kind:
                cells.append("[dim]-[/]")  # a check of another kind (sampler vs backend)
            elif r is None:
                cells.append("[dim]not run[/]")
            else:
                seen = True
                cells.append(_cell(r["outcome"], r["reason"]))
        if seen:
            table.add_row(name, chk.tier, *cells)
    console.print(table)
    s = report["summary"]
    console.print(
        f"false-failure budget {s['budget']:g} for the run ({s['backends']} under test, "
        f"{s['budget_per_backend']:.3g} each), base seed {report['base_seed']}; "
        f"{s['assertions']} statistical assertions, smallest p/α {s['min_p_over_alpha']:.3g}; "
        f"Holm rejects {len(s['holm_rejected'])}"
    )
    failed = [r for r in report["results"] if r["outcome"] in ("failed", "error")]
    for r in failed:
        console.print(f"[bold red]FAILED[/] {r['check']} on {r['backend']}:")
        console.print(r["reason"].strip().splitlines()[-1] if r["reason"] else "", markup=False)
    counts: dict[str, int] = {}
    for r in report["results"]:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of ``qtcore conformance`` (added to ``parser`` when given)."""
    p = parser or argparse.ArgumentParser(prog="qtcore conformance")
    p.add_argument("backends", nargs="*", metavar="NAME", help="backends to test")
    p.add_argument("--sampler", action="append", default=[], metavar="NAME",
                   help="a sampler to test (repeatable)")
    p.add_argument("--mitigator", action="append", default=[], metavar="NAME",
                   help="a mitigator to test (repeatable)")
    p.add_argument("--all", action="store_true",
                   help="every installed (non-parametric) backend, sampler and mitigator")
    p.add_argument("--json", metavar="PATH", help="write the report as JSON")
    p.add_argument("--junit-xml", metavar="PATH", help="write JUnit XML (seeds as properties)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                   help="false-failure budget of the whole run (default 1e-6)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="base seed")
    p.add_argument("--check", action="append", default=[], metavar="CHECK",
                   help="run only this check (repeatable)")
    p.add_argument("--tolerance-tvd", type=float, default=None,
                   help="backends with intrinsic device noise: test TVD ≤ this")
    return p


def main_argv(argv: Sequence[str]) -> int:
    """``qtcore conformance ARGS…``: parse ``argv`` and run; return the exit status."""
    return main(build_parser().parse_args(list(argv)))


def main(args: argparse.Namespace) -> int:
    """Run ``qtcore conformance`` from parsed arguments; return the exit status."""
    names = list(args.backends)
    samplers, mitigators = list(args.sampler), list(args.mitigator)
    if args.all:
        found, parametric = _all_backends()
        names = list(dict.fromkeys(names + found))
        weighing, attending = _weight_samplers()
        samplers = list(dict.fromkeys(samplers + weighing))
        if attending:
            print("attending samplers (attend(q, k, v), no sample_weights) are tested by their "
                  "own suites, not in --all: " + ", ".join(attending), file=sys.stderr)
        mitigators = list(dict.fromkeys(mitigators + _available(qtcore.mitigators())))
        if parametric:
            print("parametric backends need a variant and are not in --all: "
                  + ", ".join(f"{p}:<variant>" for p in parametric), file=sys.stderr)
    if not (names or samplers or mitigators):
        print("qtcore conformance: name at least one backend (or --sampler/--mitigator), "
              "or --all", file=sys.stderr)
        return 2
    status, _ = run_conformance(
        names,
        samplers=samplers,
        mitigators=mitigators,
        budget=args.budget,
        seed=args.seed,
        checks=args.check,
        tolerance_tvd=args.tolerance_tvd,
        json_path=args.json,
        junit_path=args.junit_xml,
    )
    return status
