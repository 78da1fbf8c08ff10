"""One whole attention layer at N = 65536: every query row, against SDPA, on real text.

``bench_longcontext.py`` times the last 4096 query rows of a 65536-key layer (to keep the
CPU time of its many configurations in bounds). That understates a sampler with per-head
set-up work: ``importance`` builds its key tree and block moments once per head, in
O(N·r·log C), and spreads that over the query rows it serves. This benchmark runs the
whole layer (65536 queries × 65536 keys, 4 heads × 64, MiniLM layer 2 over consecutive
512-token chunks of English news, the same capture as ``bench_longcontext.py``),
non-causal and causal (``is_causal=True``, no mask materialised), and times
``scaled_dot_product_attention``, ``importance`` and ``hyper`` on the same tensors and
thread; error is the relative Frobenius error against SDPA's output.

Run: ``python benchmarks/bench_longcontext_layer.py`` (about 12 minutes on one core; the
captured Q/K/V are cached as in ``bench_longcontext.py``); writes
``benchmarks/results/longcontext_layer.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from bench_longcontext import CHUNK, capture_long, rel, run

from qtcore.sampling import HyperSampler, ImportanceSampler

RESULTS = Path(__file__).parent / "results"


def methods() -> list[tuple[str, object, int]]:
    """(label, sampler, S) measured against SDPA."""
    return [
        ("importance b32·h64 S1024", ImportanceSampler(block_size=32, heavy=64), 1024),
        ("importance b32·h128 S1024", ImportanceSampler(block_size=32, heavy=128), 1024),
        ("hyper S1024", HyperSampler(), 1024),
        ("hyper S4096", HyperSampler(), 4096),  # about importance's time: error at equal time
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=65536)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", default="/tmp/qtcore_longctx_qkv.pt")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    cache = Path(args.cache)
    if cache.exists():
        q_all, k_all, v_all, _ = torch.load(cache)
    else:
        q_all, k_all, v_all = capture_long(args.size)
        train = capture_long(8 * CHUNK, skip_chunks=200)
        torch.save((q_all, k_all, v_all, train), cache)
    N = args.size
    q, k, v = (x[:, :, :N].contiguous() for x in (q_all, k_all, v_all))
    rows = []
    for causal in (False, True):
        with torch.no_grad():
            start = time.process_time()
            exact = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            sdpa = time.process_time() - start
        print(f"N={N} causal={causal} SDPA {sdpa:.1f} s CPU", flush=True)
        for label, sampler, S in methods():
            start = time.process_time()
            got = run(sampler, q, k, v, None, causal, S, 0)
            took = time.process_time() - start
            row = {
                "N": N,
                "causal": causal,
                "method": label,
                "num_samples": S,
                "query_rows": N,
                "cpu_seconds": took,
                "sdpa_cpu_seconds": sdpa,
                "speedup_vs_sdpa": sdpa / took,
                "error": rel(got, exact),
            }
            rows.append(row)
            print(
                f"    {label:28s} {took:7.1f} s  {row['speedup_vs_sdpa']:5.2f}x SDPA  "
                f"error {row['error']:.4f}",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "description": __doc__,
        "shape": f"1 × 4 heads × {N} queries × {N} keys × 64",
        "threads": args.threads,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "rows": rows,
    }
    out = RESULTS / "longcontext_layer.json"
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
