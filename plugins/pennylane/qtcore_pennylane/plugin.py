"""The ``qtcore`` entry point of qtcore-pennylane: hook implementations only.

Registration is cheap: PennyLane is imported only when a backend is created, and the
parametric ``pennylane:<device>`` lists installed devices from the ``pennylane.plugins``
entry points without importing them.

Example:
    >>> from qtcore_pennylane import plugin
    >>> [info.name for info in plugin.qtcore_backends()]
    ['pennylane.default', 'pennylane.lightning', 'pennylane']
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
from collections.abc import Callable
from typing import Any

import qtcore

__all__ = ["qtcore_backends"]


def _needs(module: str, distribution: str) -> Callable[[], str | None]:
    def check() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"{distribution} is not installed (pip install {distribution})"
        return None

    return check


def _installed_devices() -> tuple[str, ...]:
    try:
        return tuple(sorted({ep.name for ep in md.entry_points(group="pennylane.plugins")}))
    except Exception:  # a broken distribution's metadata must not break registration
        return ()


def _default(**options: Any) -> qtcore.Backend:
    from qtcore_pennylane.backend import PennyLaneBackend

    return PennyLaneBackend(
        "default.qubit", name="pennylane.default", noise_device="default.mixed", **options
    )


def _lightning(**options: Any) -> qtcore.Backend:
    from qtcore_pennylane.backend import PennyLaneBackend

    return PennyLaneBackend("lightning.qubit", name="pennylane.lightning", **options)


def _any_device(device: str, **options: Any) -> qtcore.Backend:
    from qtcore_pennylane.backend import PennyLaneBackend

    return PennyLaneBackend(device, name=f"pennylane:{device}", **options)


@qtcore.hookimpl
def qtcore_backends() -> list[qtcore.BackendInfo]:
    """``pennylane.default``, ``pennylane.lightning`` and the parametric ``pennylane:<device>``.

    Example:
        >>> from qtcore_pennylane.plugin import qtcore_backends
        >>> [(info.name, info.parametric) for info in qtcore_backends()][-1]
        ('pennylane', True)
    """
    return [
        qtcore.BackendInfo(
            "pennylane.default",
            factory=_default,
            description="PennyLane default.qubit (default.mixed under noise), broadcast template",
            availability=_needs("pennylane", "pennylane"),
        ),
        qtcore.BackendInfo(
            "pennylane.lightning",
            factory=_lightning,
            description="PennyLane lightning.qubit (C++ statevector), no noise",
            availability=_needs("pennylane_lightning", "pennylane-lightning"),
        ),
        qtcore.BackendInfo(
            "pennylane",
            factory=_any_device,
            description="any installed PennyLane device: pennylane:<device name>",
            parametric=True,
            variants=_installed_devices(),
            availability=_needs("pennylane", "pennylane"),
        ),
    ]
