"""qtcore-mitiq: Mitiq error mitigation for every qtcore backend.

Two mitigators, registered as ``mitiq.zne`` and ``mitiq.rem`` (``qtcore.get_mitigator``):
zero-noise extrapolation with Mitiq's unitary folding and factories, and readout-error
mitigation with Mitiq's inverse confusion matrix. Both return quasi-probabilities and report
the shots they spend.

Example:
    >>> import qtcore
    >>> zne = qtcore.get_mitigator("mitiq.zne")
    >>> zne.name, zne.scale_factors, zne.factory
    ('mitiq.zne', (1.0, 3.0, 5.0), 'richardson')
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "FACTORIES",
    "SCALINGS",
    "REMMitigator",
    "ZNEMitigator",
    "__version__",
    "extrapolate",
    "extrapolation_weights",
    "project_to_simplex",
]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): the ``qtcore`` entry point imports this package to reach
    # ``qtcore_mitiq.plugin``, and registering must not import Cirq, SciPy or Mitiq.
    if name in __all__ and name != "__version__":
        from qtcore_mitiq import mitigators

        return getattr(mitigators, name)
    raise AttributeError(f"module 'qtcore_mitiq' has no attribute {name!r}")
