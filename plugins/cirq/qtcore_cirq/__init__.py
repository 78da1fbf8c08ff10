"""qtcore-cirq: qtcore backends on Cirq's simulators.

* ``cirq.simulator``: ``cirq.Simulator`` (state vector), noiseless.
* ``cirq.density_matrix``: ``cirq.DensityMatrixSimulator`` with qtcore's noise convention.

The backend classes are imported lazily, so that registering the plugin (``qtcore
backends``) does not import Cirq.

Example:
    >>> import qtcore
    >>> qtcore.get_backend("cirq.density_matrix").capabilities.noise
    True
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "CirqBackend",
    "CirqDensityMatrixBackend",
    "CirqSimulatorBackend",
    "QtcoreNoiseModel",
    "__version__",
    "to_cirq",
    "to_cirq_noise",
]

_LAZY = {
    "CirqBackend": "qtcore_cirq.backend",
    "CirqDensityMatrixBackend": "qtcore_cirq.backend",
    "CirqSimulatorBackend": "qtcore_cirq.backend",
    "QtcoreNoiseModel": "qtcore_cirq.noise",
    "to_cirq_noise": "qtcore_cirq.noise",
    "to_cirq": "qtcore_cirq.convert",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qtcore_cirq' has no attribute {name!r}")
