"""The shared conformance suite on ``cuquantum.statevec`` (skipped without a GPU).

The backend declares no noise, so the suite checks that every noise model raises
CapabilityError; no known failure is listed: every check is expected to pass on a GPU.
"""

from typing import Any, ClassVar

import pytest
from qtcore_cuquantum.device import unavailable_reason

qtcore_conformance = pytest.importorskip("qtcore_conformance")

REASON = unavailable_reason()


@pytest.mark.skipif(REASON is not None, reason=f"cuquantum.statevec: {REASON}")
class TestCuStateVecConformance(qtcore_conformance.BackendTests):
    backend_name = "cuquantum.statevec"
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}
