"""The qtcore hooks of qtcore-qiskit. Cheap: Qiskit is imported inside the factories.

Example:
    >>> from qtcore_qiskit import plugin
    >>> [info.name for info in plugin.qtcore_backends()]
    ['qiskit.aer', 'qiskit.fake', 'qiskit.ibm']
"""

from __future__ import annotations

import importlib.util
from typing import Any

import qtcore
from qtcore_qiskit.credentials import ibm_credentials_problem
from qtcore_qiskit.devices import fake_device_names

__all__ = ["qtcore_backends"]


def _missing(*modules: str) -> str | None:
    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    if absent:
        return (
            f"{', '.join(absent)} not installed; reinstall qtcore-qiskit "
            "(pip install --force-reinstall qtcore-qiskit)"
        )
    return None


def _aer(**options: Any) -> qtcore.Backend:
    from qtcore_qiskit.backend import AerBackend

    return AerBackend(**options)


def _fake(device: str, **options: Any) -> qtcore.Backend:
    from qtcore_qiskit.backend import FakeDeviceBackend

    return FakeDeviceBackend(device, **options)


def _ibm(device: str, **options: Any) -> qtcore.Backend:
    from qtcore_qiskit.backend import IBMRuntimeBackend

    return IBMRuntimeBackend(device, **options)


def _ibm_availability() -> str | None:
    return _missing("qiskit_ibm_runtime") or ibm_credentials_problem()


@qtcore.hookimpl
def qtcore_backends() -> list[qtcore.BackendInfo]:
    """``qiskit.aer``, ``qiskit.fake:<device>`` and ``qiskit.ibm:<device>``."""
    return [
        qtcore.BackendInfo(
            "qiskit.aer",
            factory=_aer,
            description="Qiskit Aer statevector simulator (density matrix under noise)",
            availability=lambda: _missing("qiskit", "qiskit_aer"),
        ),
        qtcore.BackendInfo(
            "qiskit.fake",
            factory=_fake,
            description="IBM fake device on Aer with its real calibration noise",
            parametric=True,
            variants=fake_device_names(),
            availability=lambda: _missing("qiskit_aer", "qiskit_ibm_runtime"),
        ),
        qtcore.BackendInfo(
            "qiskit.ibm",
            factory=_ibm,
            description="IBM Quantum hardware through IBM Runtime's SamplerV2",
            parametric=True,
            availability=_ibm_availability,
        ),
    ]
