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

from qtcore_mitiq.mitigators import (
    FACTORIES,
    SCALINGS,
    REMMitigator,
    ZNEMitigator,
    extrapolate,
    extrapolation_weights,
    project_to_simplex,
)

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
