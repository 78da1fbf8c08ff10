"""qtcore backends on Amazon Braket: ``braket.sv``, ``braket.dm`` and ``braket.aws:<ARN>``.

How a local job runs (``braket.sv`` = ``LocalSimulator("braket_sv")``, ``braket.dm`` =
``LocalSimulator("braket_dm")``):

1. The circuit structure is compiled once per (structure, noise): the encoding template
   (:func:`qtcore.encoding_template`) once per n, ``run()``'s circuits grouped by gate
   sequence with their angles lifted into parameter slots ``theta_i``.
2. Every distinct row is simulated exactly (shots = 0) by Braket's default simulator and its
   outcome probabilities are read. Two engines give the same numbers (tested to 1e-12):

   * ``engine="program"`` (default): the structure is compiled once into the simulator's
     own operations (:func:`qtcore_braket.convert.compile_program`) and each row binds its
     angles and evolves ``StateVectorSimulation`` / ``DensityMatrixSimulation``, the objects
     ``LocalSimulator`` itself evolves.
   * ``engine="local_simulator"``: the structure becomes one ``braket.circuits.Circuit``
     with ``FreeParameter`` angles and a ``Probability`` result type, written to OpenQASM
     once; every row is a ``LocalSimulator`` task on that program with ``inputs=`` (with
     ``max_parallel > 1``: one ``run_batch`` over all rows, in worker processes). Each task
     re-parses the OpenQASM text with Braket's ANTLR parser — about 0.5 s at n = 7, two
     orders of magnitude above the simulation itself — which is why it is not the default.

3. Each row's counts are a multinomial draw from those probabilities under its own stream
   ``SeedSequence(seed, spawn_key=(row,))`` (:func:`qtcore.shots.sample_counts`).

Why qtcore draws the shots: Braket's local simulators cannot be seeded (their
``StateVectorSimulation`` / ``DensityMatrixSimulation`` sample from a
``numpy.random.default_rng()`` created without a seed, and ``LocalSimulator.run`` takes no
seed), so their own shots could not honour ``seed=``. Drawing from the exact probabilities
gives the same law (i.i.d. shots of the final state) with qtcore's seeding contract, so both
local backends declare ``seeded=True``. With ``shots_from="braket"`` a local backend keeps
Braket's own draw (the simulation's ``retrieve_samples``) and that instance declares
``seeded=False``; ``braket.aws`` devices draw their own shots and declare ``seeded=False``
too. The conformance suite then uses distribution checks only.

Example:
    >>> import numpy as np
    >>> from qtcore_braket.backend import BraketStateVectorBackend
    >>> backend = BraketStateVectorBackend()
    >>> backend.sample_distributions(np.array([[0.0, 0.0, 1.0, 0.0]]), shots=8, seed=1).tolist()
    [[0, 0, 8, 0]]
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

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
from qtcore.encoding import MAX_ENCODING_QUBITS
from qtcore.shots import sample_counts
from qtcore.validation import validate_distributions
from qtcore_braket.convert import (
    SimulatorProgram,
    compile_program,
    counts_from_measurements,
    parameter_name,
    to_braket,
)
from qtcore_braket.credentials import aws_credentials_problem, known_secrets, redact

__all__ = [
    "ENGINES",
    "SHOT_SOURCES",
    "AwsDeviceBackend",
    "BraketDensityMatrixBackend",
    "BraketDeviceBackend",
    "BraketLocalBackend",
    "BraketStateVectorBackend",
]

#: The ways a local backend can compute a row's exact probabilities (module docstring).
ENGINES = ("program", "local_simulator")
#: Who draws a local backend's shots: qtcore's seeded streams, or Braket's own sampler.
SHOT_SOURCES = ("qtcore", "braket")

_Structure = tuple[tuple[str, tuple[int, ...]], ...]

# Braket's simulators apply gates on wider states with numba ``parallel=True`` kernels, and
# numba's default threading layer (workqueue) aborts the process when two Python threads
# launch such kernels at once (seen in this plugin's thread test). One simulation at a time,
# process-wide, keeps concurrent calls correct; a single-threaded caller never waits.
_SIMULATOR_LOCK = threading.Lock()


def _lift(circuit: Circuit) -> tuple[Circuit, list[float]]:
    """The circuit with every angle replaced by its own slot, and the angles in slot order."""
    gates: list[Gate] = []
    values: list[float] = []
    for g in circuit.gates:
        if g.params:
            slots = tuple(Parameter(len(values) + k) for k in range(len(g.params)))
            # run() circuits are validated bound: every angle is a float here.
            values.extend(float(p) for p in g.params)  # type: ignore[arg-type]
            gates.append(Gate(g.name, g.qubits, slots))
        else:
            gates.append(g)
    return Circuit(circuit.n_qubits, tuple(gates)), values


def _groups(circuits: Sequence[Circuit]) -> Iterator[tuple[np.ndarray, Circuit, np.ndarray]]:
    """(row indices, lifted template, angle table (rows, slots)) per gate structure."""
    groups: dict[_Structure, tuple[Circuit, list[int], list[list[float]]]] = {}
    for i, c in enumerate(circuits):
        template, values = _lift(c)
        key = tuple((g.name, g.qubits) for g in c.gates)
        groups.setdefault(key, (template, [], []))
        groups[key][1].append(i)
        groups[key][2].append(values)
    for template, rows, table in groups.values():
        yield np.asarray(rows), template, np.asarray(table, dtype=np.float64).reshape(len(rows), -1)


@lru_cache(maxsize=128)
def _program(template: Circuit, noise: NoiseModel | None) -> SimulatorProgram:
    return compile_program(template, noise)


@lru_cache(maxsize=32)
def _openqasm(template: Circuit, noise: NoiseModel | None) -> Any:
    return to_braket(template, noise, probability=True).to_ir()


def _unique_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``values`` (B, K) and each row's index among them."""
    if values.shape[1] == 0:
        return values[:1], np.zeros(values.shape[0], dtype=np.int64)
    unique, inverse = np.unique(values, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def _inputs(values: np.ndarray) -> list[dict[str, float]]:
    names = [parameter_name(k) for k in range(values.shape[1])]
    return [dict(zip(names, row.tolist())) for row in values]


class BraketLocalBackend(BackendBase):
    """Common machinery of the local Braket backends; use a subclass.

    Args:
        engine: ``"program"`` (default: the compiled program, bound per row) or
            ``"local_simulator"`` (one ``LocalSimulator`` task per row on a ``FreeParameter``
            program, ``inputs=`` per row); both give the same probabilities.
        max_parallel: with ``engine="local_simulator"``, above 1 the rows run as one
            ``LocalSimulator.run_batch`` in that many worker processes.
        shots_from: ``"qtcore"`` (default: a seeded multinomial draw from the exact
            probabilities) or ``"braket"``: the simulation's own sampler
            (``retrieve_samples``, what ``LocalSimulator`` uses for ``shots > 0``), which
            cannot be seeded, so this instance declares ``seeded=False``. Needs
            ``engine="program"``.

    Raises:
        InvalidInput: an unknown ``engine`` or ``shots_from``, ``shots_from="braket"`` with
            ``engine="local_simulator"``, or a ``max_parallel`` below 1.

    Example:
        >>> from qtcore_braket.backend import BraketStateVectorBackend
        >>> BraketStateVectorBackend(engine="local_simulator").engine
        'local_simulator'
    """

    #: the ``LocalSimulator`` backend name this class reproduces
    device_name: str = ""

    def __init__(
        self, *, engine: str = "program", max_parallel: int = 1, shots_from: str = "qtcore"
    ) -> None:
        if engine not in ENGINES:
            raise InvalidInput(f"engine must be one of {ENGINES}, got {engine!r}")
        if shots_from not in SHOT_SOURCES:
            raise InvalidInput(f"shots_from must be one of {SHOT_SOURCES}, got {shots_from!r}")
        if shots_from == "braket" and engine != "program":
            raise InvalidInput(
                "shots_from='braket' draws from the compiled program's simulation; use "
                "engine='program' with it"
            )
        if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
            raise InvalidInput(f"max_parallel must be an int ≥ 1, got {max_parallel!r}")
        self.engine = engine
        self.max_parallel = max_parallel
        self.shots_from = shots_from
        if shots_from == "braket":
            self.capabilities = dataclasses.replace(type(self).capabilities, seeded=False)

    # -- what a subclass provides -----------------------------------------------------------
    def _simulation(self, n: int, shots: int = 0) -> Any:
        raise NotImplementedError

    # -- Braket's own shots -------------------------------------------------------------------
    def _braket_counts(
        self, template: Circuit, values: np.ndarray, noise: NoiseModel | None, shots: int
    ) -> np.ndarray:
        """Counts (rows, 2**n) drawn by the Braket simulation's own (unseeded) sampler."""
        n = template.n_qubits
        program = _program(template, noise)
        out = np.zeros((len(values), 2**n), dtype=np.int64)
        unique, inverse = _unique_rows(values)
        for k, row in enumerate(unique):
            operations = program.operations(row)
            with _SIMULATOR_LOCK:
                simulation = self._simulation(n, shots)
                simulation.evolve(operations)
                for i in np.flatnonzero(inverse == k):
                    # Each call draws afresh from the simulation's generator: independent rows.
                    # searchsorted can return 2**n when rounding leaves cumsum below the
                    # uniform draw (probability ~1e-16 a shot): that shot is the last outcome.
                    samples = np.minimum(simulation.retrieve_samples(), 2**n - 1)
                    out[i] = np.bincount(samples, minlength=2**n)
        return out

    # -- exact probabilities of one structure -------------------------------------------------
    def _structure_probabilities(
        self, template: Circuit, values: np.ndarray, noise: NoiseModel | None
    ) -> np.ndarray:
        """Probabilities (rows, 2**n) of ``template`` bound to each row of ``values``."""
        unique, inverse = _unique_rows(values)
        n = template.n_qubits
        if self.engine == "program":
            program = _program(template, noise)
            probs = np.empty((len(unique), 2**n))
            for k, row in enumerate(unique):
                operations = program.operations(row)
                with _SIMULATOR_LOCK:
                    simulation = self._simulation(n)
                    simulation.evolve(operations)
                    probs[k] = simulation.probabilities
        else:
            with _SIMULATOR_LOCK:
                probs = self._local_simulator_probabilities(template, unique, noise)
        # Braket's basis order is big-endian like qtcore's (qtcore_braket.convert): no reorder.
        out: np.ndarray = probs[inverse]
        return out

    def _local_simulator_probabilities(
        self, template: Circuit, values: np.ndarray, noise: NoiseModel | None
    ) -> np.ndarray:
        from braket.devices import LocalSimulator

        device = LocalSimulator(self.device_name)
        program = _openqasm(template, noise)
        inputs = _inputs(values)
        if self.max_parallel > 1 and len(inputs) > 1:
            batch = device.run_batch(
                program, shots=0, inputs=inputs, max_parallel=self.max_parallel
            )
            results = batch.results()
        else:
            results = [device.run(program, shots=0, inputs=row).result() for row in inputs]
        return np.array([np.asarray(r.values[0], dtype=np.float64) for r in results])

    def _circuit_probabilities(
        self, circuits: Sequence[Circuit], noise: NoiseModel | None
    ) -> np.ndarray:
        n = circuits[0].n_qubits
        out = np.zeros((len(circuits), 2**n))
        for rows, template, values in _groups(circuits):
            out[rows] = self._structure_probabilities(template, values, noise)
        return out

    def _encoding_probabilities(self, P: np.ndarray, noise: NoiseModel | None) -> np.ndarray:
        template = encoding_template(P.shape[1].bit_length() - 1)
        angles = template.angles(P, validated=True)
        return self._structure_probabilities(template.circuit, angles, noise)

    # -- BackendBase hooks --------------------------------------------------------------------
    def _run(
        self, circuits: list[Circuit], *, shots: int, seed: int | None, noise: NoiseModel | None
    ) -> np.ndarray:
        if self.shots_from == "qtcore":
            return sample_counts(self._circuit_probabilities(circuits, noise), shots, seed)
        out = np.zeros((len(circuits), 2 ** circuits[0].n_qubits), dtype=np.int64)
        for rows, template, values in _groups(circuits):
            out[rows] = self._braket_counts(template, values, noise, shots)
        return out

    def _sample_distributions(
        self, P: np.ndarray, *, shots: int, seed: int | None, noise: NoiseModel | None
    ) -> np.ndarray:
        if self.shots_from == "qtcore":
            return sample_counts(self._encoding_probabilities(P, noise), shots, seed)
        template = encoding_template(P.shape[1].bit_length() - 1)
        angles = template.angles(P, validated=True)
        return self._braket_counts(template.circuit, angles, noise, shots)

    # -- exact probabilities ------------------------------------------------------------------
    def probabilities(
        self, circuits: Sequence[Circuit], noise: NoiseModel | None = None
    ) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) float64 of Braket's simulation of each circuit.

        Raises:
            InvalidInput, CapabilityError: as :meth:`run`.

        Example:
            >>> from qtcore import Circuit, Gate
            >>> from qtcore_braket.backend import BraketStateVectorBackend
            >>> c = Circuit(2, (Gate("h", (0,)), Gate("cx", (0, 1))))
            >>> BraketStateVectorBackend().probabilities([c]).round(6).tolist()
            [[0.5, 0.0, 0.0, 0.5]]
        """
        _, _, noise = self._check_common(1, None, noise)
        circuits = list(circuits)
        if not circuits:
            return np.zeros((0, 0))
        self._check_circuits(circuits)
        return self._circuit_probabilities(circuits, noise)

    def distribution_probabilities(self, P: Any, noise: NoiseModel | None = None) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) of the encoding template run on each row of P.

        Raises:
            InvalidInput, CapabilityError: as :meth:`sample_distributions`.

        Example:
            >>> from qtcore_braket.backend import BraketStateVectorBackend
            >>> BraketStateVectorBackend().distribution_probabilities([[0.3, 0.7]]).round(6)
            array([[0.3, 0.7]])
        """
        _, _, noise = self._check_common(1, None, noise)
        padded = validate_distributions(P)
        self._check_width(padded.shape[1].bit_length() - 1)
        if padded.shape[0] == 0:
            return np.zeros(padded.shape)
        return self._encoding_probabilities(padded, noise)


class BraketStateVectorBackend(BraketLocalBackend):
    """``braket.sv``: Braket's local state-vector simulator (``braket_sv``), noiseless.

    A :class:`~qtcore.NoiseModel` with any non-zero rate raises
    :class:`~qtcore.CapabilityError`; use ``braket.dm`` for noise. ``max_qubits`` is 20:
    Braket's ``braket_sv`` itself takes 26, but an encoding circuit on n qubits has 2ⁿ⁺¹ − 3
    gates, so rows above 20 qubits would take minutes each.

    Example:
        >>> import qtcore
        >>> from qtcore_braket.backend import BraketStateVectorBackend
        >>> try:
        ...     BraketStateVectorBackend().sample_distributions(
        ...         [[1.0, 0.0]], shots=1, noise=qtcore.NoiseModel(readout=0.1))
        ... except qtcore.CapabilityError:
        ...     print("no noise")
        no noise
    """

    name = "braket.sv"
    device_name = "braket_sv"
    capabilities = Capabilities(
        max_qubits=20, noise=False, parameter_binding=True, exact_probabilities=True
    )

    def _simulation(self, n: int, shots: int = 0) -> Any:
        from braket.default_simulator.state_vector_simulation import StateVectorSimulation

        # batch_size=1 (gate by gate) is what LocalSimulator("braket_sv") uses by default.
        return StateVectorSimulation(n, shots, 1)


class BraketDensityMatrixBackend(BraketLocalBackend):
    """``braket.dm``: Braket's local density-matrix simulator (``braket_dm``) with qtcore noise.

    Noise is qtcore's convention (:mod:`qtcore_braket.noise`): ``Noise.Depolarizing`` after
    every 1-qubit gate, ``Noise.TwoQubitDepolarizing`` after every 2-qubit gate, and
    ``Noise.BitFlip`` on every qubit before measurement. ``max_qubits`` is 10 (a 16 MiB
    density matrix; Braket's ``braket_dm`` itself takes 13).

    Example:
        >>> from qtcore import Circuit, Gate, NoiseModel
        >>> from qtcore_braket.backend import BraketDensityMatrixBackend
        >>> c = Circuit(1, (Gate("x", (0,)),))
        >>> p = BraketDensityMatrixBackend().probabilities([c], NoiseModel(depolarizing_1q=0.3))
        >>> p.round(6).tolist()                 # X or Y after the gate flips back: 2p/3
        [[0.2, 0.8]]
    """

    name = "braket.dm"
    device_name = "braket_dm"
    capabilities = Capabilities(
        max_qubits=10, noise=True, parameter_binding=True, exact_probabilities=True
    )

    def _simulation(self, n: int, shots: int = 0) -> Any:
        from braket.default_simulator.density_matrix_simulation import DensityMatrixSimulation

        return DensityMatrixSimulation(n, shots)


class BraketDeviceBackend(BackendBase):
    """Any Braket device (``AwsDevice``, ``LocalSimulator``) as a qtcore backend, shots its own.

    Each ``run``/``sample_distributions`` call sends, per gate structure, one ``run_batch``
    of a ``FreeParameter`` circuit (:func:`qtcore_braket.convert.to_braket`, every qubit
    measured) with one ``inputs`` dict per row, and converts each task's
    ``measurement_counts`` (:func:`qtcore_braket.convert.counts_from_measurements`). The
    device draws the shots, so ``seed`` cannot be honoured: ``seeded=False``. Noise is the
    device's own (``noise=False``: a qtcore NoiseModel raises).

    Args:
        device: a Braket device with ``run_batch(task, shots=, inputs=)``.
        name: the qtcore name to report.
        max_qubits: the largest circuit to accept.
        run_batch_options: extra keyword arguments for ``device.run_batch``
            (``s3_destination_folder``, ``poll_timeout_seconds``, ``max_parallel``, …).

    Example:
        >>> import numpy as np
        >>> from braket.devices import LocalSimulator
        >>> from qtcore_braket.backend import BraketDeviceBackend
        >>> backend = BraketDeviceBackend(LocalSimulator("braket_sv"), name="braket.device",
        ...                               max_qubits=4, run_batch_options={"max_parallel": 1})
        >>> backend.sample_distributions(np.array([[0.0, 1.0, 0.0, 0.0]]), shots=5).tolist()
        [[0, 5, 0, 0]]
    """

    def __init__(
        self,
        device: Any,
        *,
        name: str,
        max_qubits: int,
        run_batch_options: dict[str, Any] | None = None,
    ) -> None:
        self.device = device
        self.name = name
        self.run_batch_options = dict(run_batch_options or {})
        self.capabilities = Capabilities(
            max_qubits=max_qubits,
            noise=False,
            parameter_binding=True,
            seeded=False,
            thread_safe=False,
        )

    def _submit(self, template: Circuit, values: np.ndarray, shots: int) -> np.ndarray:
        n = template.n_qubits
        circuit = to_braket(template, None, probability=False)
        try:
            batch = self.device.run_batch(
                circuit, shots=shots, inputs=_inputs(values), **self.run_batch_options
            )
            results = batch.results()
        except Exception as exc:
            message = redact(f"{type(exc).__name__}: {exc}", known_secrets())
            # ``from None``: the original exception's text may quote a credential.
            raise BackendError(f"Braket tasks on {self.name!r} failed: {message}") from None
        if any(r is None for r in results) or len(results) != len(values):
            raise BackendError(
                f"Braket tasks on {self.name!r}: {sum(r is None for r in results)} of "
                f"{len(values)} tasks failed; see the device's task list for the reason"
            )
        return np.array(
            [counts_from_measurements(r.measurement_counts, r.measured_qubits, n) for r in results]
        )

    def _run(
        self, circuits: list[Circuit], *, shots: int, seed: int | None, noise: NoiseModel | None
    ) -> np.ndarray:
        out = np.zeros((len(circuits), 2 ** circuits[0].n_qubits), dtype=np.int64)
        for rows, template, values in _groups(circuits):
            out[rows] = self._submit(template, values, shots)
        return out

    def _sample_distributions(
        self, P: np.ndarray, *, shots: int, seed: int | None, noise: NoiseModel | None
    ) -> np.ndarray:
        template = encoding_template(P.shape[1].bit_length() - 1)
        return self._submit(template.circuit, template.angles(P, validated=True), shots)


class AwsDeviceBackend(BraketDeviceBackend):
    """``braket.aws:<device ARN>``: an Amazon Braket device through ``AwsDevice``.

    Credentials are boto3's own (environment, ``~/.aws`` files, SSO, assumed roles): this
    class never reads them into an attribute, and error text is scrubbed of known secrets
    before it is raised. Tasks cost money; nothing in qtcore's tests submits one.

    Args:
        arn: the device ARN, e.g. ``arn:aws:braket:::device/quantum-simulator/amazon/sv1``.
        **run_batch_options: passed to ``AwsDevice.run_batch`` (``s3_destination_folder``,
            ``poll_timeout_seconds``, ``max_parallel``, ``reservation_arn``, …).

    Raises:
        BackendUnavailable: no AWS credentials, or the device cannot be reached with them
            (the message never contains a credential).

    Example:
        >>> import qtcore
        >>> entry = next(e for e in qtcore.backends() if e.name == "braket.aws")
        >>> entry.info.parametric, entry.plugin.distribution
        (True, 'qtcore-braket')
    """

    def __init__(self, arn: str, **run_batch_options: Any) -> None:
        problem = aws_credentials_problem()
        if problem is not None:
            raise BackendUnavailable(f"braket.aws:{arn} cannot run here: {problem}")
        from braket.aws import AwsDevice

        try:
            device = AwsDevice(arn)
            qubits = int(device.properties.paradigm.qubitCount)
        except Exception as exc:
            message = redact(f"{type(exc).__name__}: {exc}", known_secrets())
            raise BackendUnavailable(
                f"Braket device {arn!r} is not reachable: {message}. Check the ARN "
                "(AwsDevice.get_devices() lists them), the region and the credentials"
            ) from None
        super().__init__(
            device,
            name=f"braket.aws:{arn}",
            max_qubits=min(qubits, MAX_ENCODING_QUBITS),
            run_batch_options=run_batch_options,
        )
