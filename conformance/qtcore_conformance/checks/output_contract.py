"""The output contract: shapes, dtypes, shot totals, edge sizes, and bad inputs rejected.

Example:
    >>> from qtcore_conformance.catalog import CHECKS
    >>> import qtcore_conformance.checks
    >>> CHECKS["invalid_probabilities_raise"].slots
    0
"""

from __future__ import annotations

from typing import Any

import numpy as np

import qtcore
from qtcore import Circuit, Gate, Parameter, amplitude_encoding
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext


def _random_rows(rng: np.random.Generator, batch: int, width: int) -> np.ndarray:
    return rng.dirichlet(np.ones(width), size=batch)


@check("output contract")
def output_shape_dtype_totals(ctx: CheckContext) -> None:
    """Counts are int64 (B, 2**n), non-negative, each row summing to exactly shots."""
    rng = ctx.rng("rows")
    for n in sorted({1, 2, 3, ctx.max_n(5)}):
        for batch in (1, 3, 7):
            for shots in (1, 5, 1000):
                P = _random_rows(rng, batch, 2**n)
                # ctx.sample / ctx.run fail the check on any breach of the contract.
                ctx.sample(P, shots=shots, seed=ctx.seed)
                ctx.run(amplitude_encoding(P), shots=shots, seed=ctx.seed)
    # Width N not a power of two: n = ceil(log2 N) qubits.
    ctx.sample(_random_rows(rng, 2, 3), shots=10, seed=ctx.seed)


@check("output contract")
def output_no_mutation_no_alias(ctx: CheckContext) -> None:
    """The input is not modified (read-only input works) and results alias nothing."""
    rng = ctx.rng("rows")
    P = _random_rows(rng, 4, 8)
    original = P.copy()
    P.setflags(write=False)
    first = ctx.sample(P, shots=100, seed=ctx.seed)
    if not np.array_equal(P, original):
        ctx.fail("sample_distributions modified its input P")
    if np.shares_memory(first, P):
        ctx.fail("the counts returned share memory with the input P")
    second = ctx.sample(P, shots=100, seed=ctx.seed)
    if first is second or np.shares_memory(first, second):
        ctx.fail("two calls returned the same buffer: results alias internal state")
    snapshot = second.copy()
    first += 1  # a caller may write to its result
    if not np.array_equal(second, snapshot):
        ctx.fail("writing to one result changed another: results alias internal state")
    circuits = amplitude_encoding(original)
    before = [c.to_json() for c in circuits]
    ctx.run(circuits, shots=10, seed=ctx.seed)
    if [c.to_json() for c in circuits] != before:
        ctx.fail("run() modified the circuits it was given")


@check("output contract", slots=1)
def output_edge_sizes(ctx: CheckContext) -> None:
    """B = 0, B = 1, n = 1, shots = 1 and a circuit with no gates all work."""
    empty = ctx.backend.run([], shots=10, seed=ctx.seed)
    if np.shape(empty) != (0, 0):
        ctx.fail(f"run([]) returned shape {np.shape(empty)}, expected (0, 0)")
    for width, n in ((2, 1), (5, 3)):
        got = ctx.backend.sample_distributions(np.zeros((0, width)), shots=10, seed=ctx.seed)
        if np.shape(got) != (0, 2**n) or np.asarray(got).dtype != np.int64:
            ctx.fail(
                f"sample_distributions of shape (0, {width}) returned {np.shape(got)} "
                f"{np.asarray(got).dtype}, expected (0, {2**n}) int64"
            )
    one = ctx.sample(np.array([[0.5, 0.5]]), shots=1, seed=ctx.seed)
    if int(one.sum()) != 1:
        ctx.fail(f"shots=1 gave {one.tolist()}")
    cases = []
    for n in sorted({1, 2, ctx.max_n(4)}):
        counts = ctx.run([Circuit(n)], shots=256, seed=ctx.seed)
        want = np.zeros(2**n)
        want[0] = 1.0
        cases.append((f"circuit with no gates on n={n}", counts[0], want))
    ctx.assert_fit(cases, effect=0.5)


def _bad_distributions() -> list[tuple[str, Any]]:
    ok = np.array([[0.25, 0.25, 0.25, 0.25]])
    cases: list[tuple[str, Any]] = []
    for label, value in (("NaN", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
        bad = ok.copy()
        bad[0, 1] = value
        cases.append((f"an entry {label}", bad))
    cases += [
        ("a negative entry", np.array([[0.5, -0.1, 0.3, 0.3]])),
        ("a row summing to 1.1", np.array([[0.4, 0.3, 0.2, 0.2]])),
        ("a row summing to 0.9", np.array([[0.3, 0.3, 0.2, 0.1]])),
        ("a row summing to 1 + 1e-3", np.array([[0.251, 0.25, 0.25, 0.25]])),
        ("an all-zero row", np.zeros((1, 4))),
        ("a second row off-normalised", np.array([[0.5, 0.5], [0.7, 0.7]])),
        ("a 1-D array", np.array([0.5, 0.5])),
        ("a 3-D array", np.full((1, 1, 2), 0.5)),
        ("zero columns", np.zeros((1, 0))),
        ("a string array", np.array([["0.5", "0.5"]])),
        ("a complex array", np.array([[0.5 + 0j, 0.5 + 0j]])),
        ("a boolean array", np.array([[True, False]])),
        ("an object array", np.array([[0.5, None]], dtype=object)),
    ]
    return cases


@check("output contract")
def invalid_probabilities_raise(ctx: CheckContext) -> None:
    """Every malformed P raises InvalidInput; nothing is silently renormalised or clipped."""
    for label, P in _bad_distributions():
        ctx.expect_raises(
            qtcore.InvalidInput,
            lambda P=P: ctx.backend.sample_distributions(P, shots=10, seed=0),
            f"sample_distributions(P with {label})",
        )


@check("output contract")
def invalid_shots_raise(ctx: CheckContext) -> None:
    """shots ≤ 0, non-integer or non-numeric shots raise InvalidInput, in both entry points."""
    P = np.array([[0.5, 0.5]])
    circuit = [Circuit(1, (Gate("h", (0,)),))]
    for shots in (0, -1, 1.5, 2.0, True, "10", None):
        ctx.expect_raises(qtcore.InvalidInput,
                          lambda s=shots: ctx.backend.sample_distributions(P, shots=s, seed=0),
                          f"sample_distributions(shots={shots!r})")
        ctx.expect_raises(qtcore.InvalidInput,
                          lambda s=shots: ctx.backend.run(circuit, shots=s, seed=0),
                          f"run(shots={shots!r})")


@check("output contract")
def invalid_seed_raise(ctx: CheckContext) -> None:
    """Negative, fractional or non-integer seeds raise InvalidInput."""
    P = np.array([[0.5, 0.5]])
    for seed in (-1, 1.5, "7", True):
        ctx.expect_raises(qtcore.InvalidInput,
                          lambda s=seed: ctx.backend.sample_distributions(P, shots=4, seed=s),
                          f"sample_distributions(seed={seed!r})")


@check("output contract")
def invalid_circuits_raise(ctx: CheckContext) -> None:
    """Mixed widths, unbound parameters, non-circuits and non-NoiseModel noise raise."""
    one, two = Circuit(1, (Gate("x", (0,)),)), Circuit(2, (Gate("x", (1,)),))
    cases: list[tuple[str, Any]] = [
        ("circuits of different widths", lambda: ctx.backend.run([one, two], shots=4, seed=0)),
        ("an unbound Parameter",
         lambda: ctx.backend.run([Circuit(1, (Gate("ry", (0,), (Parameter(0),)),))],
                                 shots=4, seed=0)),
        ("a non-Circuit item", lambda: ctx.backend.run(["h 0"], shots=4, seed=0)),
        ("noise that is not a NoiseModel",
         lambda: ctx.backend.run([one], shots=4, seed=0, noise={"readout": 0.1})),
    ]
    for label, call in cases:
        ctx.expect_raises(qtcore.InvalidInput, call, f"run() with {label}")
