"""Noise under qtcore's one convention (qtcore.noise), checked in closed form and against
the reference density matrix.

After every gate, on its qubits: 1q depolarizing p (X, Y, Z at p/3) flips a measured bit with
probability 2p/3; 2q depolarizing p (15 Paulis at p/15) leaves |00⟩ with probability 12p/15 and
flips each operand's bit with probability 8p/15. Readout flips each measured bit after all
gate noise. A backend with a different convention (Qiskit's λ = p, say) misses these by far
more than the shots resolve.

Example:
    >>> from qtcore_conformance.checks.noise import flip_probability
    >>> round(flip_probability(0.3, gates=1), 6)   # 2p/3
    0.2
"""

from __future__ import annotations

import numpy as np

from qtcore import Circuit, Gate, NoiseModel, amplitude_encoding
from qtcore_conformance.catalog import check
from qtcore_conformance.checks.gate_ir import random_circuit
from qtcore_conformance.context import CheckContext

EFFECT_P = 0.01  # smallest absolute error in a closed-form probability the shots resolve
EFFECT_TVD = 0.02


def flip_probability(p: float, gates: int, qubits: int = 1) -> float:
    """P(a qubit's bit is flipped) after ``gates`` depolarizing gates of rate ``p``.

    One gate flips the bit with probability ``q = 2p/3`` (1q) or ``8p/15`` (2q, per operand);
    flips compose as a binary symmetric channel: ``(1 - (1 - 2q)**gates) / 2``.
    """
    q = 2 * p / 3 if qubits == 1 else 8 * p / 15
    return float((1 - (1 - 2 * q) ** gates) / 2)


def _noise_gate(ctx: CheckContext) -> None:
    # capabilities_noise_undeclared_raises checks that such a backend raises on noise.
    ctx.require(ctx.caps.noise, "does not declare noise")
    if ctx.tolerance is not None:
        ctx.require(False, f"intrinsic device noise (distribution_tolerance_tvd="
                           f"{ctx.tolerance:g}): a NoiseModel cannot be checked on top of it")


@check("noise", tier="noise", slots=1)
def noise_off_equals_ideal(ctx: CheckContext) -> None:
    """noise=None and an all-zero NoiseModel both give the ideal distribution."""
    _noise_gate(ctx)
    rng = ctx.rng("rows")
    n = ctx.max_n(3)
    P = rng.dirichlet(np.ones(2**n), size=2)
    circuits = amplitude_encoding(P)
    shots = ctx.shots_for(EFFECT_TVD, 2**n - 1, 4)
    cases = []
    for label, nm in (("noise=None", None), ("NoiseModel() (all zero)", NoiseModel())):
        counts = ctx.run(circuits, shots=shots, seed=ctx.seed, noise=nm)
        for r in range(len(P)):
            cases.append((f"{label} row {r}", counts[r], P[r]))
    ctx.assert_fit(cases, effect=EFFECT_TVD)


@check("noise", tier="noise", slots=1)
def noise_depolarizing_closed_form(ctx: CheckContext) -> None:
    """1q depolarizing p on x|0⟩ reads 0 with 2p/3; 2q on cx|00⟩ leaves 00 with 12p/15."""
    _noise_gate(ctx)
    p = 0.3
    nm1 = NoiseModel(depolarizing_1q=p)
    nm2 = NoiseModel(depolarizing_2q=p)
    c1 = [Circuit(1, (Gate("x", (0,)),))]
    c2 = [Circuit(2, (Gate("cx", (0, 1)),))]
    # The closed forms and the reference must agree (a guard on the suite itself).
    ref1 = ctx.reference.probabilities(c1, nm1)[0, 0]
    ref2 = 1 - ctx.reference.probabilities(c2, nm2)[0, 0]
    assert abs(ref1 - 2 * p / 3) < 1e-12 and abs(ref2 - 12 * p / 15) < 1e-12
    shots = 200_000 if ctx.caps.max_shots is None else min(200_000, ctx.caps.max_shots)
    k1 = int(ctx.run(c1, shots=shots, seed=ctx.seed, noise=nm1)[0, 0])
    k2 = shots - int(ctx.run(c2, shots=shots, seed=ctx.seed + 1, noise=nm2)[0, 0])
    ctx.assert_binomial(
        [
            (f"depolarizing_1q={p}: P(0) after x on |0⟩ = 2p/3", k1, shots, 2 * p / 3),
            (f"depolarizing_2q={p}: P(≠00) after cx on |00⟩ = 12p/15", k2, shots, 12 * p / 15),
        ],
        effect=EFFECT_P,
    )


@check("noise", tier="noise", slots=1)
def noise_every_gate_depth_sweep(ctx: CheckContext) -> None:
    """Noise follows every gate on every operand and no idle qubit: x·x and cx·cx depth sweeps."""
    _noise_gate(ctx)
    p1, p2 = 0.1, 0.15
    shots = 100_000 if ctx.caps.max_shots is None else min(100_000, ctx.caps.max_shots)
    cases = []
    for pairs in (1, 2, 4, 8):
        c = Circuit(1, tuple(Gate("x", (0,)) for _ in range(2 * pairs)))
        k = int(ctx.run([c], shots=shots, seed=ctx.seed + pairs,
                        noise=NoiseModel(depolarizing_1q=p1))[0, 1])
        want = flip_probability(p1, 2 * pairs)
        cases.append((f"{2 * pairs} x gates, depolarizing_1q={p1}: P(1)", k, shots, want))
    n = 3 if ctx.caps.max_qubits >= 3 else 2
    for pairs in (1, 2, 4):
        c = Circuit(n, tuple(Gate("cx", (0, 1)) for _ in range(2 * pairs)))
        counts = ctx.run([c], shots=shots, seed=ctx.seed + 100 + pairs,
                         noise=NoiseModel(depolarizing_2q=p2))[0].reshape((2,) * n)
        want = flip_probability(p2, 2 * pairs, qubits=2)
        for q in (0, 1):
            k = int(counts.sum(axis=tuple(a for a in range(n) if a != q))[1])
            cases.append((f"{2 * pairs} cx(0,1), depolarizing_2q={p2}: P(qubit {q} = 1)",
                          k, shots, want))
        if n == 3:
            idle = int(counts[:, :, 1].sum())
            cases.append((f"{2 * pairs} cx(0,1): idle qubit 2 never flips", idle, shots, 0.0))
    ctx.assert_binomial(cases, effect=EFFECT_P)


@check("noise", tier="noise", slots=1)
def noise_readout_per_qubit(ctx: CheckContext) -> None:
    """Readout flips each measured bit independently, on the right qubit, after gate noise."""
    _noise_gate(ctx)
    n = ctx.max_n(3)
    x = lambda q: Gate("x", (q,))  # noqa: E731
    probes = [Circuit(n, (x(n - 1),)), Circuit(n, (x(0),))]
    if n >= 3:
        probes.append(Circuit(n, (x(0), x(2))))
    models = [NoiseModel(readout=0.1),
              NoiseModel(depolarizing_1q=0.05, depolarizing_2q=0.1, readout=0.08)]
    probes.append(Circuit(n, (Gate("h", (0,)), Gate("cx", (0, n - 1)), x(n - 1))))
    shots = ctx.shots_for(EFFECT_TVD, 2**n - 1, len(probes) * len(models))
    cases = []
    for m, nm in enumerate(models):
        counts = ctx.run(probes, shots=shots, seed=ctx.seed + m, noise=nm)
        exact = ctx.reference.probabilities(probes, nm)
        for i, c in enumerate(probes):
            ops = " ".join(f"{g.name}{list(g.qubits)}" for g in c.gates)
            cases.append((f"{ops} under {nm}", counts[i], exact[i]))
    ctx.assert_fit(cases, effect=EFFECT_TVD)


@check("noise", tier="noise", slots=1)
def noise_random_circuits(ctx: CheckContext) -> None:
    """Seeded random circuits under gate and readout noise fit the reference density matrix."""
    _noise_gate(ctx)
    rng = ctx.rng("circuits")
    nm = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.08, readout=0.03)
    labelled = []
    for n in range(1, ctx.max_n(4) + 1):
        for k in range(2):
            labelled.append((f"random noisy circuit #{k} on n={n}",
                             random_circuit(n, 4 * n, rng, set(ctx.caps.gates))))
    shots = ctx.shots_for(EFFECT_TVD, 2 ** ctx.max_n(4) - 1, len(labelled))
    cases = []
    for i, (label, c) in enumerate(labelled):
        counts = ctx.run([c], shots=shots, seed=ctx.seed + i, noise=nm)
        exact = ctx.reference.probabilities([c], nm)
        cases.append((label, counts[0], exact[0]))
    ctx.assert_fit(cases, effect=EFFECT_TVD)


@check("noise", tier="noise", slots=1)
def noise_sample_distributions(ctx: CheckContext) -> None:
    """Noisy sample_distributions fits reference.distribution_probabilities under one model."""
    _noise_gate(ctx)
    rng = ctx.rng("rows")
    nm = NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.05, readout=0.02)
    ns = list(range(1, ctx.max_n(4) + 1))
    shots = ctx.shots_for(EFFECT_TVD, 2 ** max(ns) - 1, 2 * len(ns))
    cases = []
    for n in ns:
        P = rng.dirichlet(np.ones(2**n), size=2)
        counts = ctx.sample(P, shots=shots, seed=ctx.seed + n, noise=nm)
        exact = ctx.reference.distribution_probabilities(P, nm)
        for r in range(2):
            cases.append((f"n={n} row {r} under {nm}", counts[r], exact[r]))
    ctx.assert_fit(cases, effect=EFFECT_TVD)
