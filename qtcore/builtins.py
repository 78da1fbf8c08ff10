"""The core's own plugin: the ``reference`` backend, registered like any other plugin.

Example:
    >>> from qtcore import builtins
    >>> [info.name for info in builtins.qtcore_backends()]
    ['reference']
"""

from __future__ import annotations

from qtcore.markers import hookimpl
from qtcore.reference import ReferenceBackend
from qtcore.types import BackendInfo, MitigatorInfo, SamplerInfo

__all__ = ["qtcore_backends", "qtcore_mitigators", "qtcore_samplers"]


@hookimpl
def qtcore_backends() -> list[BackendInfo]:
    """The core's backends."""
    return [
        BackendInfo(
            "reference",
            factory=ReferenceBackend,
            description="exact numpy statevector/density-matrix simulator (ground truth)",
        )
    ]


@hookimpl
def qtcore_samplers() -> list[SamplerInfo]:
    """The core's classical samplers (none until qtcore.samplers lands)."""
    return []


@hookimpl
def qtcore_mitigators() -> list[MitigatorInfo]:
    """The core ships no mitigator; ``qtcore-mitiq`` provides them."""
    return []
