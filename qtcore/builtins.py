"""The core's own plugin: the ``reference`` backend and the classical samplers, registered
like any other plugin.

Example:
    >>> from qtcore import builtins
    >>> [info.name for info in builtins.qtcore_backends()]
    ['reference']
    >>> [info.name for info in builtins.qtcore_samplers()]
    ['multinomial', 'stratified', 'sobol', 'topk']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtcore.markers import hookimpl
from qtcore.reference import ReferenceBackend
from qtcore.types import BackendInfo, MitigatorInfo, Sampler, SamplerInfo

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


def _sampler_factory(name: str) -> Callable[..., Sampler]:
    def factory(**options: Any) -> Sampler:
        # torch is imported here, on first use, so that ``import qtcore`` stays light.
        from qtcore.sampling import BUILTIN_SAMPLERS

        sampler: Sampler = BUILTIN_SAMPLERS[name](**options)
        return sampler

    factory.__name__ = f"{name}_sampler"
    return factory


_SAMPLERS = {
    "multinomial": "i.i.d. inverse-CDF draws, W = counts/S: what a device's shots give",
    "stratified": "one inverse-CDF point per stratum of width 1/S (systematic=True: one offset)",
    "sobol": "scrambled Sobol points, one independent Sobol dimension per row",
    "topk": "take-all keys with S·p ≥ remaining mass, weighted exactly; the rest systematic",
}


@hookimpl
def qtcore_samplers() -> list[SamplerInfo]:
    """The core's classical samplers (``qtcore.sampling``; they need torch when created)."""
    return [
        SamplerInfo(name, factory=_sampler_factory(name), description=description)
        for name, description in _SAMPLERS.items()
    ]


@hookimpl
def qtcore_mitigators() -> list[MitigatorInfo]:
    """The core ships no mitigator; ``qtcore-mitiq`` provides them."""
    return []
