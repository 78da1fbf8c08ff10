"""qtcore: quantum-sampled attention for transformers, a small core plus plugins.

The public surface is small: get a backend, sampler or mitigator by name, list what is
installed, and build circuits with the IR.

Example:
    >>> import numpy as np
    >>> import qtcore
    >>> backend = qtcore.get_backend("reference")
    >>> P = np.array([[0.5, 0.25, 0.25, 0.0]])
    >>> counts = backend.sample_distributions(P, shots=1000, seed=7)
    >>> counts.shape, int(counts.sum()), int(counts[0, 3])
    ((1, 4), 1000, 0)
"""

from __future__ import annotations

import contextlib
from typing import Any

from qtcore import hookspecs
from qtcore.backend import BackendBase
from qtcore.circuit import GATES, Circuit, Gate, Parameter
from qtcore.encoding import (
    EncodingTemplate,
    amplitude_encoding,
    encoding_angles,
    encoding_template,
)
from qtcore.errors import (
    BackendError,
    BackendUnavailable,
    CapabilityError,
    DataUnavailable,
    InvalidInput,
    PluginConflict,
    PluginError,
    QtcoreError,
    UnknownName,
)
from qtcore.markers import hookimpl
from qtcore.noise import NoiseModel
from qtcore.reference import ReferenceBackend
from qtcore.registry import PluginRecord, Registered, get_registry
from qtcore.types import (
    AttentionSampler,
    Backend,
    BackendInfo,
    Capabilities,
    Mitigator,
    MitigatorInfo,
    Sampler,
    SamplerInfo,
)
from qtcore.validation import validate_distributions, validate_seed, validate_shots

__version__ = "0.1.0"

#: The plugin API version. A plugin declares the qtcore range it supports in its
#: distribution's requirements (``qtcore>=0.1,<0.2``); conformance checks it.
API_VERSION = "0.1"

__all__ = [
    "API_VERSION",
    "GATES",
    "AttentionSampler",
    "Backend",
    "BackendBase",
    "BackendError",
    "BackendInfo",
    "BackendUnavailable",
    "Capabilities",
    "CapabilityError",
    "Circuit",
    "DataUnavailable",
    "EncodingTemplate",
    "Gate",
    "InvalidInput",
    "Mitigator",
    "MitigatorInfo",
    "NoiseModel",
    "Parameter",
    "PluginConflict",
    "PluginError",
    "PluginRecord",
    "QtcoreError",
    "ReferenceBackend",
    "Registered",
    "Sampler",
    "SamplerInfo",
    "UnknownName",
    "amplitude_encoding",
    "backends",
    "encoding_angles",
    "encoding_template",
    "get_backend",
    "get_mitigator",
    "get_registry",
    "get_sampler",
    "hookimpl",
    "hookspecs",
    "mitigators",
    "plugins",
    "samplers",
    "validate_distributions",
    "validate_seed",
    "validate_shots",
]


def get_backend(name: str, **options: Any) -> Backend:
    """The backend registered as ``name``, created with ``options``.

    Args:
        name: a registered name (``"reference"``, ``"qiskit.aer"``, ``"qiskit.fake:manila"``).
        **options: passed to the backend's factory.

    Raises:
        UnknownName: nothing registers ``name`` (the message suggests close names).
        BackendUnavailable: installed but cannot run here; the message says why.

    Example:
        >>> import qtcore
        >>> qtcore.get_backend("reference").capabilities.max_qubits
        10
    """
    backend: Backend = get_registry().create("backend", name, **options)
    # How executor workers rebuild this backend instead of pickling it (qtcore.chunking); a
    # backend with __slots__ refuses the attribute and is pickled whole instead.
    with contextlib.suppress(AttributeError):
        backend._qtcore_spec = (name, dict(options))  # type: ignore[attr-defined]
    return backend


def get_sampler(name: str, **options: Any) -> Sampler | AttentionSampler:
    """The sampler registered as ``name``, created with ``options``.

    Example:
        >>> import qtcore
        >>> try:
        ...     qtcore.get_sampler("no.such.sampler")
        ... except qtcore.UnknownName as exc:
        ...     print("unknown")
        unknown
    """
    sampler: Sampler | AttentionSampler = get_registry().create("sampler", name, **options)
    return sampler


def get_mitigator(name: str, **options: Any) -> Mitigator:
    """The mitigator registered as ``name``, created with ``options``.

    Example:
        >>> import qtcore
        >>> [m.name for m in qtcore.mitigators()] == sorted(m.name for m in qtcore.mitigators())
        True
    """
    mitigator: Mitigator = get_registry().create("mitigator", name, **options)
    return mitigator


def backends() -> list[Registered[BackendInfo]]:
    """Every registered backend, sorted by name, with the plugin that provides it.

    Example:
        >>> import qtcore
        >>> entry = next(e for e in qtcore.backends() if e.name == "reference")
        >>> entry.plugin.distribution, entry.unavailable_reason()
        ('qtcore', None)
    """
    return get_registry().entries("backend")


def samplers() -> list[Registered[SamplerInfo]]:
    """Every registered sampler, sorted by name.

    Example:
        >>> import qtcore
        >>> isinstance(qtcore.samplers(), list)
        True
    """
    return get_registry().entries("sampler")


def mitigators() -> list[Registered[MitigatorInfo]]:
    """Every registered mitigator, sorted by name.

    Example:
        >>> import qtcore
        >>> isinstance(qtcore.mitigators(), list)
        True
    """
    return get_registry().entries("mitigator")


def plugins() -> list[PluginRecord]:
    """Every plugin found, with its distribution, version, status and hooks.

    Example:
        >>> import qtcore
        >>> core = next(p for p in qtcore.plugins() if p.name == "qtcore")
        >>> core.status, core.hooks
        ('ok', ('qtcore_backends', 'qtcore_mitigators', 'qtcore_samplers'))
    """
    return get_registry().plugins()
