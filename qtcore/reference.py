"""The ``reference`` backend: exact numpy simulation, the ground truth of conformance.

Noiseless circuits are simulated as statevectors, noisy ones as density matrices under
:mod:`qtcore.noise`'s convention; shots are multinomial draws from the exact probabilities,
one seeded stream per row (:mod:`qtcore.shots`), keyed by the row's index in the whole batch
(``row_seeded``), so a batch split over an executor gives the same counts as one call.

Example:
    >>> import numpy as np
    >>> import qtcore
    >>> ref = qtcore.get_backend("reference")
    >>> ref.sample_distributions(np.array([[0.0, 0.0, 1.0]]), shots=4, seed=0).tolist()
    [[0, 0, 4, 0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qtcore.backend import BackendBase
from qtcore.circuit import Circuit
from qtcore.encoding import encoding_template
from qtcore.noise import NoiseModel, normalize_noise
from qtcore.shots import sample_counts
from qtcore.simulator import probabilities as simulate_probabilities
from qtcore.types import Capabilities

__all__ = ["ReferenceBackend"]

MAX_QUBITS = 10


class ReferenceBackend(BackendBase):
    """Exact statevector / density-matrix simulator of the IR, up to 10 qubits.

    Example:
        >>> from qtcore import Circuit, Gate, NoiseModel
        >>> from qtcore.reference import ReferenceBackend
        >>> ref = ReferenceBackend()
        >>> ref.probabilities([Circuit(1, (Gate("x", (0,)),))],
        ...                   noise=NoiseModel(depolarizing_1q=0.3)).round(6).tolist()
        [[0.2, 0.8]]
    """

    name = "reference"
    capabilities = Capabilities(
        max_qubits=MAX_QUBITS,
        noise=True,
        parameter_binding=True,
        exact_probabilities=True,
        row_seeded=True,
    )

    def probabilities(
        self, circuits: Sequence[Circuit], noise: NoiseModel | None = None
    ) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) float64 under ``noise``.

        Raises:
            InvalidInput, CapabilityError: as :meth:`run`.
        """
        _, _, noise = self._check_common(1, None, noise)
        circuits = list(circuits)
        if not circuits:
            return np.zeros((0, 0))
        self._check_circuits(circuits)
        return simulate_probabilities(circuits, noise)

    def distribution_probabilities(
        self, P: np.ndarray, noise: NoiseModel | None = None
    ) -> np.ndarray:
        """Exact outcome probabilities of ``amplitude_encoding(P)`` under ``noise`` (B, 2**n).

        Example:
            >>> import numpy as np
            >>> from qtcore.reference import ReferenceBackend
            >>> ReferenceBackend().distribution_probabilities(np.array([[0.3, 0.7]])).round(6)
            array([[0.3, 0.7]])
        """
        from qtcore.validation import validate_distributions

        _, _, noise = self._check_common(1, None, noise)
        padded = validate_distributions(P)
        n = padded.shape[1].bit_length() - 1
        self._check_width(n)
        if padded.shape[0] == 0:
            return np.zeros((0, 2**n))
        return self._exact(padded, noise)

    def _exact(self, P: np.ndarray, noise: NoiseModel | None) -> np.ndarray:
        if noise is None:
            # The Möttönen state is exactly Σ √p_j |j⟩ (tested to 1e-10 for n = 1…10), so
            # its ideal outcome distribution is P itself; simulating it would only add
            # round-off.
            return np.array(P, copy=True)
        n = P.shape[1].bit_length() - 1
        template = encoding_template(n)
        return simulate_probabilities(template.bind(template.angles(P, validated=True)), noise)

    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        probs = simulate_probabilities(circuits, normalize_noise(noise))
        return sample_counts(probs, shots, seed, row_offset)

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        return sample_counts(self._exact(P, noise), shots, seed, row_offset)
