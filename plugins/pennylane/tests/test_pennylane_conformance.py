"""The shared conformance suite against both PennyLane backends (skips until it is installed).

Noise checks run for ``pennylane.default`` (default.mixed) and skip for
``pennylane.lightning``, whose capabilities declare no noise.
"""

import pytest

qtcore_conformance = pytest.importorskip("qtcore_conformance")


class TestPennyLaneDefaultConformance(qtcore_conformance.BackendTests):
    backend_name = "pennylane.default"
    backend_options = {}
    known_failures = {}


class TestPennyLaneLightningConformance(qtcore_conformance.BackendTests):
    backend_name = "pennylane.lightning"
    backend_options = {}
    known_failures = {}
