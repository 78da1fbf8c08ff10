"""qtcore-qiskit: qtcore backends on Qiskit Aer, IBM fake devices and IBM Runtime.

The backend classes are imported on first use, so that registering the plugin (which
imports this package) does not import Qiskit.

Example:
    >>> import qtcore_qiskit
    >>> qtcore_qiskit.__version__
    '0.1.0'
    >>> qtcore_qiskit.AerBackend.name
    'qiskit.aer'
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["AerBackend", "FakeDeviceBackend", "IBMRuntimeBackend", "__version__"]

_LAZY = {"AerBackend", "FakeDeviceBackend", "IBMRuntimeBackend"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from qtcore_qiskit import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'qtcore_qiskit' has no attribute {name!r}")
