"""The suite as collected by ``pytest --qtcore-backend NAME`` and ``qtcore conformance``.

Example:
    >>> from qtcore_conformance.suite import TestConformance
    >>> TestConformance.backend_name is None
    True
"""

from __future__ import annotations

from qtcore_conformance.base import BackendTests, MitigatorTests, SamplerTests


class TestConformance(BackendTests):
    """Every backend check, parametrised over the ``--qtcore-backend`` names."""


class TestSamplerConformance(SamplerTests):
    """Every sampler check, parametrised over the ``--qtcore-sampler`` names."""


class TestMitigatorConformance(MitigatorTests):
    """Every mitigator check, parametrised over the ``--qtcore-mitigator`` names."""
