"""Robustness: concurrent calls from threads, and no memory growth over large batches.

Example:
    >>> from qtcore_conformance.checks.robustness import host_memory
    >>> host_memory() > 0
    True
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext

#: Traced (Python and numpy) memory a backend may keep after warm-up, over all repeats.
TRACED_GROWTH_LIMIT = 2 * 2**20
#: Resident-set growth allowed over all repeats (covers native allocators' noise).
RSS_GROWTH_LIMIT = 256 * 2**20


def host_memory() -> int:
    """Resident set size of this process in bytes (Linux /proc; else peak RSS)."""
    try:
        with open("/proc/self/statm") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


@check("robustness")
def large_batch_no_memory_growth(ctx: CheckContext) -> None:
    """Repeated large batches do not grow traced or resident host memory."""
    n = ctx.max_n(6)
    rng = ctx.rng("rows")
    # Size the batch so a call takes about half a second (64–512 rows): tracing makes a
    # Python-heavy backend several times slower, and a slow one must not take minutes here.
    probe = rng.dirichlet(np.ones(2**n), size=32)
    start = time.perf_counter()
    ctx.sample(probe, shots=32, seed=ctx.seed)
    per_row = (time.perf_counter() - start) / len(probe)
    batch = int(np.clip(0.5 / max(per_row, 1e-9), 64, 512))
    P = rng.dirichlet(np.ones(2**n), size=batch)
    repeats = 6
    # Per call the input and the counts are 2 × batch × 2**n × 8 bytes: a backend keeping
    # them call after call grows by twice the limit over the repeats, whatever the batch.
    limit = min(TRACED_GROWTH_LIMIT, repeats * 2 * batch * 2**n * 8 // 2)
    for _ in range(2):  # warm-up: compiled templates and caches settle
        ctx.sample(P, shots=32, seed=ctx.seed)
    gc.collect()
    tracemalloc.start()
    try:
        traced0 = tracemalloc.get_traced_memory()[0]
        rss0 = host_memory()
        for i in range(repeats):
            ctx.sample(P, shots=32, seed=ctx.seed + i)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - traced0
        rss = host_memory() - rss0
    finally:
        tracemalloc.stop()
    if traced > limit or rss > RSS_GROWTH_LIMIT:
        ctx.fail(
            f"memory grew over {repeats} calls of {batch} rows on n={n}: traced "
            f"{traced / 2**20:.2f} MiB (limit {limit / 2**20:.2f}), resident "
            f"{rss / 2**20:.1f} MiB (limit {RSS_GROWTH_LIMIT / 2**20:.0f})"
        )


@check("robustness")
def gpu_memory_no_growth(ctx: CheckContext) -> None:
    """A GPU backend's device memory does not grow over repeated batches."""
    ctx.require(ctx.caps.gpu, "declares no GPU")
    try:
        import torch
    except ImportError:
        torch = None
    ctx.require(torch is not None and torch.cuda.is_available(),
                "declares gpu but torch with CUDA is not installed here to read device memory")
    P = ctx.rng("rows").dirichlet(np.ones(2 ** ctx.max_n(5)), size=4096)
    ctx.sample(P, shots=32, seed=ctx.seed)
    torch.cuda.synchronize()
    free0, _ = torch.cuda.mem_get_info()
    for i in range(6):
        ctx.sample(P, shots=32, seed=ctx.seed + i)
    torch.cuda.synchronize()
    free1, _ = torch.cuda.mem_get_info()
    if free0 - free1 > 64 * 2**20:
        ctx.fail(f"free GPU memory fell by {(free0 - free1) / 2**20:.0f} MiB over 6 calls")


@check("robustness", slots=1)
def threads_concurrent_calls(ctx: CheckContext) -> None:
    """Concurrent calls from 4 threads are correct and independent (or declared unsafe)."""
    ctx.require(ctx.caps.thread_safe, "declares thread_safe=False")
    n = ctx.max_n(3)
    P = ctx.rng("rows").dirichlet(np.ones(2**n), size=3)
    shots = ctx.shots_for(0.03, 2**n - 1, 24)
    seeds = [ctx.seed + i for i in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda s: ctx.sample(P, shots=shots, seed=s), seeds))
    if ctx.caps.seeded:
        for s, got in zip(seeds[:2], results[:2]):
            ctx.expect_equal(got, ctx.sample(P, shots=shots, seed=s),
                             f"seed {s}: a threaded call vs the same call alone")
    cases = [(f"thread call {i} row {r}", results[i][r], P[r])
             for i in range(len(seeds)) for r in range(len(P))]
    ctx.assert_fit(cases, effect=0.03)
