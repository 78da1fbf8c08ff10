"""Registration and capabilities: the manifest, the API range, declared limits enforced.

Every declared capability is exercised by some check; every undeclared one must raise
:class:`qtcore.CapabilityError` (never be silently ignored).

Example:
    >>> from qtcore_conformance.catalog import CHECKS
    >>> import qtcore_conformance.checks
    >>> CHECKS["capabilities_max_qubits_enforced"].tier
    'core'
"""

from __future__ import annotations

import importlib.metadata as md

import numpy as np
from packaging.requirements import Requirement

import qtcore
from qtcore import Circuit, Gate, NoiseModel
from qtcore_conformance.catalog import check
from qtcore_conformance.context import CheckContext

#: Above this width the suite does not allocate ``2**n`` counts to run ``n = max_qubits``.
MAX_ALLOCATED_QUBITS = 20


def _entry(ctx: CheckContext) -> qtcore.Registered[qtcore.BackendInfo] | None:
    base = ctx.backend_name.split(":", 1)[0]
    for entry in qtcore.backends():
        if entry.name == ctx.backend_name or (entry.info.parametric and entry.name == base):
            return entry
    return None


@check("registration")
def registration_manifest(ctx: CheckContext) -> None:
    """The backend is registered, named, described and has well-formed capabilities."""
    entry = _entry(ctx)
    if entry is None:
        ctx.fail(f"no registered backend named {ctx.backend_name!r} in qtcore.backends()")
        return
    rec = entry.plugin
    if not rec.distribution or rec.distribution.startswith("<"):
        ctx.fail(f"plugin {rec.name!r} has no installed distribution (got {rec.distribution!r})")
    if not rec.version or rec.version == "?":
        ctx.fail(f"distribution {rec.distribution!r} has no version")
    if not entry.description.strip():
        ctx.fail("BackendInfo.description is empty; give one line for `qtcore backends`")
    reason = entry.unavailable_reason()
    if reason is not None:
        ctx.fail(f"the backend was created but its availability check says {reason!r}")
    backend = ctx.backend
    if backend.name != ctx.backend_name:
        ctx.fail(f"backend.name is {backend.name!r}, registered as {ctx.backend_name!r}")
    if not isinstance(backend, qtcore.Backend):
        ctx.fail(f"{type(backend).__name__} does not implement the qtcore.Backend protocol")
    caps = backend.capabilities
    if not isinstance(caps, qtcore.Capabilities):
        ctx.fail(f"capabilities is a {type(caps).__name__}, not qtcore.Capabilities")
    if not {"h", "x", "ry", "cx"} <= set(caps.gates):
        ctx.fail(
            f"capabilities.gates = {sorted(caps.gates)} lacks one of h, x, ry, cx: amplitude "
            "encoding and the suite's probes need them"
        )


@check("registration")
def registration_api_range(ctx: CheckContext) -> None:
    """The plugin's distribution states the qtcore range it supports, and it holds."""
    entry = _entry(ctx)
    if entry is None:
        ctx.fail(f"no registered backend named {ctx.backend_name!r}")
        return
    dist = entry.plugin.distribution
    if dist == "qtcore":
        return  # the core's own backends are the API
    try:
        requires = md.requires(dist) or []
    except md.PackageNotFoundError:
        ctx.fail(f"distribution {dist!r} is not installed (cannot read its requirements)")
        return
    reqs = [Requirement(r) for r in requires]
    core = [r for r in reqs if r.name.lower() == "qtcore" and r.marker is None]
    if not core:
        ctx.fail(f"{dist} does not require qtcore: declare e.g. 'qtcore>=0.1,<0.2'")
        return
    spec = core[0].specifier
    if not str(spec):
        ctx.fail(f"{dist} requires qtcore without a version range: use 'qtcore>=0.1,<0.2'")
    if not any(s.operator in ("<", "<=", "~=", "==") for s in spec):
        ctx.fail(f"{dist} requires qtcore{spec} with no upper bound: the API may break; "
                 "add '<0.2'")
    if not spec.contains(qtcore.__version__, prereleases=True):
        ctx.fail(f"{dist} supports qtcore{spec}, but qtcore {qtcore.__version__} is installed")


@check("registration", slots=1)
def capabilities_max_qubits_runs(ctx: CheckContext) -> None:
    """A circuit on exactly max_qubits runs and lands on the right outcome."""
    n = ctx.caps.max_qubits
    ctx.require(
        n <= MAX_ALLOCATED_QUBITS,
        f"max_qubits={n} > {MAX_ALLOCATED_QUBITS}: counts of 2**{n} outcomes are not allocated",
    )
    gates = [Gate("x", (0,))] + ([Gate("x", (n - 1,))] if n > 1 else [])
    counts = ctx.run([Circuit(n, tuple(gates))], shots=64, seed=ctx.seed)
    want = np.zeros(2**n)
    want[2 ** (n - 1) + (1 if n > 1 else 0)] = 1.0
    ctx.assert_fit([(f"x on qubits 0 and {n - 1} of n={n}", counts[0], want)], effect=0.5)


@check("registration")
def capabilities_max_qubits_enforced(ctx: CheckContext) -> None:
    """n = max_qubits + 1 raises CapabilityError, through run and sample_distributions."""
    n = ctx.caps.max_qubits + 1
    ctx.expect_raises(
        qtcore.CapabilityError,
        lambda: ctx.backend.run([Circuit(n, (Gate("x", (n - 1,)),))], shots=1, seed=0),
        f"run() on n = max_qubits + 1 = {n}",
    )
    if n <= MAX_ALLOCATED_QUBITS + 1:
        P = np.zeros((1, 2 ** (n - 1) + 1))
        P[0, -1] = 1.0
        ctx.expect_raises(
            qtcore.CapabilityError,
            lambda: ctx.backend.sample_distributions(P, shots=1, seed=0),
            f"sample_distributions() with width 2**{n - 1}+1 (needs {n} qubits)",
        )


@check("registration")
def capabilities_noise_undeclared_raises(ctx: CheckContext) -> None:
    """A backend that does not declare noise raises CapabilityError on a noise model."""
    ctx.require(not ctx.caps.noise, "declares noise: exercised by the noise checks")
    circuit = [Circuit(1, (Gate("x", (0,)),))]
    P = np.array([[0.5, 0.5]])
    for nm in (NoiseModel(depolarizing_1q=0.1), NoiseModel(depolarizing_2q=0.1),
               NoiseModel(readout=0.05)):
        ctx.expect_raises(qtcore.CapabilityError,
                          lambda nm=nm: ctx.backend.run(circuit, shots=8, seed=0, noise=nm),
                          f"run(noise={nm})")
        ctx.expect_raises(
            qtcore.CapabilityError,
            lambda nm=nm: ctx.backend.sample_distributions(P, shots=8, seed=0, noise=nm),
            f"sample_distributions(noise={nm})",
        )
    # An all-zero model is no noise, and must be accepted like None.
    ctx.run(circuit, shots=8, seed=0, noise=NoiseModel())


@check("registration")
def capabilities_gates_undeclared_raise(ctx: CheckContext) -> None:
    """Every IR gate the backend does not declare raises CapabilityError."""
    missing = sorted(set(qtcore.GATES) - set(ctx.caps.gates))
    ctx.require(bool(missing), "declares every IR gate: each is exercised by the gate checks")
    for name in missing:
        arity, nparams = qtcore.GATES[name]
        gate = Gate(name, tuple(range(arity)), (0.3,) * nparams)
        ctx.expect_raises(
            qtcore.CapabilityError,
            lambda gate=gate, arity=arity: ctx.backend.run(
                [Circuit(max(arity, 1), (gate,))], shots=4, seed=0
            ),
            f"run() with undeclared gate {name!r}",
        )


@check("registration")
def capabilities_max_shots_enforced(ctx: CheckContext) -> None:
    """A declared max_shots is honoured: max_shots runs, max_shots + 1 raises."""
    limit = ctx.caps.max_shots
    ctx.require(limit is not None, "declares no shot limit (max_shots=None)")
    assert limit is not None
    circuit = [Circuit(1, (Gate("x", (0,)),))]
    ctx.expect_raises(qtcore.CapabilityError,
                      lambda: ctx.backend.run(circuit, shots=limit + 1, seed=0),
                      f"run(shots=max_shots+1={limit + 1})")
    if limit <= 10_000_000:
        ctx.run(circuit, shots=limit, seed=0)
