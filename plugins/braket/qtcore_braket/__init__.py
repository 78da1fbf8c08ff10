"""qtcore-braket: qtcore backends on Amazon Braket.

* ``braket.sv``: Braket's local state-vector simulator (``LocalSimulator("braket_sv")``).
* ``braket.dm``: Braket's local density-matrix simulator (``"braket_dm"``) with qtcore's
  noise convention.
* ``braket.aws:<device ARN>``: an Amazon Braket device through ``AwsDevice`` (needs AWS
  credentials; listed unavailable, with the reason, without them).

The backend classes are imported lazily, so that registering the plugin (``qtcore
backends``) does not import the Braket SDK.

Example:
    >>> import qtcore
    >>> qtcore.get_backend("braket.dm").capabilities.noise
    True
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "AwsDeviceBackend",
    "BraketDensityMatrixBackend",
    "BraketDeviceBackend",
    "BraketLocalBackend",
    "BraketStateVectorBackend",
    "__version__",
    "compile_program",
    "to_braket",
    "to_braket_noise",
]

_LAZY = {
    "AwsDeviceBackend": "qtcore_braket.backend",
    "BraketDensityMatrixBackend": "qtcore_braket.backend",
    "BraketDeviceBackend": "qtcore_braket.backend",
    "BraketLocalBackend": "qtcore_braket.backend",
    "BraketStateVectorBackend": "qtcore_braket.backend",
    "compile_program": "qtcore_braket.convert",
    "to_braket": "qtcore_braket.convert",
    "to_braket_noise": "qtcore_braket.noise",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qtcore_braket' has no attribute {name!r}")
