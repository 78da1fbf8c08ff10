"""Big-endian bit order and batch handling: qubit 0 is the most significant bit.

One-hot probes sit at asymmetric indices (1, 2**(n-1), a random non-palindromic index), so a
little-endian backend cannot pass by symmetry; batches of distinct one-hot rows catch
transposed, permuted or dropped rows.

Example:
    >>> from qtcore_conformance.checks.bit_order import asymmetric_indices
    >>> asymmetric_indices(3, __import__("numpy").random.default_rng(0))[:2]
    [1, 4]
"""

from __future__ import annotations

import numpy as np

from qtcore import Circuit, Gate
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext


def _reverse_bits(i: int, n: int) -> int:
    return int(format(i, f"0{n}b")[::-1], 2)


def asymmetric_indices(n: int, rng: np.random.Generator) -> list[int]:
    """Outcome indices whose bit pattern is not a palindrome: 1, 2**(n-1) and a random one.

    For n = 1 every pattern is a palindrome: the probes are 0 and 1.
    """
    if n == 1:
        return [1, 0]
    out = [1, 2 ** (n - 1)]
    candidates = [i for i in range(2**n) if _reverse_bits(i, n) != i and i not in out]
    if candidates:
        out.append(int(rng.choice(candidates)))
    return out


def _one_hot(n: int, index: int) -> np.ndarray:
    v = np.zeros(2**n)
    v[index] = 1.0
    return v


@check("bit order and batches", slots=1)
def bit_order_one_hot_probes(ctx: CheckContext) -> None:
    """One-hot rows at asymmetric indices land exactly on their index, for every n."""
    rng = ctx.rng("indices")
    cases = []
    for n in range(1, ctx.max_n(8) + 1):
        idx = asymmetric_indices(n, rng)
        P = np.stack([_one_hot(n, i) for i in idx])
        counts = ctx.sample(P, shots=128, seed=ctx.seed + n)
        for row, i in enumerate(idx):
            label = f"n={n} one-hot at index {i} (bits {format(i, f'0{n}b')})"
            cases.append((label, counts[row], P[row]))
    ctx.assert_fit(cases, effect=0.5)


@check("bit order and batches", slots=1)
def bit_order_x_gates(ctx: CheckContext) -> None:
    """x on qubit q gives outcome 2**(n-1-q): x on qubit 0 sets the most significant bit."""
    cases = []
    for n in range(1, ctx.max_n(6) + 1):
        circuits = [Circuit(n, (Gate("x", (q,)),)) for q in range(n)]
        if n >= 3:
            circuits.append(Circuit(n, (Gate("x", (0,)), Gate("x", (n - 2,)))))
        counts = ctx.run(circuits, shots=128, seed=ctx.seed + n)
        for row, c in enumerate(circuits):
            index = sum(2 ** (n - 1 - g.qubits[0]) for g in c.gates)
            label = f"n={n} x on qubits {[g.qubits[0] for g in c.gates]} -> index {index}"
            cases.append((label, counts[row], _one_hot(n, index)))
    ctx.assert_fit(cases, effect=0.5)


@check("bit order and batches", slots=1)
def bit_order_two_qubit_direction(ctx: CheckContext) -> None:
    """cx(0,2) differs from cx(2,0), non-adjacent pairs work, cz acts on the right qubits."""
    n = ctx.max_n(4)
    ctx.require(n >= 3, f"max_qubits={ctx.caps.max_qubits} < 3: no non-adjacent pair")
    x, h = (lambda q: Gate("x", (q,))), (lambda q: Gate("h", (q,)))
    probes = [
        ("x0 cx(0,2)", [x(0), Gate("cx", (0, 2))], "101"),
        ("x2 cx(2,0)", [x(2), Gate("cx", (2, 0))], "101"),
        ("x0 cx(2,0)", [x(0), Gate("cx", (2, 0))], "100"),
        ("x2 cx(0,2)", [x(2), Gate("cx", (0, 2))], "001"),
        ("x1 cx(1,2)", [x(1), Gate("cx", (1, 2))], "011"),
        ("x0 h2 cz(0,2) h2", [x(0), h(2), Gate("cz", (0, 2)), h(2)], "101"),
        ("x2 h0 cz(2,0) h0", [x(2), h(0), Gate("cz", (2, 0)), h(0)], "101"),
        ("x1 h2 cz(0,2) h2", [x(1), h(2), Gate("cz", (0, 2)), h(2)], "010"),
    ]
    if n >= 4:
        probes.append(("x0 cx(0,3)", [x(0), Gate("cx", (0, 3))], "1001"))
        probes.append(("x3 cx(3,1)", [x(3), Gate("cx", (3, 1))], "0101"))
    circuits = [Circuit(n, tuple(g)) for _, g, _ in probes]
    counts = ctx.run(circuits, shots=128, seed=ctx.seed)
    cases = []
    for row, (label, _, bits) in enumerate(probes):
        index = int(bits.ljust(n, "0"), 2)
        cases.append((f"n={n} {label} -> |{bits.ljust(n, '0')}⟩", counts[row], _one_hot(n, index)))
    ctx.assert_fit(cases, effect=0.5)


@check("bit order and batches", slots=1)
def batch_rows_land_on_own_index(ctx: CheckContext) -> None:
    """A batch of distinct one-hot rows (shuffled) puts each row's shots on its own index."""
    rng = ctx.rng("perm")
    cases = []
    for n in sorted({1, ctx.max_n(3), ctx.max_n(5)}):
        order = rng.permutation(2**n)
        P = np.eye(2**n)[order]
        counts = ctx.sample(P, shots=64, seed=ctx.seed + n)
        for row, i in enumerate(order):
            cases.append((f"n={n} batch row {row} (one-hot at {int(i)})", counts[row], P[row]))
    ctx.assert_fit(cases, effect=0.5)


@check("bit order and batches", slots=1)
def batch_row_context_invariance(ctx: CheckContext) -> None:
    """A row has one distribution alone, last in a batch, permuted, and past row 1024."""
    rng = ctx.rng("rows")
    n = ctx.max_n(3)
    row = rng.dirichlet(np.ones(2**n))
    others = rng.dirichlet(np.ones(2**n), size=1025)
    df = 3 * (2**n - 1)
    # One context off by TVD δ against three others of S shots each has non-centrality
    # 4δ²·S·3S/4S = 3Sδ²: 4/3 of the shots a goodness of fit needs for the same power.
    shots = -(-4 * ctx.shots_for(0.05, df, 1) // 3)
    alone = ctx.sample(row[None], shots=shots, seed=ctx.seed)[0]
    batch = np.vstack([others[:9], row[None]])
    last = ctx.sample(batch, shots=shots, seed=ctx.seed + 1)[-1]
    perm = rng.permutation(10)
    where = int(np.flatnonzero(perm == 9)[0])
    permuted = ctx.sample(batch[perm], shots=shots, seed=ctx.seed + 2)[where]
    big = np.vstack([others[:1024], row[None]])
    far = ctx.sample(big, shots=shots, seed=ctx.seed + 3)[-1]
    table = np.stack([alone, last, permuted, far])
    ctx.assert_homogeneous(
        [(f"n={n} row alone / last of 10 / permuted / row 1025", table)], effect=0.05
    )


@check("bit order and batches", slots=1)
def batch_identical_rows_independent(ctx: CheckContext) -> None:
    """Identical rows in one batch get independent draws (not one draw copied)."""
    n = ctx.max_n(3)
    K = 2**n
    rows = 800
    P = np.full((rows, K), 1.0 / K)
    counts = ctx.sample(P, shots=1, seed=ctx.seed)
    # With one shot per row, the rows' outcomes must be i.i.d. uniform over K.
    outcomes = counts.argmax(axis=1)
    hist = np.bincount(outcomes, minlength=K)
    ctx.assert_fit(
        [(f"{rows} identical uniform rows on n={n}, shots=1: histogram of row outcomes", hist,
          np.full(K, 1.0 / K))],
        effect=0.2,
    )
