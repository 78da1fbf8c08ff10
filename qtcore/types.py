"""Registration dataclasses and the protocols a plugin implements.

Registration hooks return iterables of small frozen dataclasses, as conda's plugins do.

Example:
    >>> import qtcore
    >>> info = qtcore.BackendInfo("mine.sim", factory=lambda **kw: None, description="demo")
    >>> info.name, info.parametric
    ('mine.sim', False)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qtcore.circuit import GATES, Circuit
from qtcore.errors import PluginError
from qtcore.noise import NoiseModel

__all__ = [
    "AttentionSampler",
    "Backend",
    "BackendInfo",
    "Capabilities",
    "Mitigator",
    "MitigatorInfo",
    "Sampler",
    "SamplerInfo",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(:[^\s]+)?$")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do. The conformance suite exercises every declared capability and
    checks that every undeclared one raises :class:`~qtcore.CapabilityError`.

    Args:
        max_qubits: largest circuit the backend runs; ``max_qubits + 1`` must raise.
        noise: accepts a :class:`~qtcore.NoiseModel` (else non-trivial noise raises).
        gpu: runs on a GPU.
        parameter_binding: ``sample_distributions`` compiles a template once per n and binds.
        exact_probabilities: has ``probabilities(circuits, noise=None)`` returning exact
            outcome probabilities.
        max_shots: largest ``shots`` per call, or ``None`` for no limit.
        seeded: the same seed gives the same counts (a device that cannot seed says False,
            and conformance then uses distribution checks only).
        thread_safe: concurrent calls from threads are correct and independent.
        gates: the IR gates ``run`` accepts.
        row_seeded: with a seed, each row's counts depend only on the seed, the row's index in
            the whole batch and the row itself: ``_run`` and ``_sample_distributions`` take a
            keyword ``row_offset`` (the index of their first row in the whole batch), so a
            batch split over an executor gives exactly the counts of one call, whatever the
            chunk size. A backend that cannot (one random stream per call) leaves it False
            and chunks get derived seeds (see :mod:`qtcore.chunking`).

    Example:
        >>> from qtcore import Capabilities
        >>> Capabilities(max_qubits=10, noise=True).as_dict()["max_qubits"]
        10
    """

    max_qubits: int
    noise: bool = False
    gpu: bool = False
    parameter_binding: bool = False
    exact_probabilities: bool = False
    max_shots: int | None = None
    seeded: bool = True
    thread_safe: bool = True
    gates: frozenset[str] = field(default_factory=lambda: frozenset(GATES))
    row_seeded: bool = False

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_qubits, bool)
            or not isinstance(self.max_qubits, int)
            or (self.max_qubits < 1)
        ):
            raise PluginError(f"Capabilities.max_qubits must be an int ≥ 1, got {self.max_qubits}")
        shots = self.max_shots
        if shots is not None and (not isinstance(shots, int) or shots < 1):
            raise PluginError(f"Capabilities.max_shots must be None or ≥ 1, got {shots!r}")
        unknown = set(self.gates) - set(GATES)
        if unknown:
            raise PluginError(f"Capabilities.gates names gates outside the IR: {sorted(unknown)}")
        object.__setattr__(self, "gates", frozenset(self.gates))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``gates`` sorted)."""
        return {
            "max_qubits": self.max_qubits,
            "noise": self.noise,
            "gpu": self.gpu,
            "parameter_binding": self.parameter_binding,
            "exact_probabilities": self.exact_probabilities,
            "max_shots": self.max_shots,
            "seeded": self.seeded,
            "thread_safe": self.thread_safe,
            "row_seeded": self.row_seeded,
            "gates": sorted(self.gates),
        }

    def summary(self) -> str:
        """A short human description, as shown by ``qtcore backends``.

        Example:
            >>> from qtcore import Capabilities
            >>> Capabilities(max_qubits=10, noise=True, exact_probabilities=True).summary()
            '≤10 qubits, noise, exact'
        """
        parts = [f"≤{self.max_qubits} qubits"]
        parts += [
            label
            for flag, label in (
                (self.noise, "noise"),
                (self.gpu, "gpu"),
                (self.parameter_binding, "binding"),
                (self.exact_probabilities, "exact"),
                (not self.seeded, "unseeded"),
                (not self.thread_safe, "not thread-safe"),
            )
            if flag
        ]
        return ", ".join(parts)


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(
            f"{kind} name {name!r} is not valid: use lower-case dotted names namespaced by "
            "plugin, like 'myplugin.sim' (an optional ':variant' may follow)"
        )


@dataclass(frozen=True)
class BackendInfo:
    """What a plugin returns from ``qtcore_backends``.

    Args:
        name: namespaced name, e.g. ``"qiskit.aer"``.
        factory: ``factory(**options) -> Backend``; with ``parametric=True`` it is called as
            ``factory(variant, **options)`` for the name ``"name:variant"``.
        description: one line for ``qtcore backends``.
        parametric: the name takes a ``:variant`` suffix (``qiskit.fake:<device>``).
        variants: known variants to list (for a parametric backend), or ``()``.
        availability: ``() -> str | None``: a reason the backend cannot run here (no GPU, no
            credentials), or ``None`` when it can. Must be cheap and must not raise.

    Example:
        >>> from qtcore import BackendInfo
        >>> BackendInfo("x.y", factory=dict, description="d").description
        'd'
    """

    name: str
    factory: Callable[..., Backend]
    description: str = ""
    parametric: bool = False
    variants: tuple[str, ...] = ()
    availability: Callable[[], str | None] | None = None

    def __post_init__(self) -> None:
        _check_name("backend", self.name)
        if not callable(self.factory):
            raise PluginError(f"backend {self.name!r}: factory must be callable")


@dataclass(frozen=True)
class SamplerInfo:
    """What a plugin returns from ``qtcore_samplers``: ``factory(**options) -> Sampler``.

    Example:
        >>> from qtcore import SamplerInfo
        >>> SamplerInfo("mine.sampler", factory=dict).name
        'mine.sampler'
    """

    name: str
    factory: Callable[..., Sampler | AttentionSampler]
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("sampler", self.name)
        if not callable(self.factory):
            raise PluginError(f"sampler {self.name!r}: factory must be callable")


@dataclass(frozen=True)
class MitigatorInfo:
    """What a plugin returns from ``qtcore_mitigators``: ``factory(**options) -> Mitigator``.

    Example:
        >>> from qtcore import MitigatorInfo
        >>> MitigatorInfo("mine.zne", factory=dict).name
        'mine.zne'
    """

    name: str
    factory: Callable[..., Mitigator]
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("mitigator", self.name)
        if not callable(self.factory):
            raise PluginError(f"mitigator {self.name!r}: factory must be callable")


@runtime_checkable
class Backend(Protocol):
    """Runs circuits and samples amplitude-encoded distributions.

    Subclass :class:`qtcore.BackendBase` to get validation and the default
    ``sample_distributions`` for free; implement this protocol directly only if you must.
    """

    name: str
    capabilities: Capabilities

    def run(
        self,
        circuits: Sequence[Circuit],
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
        executor: Executor | None = None,
        chunk_size: int | None = None,
    ) -> np.ndarray:
        """Counts (B, 2**n) int64, big-endian outcome index, each row summing to ``shots``;
        with ``executor``, computed as chunks of ``chunk_size`` rows on it (qtcore.chunking).
        """

    def sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
        executor: Executor | None = None,
        chunk_size: int | None = None,
    ) -> np.ndarray:
        """Counts (B, 2**n) from measuring ``amplitude_encoding(P)``; same seed, same counts."""


@runtime_checkable
class Sampler(Protocol):
    """Draws unbiased attention weights: ``W`` with ``E[W] = p`` (see qtcore.sampling)."""

    name: str

    def sample_weights(self, p: Any, num_samples: int, *, generator: Any = None) -> Any:
        """Weights W with the shape of ``p`` (…, N) and E[W] = p."""


@runtime_checkable
class AttentionSampler(Protocol):
    """Estimates attention from q, k, v, choosing keys without computing every logit.

    :func:`qtcore.nn.functional.sampled_attention` calls ``attend`` when a sampler has it
    (see :mod:`qtcore.sampling.attend`).

    Example:
        >>> import qtcore
        >>> isinstance(qtcore.get_sampler("importance"), qtcore.AttentionSampler)
        True
    """

    name: str

    def attend(
        self,
        q: Any,
        k: Any,
        v: Any,
        attn_mask: Any = None,
        is_causal: bool = False,
        *,
        scale: float | None = None,
        num_samples: int,
        generator: Any = None,
        dropout_p: float = 0.0,
        return_weights: bool = False,
    ) -> Any:
        """The output (…, L, Ev), or ``(output, W)`` with ``return_weights``."""


@runtime_checkable
class Mitigator(Protocol):
    """Mitigates the noise of a backend's counts, returning quasi-probabilities.

    A mitigator spends more shots than it is given per circuit (one batch per noise scale, or
    calibration runs): it says how many before a run (``shots_per_call``) and after one
    (``last_shots_spent``), so comparisons can be made at equal budget.
    """

    name: str
    last_shots_spent: int

    def shots_per_call(self, n_circuits: int, shots: int) -> int:
        """Total shots a ``run`` over ``n_circuits`` circuits at ``shots`` each will spend."""

    def run(
        self,
        backend: Backend,
        circuits: Sequence[Circuit],
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
    ) -> np.ndarray:
        """Quasi-probabilities (B, 2**n) float64; rows sum to 1 and may have negative entries."""
