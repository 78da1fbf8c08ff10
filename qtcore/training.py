"""Training a causal LM through sampled attention: a plain, documented PyTorch loop.

This is not a framework. :func:`train_causal_lm` is the loop a PyTorch user would write —
AdamW, optional linear warm-up and cosine decay, gradient clipping, gradient accumulation,
``torch.autocast`` in bfloat16 (CPU or GPU) — with the chores done once: a rich progress
bar, a checkpoint (model, optimizer, schedule, step, the RNG states *including the sampled
attention's own generator*) that :func:`train_causal_lm` resumes from, metrics as JSON and
a loss plot. :func:`evaluate_causal_lm` gives the held-out loss and perplexity. Any
transformers causal LM works; :func:`qtcore.models.quantum_gpt` builds one with sampled
attention. (The model is an ordinary ``PreTrainedModel``, so transformers' ``Trainer`` can
train it too; its checkpoints do not hold the attention generator.)

Gradients reach Q and K through the sampler's unbiased estimator
(:func:`qtcore.nn.functional.sampled_attention`), so the same loop trains exact and sampled
attention.

Files written to ``out_dir``:

* ``checkpoint.pt``: ``torch.save`` of a dict with ``model``, ``optimizer``, ``scheduler``,
  ``step``, ``history``, ``rng`` (torch CPU/CUDA states and the attention generator's) and
  ``settings`` (the loop's arguments);
* ``metrics.json``: the arguments, per-step loss, learning rate, gradient norm, tokens and
  elapsed time, and the summary this function returns;
* ``loss.png``: training loss against step (matplotlib).

Example:
    >>> import torch
    >>> from qtcore.models import quantum_gpt
    >>> from qtcore.training import train_causal_lm
    >>> model = quantum_gpt("tiny", vocab_size=32, n_layer=1, num_samples=4, seed=0)
    >>> batch = torch.randint(0, 32, (2, 16), generator=torch.Generator().manual_seed(0))
    >>> metrics = train_causal_lm(model, [batch], steps=5, lr=1e-3, progress=False)
    >>> metrics["steps"], metrics["final_loss"] < metrics["initial_loss"]
    (5, True)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qtcore.errors import InvalidInput

__all__ = ["CHECKPOINT", "METRICS", "PLOT", "evaluate_causal_lm", "train_causal_lm"]

#: File names written in ``out_dir``.
CHECKPOINT, METRICS, PLOT = "checkpoint.pt", "metrics.json", "loss.png"

SCHEDULES = ("constant", "cosine")


def _inputs(batch: Any, device: Any) -> dict[str, Any]:
    """Model keyword arguments from a batch: a (B, T) id tensor, or a dict with input_ids."""
    import torch

    if isinstance(batch, torch.Tensor):
        batch = {"input_ids": batch}
    if not isinstance(batch, dict) or "input_ids" not in batch:
        raise InvalidInput(
            f"a batch must be a (B, T) tensor of token ids or a dict with 'input_ids', got "
            f"{type(batch).__name__}"
        )
    inputs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    if "labels" not in inputs:
        labels = inputs["input_ids"].clone()
        if inputs.get("attention_mask") is not None:
            labels = labels.masked_fill(inputs["attention_mask"] == 0, -100)
        inputs["labels"] = labels
    return inputs


def _targets(inputs: dict[str, Any]) -> int:
    """Tokens the loss averages over (causal LMs shift the labels by one)."""
    return int((inputs["labels"][..., 1:] != -100).sum())


def _batch_at(batches: Any, index: int) -> Any:
    if callable(batches):
        return batches(index)
    return batches[index % len(batches)]


def _lr_factor(schedule: str, warmup: int, steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if schedule == "constant":
            return 1.0
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _attention_generator(model: Any) -> Any:
    settings = getattr(model, "qtcore_attention", None)
    return None if settings is None else settings.generator


def _rng_state(model: Any) -> dict[str, Any]:
    import torch

    generator = _attention_generator(model)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "attention": None if generator is None else generator.get_state(),
    }


def _set_rng_state(model: Any, state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generator = _attention_generator(model)
    if generator is not None and state.get("attention") is not None:
        generator.set_state(state["attention"])


def _describe_attention(model: Any) -> dict[str, Any]:
    settings = getattr(model, "qtcore_attention", None)
    implementation = getattr(getattr(model, "config", None), "_attn_implementation", None)
    if settings is None or implementation != settings.name:
        return {"implementation": implementation}
    return {
        "implementation": implementation,
        "sampler": str(settings.sampler),
        "backend": None if settings.backend is None else str(settings.backend),
        "num_samples": settings.num_samples,
        "seed": settings.seed,
    }


def _plot(history: list[dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["step"] for h in history], [h["loss"] for h in history], lw=1.2)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def train_causal_lm(
    model: Any,
    batches: Sequence[Any] | Callable[[int], Any],
    *,
    steps: int,
    lr: float,
    grad_accum: int = 1,
    bf16: bool = False,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    weight_decay: float = 0.0,
    warmup_steps: int = 0,
    schedule: str = "constant",
    max_grad_norm: float | None = 1.0,
    save_every: int | None = None,
) -> dict[str, Any]:
    """Train ``model`` (a causal LM) for ``steps`` optimizer steps; return summary metrics.

    Micro-batch ``m`` (counted from the start of training, resumes included) is
    ``batches[m % len(batches)]``, or ``batches(m)`` for a callable, so a resumed run sees
    the batches the uninterrupted run would have seen. Each optimizer step averages the loss
    of ``grad_accum`` micro-batches. A batch is a (B, T) tensor of token ids, or a dict with
    ``input_ids`` and optionally ``attention_mask`` and ``labels`` (default: the ids, -100
    where the attention mask is 0); the model shifts labels itself, as transformers' causal
    LMs do.

    Args:
        model: a transformers causal LM (e.g. :func:`qtcore.models.quantum_gpt`); trained in
            place on its current device.
        batches: a sequence of batches, or a function from micro-batch index to batch.
        steps: optimizer steps to reach (a resumed run continues up to this total).
        lr: AdamW's peak learning rate.
        grad_accum: micro-batches per optimizer step.
        bf16: run forward and loss under ``torch.autocast(dtype=torch.bfloat16)`` (weights,
            gradients and optimizer state stay float32). On a CPU without native bfloat16
            instructions this is about 10× slower than float32 (measured, docs/attention.md).
        out_dir: where the checkpoint, ``metrics.json`` and ``loss.png`` go (None: nowhere).
        resume: continue from ``out_dir/checkpoint.pt`` (the model's weights, optimizer,
            schedule, step counter, loss history and every RNG state are restored).
        progress: show a rich progress bar with the running loss.
        weight_decay: AdamW's decoupled weight decay.
        warmup_steps: linear warm-up steps.
        schedule: ``"constant"`` or ``"cosine"`` (decay to 0 at ``steps``) after warm-up.
            The schedule spans this call's ``steps``: resume a cosine run with the ``steps``
            it was started with to continue it exactly (a constant rate may be extended).
        max_grad_norm: clip the gradient norm to this (None: no clipping).
        save_every: also checkpoint every this many steps (the last step always is).

    Returns:
        A dict: ``steps``, ``initial_loss`` and ``final_loss`` (first and last step),
        ``min_loss``, ``tokens`` (loss targets seen), ``tokens_per_s`` and ``wall_s`` (this
        call's steps), ``resumed_from`` (step, or None), ``attention`` (the model's
        attention settings), ``bf16``, ``grad_accum``, and the paths written.

    Raises:
        InvalidInput: bad ``steps``, ``lr``, ``grad_accum``, ``schedule`` or batch; ``resume``
            without ``out_dir`` or without a checkpoint in it; a checkpoint already past
            ``steps``.

    Example:
        >>> import tempfile, torch
        >>> from qtcore.models import quantum_gpt
        >>> from qtcore.training import train_causal_lm
        >>> batch = torch.randint(0, 16, (2, 8), generator=torch.Generator().manual_seed(1))
        >>> out = tempfile.mkdtemp()
        >>> model = quantum_gpt("tiny", vocab_size=16, n_layer=1, num_samples=4, seed=0)
        >>> _ = train_causal_lm(model, [batch], steps=2, lr=1e-3, out_dir=out, progress=False)
        >>> model = quantum_gpt("tiny", vocab_size=16, n_layer=1, num_samples=4, seed=0)
        >>> m = train_causal_lm(model, [batch], steps=3, lr=1e-3, out_dir=out, resume=True,
        ...                     progress=False)
        >>> m["resumed_from"], m["steps"], len(m["history"])
        (2, 3, 3)
    """
    import torch

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InvalidInput(f"steps must be an int ≥ 1, got {steps!r}")
    if isinstance(grad_accum, bool) or not isinstance(grad_accum, int) or grad_accum < 1:
        raise InvalidInput(f"grad_accum must be an int ≥ 1, got {grad_accum!r}")
    if not (isinstance(lr, int | float) and lr > 0 and math.isfinite(lr)):
        raise InvalidInput(f"lr must be a positive finite number, got {lr!r}")
    if schedule not in SCHEDULES:
        raise InvalidInput(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if not callable(batches) and len(batches) == 0:
        raise InvalidInput("batches is empty: pass at least one batch")
    out = None if out_dir is None else Path(out_dir)
    if resume and (out is None or not (out / CHECKPOINT).is_file()):
        raise InvalidInput(
            f"resume=True but there is no {CHECKPOINT} in out_dir={out_dir!r}: pass the "
            "out_dir of the run to resume, or resume=False to start afresh"
        )
    settings = {
        "lr": lr,
        "grad_accum": grad_accum,
        "bf16": bf16,
        "weight_decay": weight_decay,
        "warmup_steps": warmup_steps,
        "schedule": schedule,
        "max_grad_norm": max_grad_norm,
    }
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_factor(schedule, warmup_steps, steps)
    )
    step, history, resumed_from = 0, [], None
    if resume:
        assert out is not None
        state = torch.load(out / CHECKPOINT, map_location=device, weights_only=False)
        if state["step"] > steps:
            raise InvalidInput(
                f"the checkpoint is at step {state['step']}, past steps={steps}: pass a "
                "larger steps to continue"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(model, state["rng"])
        step, history, resumed_from = state["step"], state["history"], state["step"]

    def save() -> None:
        if out is None:
            return
        out.mkdir(parents=True, exist_ok=True)
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "history": history,
            "rng": _rng_state(model),
            "settings": settings,
        }
        torch.save(state, out / (CHECKPOINT + ".tmp"))
        (out / (CHECKPOINT + ".tmp")).replace(out / CHECKPOINT)  # never a half-written file

    model.train()
    bar = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            "{task.fields[loss]}",
        )
        task = bar.add_task("training", total=steps, completed=step, loss="")
        bar.start()
    start, first_step, tokens_this_call = time.perf_counter(), step, 0
    try:
        while step < steps:
            loss_sum, targets = 0.0, 0
            for micro in range(grad_accum):
                inputs = _inputs(_batch_at(batches, step * grad_accum + micro), device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    loss = model(**inputs).loss
                (loss.float() / grad_accum).backward()
                loss_sum += float(loss.detach())
                targets += _targets(inputs)
            norm = None
            if max_grad_norm is not None:
                norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm))
            current_lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens_this_call += targets
            history.append(
                {
                    "step": step,
                    "loss": loss_sum / grad_accum,
                    "lr": current_lr,
                    "grad_norm": norm,
                    "tokens": targets,
                    "elapsed_s": time.perf_counter() - start,
                }
            )
            if bar is not None:
                bar.update(task, completed=step, loss=f"loss {history[-1]['loss']:.4f}")
            if save_every is not None and step % save_every == 0 and step < steps:
                save()
    finally:
        if bar is not None:
            bar.stop()
    wall = time.perf_counter() - start
    save()
    losses = [h["loss"] for h in history]
    metrics: dict[str, Any] = {
        "steps": step,
        "initial_loss": losses[0],
        "final_loss": losses[-1],
        "min_loss": min(losses),
        "tokens": sum(int(h["tokens"]) for h in history),
        "tokens_per_s": tokens_this_call / wall if wall > 0 and step > first_step else None,
        "wall_s": wall,
        "resumed_from": resumed_from,
        "attention": _describe_attention(model),
        "settings": settings,
        "history": history,
    }
    if out is not None:
        _plot(history, out / PLOT, f"{metrics['attention'].get('implementation')}")
        metrics["checkpoint"] = str(out / CHECKPOINT)
        metrics["plot"] = str(out / PLOT)
        metrics["metrics"] = str(out / METRICS)
        (out / METRICS).write_text(json.dumps(metrics, indent=2))
    return metrics


def evaluate_causal_lm(
    model: Any, batches: Sequence[Any], *, bf16: bool = False
) -> dict[str, float]:
    """Token-weighted mean loss and perplexity of ``model`` on ``batches`` (no gradients).

    Args:
        model: a transformers causal LM (put in eval mode here: no dropout).
        batches: batches as for :func:`train_causal_lm`.
        bf16: evaluate under ``torch.autocast`` in bfloat16.

    Returns:
        ``{"loss": nats per target token, "perplexity": exp(loss), "tokens": targets}``.

    Raises:
        InvalidInput: no batches, or no target tokens in them.

    Example:
        >>> import torch
        >>> from qtcore.models import quantum_gpt
        >>> from qtcore.training import evaluate_causal_lm
        >>> model = quantum_gpt("tiny", vocab_size=16, n_layer=1, sampler="exact", seed=0)
        >>> result = evaluate_causal_lm(model, [torch.randint(0, 16, (2, 9))])
        >>> result["tokens"], 8 < result["perplexity"] < 32  # near-uniform at random init
        (16.0, True)
    """
    import torch

    if len(batches) == 0:
        raise InvalidInput("batches is empty: pass at least one batch")
    device = next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            inputs = _inputs(batch, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = model(**inputs).loss
            n = _targets(inputs)
            total += float(loss.float()) * n
            count += n
    if count == 0:
        raise InvalidInput("the batches have no target tokens (every label is -100)")
    mean = total / count
    return {"loss": mean, "perplexity": math.exp(mean), "tokens": float(count)}
