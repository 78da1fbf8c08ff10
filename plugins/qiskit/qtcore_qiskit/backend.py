"""qtcore backends on Qiskit: ``qiskit.aer``, ``qiskit.fake:<device>``, ``qiskit.ibm:<device>``.

All three compile :func:`qtcore.encoding_template` once per number of qubits into a
``QuantumCircuit`` with ``Parameter`` slots and bind every row of a batch in one job.

Seeds. A qtcore seed ``s`` becomes one Aer seed, ``aer_seed(s)`` (64 bits of
``numpy.random.SeedSequence(s)``, shifted right by 2), passed as ``seed_simulator`` to a
single Aer job holding the whole batch; Aer derives experiment ``i``'s seed from that base
and ``i``. So the same ``s`` gives the same counts, row ``i``'s counts depend only on
``s``, ``i`` and the row, identical rows get different streams, and neighbouring user seeds
(``s`` and ``s + 1``) give unrelated streams. ``seed=None`` draws the base from fresh OS
entropy. IBM hardware cannot be seeded (``capabilities.seeded`` is False there).

Chunks. Aer seeds experiment ``i`` of a job with ``seed_simulator + 2113·i``
(:data:`AER_SEED_STRIDE`, measured on qiskit-aer 0.18 and checked on every chunked job), so a
chunk whose first row is row ``r`` of the whole batch runs with
``seed_simulator = aer_seed(s) + 2113·r`` and each row gets exactly the stream it gets in one
job: ``qiskit.aer`` and ``qiskit.fake:*`` are ``row_seeded``, and a batch split over an
executor (``executor=``) gives the same counts as one call, for any chunk size.

Example:
    >>> import numpy as np
    >>> import qtcore
    >>> aer = qtcore.get_backend("qiskit.aer")
    >>> aer.sample_distributions(np.array([[0.0, 0.0, 1.0, 0.0]]), shots=5, seed=1).tolist()
    [[0, 0, 5, 0]]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qtcore import (
    BackendBase,
    BackendError,
    BackendUnavailable,
    Capabilities,
    Circuit,
    Gate,
    InvalidInput,
    NoiseModel,
    Parameter,
    encoding_template,
)
from qtcore_qiskit.convert import counts_to_array, slot_columns, to_quantum_circuit
from qtcore_qiskit.credentials import known_tokens, redact
from qtcore_qiskit.devices import fake_device_names
from qtcore_qiskit.noise import to_aer_noise_model

__all__ = [
    "AER_MAX_QUBITS",
    "AER_SEED_STRIDE",
    "DENSITY_MATRIX_MAX_QUBITS",
    "AerBackend",
    "DeviceCompiler",
    "FakeDeviceBackend",
    "IBMRuntimeBackend",
    "aer_seed",
    "load_fake_device",
]

#: Largest n of ``qiskit.aer`` (see the README for the measurements behind it).
AER_MAX_QUBITS = 20

#: Aer gives experiment ``i`` of a job the seed ``seed_simulator + AER_SEED_STRIDE * i``
#: (read back from each result's ``seed_simulator``; a chunked job checks it).
AER_SEED_STRIDE = 2113

#: Above this, a noisy job runs as statevector trajectories: a density matrix of n qubits
#: holds 4**n complex numbers (16 MiB at 10, 4 GiB at 14).
DENSITY_MATRIX_MAX_QUBITS = 12

_METHODS = ("auto", "statevector", "density_matrix")

#: Below this many qubits of state (2n for a density matrix) one thread per job is faster:
#: OpenMP's per-gate synchronisation costs more than a small state update. Measured here: 432
#: two-qubit circuits took 15.9 s with Aer's default threads and 1.3 s with one (2 cores).
#: Aer's own ``statevector_parallel_threshold`` is the same 14.
PARALLEL_MIN_QUBITS = 14


def aer_seed(seed: int | None) -> int:
    """The ``seed_simulator`` for a qtcore seed: 62 bits of ``SeedSequence(seed)``.

    62 bits leave room for Aer's per-experiment offset without overflowing its uint64.

    Example:
        >>> from qtcore_qiskit.backend import aer_seed
        >>> aer_seed(3) == aer_seed(3), aer_seed(3) != aer_seed(4), aer_seed(3) < 2**62
        (True, True, True)
    """
    sequence = np.random.SeedSequence(seed)
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(2))


def choose_method(requested: str, n_active: int, shots: int, noisy: bool) -> str:
    """The Aer method for a job: exact either way, so pick the cheaper one.

    Without noise: ``statevector``. With noise (``auto``): a density matrix costs about
    ``4**n`` per gate once, statevector trajectories about ``2**n`` per gate per shot, so
    the density matrix is used when ``2**n ≤ shots`` and ``n ≤``
    :data:`DENSITY_MATRIX_MAX_QUBITS`. Both give the same outcome distribution.

    Example:
        >>> from qtcore_qiskit.backend import choose_method
        >>> choose_method("auto", 3, 10_000, True), choose_method("auto", 10, 32, True)
        ('density_matrix', 'statevector')
    """
    if requested != "auto":
        return requested
    if noisy and n_active <= DENSITY_MATRIX_MAX_QUBITS and 2**n_active <= shots:
        return "density_matrix"
    return "statevector"


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise InvalidInput(f"method must be one of {_METHODS}, got {method!r}")
    return method


def _run_aer(
    simulator: Any,
    circuits: list[QuantumCircuit],
    *,
    shots: int,
    seed: int | None,
    method: str,
    n: int,
    n_active: int,
    expected: int,
    backend_name: str,
    parameter_binds: list[dict[Any, list[float]]] | None = None,
    row_offset: int = 0,
) -> np.ndarray:
    """One Aer job; counts (expected, 2**n) in qtcore's order, or a BackendError.

    ``row_offset``: the job's first row in a larger batch (an executor's chunk); its rows
    then get the seeds they get in one job over the whole batch.
    """
    width = 2 * n_active if method == "density_matrix" else n_active
    base = aer_seed(seed) + AER_SEED_STRIDE * row_offset
    options: dict[str, Any] = {
        "shots": shots,
        "seed_simulator": base,
        "method": method,
        "max_parallel_threads": 1 if width < PARALLEL_MIN_QUBITS else 0,
    }
    if parameter_binds is not None:
        # Aer binds in C++ instead of building one circuit per row: ~2.5× faster at n = 7.
        options.update(parameter_binds=parameter_binds, runtime_parameter_bind_enable=True)
    try:
        result = simulator.run(circuits, **options).result()
    except Exception as exc:
        raise BackendError(
            f"Aer failed on a {n}-qubit job for {backend_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    experiments = result.results
    if len(experiments) != expected or not all(e.success for e in experiments):
        bad = next((e for e in experiments if not e.success), None)
        status = bad.status if bad is not None else f"{len(experiments)} results for {expected}"
        raise BackendError(f"Aer job for {backend_name!r} did not succeed: {status}")
    if row_offset:
        seeds = [e.seed_simulator for e in experiments]
        if seeds != [base + AER_SEED_STRIDE * i for i in range(expected)]:
            raise BackendError(
                f"this qiskit-aer seeds experiments {seeds[:3]}… from seed_simulator={base}, "
                f"not {base} + {AER_SEED_STRIDE}·i as {backend_name!r} assumes: chunked "
                "counts would not equal one call's; run without executor= or report this "
                "qiskit-aer version to qtcore-qiskit"
            )
    return counts_to_array([e.data.counts for e in experiments], n)


class _TemplateCache:
    """Compiled circuits (or simulators) per key, built once even under concurrent calls;
    the least recently used entry goes once ``size`` are held, so a stream of distinct
    circuit shapes or noise models cannot grow memory without bound.
    """

    def __init__(self, size: int = 256) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._size = size

    def get(self, key: Any, build: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            else:
                self._items[key] = build()
                if len(self._items) > self._size:
                    self._items.popitem(last=False)
            return self._items[key]


def _binds(parameters: ParameterVector, angles: np.ndarray) -> list[dict[Any, list[float]]]:
    return [dict(zip(parameters, np.ascontiguousarray(angles.T).tolist()))]


class DeviceCompiler:
    """Compiles IR circuits for a device once per gate *structure*, angles left as parameters.

    Two circuits with the same gates on the same qubits share one transpiled circuit, whatever
    their angles; only the binding differs. So ``run(amplitude_encoding(P))`` and
    ``sample_distributions(P)`` execute the very same device circuit (the same gates, hence
    the same device noise), and a value-specific optimisation (an angle of 0 dropped, two
    rotations merged) never makes the noise depend on the angles. It also means a batch of
    circuits of one shape is transpiled once.

    Args:
        pass_manager: a preset pass manager for the device.

    Example:
        >>> import qtcore
        >>> from qiskit.transpiler import generate_preset_pass_manager
        >>> from qtcore_qiskit.backend import DeviceCompiler, load_fake_device
        >>> pm = generate_preset_pass_manager(optimization_level=2,
        ...                                   backend=load_fake_device("manila"))
        >>> compiler = DeviceCompiler(pm)
        >>> a, b = (qtcore.Circuit(2, (qtcore.Gate("ry", (0,), (t,)), qtcore.Gate("cx", (0, 1))))
        ...         for t in (0.3, 1.2))
        >>> compiler.compile(a)[0] is compiler.compile(b)[0]
        True
        >>> compiler.angle_values(b).tolist()
        [1.2]
    """

    def __init__(self, pass_manager: Any) -> None:
        self._pass_manager = pass_manager
        self._cache = _TemplateCache()

    def compile(self, circuit: Circuit) -> tuple[QuantumCircuit, list[int]]:
        """The device circuit of ``circuit``'s structure, and for each of its parameters
        (Qiskit's order) the position of the IR angle it stands for (gate order).
        """
        key = (circuit.n_qubits, tuple((g.name, g.qubits) for g in circuit.gates))

        def build() -> tuple[QuantumCircuit, list[int]]:
            count = sum(len(g.params) for g in circuit.gates)
            parameters = ParameterVector("a", count)
            positions = iter(range(count))
            structure = Circuit(
                circuit.n_qubits,
                tuple(
                    Gate(g.name, g.qubits, tuple(Parameter(next(positions)) for _ in g.params))
                    for g in circuit.gates
                ),
            )
            logical = to_quantum_circuit(structure, parameters if count else None)
            compiled: QuantumCircuit = self._pass_manager.run(logical)
            # A parameter the transpiler removed with its gate (a diagonal gate just before
            # measurement) takes no value.
            return compiled, slot_columns(compiled, parameters).tolist() if count else []

        result: tuple[QuantumCircuit, list[int]] = self._cache.get(key, build)
        return result

    @staticmethod
    def angle_values(circuit: Circuit, slot_values: np.ndarray | None = None) -> np.ndarray:
        """The IR angles in gate order: (positions,) for a bound circuit, or (B, positions)
        for a template whose slots take ``slot_values`` (B, slots).
        """
        params = [p for g in circuit.gates for p in g.params]
        if slot_values is None:
            return np.array([float(p) for p in params])  # type: ignore[arg-type]
        index = np.array([p.index for p in params if isinstance(p, Parameter)], dtype=np.int64)
        scale = np.array([p.scale for p in params if isinstance(p, Parameter)])
        if index.size != len(params):
            raise InvalidInput("a template's angles must all be parameter slots")
        values: np.ndarray = slot_values[:, index] * scale
        return values

    def bound(self, circuit: Circuit) -> QuantumCircuit:
        """The device circuit of a bound IR circuit, with its angles assigned."""
        compiled, positions = self.compile(circuit)
        if not positions:
            return compiled
        values = self.angle_values(circuit)[positions]
        return compiled.assign_parameters(values.tolist())


class AerBackend(BackendBase):
    """``qiskit.aer``: Qiskit Aer's statevector simulator; density matrix under noise.

    Args:
        method: ``"auto"`` (default; see :func:`choose_method`), ``"statevector"`` or
            ``"density_matrix"``.

    Example:
        >>> import qtcore
        >>> from qtcore_qiskit import AerBackend
        >>> AerBackend().run([qtcore.Circuit(2, (qtcore.Gate("x", (1,)),))], shots=3, seed=0)
        array([[0, 3, 0, 0]])
    """

    name = "qiskit.aer"
    capabilities = Capabilities(
        max_qubits=AER_MAX_QUBITS, noise=True, parameter_binding=True, row_seeded=True
    )

    def __init__(self, *, method: str = "auto") -> None:
        from qiskit_aer import AerSimulator

        self.method = _check_method(method)
        self._simulator_class = AerSimulator
        self._templates = _TemplateCache()
        self._simulators = _TemplateCache(size=16)

    def _simulator(self, noise: NoiseModel | None) -> Any:
        def build() -> Any:
            if noise is None:
                return self._simulator_class()
            return self._simulator_class(noise_model=to_aer_noise_model(noise))

        return self._simulators.get(noise, build)

    def _template(self, n: int) -> tuple[QuantumCircuit, ParameterVector]:
        def build() -> tuple[QuantumCircuit, ParameterVector]:
            template = encoding_template(n)
            parameters = ParameterVector("theta", template.num_parameters)
            return to_quantum_circuit(template.circuit, parameters), parameters

        result: tuple[QuantumCircuit, ParameterVector] = self._templates.get(n, build)
        return result

    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        n = circuits[0].n_qubits
        return _run_aer(
            self._simulator(noise),
            [to_quantum_circuit(c) for c in circuits],
            shots=shots,
            seed=seed,
            method=choose_method(self.method, n, shots, noise is not None),
            n=n,
            n_active=n,
            expected=len(circuits),
            backend_name=self.name,
            row_offset=row_offset,
        )

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        n = P.shape[1].bit_length() - 1
        circuit, parameters = self._template(n)
        return _run_aer(
            self._simulator(noise),
            [circuit],
            shots=shots,
            seed=seed,
            method=choose_method(self.method, n, shots, noise is not None),
            n=n,
            n_active=n,
            expected=P.shape[0],
            backend_name=self.name,
            row_offset=row_offset,
            parameter_binds=_binds(parameters, encoding_template(n).angles(P, validated=True)),
        )


def load_fake_device(device: str) -> Any:
    """An instance of ``qiskit_ibm_runtime.fake_provider``'s fake backend for ``device``.

    Args:
        device: a folder name of the fake provider (``"manila"``); a ``fake_`` prefix is
            accepted.

    Raises:
        InvalidInput: no such fake device (the message lists them).

    Example:
        >>> from qtcore_qiskit.backend import load_fake_device
        >>> load_fake_device("manila").num_qubits
        5
    """
    import importlib

    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    name = device.lower().removeprefix("fake_")
    if name not in fake_device_names():
        raise InvalidInput(
            f"unknown fake device {device!r}; qiskit-ibm-runtime ships: "
            f"{', '.join(fake_device_names())}"
        )
    module = importlib.import_module(f"qiskit_ibm_runtime.fake_provider.backends.{name}")
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, FakeBackendV2)
            and getattr(value, "backend_name", None) == f"fake_{name}"
        ):
            return value()
    raise InvalidInput(f"qiskit-ibm-runtime's folder for {device!r} defines no fake backend")


def _active_qubits(circuit: QuantumCircuit) -> int:
    touched = {q for inst in circuit.data if inst.operation.name != "barrier" for q in inst.qubits}
    return len(touched)


class FakeDeviceBackend(BackendBase):
    """``qiskit.fake:<device>``: an IBM fake device with its real calibration noise.

    Circuits are transpiled to the device's coupling map and basis (the encoding template
    once per n) and simulated by ``AerSimulator.from_backend``, whose noise model comes from
    the device's calibration snapshot (gate errors, T1/T2 relaxation, readout errors). The
    noise is intrinsic: a user :class:`qtcore.NoiseModel` is refused (``noise=False``).

    Args:
        device: a fake device name, e.g. ``"manila"`` (``qtcore backends`` lists them).
        optimization_level: the preset pass manager's level (default 2, Qiskit's default;
            on Manila it routes the 5-qubit template with 66 CX instead of level 1's 72).
        seed_transpiler: the transpiler's seed, fixed so the same seed gives the same counts.
        method: as for :class:`AerBackend`.

    Example:
        >>> from qtcore_qiskit import FakeDeviceBackend
        >>> b = FakeDeviceBackend("manila")
        >>> b.name, b.capabilities.max_qubits, b.capabilities.noise
        ('qiskit.fake:manila', 5, False)
    """

    def __init__(
        self,
        device: str,
        *,
        optimization_level: int = 2,
        seed_transpiler: int = 0,
        method: str = "auto",
    ) -> None:
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_aer import AerSimulator

        self.device = load_fake_device(device)
        self.name = f"qiskit.fake:{device.lower().removeprefix('fake_')}"
        self.method = _check_method(method)
        self.capabilities = Capabilities(
            max_qubits=min(self.device.num_qubits, AER_MAX_QUBITS),
            noise=False,
            parameter_binding=True,
            row_seeded=True,
        )
        self._simulator = AerSimulator.from_backend(self.device)
        self.compiler = DeviceCompiler(
            generate_preset_pass_manager(
                optimization_level=optimization_level,
                backend=self.device,
                seed_transpiler=seed_transpiler,
            )
        )

    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        compiled = [self.compiler.bound(c) for c in circuits]
        active = max(_active_qubits(c) for c in compiled)
        return _run_aer(
            self._simulator,
            compiled,
            shots=shots,
            seed=seed,
            method=choose_method(self.method, active, shots, True),
            n=circuits[0].n_qubits,
            n_active=active,
            expected=len(circuits),
            backend_name=self.name,
            row_offset=row_offset,
        )

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
        row_offset: int = 0,
    ) -> np.ndarray:
        n = P.shape[1].bit_length() - 1
        template = encoding_template(n)
        circuit, positions = self.compiler.compile(template.circuit)
        angles = template.angles(P, validated=True)
        values = self.compiler.angle_values(template.circuit, angles)[:, positions]
        active = _active_qubits(circuit)
        return _run_aer(
            self._simulator,
            [circuit],
            shots=shots,
            seed=seed,
            method=choose_method(self.method, active, shots, True),
            n=n,
            n_active=active,
            expected=P.shape[0],
            backend_name=self.name,
            row_offset=row_offset,
            parameter_binds=[dict(zip(circuit.parameters, values.T.tolist()))],
        )


class IBMRuntimeBackend(BackendBase):
    """``qiskit.ibm:<device>``: a real IBM Quantum device through IBM Runtime's SamplerV2.

    The token comes from Qiskit's own configuration (``QISKIT_IBM_TOKEN`` or the account
    saved with ``QiskitRuntimeService.save_account``); this class never reads it into an
    attribute, and any error text from IBM Runtime is scrubbed of known tokens before it is
    raised. Hardware cannot be seeded (``seeded=False``) and its noise is intrinsic
    (``noise=False``). Each ``sample_distributions`` call is one SamplerV2 job with one PUB:
    the transpiled template and a (B, slots) array of parameter values.

    Args:
        device: the IBM device name, e.g. ``"ibm_brisbane"``.
        channel, instance, account_name, filename: passed to ``QiskitRuntimeService`` when
            given (``account_name`` as its ``name``).
        optimization_level: the preset pass manager's level (default 2).

    Raises:
        BackendUnavailable: the service or the device cannot be reached with the
            credentials found (the message never contains the token).

    Example:
        >>> import qtcore
        >>> entry = next(e for e in qtcore.backends() if e.name == "qiskit.ibm")
        >>> entry.info.parametric, entry.plugin.distribution
        (True, 'qtcore-qiskit')
    """

    def __init__(
        self,
        device: str,
        *,
        channel: str | None = None,
        instance: str | None = None,
        account_name: str | None = None,
        filename: str | None = None,
        optimization_level: int = 2,
    ) -> None:
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2

        options = {
            key: value
            for key, value in (
                ("channel", channel),
                ("instance", instance),
                ("name", account_name),
                ("filename", filename),
            )
            if value is not None
        }
        try:
            service = QiskitRuntimeService(**options)
            self.device = service.backend(device)
        except Exception as exc:
            message = redact(f"{type(exc).__name__}: {exc}", known_tokens(config_path=filename))
            # ``from None``: the original exception's text may quote the token.
            raise BackendUnavailable(
                f"IBM Runtime device {device!r} is not reachable: {message}. Check the saved "
                "account (QiskitRuntimeService.saved_accounts()) and the device name"
            ) from None
        self.name = f"qiskit.ibm:{device}"
        self.capabilities = Capabilities(
            max_qubits=min(int(self.device.num_qubits), AER_MAX_QUBITS),
            noise=False,
            parameter_binding=True,
            seeded=False,
            thread_safe=False,
        )
        self._sampler_class = SamplerV2
        self.compiler = DeviceCompiler(
            generate_preset_pass_manager(
                optimization_level=optimization_level, backend=self.device, seed_transpiler=0
            )
        )

    def _submit(self, pubs: Sequence[Any], shots: int, n: int) -> np.ndarray:
        try:
            result = self._sampler_class(mode=self.device).run(list(pubs), shots=shots).result()
        except Exception as exc:
            message = redact(f"{type(exc).__name__}: {exc}", known_tokens())
            raise BackendError(f"IBM Runtime job on {self.name!r} failed: {message}") from None
        rows: list[dict[str, int]] = []
        for pub_result in result:
            bits = pub_result.data.meas
            rows.extend(bits.get_counts(loc=i) for i in np.ndindex(bits.shape))
        return counts_to_array(rows, n)

    def _run(
        self, circuits: list[Circuit], *, shots: int, seed: int | None, noise: NoiseModel | None
    ) -> np.ndarray:
        pubs = []
        for c in circuits:
            isa, positions = self.compiler.compile(c)
            pubs.append((isa, self.compiler.angle_values(c)[positions]) if positions else (isa,))
        return self._submit(pubs, shots, circuits[0].n_qubits)

    def _sample_distributions(
        self, P: np.ndarray, *, shots: int, seed: int | None, noise: NoiseModel | None
    ) -> np.ndarray:
        n = P.shape[1].bit_length() - 1
        template = encoding_template(n)
        isa, positions = self.compiler.compile(template.circuit)
        angles = template.angles(P, validated=True)
        values = self.compiler.angle_values(template.circuit, angles)[:, positions]
        return self._submit([(isa, values)], shots, n)
