"""``qiskit.fake:<device>``: IBM fake devices with their calibration noise, on Aer.

The fidelity test bounds the distance to the ideal distribution by the calibration's
estimated success probability ESP = Π(1 - error) over the transpiled circuit's gates and
measurements: a circuit whose every error channel is "ideal with probability 1 - ε" stays
within TVD 1 - ESP of the ideal output. Sampling error is bounded distribution-free:
E[TVD(empirical, true)] ≤ ½·Σ√(p(1-p)/N) ≤ ½·√(K/N), and McDiarmid's inequality (one shot
moves the TVD by ≤ 1/N) adds √(ln(1/α)/(2N)) at false-failure rate α = 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from qtcore_qiskit.backend import FakeDeviceBackend
from qtcore_qiskit.devices import fake_device_names

import qtcore
from qtcore import Circuit, Gate, NoiseModel

ALPHA = 1e-6
SHOTS = 100_000


@pytest.fixture(scope="module")
def manila() -> FakeDeviceBackend:
    backend = qtcore.get_backend("qiskit.fake:manila")
    assert isinstance(backend, FakeDeviceBackend)
    return backend


def sampling_slack(outcomes: int, shots: int, alpha: float) -> float:
    """Distribution-free upper bound on TVD(empirical, true) exceeded with prob. ≤ alpha."""
    return 0.5 * math.sqrt(outcomes / shots) + math.sqrt(math.log(1 / alpha) / (2 * shots))


def estimated_success_probability(backend: FakeDeviceBackend, n: int) -> float:
    circuit, _ = backend.compiler.compile(qtcore.encoding_template(n).circuit)
    target = backend.device.target
    esp = 1.0
    for inst in circuit.data:
        name = inst.operation.name
        if name == "barrier":
            continue
        qargs = tuple(circuit.find_bit(q).index for q in inst.qubits)
        props = target[name].get(qargs)
        error = props.error if props is not None and props.error is not None else 0.0
        esp *= 1.0 - error
    return esp


def test_variants_are_the_shipped_fake_devices() -> None:
    entry = next(e for e in qtcore.backends() if e.name == "qiskit.fake")
    assert entry.info.parametric
    assert entry.info.variants == fake_device_names()
    assert {"manila", "lima", "brisbane"} <= set(entry.info.variants)


def test_unknown_device_names_the_known_ones() -> None:
    with pytest.raises(qtcore.InvalidInput, match="manila"):
        qtcore.get_backend("qiskit.fake:nosuchdevice")


def test_capabilities_are_the_device_s(manila: FakeDeviceBackend) -> None:
    caps = manila.capabilities
    assert manila.name == "qiskit.fake:manila"
    assert (caps.max_qubits, caps.noise, caps.parameter_binding) == (5, False, True)


def test_user_noise_models_are_refused(manila: FakeDeviceBackend) -> None:
    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        manila.sample_distributions(np.array([[0.5, 0.5]]), shots=10, noise=NoiseModel(0.1))


def test_one_transpilation_per_width_and_per_circuit_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = FakeDeviceBackend("lima")
    calls: list[int] = []
    pass_manager = backend.compiler._pass_manager
    original = pass_manager.run

    def counting(circuits: object) -> object:
        calls.append(1)
        return original(circuits)

    monkeypatch.setattr(pass_manager, "run", counting)
    rng = np.random.default_rng(0)
    for seed in range(3):
        backend.sample_distributions(rng.dirichlet(np.ones(4), size=5), shots=16, seed=seed)
    assert len(calls) == 1
    backend.sample_distributions(rng.dirichlet(np.ones(8), size=2), shots=16)
    assert len(calls) == 2
    # run() of encoding circuits of a width already compiled reuses that device circuit.
    backend.run(qtcore.amplitude_encoding(rng.dirichlet(np.ones(8), size=3)), shots=16)
    assert len(calls) == 2
    rotations = [Circuit(1, (Gate("ry", (0,), (float(a),)),)) for a in rng.uniform(0, 3, 5)]
    backend.run(rotations, shots=16)
    assert len(calls) == 3


def test_run_and_sample_distributions_execute_the_same_device_circuit(
    manila: FakeDeviceBackend,
) -> None:
    # Same structure -> same transpiled circuit, same noise; with the same seed, the same
    # Aer experiments: the counts agree exactly, not just in law.
    P = np.random.default_rng(26).dirichlet(np.ones(16), size=5)
    fast = manila.sample_distributions(P, shots=300, seed=27)
    slow = manila.run(qtcore.amplitude_encoding(P), shots=300, seed=27)
    assert (fast == slow).all()


@pytest.mark.parametrize("n", [2, 3])
def test_fidelity_is_within_the_calibration_bound(manila: FakeDeviceBackend, n: int) -> None:
    P = np.random.default_rng(n).dirichlet(np.ones(2**n), size=4)
    counts = manila.sample_distributions(P, shots=SHOTS, seed=21)
    tvd = 0.5 * np.abs(counts / SHOTS - P).sum(axis=1)
    slack = sampling_slack(2**n, SHOTS, ALPHA / (2 * len(P)))
    bound = 1.0 - estimated_success_probability(manila, n)
    assert 0.0 < bound < 0.3  # Manila's snapshot: a few % error per CX, ~2 % readout
    assert (tvd <= bound + slack).all(), f"TVD {tvd} above 1 - ESP = {bound:.3f} + {slack:.3f}"
    # The noise is really there: a noiseless simulation stays within `slack` of P.
    assert tvd.max() > slack, f"TVD {tvd} within sampling error: is the device noise applied?"


def test_bit_order_survives_routing(manila: FakeDeviceBackend) -> None:
    circuits = [
        Circuit(3, (Gate("x", (0,)),)),
        Circuit(3, (Gate("x", (0,)), Gate("cx", (0, 2)))),
        Circuit(3, (Gate("x", (2,)), Gate("cx", (2, 0)))),
        Circuit(3, (Gate("x", (0,)), Gate("cx", (2, 0)))),
    ]
    counts = manila.run(circuits, shots=2000, seed=22)
    assert counts.argmax(axis=1).tolist() == [4, 5, 5, 4]
    assert (counts.max(axis=1) > 0.8 * 2000).all()


def test_same_seed_same_counts(manila: FakeDeviceBackend) -> None:
    P = np.random.default_rng(23).dirichlet(np.ones(8), size=6)
    a = manila.sample_distributions(P, shots=200, seed=24)
    b = manila.sample_distributions(P, shots=200, seed=24)
    c = manila.sample_distributions(P, shots=200, seed=25)
    assert (a == b).all() and not (a == c).all()
