"""CPU forward time of sampled attention against PyTorch's scaled_dot_product_attention.

One attention call, batch 1, 4 heads, head dim 64, sequence (= keys) 512, 2048 and 4096,
non-causal and causal, S = 32 samples per query row; inference (no grad), so
``sampled_attention`` takes its blockwise path: logits per block of query rows by one matrix
product, then the fused C pass (``qtcore/nn/_rows.c``: max, exp, sums, sample points and
``Σ_s w_s·v[idx_s]`` in one sweep per row; ``native`` in the JSON says whether it was
built); no dense (L, N) product with V and no (B, H, L, N, D) gather. The peer is
``torch.nn.functional.scaled_dot_product_attention`` on
the same tensors and threads, measured in the same run, interleaved with ours; each time is
the median of ``--repeats`` runs, and ratios are ours / SDPA: ``ratio_to_sdpa`` in wall time,
``cpu_ratio_to_sdpa`` in CPU time of the process (all its threads), which is what a shared,
loaded machine measures more faithfully; ``load_average_at_end`` says how loaded it was.

Run: ``python benchmarks/bench_attention.py``; writes ``benchmarks/results/attention.json``
and ``benchmarks/results/attention.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from functools import partial
from pathlib import Path

import torch
from torch.nn.functional import scaled_dot_product_attention

from qtcore.nn.functional import sampled_attention
from qtcore.nn.native import native_status
from qtcore.sampling import TopKSampler

RESULTS = Path(__file__).parent / "results"
SEQS = (512, 2048, 4096)
#: Each sampler under the name the JSON uses: ``topk`` as registered (value-aware design with
#: its rank-4 control), ``topk-nocontrol`` the design without the control, ``topk-p`` the
#: same πps sampler on p alone, and ``stratified``.
SAMPLERS = {
    "topk": "topk",
    "topk-nocontrol": TopKSampler(control_rank=0),
    "topk-p": TopKSampler(value_aware=False),
    "stratified": "stratified",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", default="1,2", help="comma-separated torch thread counts to measure"
    )
    parser.add_argument("--samples", type=int, default=32)
    args = parser.parse_args()
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        rows += measure(threads, args.repeats, args.samples)
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "description": __doc__,
        "shape": "batch 1, 4 heads, head dim 64",
        "num_samples": args.samples,
        "repeats": args.repeats,
        "load_average_at_end": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "native": native_status(),
        "rows": rows,
    }
    (RESULTS / "attention.json").write_text(json.dumps(payload, indent=2))
    plot(rows)
    print(f"wrote {RESULTS / 'attention.json'} and attention.png")


def measure(threads: int, repeats: int, samples: int) -> list[dict[str, object]]:
    """Median times and ratios to SDPA for every sequence length, non-causal and causal."""
    rows = []
    for causal in (False, True):
        for L in SEQS:
            g = torch.Generator().manual_seed(L)
            q, k, v = (torch.randn(1, 4, L, 64, generator=g) for _ in range(3))
            methods = {"sdpa": partial(scaled_dot_product_attention, q, k, v, is_causal=causal)}
            for name, spec in SAMPLERS.items():
                methods[name] = partial(
                    sampled_attention,
                    q,
                    k,
                    v,
                    is_causal=causal,
                    sampler=spec,
                    num_samples=samples,
                )
            times: dict[str, list[float]] = {m: [] for m in methods}
            cpu: dict[str, list[float]] = {m: [] for m in methods}
            with torch.no_grad():
                for f in methods.values():
                    f()  # warm-up
                for _ in range(repeats):
                    for m, f in methods.items():
                        start, start_cpu = time.perf_counter(), time.process_time()
                        f()
                        times[m].append(time.perf_counter() - start)
                        cpu[m].append(time.process_time() - start_cpu)
            med = {m: statistics.median(t) for m, t in times.items()}
            med_cpu = {m: statistics.median(t) for m, t in cpu.items()}
            row = {
                "threads": threads,
                "seq": L,
                "causal": causal,
                "seconds": med,
                "cpu_seconds": med_cpu,
                "ratio_to_sdpa": {m: med[m] / med["sdpa"] for m in SAMPLERS},
                "cpu_ratio_to_sdpa": {m: med_cpu[m] / med_cpu["sdpa"] for m in SAMPLERS},
            }
            rows.append(row)
            print(
                f"threads={threads} L={L:5d} causal={causal!s:5s} "
                f"sdpa {med['sdpa'] * 1e3:8.1f} ms  "
                + "  ".join(f"{m} {row['ratio_to_sdpa'][m]:.2f}x" for m in SAMPLERS),
                flush=True,
            )
    return rows


def plot(rows) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, causal in zip(axes, (False, True)):
        sel = [r for r in rows if r["causal"] == causal]
        for m in SAMPLERS:
            ax.plot(
                [r["seq"] for r in sel], [r["ratio_to_sdpa"][m] for r in sel], marker="o", label=m
            )
        ax.axhline(1.0, color="black", lw=0.8)
        ax.axhline(1.5, color="grey", ls=":", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sequence length (keys)")
        ax.set_ylabel("time / SDPA time")
        ax.set_title(("causal" if causal else "non-causal") + ", 4 heads × 64, S = 32")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "attention.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
