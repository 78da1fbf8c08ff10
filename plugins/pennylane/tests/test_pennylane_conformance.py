"""The shared conformance suite against both PennyLane backends (skips until it is installed).

Noise checks run for ``pennylane.default`` (default.mixed) and skip for
``pennylane.lightning``, whose capabilities declare no noise.
"""

from typing import Any, ClassVar

import pytest

qtcore_conformance = pytest.importorskip("qtcore_conformance")


class TestPennyLaneDefaultConformance(qtcore_conformance.BackendTests):
    backend_name = "pennylane.default"
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}


# lightning.qubit has no parameter broadcasting: PennyLane runs one tape per row and dispatches
# each operation from Python (~25 µs each), so the suite's 7 × 1024-row memory check under
# tracemalloc takes minutes on a 2-core CPU; the whole class passes (measured) but is slow.
@pytest.mark.slow
class TestPennyLaneLightningConformance(qtcore_conformance.BackendTests):
    backend_name = "pennylane.lightning"
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}
