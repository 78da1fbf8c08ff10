"""GPU benchmarks: the fused sampled-attention kernel vs SDPA, and cuStateVec vs Aer and numpy.

Needs an NVIDIA GPU; on a machine without one it says why and exits (status 1) before
measuring anything, and writes no JSON.

1. **Kernel** (``qtcore_kernels.attention.fused_sampled_attention``, topk and stratified,
   S points per row) vs
   ``torch.nn.functional.scaled_dot_product_attention`` restricted to its flash backend, in
   bfloat16, at sequence lengths 1k–16k and head dims 64 and 128, non-causal and causal
   prefill (L = N), plus decode (one query row per head, N = 16k–64k; SDPA's own choice of
   backend there, as flash needs no special case for one row). Each time is the median of
   CUDA-event timings after warm-up; the ratio is SDPA time / kernel time (> 1: the kernel
   has the higher throughput). Targets (issue 10): ≥ 0.8× at 8k prefill, ≥ 1.5× in decode.
2. **cuStateVec** (``cuquantum.statevec``) rows/s of ``sample_distributions`` at n = 10…20
   qubits and 32 shots, against ``qiskit.aer`` (if installed; timed on few rows and dropped
   for larger n once one row takes more than ``--aer-limit`` seconds) and numpy inverse-CDF
   sampling (the classical floor), measured in the same run.

Writes ``benchmarks/results/gpu.json`` (or ``--out``)::

    python benchmarks/bench_gpu.py [--seq 1024 2048 4096 8192 16384] [--qubits 10 12 ... 20]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent


def gpu_or_exit() -> Any:
    """torch with a CUDA device and Triton, or exit with the reason."""
    try:
        import torch
    except ImportError:
        sys.exit("bench_gpu.py needs torch and an NVIDIA GPU: torch is not installed")
    if not torch.cuda.is_available():
        sys.exit(
            "bench_gpu.py needs an NVIDIA GPU: torch sees no CUDA device here. Nothing was "
            "measured and no JSON was written; run it on a GPU machine (see kernels/README.md)."
        )
    return torch


def cuda_median_ms(fn: Any, torch: Any, *, warmup: int = 3, reps: int = 10) -> float:
    """Median milliseconds of ``fn()`` by CUDA events, after warm-up (compilation, caches)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def bench_kernel(args: argparse.Namespace, torch: Any) -> list[dict[str, Any]]:
    from qtcore_kernels.attention import fused_sampled_attention
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    results = []
    gen = torch.Generator(device="cuda").manual_seed(0)

    def run(mode: str, L: int, N: int, D: int, causal: bool, sampler: str) -> None:
        B, H = args.batch, args.heads
        q = torch.randn(B, H, L, D, device="cuda", dtype=torch.bfloat16, generator=gen)
        k = torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16, generator=gen)
        v = torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16, generator=gen)
        points = torch.Generator(device="cuda").manual_seed(1)

        def kernel() -> Any:
            return fused_sampled_attention(
                q, k, v, num_samples=args.samples, sampler=sampler, is_causal=causal,
                generator=points,
            )  # fmt: skip

        def reference() -> Any:
            if mode == "decode":
                return sdpa(q, k, v)
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return sdpa(q, k, v, is_causal=causal)

        with torch.no_grad():
            t_kernel = cuda_median_ms(kernel, torch)
            t_sdpa = cuda_median_ms(reference, torch)
            exact = reference().float()
            err = (kernel().float() - exact).norm() / exact.norm()
        row = {
            "mode": mode, "sampler": sampler, "causal": causal, "batch": B, "heads": H,
            "queries": L, "keys": N,
            "head_dim": D, "samples": args.samples, "dtype": "bfloat16",
            "kernel_ms": t_kernel, "sdpa_ms": t_sdpa, "ratio_sdpa_over_kernel": t_sdpa / t_kernel,
            "relative_error": float(err),
        }  # fmt: skip
        results.append(row)
        print(
            f"{mode:7s} {sampler:10s} causal={causal!s:5s} L={L:6d} N={N:6d} D={D:3d}"
            f"  kernel {t_kernel:8.3f} ms"
            f"  sdpa {t_sdpa:8.3f} ms  ratio {t_sdpa / t_kernel:5.2f}  rel.err {float(err):.3f}",
            flush=True,
        )

    for sampler in args.samplers:
        for D in args.head_dims:
            for seq in args.seq:
                for causal in (False, True):
                    run("prefill", seq, seq, D, causal, sampler)
            for N in args.decode_keys:
                run("decode", 1, N, D, False, sampler)
    return results


def bench_statevec(args: argparse.Namespace) -> list[dict[str, Any]]:
    import qtcore

    sys.path.insert(0, str(HERE))
    from bench_backends import numpy_inverse_cdf

    statevec = qtcore.get_backend("cuquantum.statevec")
    installed = {e.name for e in qtcore.backends()}
    aer = qtcore.get_backend("qiskit.aer") if "qiskit.aer" in installed else None
    rng = np.random.default_rng(0)
    results = []
    for n in args.qubits:
        rows = max(2, min(256, 2 ** (24 - n)))
        P = rng.dirichlet(np.full(2**n, 0.5), size=rows)

        def rate(fn: Any, count: int, min_seconds: float = 0.5) -> float:
            fn()
            done, start = 0, time.perf_counter()
            while True:
                fn()
                done += count
                elapsed = time.perf_counter() - start
                if elapsed >= min_seconds:
                    return done / elapsed

        gpu = rate(lambda: statevec.sample_distributions(P, shots=args.shots, seed=1), rows)
        floor = rate(lambda: numpy_inverse_cdf(P, args.shots, 1), rows)
        row: dict[str, Any] = {
            "qubits": n, "rows": rows, "shots": args.shots, "custatevec_rows_per_s": gpu,
            "numpy_rows_per_s": floor, "vs_numpy": gpu / floor,
        }  # fmt: skip
        if aer is not None:
            one = P[:1]
            start = time.perf_counter()
            aer.sample_distributions(one, shots=args.shots, seed=1)
            first = time.perf_counter() - start
            if first <= args.aer_limit:
                cpu = rate(lambda: aer.sample_distributions(one, shots=args.shots, seed=1), 1)
                row.update(aer_rows_per_s=cpu, vs_aer=gpu / cpu)
            else:
                row.update(aer_rows_per_s=None, aer_note=f"one row took {first:.1f} s: dropped")
                aer = None
        results.append(row)
        vs_aer = f"{row['vs_aer']:9.1f}× Aer" if row.get("vs_aer") else "       (no Aer)"
        print(
            f"n={n:2d} cuStateVec {gpu:10.1f} rows/s  {vs_aer}  {gpu / floor:8.3f}× numpy",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--head-dims", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--decode-keys", type=int, nargs="+", default=[16384, 32768, 65536])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--samples", type=int, default=32, help="points per query row")
    parser.add_argument("--samplers", nargs="+", default=["topk", "stratified"])
    parser.add_argument("--qubits", type=int, nargs="+", default=list(range(10, 21, 2)))
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--aer-limit", type=float, default=10.0, help="seconds per Aer row")
    parser.add_argument("--skip", choices=["kernel", "statevec"], nargs="*", default=[])
    parser.add_argument("--out", default=str(HERE / "results" / "gpu.json"))
    args = parser.parse_args()

    torch = gpu_or_exit()
    payload: dict[str, Any] = {
        "benchmark": "gpu",
        "machine": platform.platform(),
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
    }
    if "kernel" not in args.skip:
        import triton

        payload["triton"] = triton.__version__
        payload["kernel"] = bench_kernel(args, torch)
    if "statevec" not in args.skip:
        import qtcore

        entry = qtcore.get_registry().get("backend", "cuquantum.statevec")
        reason = entry.unavailable_reason()
        if reason:
            sys.exit(f"cuquantum.statevec is unavailable here: {reason}")
        payload["statevec"] = bench_statevec(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
