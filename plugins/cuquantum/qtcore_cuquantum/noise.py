"""qtcore's :class:`~qtcore.NoiseModel` on cuStateVec: the one place noise is mapped.

``cuquantum.statevec`` is a noiseless state-vector backend (``capabilities.noise`` is
False): cuStateVec applies unitaries to a pure state, and qtcore's depolarizing channels
would need density matrices or stochastic trajectories, which this plugin does not
implement. ``BackendBase`` already refuses non-trivial noise with
:class:`~qtcore.CapabilityError`; this function is the mapping a noisy version would fill.

Example:
    >>> from qtcore import NoiseModel
    >>> from qtcore_cuquantum.noise import to_cuquantum_noise
    >>> to_cuquantum_noise(NoiseModel()) is None
    True
"""

from __future__ import annotations

from qtcore.errors import CapabilityError
from qtcore.noise import NoiseModel, normalize_noise

__all__ = ["to_cuquantum_noise"]


def to_cuquantum_noise(noise: NoiseModel | None) -> None:
    """``None`` for no noise (``None`` or an all-zero model); anything else raises.

    Args:
        noise: a :class:`~qtcore.NoiseModel` or None.

    Raises:
        CapabilityError: the model has a non-zero rate.
        InvalidInput: ``noise`` is neither None nor a NoiseModel.

    Example:
        >>> from qtcore import CapabilityError, NoiseModel
        >>> from qtcore_cuquantum.noise import to_cuquantum_noise
        >>> try:
        ...     to_cuquantum_noise(NoiseModel(readout=0.01))
        ... except CapabilityError:
        ...     print("noiseless backend")
        noiseless backend
    """
    model = normalize_noise(noise)
    if model is not None:
        raise CapabilityError(
            f"cuquantum.statevec simulates pure states and cannot apply {model!r}; pass "
            "noise=None, or use a backend whose capabilities include noise (qiskit.aer, "
            "cirq.density_matrix, reference)"
        )
