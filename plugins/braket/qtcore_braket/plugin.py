"""The qtcore hook implementations of qtcore-braket: cheap, Braket is imported by the factories.

Example:
    >>> from qtcore_braket import plugin
    >>> [info.name for info in plugin.qtcore_backends()]
    ['braket.sv', 'braket.dm', 'braket.aws']
"""

from __future__ import annotations

import importlib.util
from typing import Any

import qtcore

__all__ = ["qtcore_backends"]


def _state_vector(**options: Any) -> qtcore.Backend:
    from qtcore_braket.backend import BraketStateVectorBackend

    return BraketStateVectorBackend(**options)


def _density_matrix(**options: Any) -> qtcore.Backend:
    from qtcore_braket.backend import BraketDensityMatrixBackend

    return BraketDensityMatrixBackend(**options)


def _aws(arn: str, **options: Any) -> qtcore.Backend:
    from qtcore_braket.backend import AwsDeviceBackend

    return AwsDeviceBackend(arn, **options)


def _local_availability() -> str | None:
    # ``braket`` is a namespace package: finding a subpackage imports nothing heavy.
    if importlib.util.find_spec("braket") is None or any(
        importlib.util.find_spec(f"braket.{sub}") is None
        for sub in ("circuits", "default_simulator")
    ):
        return (
            "amazon-braket-sdk / amazon-braket-default-simulator are not installed: "
            "pip install qtcore-braket (it depends on amazon-braket-sdk)"
        )
    return None


def _aws_availability() -> str | None:
    from qtcore_braket.credentials import aws_credentials_problem

    return _local_availability() or aws_credentials_problem()


@qtcore.hookimpl
def qtcore_backends() -> list[qtcore.BackendInfo]:
    """``braket.sv`` (state vector), ``braket.dm`` (noisy) and ``braket.aws:<device ARN>``.

    Returns:
        The three :class:`~qtcore.BackendInfo`; their factories import Braket when called.

    Example:
        >>> from qtcore_braket.plugin import qtcore_backends
        >>> [info.availability() for info in qtcore_backends()[:2]]
        [None, None]
    """
    return [
        qtcore.BackendInfo(
            "braket.sv",
            factory=_state_vector,
            description="Braket LocalSimulator('braket_sv'): state vector, noiseless, ≤20 qubits",
            availability=_local_availability,
        ),
        qtcore.BackendInfo(
            "braket.dm",
            factory=_density_matrix,
            description="Braket LocalSimulator('braket_dm') with qtcore's depolarizing/readout "
            "noise",
            availability=_local_availability,
        ),
        qtcore.BackendInfo(
            "braket.aws",
            factory=_aws,
            description="Amazon Braket device (QPU or managed simulator) through AwsDevice; "
            "shots drawn by the device, unseeded",
            parametric=True,
            availability=_aws_availability,
        ),
    ]
