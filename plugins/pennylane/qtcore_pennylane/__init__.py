"""qtcore-pennylane: qtcore backends on PennyLane devices.

Backends: ``pennylane.default`` (``default.qubit``; ``default.mixed`` under a NoiseModel),
``pennylane.lightning`` (``lightning.qubit``, no noise) and ``pennylane:<device>`` for any
installed PennyLane device, with capabilities read from the device.

Example:
    >>> import numpy as np
    >>> import qtcore
    >>> backend = qtcore.get_backend("pennylane.default")
    >>> counts = backend.sample_distributions(np.array([[0.5, 0.5]]), shots=100, seed=3)
    >>> counts.shape, int(counts.sum())
    ((1, 2), 100)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["DEFAULT_MAX_QUBITS", "PennyLaneBackend", "__version__", "probe_capabilities"]

_LAZY = {"DEFAULT_MAX_QUBITS", "PennyLaneBackend", "probe_capabilities"}


def __getattr__(name: str) -> Any:
    # The entry point imports this package; PennyLane (seconds to import) must load only
    # when a backend is actually used, not when qtcore discovers plugins.
    if name in _LAZY:
        from qtcore_pennylane import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'qtcore_pennylane' has no attribute {name!r}")
