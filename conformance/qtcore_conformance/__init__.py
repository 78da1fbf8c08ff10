"""qtcore-conformance: the shared, statistically sound conformance suite for qtcore backends.

* ``BackendTests`` / ``SamplerTests`` / ``MitigatorTests``: subclass them in a plugin's tests
  (see :mod:`qtcore_conformance.base`).
* ``pytest --qtcore-backend NAME``: the pytest plugin (:mod:`qtcore_conformance.pytest_plugin`).
* ``qtcore conformance NAME… | --all``: the engine (:mod:`qtcore_conformance.engine`).

Attributes resolve lazily so that loading the pytest plugin costs nothing in runs that do not
use the suite.

Example:
    >>> import qtcore_conformance
    >>> qtcore_conformance.BackendTests.backend_name is None
    True
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "CHECKS",
    "BackendTests",
    "CheckContext",
    "MitigatorTests",
    "SamplerTests",
    "__version__",
    "run_conformance",
]


def __getattr__(name: str) -> Any:
    if name == "BackendTests":
        from qtcore_conformance.base import BackendTests

        return BackendTests
    if name in ("SamplerTests", "MitigatorTests"):
        from qtcore_conformance import base

        return getattr(base, name)
    if name == "CHECKS":
        from qtcore_conformance.base import CHECKS

        return CHECKS
    if name == "CheckContext":
        from qtcore_conformance.context import CheckContext

        return CheckContext
    if name == "run_conformance":
        from qtcore_conformance.engine import run_conformance

        return run_conformance
    raise AttributeError(f"module 'qtcore_conformance' has no attribute {name!r}")
