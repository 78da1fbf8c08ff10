"""Reproducibility: same seed, same counts through every entry point, across batches and
processes; different seeds (and seed=None) differ.

Example:
    >>> from qtcore_conformance.checks.reproducibility import equal_draw_bound
    >>> equal_draw_bound(4096, 8) < 1e-10
    True
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import stats as sps

from qtcore import amplitude_encoding
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext


def _require_seeded(ctx: CheckContext) -> None:
    ctx.require(ctx.caps.seeded, "declares seeded=False: the suite uses distribution checks only")


def equal_draw_bound(shots: int, cells: int) -> float:
    """An upper bound on P(two independent uniform multinomial rows are identical).

    ``P(X = Y) = Σ_x P(x)² ≤ max_x P(x)``, and for the uniform law the mode is the most
    balanced count vector, whose probability scipy computes exactly.
    """
    base, extra = divmod(shots, cells)
    mode = np.full(cells, base)
    mode[:extra] += 1
    return float(sps.multinomial.pmf(mode, shots, np.full(cells, 1.0 / cells)))


@check("reproducibility")
def seed_same_counts(ctx: CheckContext) -> None:
    """The same seed gives identical counts, twice, through run and sample_distributions."""
    _require_seeded(ctx)
    rng = ctx.rng("rows")
    P = rng.dirichlet(np.ones(8), size=5)
    a = ctx.sample(P, shots=500, seed=ctx.seed)
    b = ctx.sample(P, shots=500, seed=ctx.seed)
    ctx.expect_equal(a, b, "sample_distributions twice with the same seed")
    circuits = amplitude_encoding(P)
    c = ctx.run(circuits, shots=500, seed=ctx.seed)
    d = ctx.run(circuits, shots=500, seed=ctx.seed)
    ctx.expect_equal(c, d, "run twice with the same seed")
    e = ctx.sample(P, shots=500, seed=0)
    f = ctx.sample(P, shots=500, seed=0)
    ctx.expect_equal(e, f, "sample_distributions twice with seed=0")


@check("reproducibility")
def seed_row_independent_of_batch(ctx: CheckContext) -> None:
    """With a seed, row i's counts do not depend on the other rows (chunking-invariant)."""
    _require_seeded(ctx)
    rng = ctx.rng("rows")
    P = rng.dirichlet(np.ones(8), size=6)
    Q = rng.dirichlet(np.ones(8), size=6)
    whole = ctx.sample(P, shots=300, seed=ctx.seed)
    mixed = np.vstack([P[:3], Q[3:]])
    other = ctx.sample(mixed, shots=300, seed=ctx.seed)
    ctx.expect_equal(whole[:3], other[:3],
                     "rows 0-2 of a batch whose rows 3-5 changed (same seed)")
    longer = ctx.sample(np.vstack([P, Q]), shots=300, seed=ctx.seed)
    ctx.expect_equal(whole, longer[:6], "the first 6 rows of a longer batch (same seed)")


@check("reproducibility")
def seed_executor_chunks(ctx: CheckContext) -> None:
    """With executor=, a row-seeded backend gives one call's counts for any chunk size; any
    backend gives one call's counts in one chunk and the same counts for a fixed chunk size."""
    _require_seeded(ctx)
    P = ctx.rng("rows").dirichlet(np.ones(8), size=5)
    whole = ctx.sample(P, shots=300, seed=ctx.seed)
    got = {}
    try:
        with ThreadPoolExecutor(2) as ex:
            for label, size in (("chunks of 2", 2), ("chunks of 2 again", 2), ("one chunk", 5)):
                out = ctx.backend.sample_distributions(
                    P, shots=300, seed=ctx.seed, executor=ex, chunk_size=size
                )
                got[label] = ctx._checked(out, 5, 8, 300, f"sample_distributions({label})")
    except TypeError as exc:
        ctx.fail(
            f"sample_distributions(..., executor=, chunk_size=) raised TypeError: {exc}; the "
            "Backend protocol takes them (subclass qtcore.BackendBase to get them)"
        )
    ctx.expect_equal(got["one chunk"], whole, "one chunk on an executor vs no executor")
    ctx.expect_equal(got["chunks of 2 again"], got["chunks of 2"],
                     "chunks of 2 rows twice with the same seed")
    if ctx.caps.row_seeded:
        ctx.expect_equal(got["chunks of 2"], whole,
                         "chunks of 2 rows vs one call (the backend declares row_seeded)")


_CHILD = """
import json, sys
import numpy as np
import qtcore
spec = json.loads(sys.argv[1])
backend = qtcore.get_backend(spec["name"], **spec["options"])
counts = backend.sample_distributions(np.array(spec["P"]), shots=spec["shots"], seed=spec["seed"])
print(json.dumps(np.asarray(counts).tolist()))
"""


@check("reproducibility")
def seed_across_processes(ctx: CheckContext) -> None:
    """The same seed gives the same counts in a fresh Python process."""
    _require_seeded(ctx)
    options = ctx.options
    try:
        json.dumps(options)
    except TypeError:
        ctx.require(False, "backend_options are not JSON-serialisable: cannot pass them to a "
                           "child process")
    P = ctx.rng("rows").dirichlet(np.ones(4), size=3)
    here = ctx.sample(P, shots=400, seed=ctx.seed)
    spec = {"name": ctx.backend_name, "options": options, "P": P.tolist(), "shots": 400,
            "seed": ctx.seed}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(spec)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )
    if proc.returncode != 0:
        ctx.fail(f"the child process failed: {proc.stderr.strip()[-800:]}")
    there = np.asarray(json.loads(proc.stdout.strip().splitlines()[-1]), dtype=np.int64)
    ctx.expect_equal(here, there, "this process vs a fresh process, same seed")


@check("reproducibility")
def seed_different_seeds_differ(ctx: CheckContext) -> None:
    """Different seeds, and seed=None twice, give different counts."""
    rows, shots, K = 16, 4096, 8
    bound = equal_draw_bound(shots, K) ** rows
    P = np.full((rows, K), 1.0 / K)
    cases = []
    if ctx.caps.seeded:
        cases.append(("seeds s and s+1", ctx.sample(P, shots=shots, seed=ctx.seed),
                      ctx.sample(P, shots=shots, seed=ctx.seed + 1)))
    cases.append(("seed=None twice", ctx.sample(P, shots=shots, seed=None),
                  ctx.sample(P, shots=shots, seed=None)))
    for label, a, b in cases:
        if np.array_equal(a, b):
            ctx.fail(
                f"{label}: all {rows} rows identical ({shots} shots, {K} outcomes); a correct "
                f"backend does this with probability ≤ {bound:.3g}",
            )
