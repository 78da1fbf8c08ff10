"""The catalogue of conformance checks and how the false-failure budget is shared.

A check is a function ``check(ctx)`` registered with :func:`check`. It declares its group,
its tier (``core``, ``exact``, ``noise``) and ``slots``: its fixed share of the budget, in
units of ``budget / TOTAL_SLOTS``. Deterministic checks declare ``slots=0``.

The split is decided before any data is seen and does not depend on which checks a run
selects, so a check re-run alone (the reproducing command) is tested at the very same α.
Testing each assertion at its fixed share is the first step of the weighted Holm procedure
(equivalently weighted Bonferroni): the run fails exactly when Holm's procedure rejects at
least one hypothesis, so the family-wise false-failure rate of a run is at most the budget.
The report also prints Holm's step-down adjusted p-values (:func:`stats.holm_adjust`).

Example:
    >>> import qtcore_conformance.checks  # registers every check
    >>> from qtcore_conformance.catalog import CHECKS, total_slots
    >>> total_slots() == sum(c.slots for c in CHECKS.values() if c.kind == "backend")
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHECKS",
    "GROUPS",
    "MITIGATOR_GROUPS",
    "SAMPLER_GROUPS",
    "TIERS",
    "Check",
    "check",
    "total_slots",
]

TIERS = ("core", "exact", "noise", "sampler", "mitigation")
GROUPS = (
    "registration",
    "output contract",
    "bit order and batches",
    "amplitude encoding",
    "gate IR",
    "noise",
    "reproducibility",
    "robustness",
    "samplers",
    "mitigators",
)
#: Checks of the "samplers" group run on samplers (SamplerTests); all others on backends.
SAMPLER_GROUPS = ("samplers",)
#: Checks of the "mitigators" group run on mitigators (MitigatorTests).
MITIGATOR_GROUPS = ("mitigators",)


@dataclass(frozen=True)
class Check:
    """One registered check.

    Attributes:
        name: unique name (the test is ``test_<name>``; ``known_failures`` keys use it).
        func: ``func(ctx) -> None``; fails by raising, skips with a stated reason.
        group: one of :data:`GROUPS`.
        tier: one of :data:`TIERS`.
        slots: fixed share of the false-failure budget (0 for a deterministic check).
        summary: one line for reports (the first line of the docstring).
    """

    @property
    def kind(self) -> str:
        """``"sampler"``, ``"mitigator"`` or ``"backend"``: what the check runs on."""
        if self.group in SAMPLER_GROUPS:
            return "sampler"
        return "mitigator" if self.group in MITIGATOR_GROUPS else "backend"

    name: str
    func: Callable[[Any], None]
    group: str
    tier: str
    slots: int
    summary: str


CHECKS: dict[str, Check] = {}


def check(
    group: str, tier: str = "core", slots: int = 0
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a check function under its own name.

    Example:
        >>> from qtcore_conformance.catalog import check
        >>> check("robustness", "core", 0).__name__
        'register'
    """
    if group not in GROUPS or tier not in TIERS or slots < 0:
        raise ValueError(f"bad check declaration: group={group!r} tier={tier!r} slots={slots}")

    def register(func: Callable[..., None]) -> Callable[..., None]:
        name = func.__name__
        if name in CHECKS:
            raise ValueError(f"two conformance checks are named {name!r}")
        doc = (func.__doc__ or "").strip().splitlines()
        CHECKS[name] = Check(name, func, group, tier, slots, doc[0] if doc else name)
        return func

    return register


def total_slots(kind: str = "backend") -> int:
    """Sum of the slots of every check of ``kind``: the denominator of the budget split.

    Example:
        >>> import qtcore_conformance.checks
        >>> from qtcore_conformance.catalog import total_slots
        >>> total_slots() > total_slots("sampler") > 0
        True
    """
    return sum(c.slots for c in CHECKS.values() if c.kind == kind)
