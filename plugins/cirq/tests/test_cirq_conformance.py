"""The shared conformance suite on both Cirq backends (skips until qtcore-conformance lands).

Neither backend lists a known failure: every check is expected to pass, noise included for
``cirq.density_matrix``; ``cirq.simulator`` declares no noise, so the suite checks that every
noise model raises CapabilityError there.
"""

from typing import Any, ClassVar

import pytest

qtcore_conformance = pytest.importorskip("qtcore_conformance")


class TestCirqSimulatorConformance(qtcore_conformance.BackendTests):
    backend_name = "cirq.simulator"
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}


class TestCirqDensityMatrixConformance(qtcore_conformance.BackendTests):
    backend_name = "cirq.density_matrix"
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}
