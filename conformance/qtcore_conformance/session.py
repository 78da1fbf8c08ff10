"""The state of one conformance run, shared by the pytest plugin, the fixtures and reports.

Example:
    >>> from qtcore_conformance.session import RunState
    >>> RunState(budget=1e-6, base_seed=1, n_backends=2).budget_per_backend
    5e-07
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["STATE", "Outcome", "RunState"]


@dataclass
class Outcome:
    """One check on one backend: ``passed``, ``failed``, ``skipped``, ``xfailed``, ``error``."""

    check: str
    backend: str
    outcome: str
    reason: str = ""
    duration: float = 0.0
    nodeid: str = ""
    seed: int | None = None


@dataclass
class RunState:
    """Budget, seeds and results of one run (one pytest session)."""

    budget: float
    base_seed: int
    n_backends: int = 1
    records: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def budget_per_backend(self) -> float:
        """The run's budget split evenly over what is under test (backends, samplers, …)."""
        return self.budget / max(self.n_backends, 1)


STATE = pytest.StashKey[RunState]()
