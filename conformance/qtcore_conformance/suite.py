"""The suite as collected by ``pytest --qtcore-backend NAME`` and ``qtcore conformance``.

Example:
    >>> from qtcore_conformance.suite import TestConformance
    >>> TestConformance.backend_name is None
    True
"""

from __future__ import annotations

from qtcore_conformance.base import BackendTests


class TestConformance(BackendTests):
    """Every check, parametrised over the ``--qtcore-backend`` names."""
