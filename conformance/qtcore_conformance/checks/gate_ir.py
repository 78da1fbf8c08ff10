"""The gate IR: every gate at special angles on a complete set of product inputs, measured
in the X, Y and Z bases (so phases, signs and periods show), identities as mirror circuits,
and seeded random circuits (a failing one is shrunk to a minimal circuit printed as JSON).

Example:
    >>> from qtcore_conformance.checks.gate_ir import random_circuit
    >>> import numpy as np
    >>> random_circuit(3, 6, np.random.default_rng(0), {"h", "cx", "ry"}).n_qubits
    3
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np

from qtcore import Circuit, Gate
from qtcore_conformance import stats
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext, CheckFailed

EFFECT_TVD = 0.02
ANGLES = (0.0, math.pi / 2, -math.pi / 2, math.pi, 2 * math.pi, 4 * math.pi, 0.7261, -2.1)


def _preps(q: int) -> dict[str, list[Gate]]:
    return {
        "|0⟩": [],
        "|1⟩": [Gate("x", (q,))],
        "|+⟩": [Gate("h", (q,))],
        "|+i⟩": [Gate("h", (q,)), Gate("rz", (q,), (math.pi / 2,))],
    }


def _bases(q: int) -> dict[str, list[Gate]]:
    return {
        "Z": [],
        "X": [Gate("h", (q,))],
        "Y": [Gate("rz", (q,), (-math.pi / 2,)), Gate("h", (q,))],
    }


def _supported(ctx: CheckContext, circuits: list[Circuit]) -> list[Circuit]:
    allowed = ctx.caps.gates
    return [c for c in circuits if all(g.name in allowed for g in c.gates)]


def _fit_cases(ctx: CheckContext, labelled: list[tuple[str, Circuit]], shots: int,
               seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    circuits = [c for _, c in labelled]
    counts = ctx.run(circuits, shots=shots, seed=seed)
    exact = ctx.reference.probabilities(circuits)
    return [(label, counts[i], exact[i]) for i, (label, _) in enumerate(labelled)]


@check("gate IR", slots=2)
def gates_single_qubit(ctx: CheckContext) -> None:
    """rx, ry, rz, h, x at angles {0, ±π/2, π, 2π, 4π, random} on |0⟩,|1⟩,|+⟩,|+i⟩ in X, Y, Z."""
    labelled: list[tuple[str, Circuit]] = []
    for name in ("rx", "ry", "rz", "h", "x"):
        angles = ANGLES if name.startswith("r") else (None,)
        for theta in angles:
            gate = Gate(name, (0,), () if theta is None else (theta,))
            for (pl, prep), (bl, basis) in itertools.product(_preps(0).items(),
                                                             _bases(0).items()):
                c = Circuit(1, (*prep, gate, *basis))
                arg = "" if theta is None else f"({theta:.4g})"
                labelled.append((f"{name}{arg} on {pl} measured in {bl}", c))
    keep = set(map(id, _supported(ctx, [c for _, c in labelled])))
    labelled = [(lbl, c) for lbl, c in labelled if id(c) in keep]
    ctx.require(bool(labelled), "declares none of the gates needed (h, x, rz)")
    shots = ctx.shots_for(EFFECT_TVD, 1, len(labelled))
    ctx.assert_fit(_fit_cases(ctx, labelled, shots, ctx.seed), effect=EFFECT_TVD)


@check("gate IR", slots=2)
def gates_two_qubit(ctx: CheckContext) -> None:
    """cx(0,1), cx(1,0), cz on all 16 product inputs, measured in all 9 Pauli bases."""
    ctx.require(ctx.caps.max_qubits >= 2, "max_qubits=1: no two-qubit gate to test")
    labelled: list[tuple[str, Circuit]] = []
    for gq in (("cx", (0, 1)), ("cx", (1, 0)), ("cz", (0, 1))):
        gate = Gate(*gq)
        for (p0, g0), (p1, g1) in itertools.product(_preps(0).items(), _preps(1).items()):
            for (b0, m0), (b1, m1) in itertools.product(_bases(0).items(), _bases(1).items()):
                c = Circuit(2, (*g0, *g1, gate, *m0, *m1))
                labelled.append((f"{gq[0]}{gq[1]} on {p0}{p1} measured in {b0}{b1}", c))
    keep = set(map(id, _supported(ctx, [c for _, c in labelled])))
    labelled = [(lbl, c) for lbl, c in labelled if id(c) in keep]
    ctx.require(bool(labelled), "declares none of the gates needed")
    shots = ctx.shots_for(EFFECT_TVD, 3, len(labelled))
    ctx.assert_fit(_fit_cases(ctx, labelled, shots, ctx.seed), effect=EFFECT_TVD)


def random_circuit(n: int, depth: int, rng: np.random.Generator, gates: set[str]) -> Circuit:
    """A seeded random circuit of ``depth`` gates drawn from ``gates`` on ``n`` qubits."""
    names = sorted(g for g in gates if n >= 2 or g not in ("cx", "cz"))
    out = []
    for _ in range(depth):
        name = str(rng.choice(names))
        if name in ("cx", "cz"):
            qubits = tuple(int(q) for q in rng.choice(n, size=2, replace=False))
        else:
            qubits = (int(rng.integers(n)),)
        params = (float(rng.uniform(-2 * math.pi, 2 * math.pi)),) if name[0] == "r" else ()
        out.append(Gate(name, qubits, params))
    return Circuit(n, tuple(out))


@check("gate IR", slots=1)
def gates_identities(ctx: CheckContext) -> None:
    """x·x, h·h, rz(a)rz(b)=rz(a+b), h·rz·h = rx, cz from cx, U·U⁻¹: all return |0…0⟩."""
    rng = ctx.rng("angles")
    a, b = (float(v) for v in rng.uniform(-math.pi, math.pi, size=2))
    h, x = (lambda q: Gate("h", (q,))), (lambda q: Gate("x", (q,)))
    labelled: list[tuple[str, Circuit]] = [
        ("x·x", Circuit(1, (x(0), x(0)))),
        ("h·h", Circuit(1, (h(0), h(0)))),
        ("rx(2π) (a global phase)", Circuit(1, (Gate("rx", (0,), (2 * math.pi,)),))),
        ("h·rz(a)·rz(b)·rz(-(a+b))·h",
         Circuit(1, (h(0), Gate("rz", (0,), (a,)), Gate("rz", (0,), (b,)),
                     Gate("rz", (0,), (-(a + b),)), h(0)))),
        ("ry(a)·ry(b)·ry(-(a+b))",
         Circuit(1, (Gate("ry", (0,), (a,)), Gate("ry", (0,), (b,)),
                     Gate("ry", (0,), (-(a + b),))))),
        ("h·rz(a)·h·rx(-a)", Circuit(1, (h(0), Gate("rz", (0,), (a,)), h(0),
                                         Gate("rx", (0,), (-a,))))),
    ]
    if ctx.caps.max_qubits >= 2:
        labelled.append(("h⊗h·cz·(h1·cx·h1)⁻¹·h⊗h",
                         Circuit(2, (h(0), h(1), Gate("cz", (0, 1)), h(1), Gate("cx", (0, 1)),
                                     h(1), h(0), h(1)))))
        labelled.append(("cx(0,1)·cx(0,1)", Circuit(2, (h(0), Gate("cx", (0, 1)),
                                                         Gate("cx", (0, 1)), h(0)))))
    for n in range(2, ctx.max_n(5) + 1):
        u = random_circuit(n, 4 * n, rng, set(ctx.caps.gates))
        labelled.append((f"mirror U·U⁻¹ on n={n} ({len(u.gates)} gates)",
                         Circuit(n, u.gates + u.inverse().gates)))
    keep = set(map(id, _supported(ctx, [c for _, c in labelled])))
    labelled = [(lbl, c) for lbl, c in labelled if id(c) in keep]
    cases = []
    for label, c in labelled:
        counts = ctx.run([c], shots=256, seed=ctx.seed)
        want = np.zeros(2**c.n_qubits)
        want[0] = 1.0
        cases.append((label, counts[0], want))
    ctx.assert_fit(cases, effect=0.5)


def _shrink(ctx: CheckContext, circuit: Circuit, shots: int, alpha: float) -> Circuit:
    """Greedy delta-debugging: drop gates while the circuit still fails its fit at ``alpha``."""
    attempt = 0

    def fails(c: Circuit) -> bool:
        nonlocal attempt
        attempt += 1
        counts = ctx.run([c], shots=shots, seed=ctx.seed + 10_000 + attempt)
        exact = ctx.reference.probabilities([c])
        return stats.goodness_of_fit(counts[0], exact[0], alpha=alpha).p_value <= alpha

    current = circuit
    changed = True
    while changed and attempt < 200:
        changed = False
        for i in range(len(current.gates)):
            candidate = Circuit(current.n_qubits, current.gates[:i] + current.gates[i + 1:])
            if fails(candidate):
                current, changed = candidate, True
                break
    return current


@check("gate IR", slots=1)
def gates_random_circuits(ctx: CheckContext) -> None:
    """Seeded random circuits on n = 2 … min(max, 5) fit the reference."""
    ctx.require(ctx.caps.max_qubits >= 2, "max_qubits=1: random circuits need 2 qubits")
    rng = ctx.rng("circuits")
    labelled = []
    for n in range(2, ctx.max_n(5) + 1):
        for k in range(3):
            c = random_circuit(n, 5 * n, rng, set(ctx.caps.gates))
            labelled.append((f"random circuit #{k} on n={n}", c))
    shots = ctx.shots_for(EFFECT_TVD, 2 ** ctx.max_n(5) - 1, len(labelled))
    cases = []
    for i, (label, c) in enumerate(labelled):
        cases.extend(_fit_cases(ctx, [(label, c)], shots, ctx.seed + i))
    try:
        ctx.assert_fit(cases, effect=EFFECT_TVD)
    except CheckFailed as exc:
        alpha_case = ctx.alpha / len(cases)
        worst = min(range(len(cases)), key=lambda i: stats.goodness_of_fit(
            cases[i][1], cases[i][2], alpha=alpha_case).p_value)
        minimal = _shrink(ctx, labelled[worst][1], shots, alpha_case)
        raise CheckFailed(
            f"{exc}\n  minimal failing circuit (shrunk from {len(labelled[worst][1].gates)} "
            f"gates): {json.dumps(minimal.to_json())}"
        ) from None
