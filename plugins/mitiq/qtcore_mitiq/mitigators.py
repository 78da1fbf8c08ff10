"""The ``mitiq.zne`` and ``mitiq.rem`` mitigators: Mitiq's folding, factories and REM.

Both take the backend per call, as the :class:`qtcore.Mitigator` protocol says, and return
quasi-probabilities (B, 2**n) float64 whose rows sum to 1 and may hold negative entries;
``project=True`` maps every row to the nearest probability vector (Euclidean projection onto
the simplex, :func:`project_to_simplex`). Each reports the shots its last run spent
(``last_shots_spent``) and the budget of a call before running it (:meth:`~ZNEMitigator.
shots_per_call`), so comparisons can be made at equal budget.

Zero-noise extrapolation (:class:`ZNEMitigator`): every circuit goes to Cirq
(:func:`qtcore_mitiq.convert.to_cirq`), Mitiq folds it (``G → G G† G``) to each scale factor,
the folded circuits come back to the IR as real gates, and the user's backend runs them
under the user's :class:`~qtcore.NoiseModel`, which puts its depolarizing channel after every
gate, folded ones included: at an odd integer scale factor λ every gate is folded and the
gate noise is exactly λ times as many channels. Then every outcome probability is
extrapolated to λ = 0 with a Mitiq factory. Readout error is not scaled by folding (it
happens once, at measurement) and passes through ZNE unchanged: combine with REM
(``rem=True``) to remove it too.

Example:
    >>> import numpy as np
    >>> import qtcore
    >>> from qtcore_mitiq import ZNEMitigator
    >>> zne = ZNEMitigator(exact=True)
    >>> P = np.array([[0.1, 0.2, 0.3, 0.4]])
    >>> noise = qtcore.NoiseModel(depolarizing_1q=0.002, depolarizing_2q=0.02)
    >>> ref = qtcore.get_backend("reference")
    >>> raw = ref.distribution_probabilities(P, noise)
    >>> mitigated = zne.sample_distributions(ref, P, shots=1, noise=noise)
    >>> bool(np.abs(mitigated - P).sum() < np.abs(raw - P).sum() / 20)
    True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

import qtcore
from qtcore import (
    BackendError,
    CapabilityError,
    Circuit,
    Gate,
    InvalidInput,
    NoiseModel,
    QtcoreError,
)
from qtcore.noise import normalize_noise
from qtcore_mitiq.convert import from_cirq, to_cirq

__all__ = [
    "FACTORIES",
    "SCALINGS",
    "REMMitigator",
    "ZNEMitigator",
    "extrapolate",
    "extrapolation_weights",
    "project_to_simplex",
]

#: Extrapolation methods: name -> Mitiq factory class name.
FACTORIES = {
    "richardson": "RichardsonFactory",
    "linear": "LinearFactory",
    "poly": "PolyFactory",
    "exp": "ExpFactory",
}

#: Noise-scaling methods: name -> function in ``mitiq.zne.scaling``.
SCALINGS = {"fold_gates_at_random": "fold_gates_at_random", "fold_global": "fold_global"}


# -- pure functions ---------------------------------------------------------------------------
def project_to_simplex(Q: Any) -> np.ndarray:
    """Euclidean projection of every row onto the probability simplex.

    For a row ``q`` it returns the probability vector ``p`` minimising ``‖p − q‖₂``, which is
    ``max(q − τ, 0)`` for the one ``τ`` that makes the row sum to 1 (found by sorting,
    O(D log D) per row; Held, Wolfe and Crowder 1974, Duchi et al. 2008). A row that is
    already a probability vector is returned unchanged. The projection is biased (it cannot
    return negative entries) but never increases the Euclidean distance to any probability
    vector, in particular to the true distribution.

    Args:
        Q: (B, D) finite real rows (quasi-probabilities).

    Returns:
        (B, D) float64 probability rows.

    Raises:
        InvalidInput: ``Q`` is not a finite 2-D real array.

    Example:
        >>> import numpy as np
        >>> from qtcore_mitiq import project_to_simplex
        >>> project_to_simplex(np.array([[1.1, -0.05, -0.05], [0.2, 0.3, 0.5]])).tolist()
        [[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]
    """
    q = np.asarray(Q, dtype=np.float64)
    if q.ndim != 2 or not np.all(np.isfinite(q)):
        raise InvalidInput(f"project_to_simplex takes finite (batch, D) rows, got shape {q.shape}")
    if q.shape[0] == 0 or q.shape[1] == 0:
        return q.copy()
    u = -np.sort(-q, axis=1)
    css = np.cumsum(u, axis=1) - 1.0
    ks = np.arange(1, q.shape[1] + 1)
    # the largest k with u_k > (Σ_{i≤k} u_i − 1)/k; k = 1 always qualifies
    rho = np.count_nonzero(u - css / ks > 0, axis=1)
    tau = css[np.arange(q.shape[0]), rho - 1] / rho
    out: np.ndarray = np.maximum(q - tau[:, None], 0.0)
    return out


def _check_factory(factory: str, scale_factors: Sequence[float], order: int | None) -> None:
    if factory not in FACTORIES:
        raise InvalidInput(f"unknown factory {factory!r}; choose one of {sorted(FACTORIES)}")
    k = len(scale_factors)
    if factory == "poly":
        if order is None or isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise InvalidInput(f"factory 'poly' needs order=int ≥ 1, got order={order!r}")
        if order > k - 1:
            raise InvalidInput(
                f"factory 'poly' of order {order} needs at least {order + 1} scale factors, "
                f"got {list(scale_factors)}; add scale factors or lower the order"
            )
    elif order is not None:
        raise InvalidInput(f"order= applies to factory 'poly' only, not {factory!r}")
    need = {"richardson": 2, "linear": 2, "poly": 2, "exp": 3}[factory]
    if k < need:
        raise InvalidInput(
            f"factory {factory!r} needs at least {need} scale factors, got {list(scale_factors)}"
        )


def _factory_class(factory: str) -> Any:
    from mitiq.zne import inference

    return getattr(inference, FACTORIES[factory])


def extrapolation_weights(
    scale_factors: Sequence[float], factory: str = "richardson", order: int | None = None
) -> np.ndarray:
    """The weights ``w`` with zero-noise limit ``Σ_k w_k y_k`` of a linear Mitiq factory.

    Richardson, Linear and Poly extrapolations are least-squares polynomial fits, linear in
    the values ``y``; their weights are the factory's own ``extrapolate`` applied to the unit
    vectors, so ``w·y`` equals ``Factory.extrapolate(scale_factors, y)`` up to round-off.
    The weights sum to 1 (a constant extrapolates to itself), so extrapolated probability
    rows still sum to 1. ``Σ_k w_k²`` is the factor by which extrapolation multiplies the
    shot-noise variance of one value measured with equal shots at every scale factor.

    Args:
        scale_factors: distinct noise scale factors λ_k ≥ 1.
        factory: ``"richardson"``, ``"linear"`` or ``"poly"``.
        order: polynomial order, for ``"poly"`` only.

    Returns:
        float64 (K,) weights.

    Raises:
        InvalidInput: unknown or non-linear factory (``"exp"``), or too few scale factors.

    Example:
        >>> from qtcore_mitiq import extrapolation_weights
        >>> (extrapolation_weights((1, 3, 5)) * 8).round(9).tolist()
        [15.0, -10.0, 3.0]
    """
    sf = _check_scale_factors(scale_factors)
    _check_factory(factory, sf, order)
    if factory == "exp":
        raise InvalidInput("factory 'exp' is non-linear in the values: it has no weights")
    cls = _factory_class(factory)
    extra = {"order": order} if factory == "poly" else {}
    eye = np.eye(len(sf))
    with warnings.catch_warnings():
        # Richardson fits K points with K coefficients: Mitiq warns that it cannot estimate
        # the fit's covariance, which these weights do not use.
        warnings.simplefilter("ignore")
        return np.array([float(cls.extrapolate(sf, list(e), **extra)) for e in eye])


def extrapolate(
    scale_factors: Sequence[float],
    values: Any,
    factory: str = "richardson",
    *,
    order: int | None = None,
    asymptote: float | None = None,
) -> np.ndarray:
    """Extrapolate every outcome probability to zero noise with a Mitiq factory.

    Args:
        scale_factors: the K noise scale factors.
        values: (K, B, D) outcome probabilities measured at each scale factor.
        factory: ``"richardson"`` (default), ``"linear"``, ``"poly"`` (with ``order``) or
            ``"exp"`` (ansatz ``a + b·exp(−cλ)`` per outcome, with ``asymptote`` = the
            infinite-noise limit; default ``1/D``, the fully depolarized uniform
            distribution).
        order: polynomial order for ``"poly"``.
        asymptote: for ``"exp"`` only.

    Returns:
        (B, D) float64 quasi-probabilities. Linear factories keep row sums at 1 exactly;
        ``"exp"`` is fitted per outcome and the row is then shifted by ``(1 − Σ)/D``, the
        Euclidean projection onto the hyperplane of rows summing to 1.

    Raises:
        InvalidInput: shapes or options inconsistent. QtcoreError: Mitiq's exponential fit
            failed (the message names the row and outcome).

    Example:
        >>> import numpy as np
        >>> from qtcore_mitiq import extrapolate
        >>> lam = np.array([1.0, 3.0, 5.0])
        >>> p0 = np.array([0.7, 0.3])
        >>> values = (p0 + np.outer(lam, [-0.01, 0.01]) + np.outer(lam**2, [1e-3, -1e-3]))
        >>> extrapolate(lam, values[:, None, :]).round(12).tolist()
        [[0.7, 0.3]]
    """
    sf = _check_scale_factors(scale_factors)
    _check_factory(factory, sf, order)
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 3 or y.shape[0] != len(sf) or not np.all(np.isfinite(y)):
        raise InvalidInput(
            f"values must be finite with shape (K={len(sf)}, batch, D), got {y.shape}"
        )
    if asymptote is not None and factory != "exp":
        raise InvalidInput(f"asymptote= applies to factory 'exp' only, not {factory!r}")
    if factory != "exp":
        w = extrapolation_weights(sf, factory, order)
        out: np.ndarray = np.tensordot(w, y, axes=1)
        return out
    cls = _factory_class("exp")
    _, B, D = y.shape
    limit = 1.0 / D if asymptote is None else float(asymptote)
    out = np.empty((B, D))
    from mitiq.zne.inference import ExtrapolationError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(B):
            for j in range(D):
                try:
                    out[b, j] = cls.extrapolate(sf, list(y[:, b, j]), asymptote=limit)
                except (ExtrapolationError, ValueError, RuntimeError) as exc:
                    raise QtcoreError(
                        f"Mitiq's exponential fit failed for row {b}, outcome {j} "
                        f"(values {y[:, b, j].tolist()}): {exc}; use factory 'richardson' "
                        "or 'linear'"
                    ) from exc
    out += (1.0 - out.sum(axis=1, keepdims=True)) / D
    return out


def _check_scale_factors(scale_factors: Any) -> list[float]:
    try:
        sf = [float(s) for s in scale_factors]
    except (TypeError, ValueError):
        raise InvalidInput(
            f"scale_factors must be a sequence of numbers ≥ 1, got {scale_factors!r}"
        ) from None
    if not sf or any(not np.isfinite(s) or s < 1 for s in sf) or len(set(sf)) != len(sf):
        raise InvalidInput(
            f"scale_factors must be distinct finite numbers ≥ 1, got {scale_factors!r}; "
            "for example (1, 3, 5)"
        )
    return sf


# -- shared plumbing --------------------------------------------------------------------------
def _check_backend(backend: Any) -> qtcore.Backend:
    if isinstance(backend, str):
        raise InvalidInput(
            f"pass a backend object, not its name {backend!r}: "
            f"mitigator.run(qtcore.get_backend({backend!r}), ...)"
        )
    if not isinstance(backend, qtcore.Backend):
        raise InvalidInput(
            f"backend must implement qtcore.Backend (run, sample_distributions, "
            f"capabilities), got {type(backend).__name__}"
        )
    return backend


def _check_circuits(circuits: Any) -> list[Circuit]:
    if isinstance(circuits, Circuit):
        raise InvalidInput("pass a list of circuits, e.g. [circuit], not one Circuit")
    out: list[Circuit] = list(circuits)
    for c in out:
        if not isinstance(c, Circuit):
            raise InvalidInput(f"circuits must be qtcore.Circuit objects, got {type(c).__name__}")
    if len({c.n_qubits for c in out}) > 1:
        raise InvalidInput(
            "all circuits in one call must have the same n_qubits, got "
            f"{sorted({c.n_qubits for c in out})}; split the batch by width"
        )
    return out


def _seed_root(seed: int | None) -> int:
    """The entropy every derived seed comes from: the user's seed, or fresh OS entropy."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    return seed


def _derived_seeds(root: int, stream: int, count: int) -> list[int]:
    state = np.random.SeedSequence(root, spawn_key=(stream,)).generate_state(count)
    return [int(s) for s in state]


def _measure(
    backend: qtcore.Backend,
    circuits: list[Circuit],
    *,
    shots: int,
    seed: int,
    noise: NoiseModel | None,
    exact: bool,
) -> np.ndarray:
    """Outcome frequencies (B, 2**n): counts / shots, or exact probabilities."""
    if exact:
        probabilities = getattr(backend, "probabilities", None)
        if not backend.capabilities.exact_probabilities or probabilities is None:
            raise CapabilityError(
                f"exact=True needs a backend with exact_probabilities; {backend.name!r} has "
                "none. Use shots (exact=False) or the 'reference' backend"
            )
        out: np.ndarray = np.asarray(probabilities(circuits, noise=noise), dtype=np.float64)
        return out
    counts = backend.run(circuits, shots=shots, seed=seed, noise=noise)
    out = np.asarray(counts, dtype=np.float64) / shots
    return out


def _validate_call(
    backend: Any, circuits: Any, shots: Any, seed: Any, noise: Any
) -> tuple[qtcore.Backend, list[Circuit], int, int | None, NoiseModel | None]:
    backend = _check_backend(backend)
    circuits = _check_circuits(circuits)
    shots = qtcore.validate_shots(shots, backend.capabilities.max_shots)
    seed = qtcore.validate_seed(seed)
    noise = normalize_noise(noise)
    if noise is not None and not backend.capabilities.noise:
        raise CapabilityError(
            f"backend {backend.name!r} does not model noise; pass noise=None (then "
            "mitigation returns the raw distribution in expectation) or choose a backend "
            "whose capabilities include noise"
        )
    return backend, circuits, shots, seed, noise


def _finish(q: np.ndarray, project: bool) -> np.ndarray:
    out = project_to_simplex(q) if project else q
    return np.ascontiguousarray(out, dtype=np.float64)


# -- readout-error mitigation -----------------------------------------------------------------
class REMMitigator:
    """``mitiq.rem``: readout-error mitigation with Mitiq's tensored inverse confusion matrix.

    Per qubit q the confusion matrix is ``[[1 − p0_q, p1_q], [p0_q, 1 − p1_q]]`` (column =
    prepared bit, row = read bit; ``p0`` = P(read 1 | 0), ``p1`` = P(read 0 | 1)), and
    ``mitiq.rem.generate_tensored_inverse_confusion_matrix`` builds the inverse of their
    tensor product (qubit 0 is the leftmost factor, the most significant bit, as in our
    outcome order). The mitigated row is ``A⁻¹·f`` for the measured frequencies ``f``:
    unbiased for a tensored readout channel, exact with exact probabilities. Mitiq's
    ``mitigate_measurements`` is not used: it projects with an optimiser and re-samples
    bitstrings from NumPy's unseeded global generator, which would add shot noise and break
    the seed contract; the linear step it starts with is the one applied here.

    Args:
        confusion: where the confusion matrix comes from: ``"noise"`` (the ``NoiseModel``'s
            symmetric ``readout`` rate; no noise means the identity), ``"calibrate"`` (run
            ``|0…0⟩`` and ``|1…1⟩`` — ``x`` on every qubit — on the backend and read each
            qubit's flip rates from the marginals; the ``x`` gates' own noise, 2·p₁q/3, is
            counted as readout error), or ``"auto"`` (default: ``"noise"`` when a
            ``NoiseModel`` is passed, else ``"calibrate"``, for backends with their own
            noise).
        calibration_shots: shots per calibration circuit; default: the call's ``shots``.
        project: map every row onto the probability simplex (:func:`project_to_simplex`).
        exact: use the backend's exact probabilities (``capabilities.exact_probabilities``)
            instead of shots: for measuring bias in tests and benchmarks; no shots are spent.

    Attributes:
        last_shots_spent: total shots the last :meth:`run` spent (circuits and calibration).
        last_confusion_matrices: the per-qubit 2×2 confusion matrices of the last run.

    Example:
        >>> import numpy as np
        >>> import qtcore
        >>> from qtcore_mitiq import REMMitigator
        >>> ref = qtcore.get_backend("reference")
        >>> P = np.array([[0.5, 0.0, 0.25, 0.25]])
        >>> rem = REMMitigator(exact=True)
        >>> q = rem.sample_distributions(ref, P, shots=1, noise=qtcore.NoiseModel(readout=0.1))
        >>> bool(np.abs(q - P).max() < 1e-12)
        True
    """

    name = "mitiq.rem"

    def __init__(
        self,
        *,
        confusion: str = "auto",
        calibration_shots: int | None = None,
        project: bool = False,
        exact: bool = False,
    ) -> None:
        if confusion not in ("auto", "noise", "calibrate"):
            raise InvalidInput(
                f"confusion must be 'auto', 'noise' or 'calibrate', got {confusion!r}"
            )
        if calibration_shots is not None:
            calibration_shots = qtcore.validate_shots(calibration_shots)
        self.confusion = confusion
        self.calibration_shots = calibration_shots
        self.project = bool(project)
        self.exact = bool(exact)
        self.last_shots_spent = 0
        self.last_confusion_matrices: list[np.ndarray] = []

    def __repr__(self) -> str:
        return (
            f"REMMitigator(confusion={self.confusion!r}, "
            f"calibration_shots={self.calibration_shots!r}, project={self.project!r}, "
            f"exact={self.exact!r})"
        )

    def _source(self, noise: NoiseModel | None) -> str:
        if self.confusion == "auto":
            return "noise" if noise is not None else "calibrate"
        return self.confusion

    def calibration_budget(self, n_qubits: int, shots: int, noise: NoiseModel | None) -> int:
        """Shots the calibration circuits of one call spend (0 with ``confusion="noise"``).

        Example:
            >>> from qtcore_mitiq import REMMitigator
            >>> REMMitigator(confusion="calibrate", calibration_shots=500).calibration_budget(
            ...     3, shots=100, noise=None)
            1000
        """
        if self.exact or self._source(normalize_noise(noise)) == "noise":
            return 0
        return 2 * (self.calibration_shots or shots)

    def shots_per_call(
        self, n_circuits: int, shots: int, *, n_qubits: int = 1, noise: NoiseModel | None = None
    ) -> int:
        """The total shots :meth:`run` will spend on ``n_circuits`` circuits.

        Example:
            >>> from qtcore_mitiq import REMMitigator
            >>> REMMitigator(confusion="calibrate").shots_per_call(4, 1000)
            6000
        """
        if self.exact:
            return 0
        return n_circuits * shots + self.calibration_budget(n_qubits, shots, noise)

    def confusion_matrices(
        self,
        backend: qtcore.Backend,
        n_qubits: int,
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
    ) -> list[np.ndarray]:
        """The per-qubit confusion matrices (n × 2×2) this mitigator would use.

        Returns:
            A list of ``n_qubits`` arrays ``[[1 − p0, p1], [p0, 1 − p1]]``.

        Raises:
            BackendError: calibration shows a qubit whose readout carries no information
                (``p0 + p1 ≥ 1``), so it cannot be inverted.

        Example:
            >>> import qtcore
            >>> from qtcore_mitiq import REMMitigator
            >>> m = REMMitigator().confusion_matrices(
            ...     qtcore.get_backend("reference"), 1, shots=10,
            ...     noise=qtcore.NoiseModel(readout=0.25))
            >>> m[0].tolist()
            [[0.75, 0.25], [0.25, 0.75]]
        """
        backend = _check_backend(backend)
        noise = normalize_noise(noise)
        self.last_shots_spent = 0
        if self._source(noise) == "noise":
            r = 0.0 if noise is None else noise.readout
            if r >= 0.5:
                raise InvalidInput(
                    "readout=0.5 erases every bit; readout-error mitigation cannot invert it"
                )
            return [np.array([[1 - r, r], [r, 1 - r]]) for _ in range(n_qubits)]
        cal_shots = self.calibration_shots or shots
        circuits = [
            Circuit(n_qubits),
            Circuit(n_qubits, tuple(Gate("x", (q,)) for q in range(n_qubits))),
        ]
        root = _seed_root(seed)
        freqs = _measure(
            backend,
            circuits,
            shots=cal_shots,
            seed=_derived_seeds(root, 2, 1)[0],
            noise=noise,
            exact=self.exact,
        )
        self.last_shots_spent = 0 if self.exact else 2 * cal_shots
        bits = (np.arange(2**n_qubits)[:, None] >> (n_qubits - 1 - np.arange(n_qubits))) & 1
        p_one = freqs @ bits  # (2, n): P(read 1) per qubit for |0…0⟩ and |1…1⟩
        matrices = []
        for q in range(n_qubits):
            p0, p1 = float(p_one[0, q]), float(1.0 - p_one[1, q])
            if p0 + p1 >= 1.0:
                raise BackendError(
                    f"calibration on {backend.name!r}: qubit {q} reads 1 with probability "
                    f"{p0:.4g} from |0⟩ and 0 with probability {p1:.4g} from |1⟩; its readout "
                    "carries no information and cannot be inverted (more calibration shots?)"
                )
            matrices.append(np.array([[1 - p0, p1], [p0, 1 - p1]]))
        return matrices

    def inverse_confusion_matrix(self, matrices: Sequence[np.ndarray]) -> np.ndarray:
        """Mitiq's tensored inverse of per-qubit confusion matrices (2**n × 2**n).

        Example:
            >>> import numpy as np
            >>> from qtcore_mitiq import REMMitigator
            >>> cm = np.array([[0.9, 0.2], [0.1, 0.8]])
            >>> inv = REMMitigator().inverse_confusion_matrix([cm, cm])
            >>> bool(np.allclose(inv @ np.kron(cm, cm), np.eye(4)))
            True
        """
        from mitiq.rem import generate_tensored_inverse_confusion_matrix

        matrices = [np.asarray(m, dtype=np.float64) for m in matrices]
        out: np.ndarray = generate_tensored_inverse_confusion_matrix(len(matrices), matrices)
        return out

    def mitigate(self, frequencies: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
        """Apply the inverse confusion matrix to frequency rows (…, 2**n).

        Example:
            >>> import numpy as np
            >>> from qtcore_mitiq import REMMitigator
            >>> cm = np.array([[0.9, 0.1], [0.1, 0.9]])
            >>> REMMitigator().mitigate(np.array([[0.9, 0.1]]), [cm]).round(12) + 0.0
            array([[1., 0.]])
        """
        inv = self.inverse_confusion_matrix(matrices)
        out: np.ndarray = np.asarray(frequencies, dtype=np.float64) @ inv.T
        return out

    def run(
        self,
        backend: qtcore.Backend,
        circuits: Sequence[Circuit],
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
    ) -> np.ndarray:
        """Run ``circuits`` on ``backend`` and undo the readout error.

        Args:
            backend: any :class:`qtcore.Backend`.
            circuits: circuits on one width, parameters bound.
            shots: shots per circuit (and per calibration circuit unless
                ``calibration_shots`` is set).
            seed: None or int ≥ 0; the same seed gives the same result.
            noise: the :class:`~qtcore.NoiseModel` the backend applies.

        Returns:
            (B, 2**n) float64 quasi-probabilities, rows summing to 1.

        Raises:
            InvalidInput: bad backend, circuits, shots or seed. CapabilityError: noise on a
                backend without noise, ``exact=True`` without exact probabilities.

        Example:
            >>> import qtcore
            >>> from qtcore import Circuit, Gate
            >>> from qtcore_mitiq import REMMitigator
            >>> rem = REMMitigator()
            >>> q = rem.run(qtcore.get_backend("reference"), [Circuit(1, (Gate("x", (0,)),))],
            ...             shots=1000, seed=1, noise=qtcore.NoiseModel(readout=0.05))
            >>> rem.last_shots_spent, q.shape, round(float(q.sum()), 12)
            (1000, (1, 2), 1.0)
        """
        backend, circuits, shots, seed, noise = _validate_call(
            backend, circuits, shots, seed, noise
        )
        if not circuits:
            self.last_shots_spent = 0
            return np.zeros((0, 0))
        n = circuits[0].n_qubits
        root = _seed_root(seed)
        freqs = _measure(
            backend,
            circuits,
            shots=shots,
            seed=_derived_seeds(root, 1, 1)[0],
            noise=noise,
            exact=self.exact,
        )
        matrices = self.confusion_matrices(backend, n, shots=shots, seed=root, noise=noise)
        self.last_confusion_matrices = matrices
        self.last_shots_spent += 0 if self.exact else len(circuits) * shots
        return _finish(self.mitigate(freqs, matrices), self.project)

    def sample_distributions(
        self,
        backend: qtcore.Backend,
        P: Any,
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
    ) -> np.ndarray:
        """Mitigated distributions of ``amplitude_encoding(P)``: (B, 2**n) quasi-probabilities.

        Example:
            >>> import numpy as np
            >>> import qtcore
            >>> from qtcore_mitiq import REMMitigator
            >>> q = REMMitigator().sample_distributions(
            ...     qtcore.get_backend("reference"), np.array([[0.25, 0.75]]), shots=10, seed=0)
            >>> q.shape
            (1, 2)
        """
        return self.run(backend, qtcore.amplitude_encoding(P), shots=shots, seed=seed, noise=noise)


# -- zero-noise extrapolation -----------------------------------------------------------------
_Step = tuple[str, tuple[int, ...], int, float]
_MAX_PLANS = 256


def _angle(circuit: Circuit, index: int, sign: float) -> Any:
    theta = circuit.gates[index].params[0]
    # negation keeps an unbound Parameter a Parameter (a folded template binds like the
    # original) and is exact for floats, unlike Cirq's inverse (θ/π)·π
    return theta if sign > 0 else -theta


class ZNEMitigator:
    """``mitiq.zne``: zero-noise extrapolation with Mitiq's unitary folding and factories.

    Args:
        scale_factors: noise scale factors, distinct and ≥ 1; default ``(1, 3, 5)``. Odd
            integers fold every gate (each gate's noise scaled exactly); a fractional factor
            folds a random subset of gates whatever their noise, which under noise dominated
            by two-qubit gates mis-states the scale (Mitiq's own default (1, 2, 3) can make
            the result worse; docs/mitigation.md has the numbers).
        scaling: ``"fold_gates_at_random"`` (default; Mitiq's local folding, seeded per
            circuit from ``seed``) or ``"fold_global"`` (``C (C†C)^k``).
        factory: ``"richardson"`` (default), ``"linear"``, ``"poly"`` (with ``order``) or
            ``"exp"`` (with ``asymptote``, default ``1/2**n``): see :func:`extrapolate`.
        order: polynomial order for ``"poly"``.
        asymptote: infinite-noise limit for ``"exp"``.
        rem: also mitigate readout error: ``True`` for a default :class:`REMMitigator`, or an
            :class:`REMMitigator` to configure it. Readout inversion is applied at every scale
            factor before extrapolating (both steps are linear, so the order does not matter
            for linear factories).
        project: map every row onto the probability simplex (:func:`project_to_simplex`).
        exact: use the backend's exact probabilities instead of shots (bias measurements).

    Attributes:
        last_shots_spent: total shots of the last :meth:`run` (all scale factors and any
            REM calibration).
        last_scaled: (K, B, 2**n) frequencies measured at each scale factor in the last run
            (after REM when ``rem`` is on), for diagnostics.

    Example:
        >>> import qtcore
        >>> from qtcore import Circuit, Gate
        >>> from qtcore_mitiq import ZNEMitigator
        >>> zne = ZNEMitigator()
        >>> zne.shots_per_call(n_circuits=2, shots=1000)
        6000
        >>> bell = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
        >>> q = zne.run(qtcore.get_backend("reference"), [bell, bell], shots=1000, seed=3,
        ...             noise=qtcore.NoiseModel(depolarizing_2q=0.05))
        >>> q.shape, zne.last_shots_spent
        ((2, 4), 6000)
    """

    name = "mitiq.zne"

    def __init__(
        self,
        *,
        scale_factors: Sequence[float] = (1, 3, 5),
        scaling: str = "fold_gates_at_random",
        factory: str = "richardson",
        order: int | None = None,
        asymptote: float | None = None,
        rem: bool | REMMitigator = False,
        project: bool = False,
        exact: bool = False,
    ) -> None:
        self.scale_factors = tuple(_check_scale_factors(scale_factors))
        if scaling not in SCALINGS:
            raise InvalidInput(f"unknown scaling {scaling!r}; choose one of {sorted(SCALINGS)}")
        _check_factory(factory, self.scale_factors, order)
        if asymptote is not None and factory != "exp":
            raise InvalidInput(f"asymptote= applies to factory 'exp' only, not {factory!r}")
        if isinstance(rem, REMMitigator):
            self.rem: REMMitigator | None = rem
        elif rem is True:
            self.rem = REMMitigator(exact=exact)
        elif rem is False or rem is None:
            self.rem = None
        else:
            raise InvalidInput(f"rem must be a bool or a REMMitigator, got {rem!r}")
        if self.rem is not None and self.rem.exact != bool(exact):
            raise InvalidInput("rem and ZNE must agree on exact=; pass REMMitigator(exact=...)")
        self.scaling = scaling
        self.factory = factory
        self.order = order
        self.asymptote = asymptote
        self.project = bool(project)
        self.exact = bool(exact)
        self.last_shots_spent = 0
        self.last_scaled: np.ndarray = np.zeros((0, 0, 0))
        self._plans: dict[Any, list[_Step]] = {}

    def __repr__(self) -> str:
        return (
            f"ZNEMitigator(scale_factors={self.scale_factors!r}, scaling={self.scaling!r}, "
            f"factory={self.factory!r}, order={self.order!r}, rem={self.rem!r}, "
            f"project={self.project!r}, exact={self.exact!r})"
        )

    def shots_per_call(
        self, n_circuits: int, shots: int, *, n_qubits: int = 1, noise: NoiseModel | None = None
    ) -> int:
        """The total shots :meth:`run` will spend: circuits × scale factors × shots (+ REM
        calibration, if any).

        Example:
            >>> from qtcore_mitiq import REMMitigator, ZNEMitigator
            >>> ZNEMitigator(rem=REMMitigator(confusion="calibrate")).shots_per_call(3, 100)
            1100
        """
        if self.exact:
            return 0
        total = n_circuits * len(self.scale_factors) * shots
        if self.rem is not None:
            total += self.rem.calibration_budget(n_qubits, shots, noise)
        return total

    def fold(
        self, circuits: Sequence[Circuit], scale_factor: float, seed: int | None = None
    ) -> list[Circuit]:
        """The circuits folded by Mitiq to ``scale_factor``, back in the IR.

        A scale factor of 1 returns the circuits themselves. Every folded gate is a real
        gate of the returned circuit, so a backend puts its noise after it. At an odd integer
        scale factor (every gate folded) and with ``fold_global`` the folded circuit depends
        only on the gate structure: Mitiq folds each structure once (cached on the
        mitigator) and each circuit's own angles are copied in, which makes folding a batch
        of amplitude encodings cost one Mitiq call per width instead of one per row.

        Args:
            circuits: circuits on one width, parameters bound.
            scale_factor: ≥ 1.
            seed: seeds Mitiq's random choice of gates (``fold_gates_at_random``'s ``seed=``),
                one derived seed per circuit; None draws fresh entropy.

        Example:
            >>> from qtcore import Circuit, Gate
            >>> from qtcore_mitiq import ZNEMitigator
            >>> c = Circuit(2, (Gate("ry", (0,), (0.4,)), Gate("cx", (0, 1))))
            >>> [g.name for g in ZNEMitigator().fold([c], 3, seed=0)[0].gates]
            ['ry', 'ry', 'ry', 'cx', 'cx', 'cx']
        """
        (factor,) = _check_scale_factors([scale_factor])
        circuits = _check_circuits(circuits)
        if factor == 1.0:
            return circuits
        if self.scaling == "fold_global" or (factor.is_integer() and int(factor) % 2 == 1):
            # The folded circuit depends on the gate structure only (global folding, or
            # local folding of every gate at an odd scale): fold once per structure and
            # copy each circuit's own angles into the plan.
            out = []
            for circuit in circuits:
                key = (tuple((g.name, g.qubits) for g in circuit.gates), factor)
                if key not in self._plans:
                    if len(self._plans) >= _MAX_PLANS:
                        self._plans.clear()
                    self._plans[key] = self._plan(circuit, factor)
                out.append(
                    Circuit(
                        circuit.n_qubits,
                        tuple(
                            Gate(name, qubits, () if src < 0 else (_angle(circuit, src, sign),))
                            for name, qubits, src, sign in self._plans[key]
                        ),
                    )
                )
            return out
        seeds = _derived_seeds(_seed_root(seed), 0, len(circuits))
        return [self._mitiq_fold(c, factor, s) for c, s in zip(circuits, seeds)]

    def _mitiq_fold(self, circuit: Circuit, factor: float, seed: int) -> Circuit:
        from mitiq.zne import scaling

        fold = getattr(scaling, SCALINGS[self.scaling])
        native = to_cirq(circuit)
        if self.scaling == "fold_gates_at_random":
            # Mitiq 1.1.0 reads ``seed=`` and silently ignores any other keyword.
            folded = fold(native, factor, seed=seed)
        else:
            folded = fold(native, factor)
        return from_cirq(folded, circuit.n_qubits)

    def _plan(self, circuit: Circuit, factor: float) -> list[_Step]:
        """Mitiq's folding of ``circuit``'s structure: per folded gate, its name, qubits, the
        index of the source gate whose angle it carries (−1 for none) and the angle's sign.

        The structure is folded with marker angles ``1, 2, 3, …`` (gate ``j`` gets ``j + 1``
        radians), so every folded rotation names its source by its angle's magnitude and
        says by its sign whether it is the gate or its inverse.
        """
        marked = Circuit(
            circuit.n_qubits,
            tuple(
                Gate(g.name, g.qubits, (float(j + 1),) if g.params else ())
                for j, g in enumerate(circuit.gates)
            ),
        )
        folded = self._mitiq_fold(marked, factor, 0)
        plan: list[_Step] = []
        for g in folded.gates:
            if not g.params:
                plan.append((g.name, g.qubits, -1, 1.0))
                continue
            theta = float(g.params[0])  # type: ignore[arg-type]
            src = round(abs(theta)) - 1
            if (
                abs(abs(theta) - (src + 1)) > 1e-6
                or not 0 <= src < len(circuit.gates)
                or circuit.gates[src].name != g.name
                or circuit.gates[src].qubits != g.qubits
            ):
                raise BackendError(
                    f"folding moved gate {g.name}{g.qubits} away from its source; this is a "
                    "bug in qtcore-mitiq, please report it with the circuit's to_json()"
                )
            plan.append((g.name, g.qubits, src, 1.0 if theta > 0 else -1.0))
        return plan

    def run(
        self,
        backend: qtcore.Backend,
        circuits: Sequence[Circuit],
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
    ) -> np.ndarray:
        """Fold, run at every scale factor on ``backend``, and extrapolate to zero noise.

        Args:
            backend: any :class:`qtcore.Backend`; one that cannot model noise works with
                ``noise=None`` (all scale factors then agree in expectation and the result
                equals the raw distribution in expectation).
            circuits: circuits on one width, parameters bound.
            shots: shots per circuit **per scale factor** (the call spends
                :meth:`shots_per_call`).
            seed: None or int ≥ 0: seeds the folding and the backend; same seed, same result.
            noise: the :class:`~qtcore.NoiseModel` the backend applies.

        Returns:
            (B, 2**n) float64 quasi-probabilities, rows summing to 1.

        Raises:
            InvalidInput: bad backend, circuits, shots or seed. CapabilityError: noise on a
                backend without noise, ``exact=True`` without exact probabilities, a gate the
                backend lacks.
        """
        backend, circuits, shots, seed, noise = _validate_call(
            backend, circuits, shots, seed, noise
        )
        if not circuits:
            self.last_shots_spent = 0
            return np.zeros((0, 0))
        n = circuits[0].n_qubits
        root = _seed_root(seed)
        fold_roots = _derived_seeds(root, 3, len(self.scale_factors))
        run_seeds = _derived_seeds(root, 1, len(self.scale_factors))
        scaled = []
        spent = 0
        for factor, fold_root, run_seed in zip(self.scale_factors, fold_roots, run_seeds):
            folded = self.fold(circuits, factor, seed=fold_root)
            scaled.append(
                _measure(backend, folded, shots=shots, seed=run_seed, noise=noise, exact=self.exact)
            )
            spent += 0 if self.exact else len(circuits) * shots
        values = np.stack(scaled)
        if self.rem is not None:
            matrices = self.rem.confusion_matrices(backend, n, shots=shots, seed=root, noise=noise)
            spent += self.rem.last_shots_spent
            values = self.rem.mitigate(values, matrices)
        self.last_scaled = values
        self.last_shots_spent = spent
        q = extrapolate(
            self.scale_factors, values, self.factory, order=self.order, asymptote=self.asymptote
        )
        return _finish(q, self.project)

    def sample_distributions(
        self,
        backend: qtcore.Backend,
        P: Any,
        *,
        shots: int,
        seed: int | None = None,
        noise: NoiseModel | None = None,
    ) -> np.ndarray:
        """Mitigated distributions of ``amplitude_encoding(P)``: (B, 2**n) quasi-probabilities.

        Example:
            >>> import numpy as np
            >>> import qtcore
            >>> from qtcore_mitiq import ZNEMitigator
            >>> q = ZNEMitigator().sample_distributions(
            ...     qtcore.get_backend("reference"), np.array([[0.25, 0.75]]), shots=10, seed=0)
            >>> q.shape
            (1, 2)
        """
        return self.run(backend, qtcore.amplitude_encoding(P), shots=shots, seed=seed, noise=noise)
