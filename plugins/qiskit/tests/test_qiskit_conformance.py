"""The shared conformance suite on ``qiskit.aer`` and on the fake 5-qubit Santiago device.

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


class TestFakeSantiagoConformance(qtcore_conformance.BackendTests):
    backend_name = "qiskit.fake:santiago"
    backend_options: ClassVar[dict[str, object]] = {}
    known_failures: ClassVar[dict[str, str]] = {}
    # Santiago's calibration bounds the error of the widest circuit the suite runs here
    # (n = 5: 66 CX after routing): 1 - ESP = 0.388, ESP = Π(1 - error) over the compiled
    # gates and measurements. test_qiskit_fake.py checks that bound against samples.
    distribution_tolerance_tvd = 0.4
