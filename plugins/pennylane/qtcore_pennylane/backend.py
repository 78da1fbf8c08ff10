"""qtcore backends on PennyLane devices: finite-shot sampling with parameter broadcasting.

``sample_distributions`` converts ``qtcore.encoding_template(n)`` into a quantum function
once per n (cached), wraps it in a QNode on a freshly seeded device and evaluates every row
of angles in one broadcast execution per chunk of rows (``qml.RY`` with a length-B angle
array). ``run`` groups circuits that differ only in their angles and broadcasts each group.
Noise is inserted with ``qml.add_noise`` and :func:`qtcore_pennylane.noise.to_pennylane_noise`.

Seeds: qtcore's ``seed`` is passed unchanged as the device's ``seed``
(``qml.device(name, wires=n, seed=seed)``, i.e. ``numpy.random.default_rng(seed)`` inside
PennyLane); ``seed=None`` passes ``None`` (fresh OS entropy, never PennyLane's default of
NumPy's global generator). A new device is made for every call, so the same
``(P or circuits, shots, seed, noise)`` gives the same counts whatever ran before. Within a call
the device draws the rows one after another from that one stream: rows get independent
draws, and a row's *distribution* does not depend on the other rows, but its exact counts do
depend on its position in the batch (unlike ``reference``, which seeds each row separately).

Example:
    >>> import numpy as np
    >>> from qtcore_pennylane import PennyLaneBackend
    >>> backend = PennyLaneBackend("default.qubit", name="pennylane.default",
    ...                            noise_device="default.mixed")
    >>> backend.sample_distributions(np.array([[0.0, 0.0, 1.0, 0.0]]), shots=5, seed=1).tolist()
    [[0, 0, 5, 0]]
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pennylane as qml

from qtcore import (
    BackendBase,
    BackendError,
    BackendUnavailable,
    Capabilities,
    Circuit,
    InvalidInput,
    NoiseModel,
    QtcoreError,
    encoding_template,
)
from qtcore_pennylane.convert import (
    GATE_OPERATIONS,
    broadcast_groups,
    counts_from_samples,
    to_quantum_function,
)
from qtcore_pennylane.noise import depolarizing_2q_kraus, to_pennylane_noise

__all__ = ["DEFAULT_MAX_QUBITS", "PennyLaneBackend", "probe_capabilities"]

#: Largest n by default: the template has 2**n - 1 RY and 2**n - 2 CNOT operations, and
#: PennyLane builds and dispatches each one in Python, so n = 12 (8190 operations) already
#: takes seconds per batch; pass ``max_qubits`` to go further.
DEFAULT_MAX_QUBITS = 12

# Rows per broadcast execution: about 2**16 state entries (2**n amplitudes, or 4**n for a
# density matrix) keeps default.qubit's batched state in cache (measured at n = 4, 7, 10 on
# CPU: 2-3x faster than one huge batch) and bounds default.mixed's memory.
_CHUNK_AMPLITUDES = 2**16
# At most this many sampled bits (rows × shots × n, int64 in PennyLane) per execution.
_SAMPLE_BUDGET = 2**23


@lru_cache(maxsize=32)
def _template_function(n_qubits: int) -> Callable[[np.ndarray | None], Any]:
    return to_quantum_function(encoding_template(n_qubits).circuit)


def _accepts_seed(device_name: str, options: dict[str, Any]) -> bool:
    try:
        qml.device(device_name, wires=1, seed=0, **options)
    except TypeError:
        return False
    return True


def _preprocess_ok(device: Any, operations: list[Any]) -> bool:
    """Whether the device's own preprocessing accepts a tape (nothing is executed)."""
    legacy = getattr(qml.devices, "LegacyDeviceFacade", None)
    if legacy is not None and isinstance(device, legacy):
        # A legacy device's facade leaves operation checks to execution time (default.qutrit
        # passes preprocessing with RY and fails when run), so ask the device itself.
        if not all(device.target_device.supports_operation(op.name) for op in operations):
            return False
    tape = qml.tape.QuantumScript(operations, [qml.sample(wires=[0, 1])], shots=1)
    try:
        device.preprocess_transforms()((tape,))
    except Exception:
        return False
    return True


def probe_capabilities(
    device_name: str,
    *,
    noise_device: str | None = None,
    max_qubits: int = DEFAULT_MAX_QUBITS,
    device_options: dict[str, Any] | None = None,
) -> Capabilities:
    """Capabilities of qtcore on a PennyLane device, read from the device's preprocessing.

    Each IR gate, the noise channels (``DepolarizingChannel``, a two-qubit ``QubitChannel``,
    ``BitFlip``) and finite-shot ``qml.sample`` are put through the device's own
    ``preprocess_transforms()`` on a two-wire tape; nothing is executed, so probing a remote
    device costs nothing. Noise is declared when ``noise_device`` (or, without one, the
    device itself) accepts every channel.

    Raises:
        BackendUnavailable: the device does not exist, cannot be made with two wires, or
            accepts neither ``ry`` nor ``cx`` with finite-shot sampling.

    Example:
        >>> from qtcore_pennylane.backend import probe_capabilities
        >>> caps = probe_capabilities("default.mixed")
        >>> caps.noise, sorted(caps.gates) == ["cx", "cz", "h", "rx", "ry", "rz", "x"]
        (True, True)
    """
    options = dict(device_options or {})
    try:
        device = qml.device(device_name, wires=2, **options)
    except Exception as exc:
        raise BackendUnavailable(
            f"PennyLane device {device_name!r} cannot be created: {type(exc).__name__}: {exc}; "
            "check the name (qtcore backends lists installed devices) and its options"
        ) from exc
    gates = frozenset(
        name
        for name, op in GATE_OPERATIONS.items()
        if _preprocess_ok(device, [op(0.3, wires=0) if name in ("rx", "ry", "rz") else _fixed(op)])
    )
    if not {"ry", "cx"} <= gates:
        raise BackendUnavailable(
            f"PennyLane device {device_name!r} does not run RY and CNOT with finite-shot "
            f"qml.sample on qubits (it accepts {sorted(gates) or 'none of the IR gates'}), so "
            "it cannot prepare qtcore's encoding; choose a qubit device"
        )
    channels = [
        qml.DepolarizingChannel(0.1, wires=0),
        qml.QubitChannel(depolarizing_2q_kraus(0.1), wires=[0, 1]),
        qml.BitFlip(0.1, wires=1),
    ]
    noisy = device if noise_device is None else qml.device(noise_device, wires=2, **options)
    return Capabilities(
        max_qubits=max_qubits,
        noise=_preprocess_ok(noisy, channels),
        gpu=".gpu" in device_name,
        parameter_binding=True,
        exact_probabilities=False,
        seeded=_accepts_seed(device_name, options)
        and (noise_device is None or _accepts_seed(noise_device, options)),
        thread_safe=True,
        gates=gates,
    )


def _fixed(op: type[Any]) -> Any:
    wires = [0, 1][: op.num_wires] if isinstance(op.num_wires, int) else [0]
    return op(wires=wires)


class PennyLaneBackend(BackendBase):
    """qtcore on a PennyLane device, sampling with finite shots and parameter broadcasting.

    Args:
        device: PennyLane device name (``"default.qubit"``, ``"lightning.qubit"``, …).
        name: the qtcore backend name; default ``"pennylane:<device>"``.
        noise_device: device used instead when a NoiseModel is given (``"default.mixed"``
            for ``pennylane.default``); ``None`` runs noise on ``device`` itself if it
            accepts channels, and otherwise declares ``noise=False``.
        max_qubits: the largest n accepted (see :data:`DEFAULT_MAX_QUBITS`).
        device_options: extra keyword arguments for ``qml.device`` (e.g. ``c_dtype``).

    Raises:
        BackendUnavailable: the device cannot run qtcore's circuits (see
            :func:`probe_capabilities`).

    Example:
        >>> import qtcore
        >>> from qtcore_pennylane import PennyLaneBackend
        >>> lightning = PennyLaneBackend("lightning.qubit", name="pennylane.lightning")
        >>> lightning.capabilities.noise
        False
        >>> try:
        ...     lightning.run([qtcore.Circuit(1)], shots=1,
        ...                   noise=qtcore.NoiseModel(readout=0.1))
        ... except qtcore.CapabilityError:
        ...     print("no noise on lightning.qubit")
        no noise on lightning.qubit
    """

    def __init__(
        self,
        device: str = "default.qubit",
        *,
        name: str | None = None,
        noise_device: str | None = None,
        max_qubits: int = DEFAULT_MAX_QUBITS,
        device_options: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(max_qubits, bool) or not isinstance(max_qubits, int) or max_qubits < 1:
            raise InvalidInput(f"max_qubits must be an integer ≥ 1, got {max_qubits!r}")
        self.device_name = device
        self.noise_device_name = noise_device
        self.device_options = dict(device_options or {})
        self.name = name or f"pennylane:{device}"
        self.capabilities = probe_capabilities(
            device,
            noise_device=noise_device,
            max_qubits=max_qubits,
            device_options=self.device_options,
        )

    # -- devices ----------------------------------------------------------------------------
    def _device(self, n_qubits: int, seed: int | None, noisy: bool) -> Any:
        name = self.noise_device_name if noisy and self.noise_device_name else self.device_name
        kwargs = dict(self.device_options)
        if self.capabilities.seeded:
            # None means OS entropy here; PennyLane's own default ("global") would draw from
            # NumPy's global generator, which other code may have seeded or advanced.
            kwargs["seed"] = seed
        return qml.device(name, wires=n_qubits, **kwargs)

    # -- BackendBase ------------------------------------------------------------------------
    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        n = circuits[0].n_qubits
        device = self._device(n, seed, noise is not None)
        counts = np.zeros((len(circuits), 2**n), dtype=np.int64)
        for group in broadcast_groups(circuits):
            values = group.values if group.values.shape[1] else None
            counts[group.rows] = self._sample(
                to_quantum_function(group.template),
                n,
                values,
                len(group.rows),
                shots,
                device,
                noise,
            )
        return counts

    def _sample_distributions(
        self,
        P: np.ndarray,
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        n = P.shape[1].bit_length() - 1
        angles = encoding_template(n).angles(P, validated=True)
        device = self._device(n, seed, noise is not None)
        return self._sample(_template_function(n), n, angles, P.shape[0], shots, device, noise)

    # -- execution --------------------------------------------------------------------------
    def _sample(
        self,
        qfunc: Callable[[np.ndarray | None], Any],
        n: int,
        values: np.ndarray | None,
        rows: int,
        shots: int,
        device: Any,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        """Counts (rows, 2**n): ``values`` (rows, k) broadcast in chunks, or ``None`` (no
        slots) run row by row. Shots beyond the sample budget run as several executions
        whose counts add up (a sum of independent multinomials with one p is multinomial)."""
        model = to_pennylane_noise(noise) if noise is not None else None
        qnodes: dict[int, Any] = {}

        def qnode(s: int) -> Any:
            if s not in qnodes:
                node = qml.QNode(
                    qfunc, device, interface=None, diff_method=None, shots=s, cache=False
                )
                qnodes[s] = qml.add_noise(node, model) if model is not None else node
            return qnodes[s]

        # A density-matrix device (noise, or a ".mixed" device) holds 4**n entries per row.
        state_bits = 2 * n if noise is not None or "mixed" in str(device.name) else n
        per_exec = 1 if values is None else max(1, _CHUNK_AMPLITUDES >> state_bits)
        per_exec = max(1, min(per_exec, _SAMPLE_BUDGET // (shots * n)))
        counts = np.zeros((rows, 2**n), dtype=np.int64)
        for start in range(0, rows, per_exec):
            stop = min(rows, start + per_exec)
            chunk = None if values is None else values[start:stop]
            shot_cap = max(1, _SAMPLE_BUDGET // (n * (stop - start)))
            remaining = shots
            while remaining > 0:
                s = min(shot_cap, remaining)
                try:
                    samples = np.asarray(qnode(s)(chunk))
                except QtcoreError:
                    raise
                except Exception as exc:
                    raise BackendError(
                        f"PennyLane device {device.name!r} failed on a {n}-qubit job "
                        f"({stop - start} rows, {s} shots): {type(exc).__name__}: {exc}"
                    ) from exc
                counts[start:stop] += counts_from_samples(samples.reshape(stop - start, s, n), n)
                remaining -= s
        return counts
