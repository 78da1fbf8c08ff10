"""The shared conformance suite on both local Braket backends (skips until qtcore-conformance
is installed).

No class lists a known failure: every check is expected to pass, noise included for
``braket.dm``; ``braket.sv`` declares no noise, so the suite checks that every noise model
raises CapabilityError there. A third class runs ``braket.sv`` with Braket's own unseedable
sampler (``shots_from="braket"``, ``seeded=False``) to show the suite honouring that
declaration (about a third of this file's time; drop it if CI time is short). ``braket.aws``
is not run: its tasks need AWS credentials and cost money.
"""

from typing import Any, ClassVar

import pytest

qtcore_conformance = pytest.importorskip("qtcore_conformance")


class TestBraketStateVectorConformance(qtcore_conformance.BackendTests):
    backend_name = "braket.sv"
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}


class TestBraketDensityMatrixConformance(qtcore_conformance.BackendTests):
    backend_name = "braket.dm"
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}


class TestBraketOwnShotsConformance(qtcore_conformance.BackendTests):
    """``braket.sv`` with Braket's own, unseedable sampler: declares ``seeded=False``, so the
    suite's reproducibility checks skip with that reason and its distribution checks decide."""

    backend_name = "braket.sv"
    backend_options: ClassVar[dict[str, Any]] = {"shots_from": "braket"}
    known_failures: ClassVar[dict[str, str]] = {}
