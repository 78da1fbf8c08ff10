"""QuantumGPT training and generation throughput on CPU: sampled attention against exact SDPA.

The tiny QuantumGPT (2 layers, width 128, 4 heads) with a vocabulary of ``--vocab`` token
ids, batch ``--batch`` × ``--seq`` tokens, one AdamW step per measurement: the step
:func:`qtcore.training.train_causal_lm` takes (forward with labels, loss, backward,
``optimizer.step``), in float32 and under ``torch.autocast(bfloat16)``. The peer is the
same model with transformers' SDPA attention, same weights, same batch, measured in the same
run, interleaved with ours. Each time is the median of ``--repeats`` steps after one
warm-up step, in process CPU seconds (the machine is shared; wall time would measure the
neighbours). Ratios are tokens/s ours / tokens/s SDPA.
Greedy generation (KV cache, ``--new`` tokens for 4 prompts of 16) is timed the same way.

Run: ``python benchmarks/bench_gpt_training.py``; writes
``benchmarks/results/gpt_training.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from qtcore.models import quantum_gpt

RESULTS = Path(__file__).parent / "results"


def _step_time(model: Any, optimizer: Any, ids: torch.Tensor, bf16: bool) -> float:
    start = time.process_time()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, labels=ids).loss
    loss.float().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.process_time() - start


def _generate_time(model: Any, prompt: torch.Tensor, new: int) -> float:
    start = time.process_time()
    model.generate(prompt, max_new_tokens=new, do_sample=False, pad_token_id=0)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--new", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ids = torch.randint(0, args.vocab, (args.batch, args.seq), generator=torch.Generator())
    prompt = torch.randint(0, args.vocab, (4, 16), generator=torch.Generator().manual_seed(1))
    variants = {
        "sdpa": {"attn": "sdpa"},
        f"topk S={args.samples}": {"sampler": "topk", "num_samples": args.samples},
        f"stratified S={args.samples}": {"sampler": "stratified", "num_samples": args.samples},
    }
    rows = []
    for bf16 in (False, True):
        models = {
            k: quantum_gpt("tiny", vocab_size=args.vocab, seed=0, **v) for k, v in variants.items()
        }
        optims = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in models.items()}
        times: dict[str, list[float]] = {k: [] for k in models}
        for k in models:  # warm-up
            _step_time(models[k], optims[k], ids, bf16)
        for _ in range(args.repeats):
            for k in models:
                times[k].append(_step_time(models[k], optims[k], ids, bf16))
        peer = statistics.median(times["sdpa"])
        for k, ts in times.items():
            t = statistics.median(ts)
            rows.append(
                {
                    "what": "train step",
                    "attention": k,
                    "bf16": bf16,
                    "cpu_s": t,
                    "tokens_per_s": args.batch * args.seq / t,
                    "ratio_vs_sdpa": peer / t,
                }
            )
    models = {
        k: quantum_gpt("tiny", vocab_size=args.vocab, seed=0, **v).eval()
        for k, v in variants.items()
    }
    gen: dict[str, list[float]] = {k: [] for k in models}
    with torch.no_grad():
        for k in models:
            _generate_time(models[k], prompt, 4)
        for _ in range(max(1, args.repeats // 2)):
            for k in models:
                gen[k].append(_generate_time(models[k], prompt, args.new))
    peer = statistics.median(gen["sdpa"])
    for k, ts in gen.items():
        t = statistics.median(ts)
        rows.append(
            {
                "what": f"generate {args.new} tokens × 4 prompts (KV cache)",
                "attention": k,
                "bf16": False,
                "cpu_s": t,
                "tokens_per_s": 4 * args.new / t,
                "ratio_vs_sdpa": peer / t,
            }
        )
    for r in rows:
        print(
            f"{r['what']:<44} {r['attention']:<16} bf16={r['bf16']!s:<5} "
            f"{r['tokens_per_s']:>9.0f} tok/s  ×{r['ratio_vs_sdpa']:.2f} of SDPA"
        )
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "description": __doc__,
        "model": "quantum_gpt('tiny'): 2 layers, width 128, 4 heads",
        "vocab": args.vocab,
        "batch": args.batch,
        "seq": args.seq,
        "num_samples": args.samples,
        "repeats": args.repeats,
        "threads": args.threads,
        "load_average_at_end": os.getloadavg(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "rows": rows,
    }
    (RESULTS / "gpt_training.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
