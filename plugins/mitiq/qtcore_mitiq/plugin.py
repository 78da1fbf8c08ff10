"""The hook implementations of ``qtcore-mitiq``: the ``mitiq.zne`` and ``mitiq.rem`` mitigators.

Registration is cheap: Mitiq and Cirq are imported only when a mitigator is created.

Example:
    >>> from qtcore_mitiq import plugin
    >>> [info.name for info in plugin.qtcore_mitigators()]
    ['mitiq.zne', 'mitiq.rem']
"""

from __future__ import annotations

from typing import Any

import qtcore

__all__ = ["qtcore_mitigators"]


def _zne(**options: Any) -> qtcore.Mitigator:
    from qtcore_mitiq.mitigators import ZNEMitigator

    return ZNEMitigator(**options)


def _rem(**options: Any) -> qtcore.Mitigator:
    from qtcore_mitiq.mitigators import REMMitigator

    return REMMitigator(**options)


@qtcore.hookimpl
def qtcore_mitigators() -> list[qtcore.MitigatorInfo]:
    """The mitigators of this plugin."""
    return [
        qtcore.MitigatorInfo(
            "mitiq.zne",
            factory=_zne,
            description="zero-noise extrapolation: Mitiq unitary folding at scale factors "
            "(1, 3, 5) and Richardson extrapolation of every outcome probability",
        ),
        qtcore.MitigatorInfo(
            "mitiq.rem",
            factory=_rem,
            description="readout-error mitigation: Mitiq's tensored inverse confusion matrix "
            "from the NoiseModel or from calibration circuits",
        ),
    ]
