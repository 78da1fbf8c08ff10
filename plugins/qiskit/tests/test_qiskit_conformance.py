"""The shared conformance suite on ``qiskit.aer`` and on the fake 5-qubit Manila device.

The fake device's noise is its own (calibration snapshot), so its distribution checks run
in tolerance mode: TVD to the exact distribution ≤ ``distribution_tolerance_tvd``, tested
one-sided and distribution-free by the suite; NoiseModel checks skip (noise=False).
"""

from __future__ import annotations

from typing import ClassVar

import pytest

qtcore_conformance = pytest.importorskip("qtcore_conformance")


class TestAerConformance(qtcore_conformance.BackendTests):
    backend_name = "qiskit.aer"
    backend_options: ClassVar[dict[str, object]] = {}
    known_failures: ClassVar[dict[str, str]] = {}


class TestFakeManilaConformance(qtcore_conformance.BackendTests):
    backend_name = "qiskit.fake:manila"
    backend_options: ClassVar[dict[str, object]] = {}
    known_failures: ClassVar[dict[str, str]] = {}
    # Measured worst case over the suite's probes on Manila (n ≤ 5, up to 72 CX after
    # routing): see test_qiskit_fake.py for the calibration-derived bound per width.
    distribution_tolerance_tvd = 0.4
