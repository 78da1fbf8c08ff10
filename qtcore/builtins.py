"""The core's own plugin: the ``reference`` backend and the classical samplers, registered
like any other plugin.

Example:
    >>> from qtcore import builtins
    >>> [info.name for info in builtins.qtcore_backends()]
    ['reference']
    >>> [info.name for info in builtins.qtcore_samplers()]
    ['multinomial', 'stratified', 'sobol', 'topk', 'importance', 'hyper', 'control']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtcore.markers import hookimpl
from qtcore.reference import ReferenceBackend
from qtcore.types import AttentionSampler, BackendInfo, MitigatorInfo, Sampler, SamplerInfo

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


def _sampler_factory(name: str) -> Callable[..., Sampler | AttentionSampler]:
    def factory(**options: Any) -> Sampler | AttentionSampler:
        # torch is imported here, on first use, so that ``import qtcore`` stays light.
        from qtcore.sampling import ATTENDING_SAMPLERS, BUILTIN_SAMPLERS

        cls = BUILTIN_SAMPLERS.get(name) or ATTENDING_SAMPLERS[name]
        sampler: Sampler | AttentionSampler = cls(**options)
        return sampler

    factory.__name__ = f"{name}_sampler"
    return factory


_SAMPLERS = {
    "multinomial": "i.i.d. inverse-CDF draws, W = counts/S: what a device's shots give",
    "stratified": "one inverse-CDF point per stratum of width 1/S (systematic=True: one offset)",
    "sobol": "scrambled Sobol points, one independent Sobol dimension per row",
    "topk": "take-all keys with S·p ≥ remaining mass, weighted exactly; the rest systematic",
    "importance": "exact heavy key blocks + importance-sampled tail blocks, from q and k "
    "(sub-quadratic; optional learned low-rank proposal)",
    "hyper": "HyperAttention: sort-LSH block diagonal exact + uniform key samples (peer)",
    "control": "multilevel control variate (value-cluster means) around any sampler",
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
