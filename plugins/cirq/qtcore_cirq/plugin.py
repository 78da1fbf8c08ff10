"""The qtcore hook implementations of qtcore-cirq: cheap, Cirq is imported by the factories.

Example:
    >>> from qtcore_cirq import plugin
    >>> [info.name for info in plugin.qtcore_backends()]
    ['cirq.simulator', 'cirq.density_matrix']
"""

from __future__ import annotations

from typing import Any

import qtcore

__all__ = ["qtcore_backends"]


def _simulator(**options: Any) -> qtcore.Backend:
    from qtcore_cirq.backend import CirqSimulatorBackend

    return CirqSimulatorBackend(**options)


def _density_matrix(**options: Any) -> qtcore.Backend:
    from qtcore_cirq.backend import CirqDensityMatrixBackend

    return CirqDensityMatrixBackend(**options)


def _availability() -> str | None:
    import importlib.util

    if importlib.util.find_spec("cirq") is None:
        return "cirq-core is not installed: pip install qtcore-cirq (it depends on cirq-core)"
    return None


@qtcore.hookimpl
def qtcore_backends() -> list[qtcore.BackendInfo]:
    """``cirq.simulator`` (noiseless state vector) and ``cirq.density_matrix`` (noisy).

    Returns:
        The two :class:`~qtcore.BackendInfo`; their factories import Cirq when called.

    Example:
        >>> from qtcore_cirq.plugin import qtcore_backends
        >>> [info.availability() for info in qtcore_backends()]
        [None, None]
    """
    return [
        qtcore.BackendInfo(
            "cirq.simulator",
            factory=_simulator,
            description="cirq.Simulator: state vector, noiseless, ≤16 qubits",
            availability=_availability,
        ),
        qtcore.BackendInfo(
            "cirq.density_matrix",
            factory=_density_matrix,
            description="cirq.DensityMatrixSimulator with qtcore's depolarizing/readout noise",
            availability=_availability,
        ),
    ]
