"""pennylane.default / pennylane.lightning: registration, statistics against reference, seeds,
capabilities, chunking and edge sizes. Statistical checks go through ``check_counts``
(conftest): a false-failure rate ≤ 1e-6 per call, stated there."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from qtcore_pennylane import PennyLaneBackend
from qtcore_pennylane import backend as backend_module

import qtcore
from qtcore import Circuit, Gate, NoiseModel

# ---------------------------------------------------------------------------- registration


def test_backends_are_registered_by_the_plugin():
    entries = {e.name: e for e in qtcore.backends()}
    for name in ("pennylane.default", "pennylane.lightning", "pennylane"):
        assert entries[name].plugin.distribution == "qtcore-pennylane"
        assert entries[name].unavailable_reason() is None
    assert entries["pennylane"].info.parametric
    assert "default.qubit" in entries["pennylane"].info.variants


def test_registration_does_not_import_pennylane():
    code = (
        "import sys, qtcore_pennylane.plugin as p; infos = p.qtcore_backends(); "
        "print('pennylane' in sys.modules, len(infos))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "3"]


def test_named_backends_use_the_documented_devices(pl_default, pl_lightning):
    assert (pl_default.name, pl_default.device_name, pl_default.noise_device_name) == (
        "pennylane.default",
        "default.qubit",
        "default.mixed",
    )
    assert (pl_lightning.name, pl_lightning.device_name) == (
        "pennylane.lightning",
        "lightning.qubit",
    )
    assert pl_default._device(2, 0, noisy=True).name == "default.mixed"
    assert pl_default._device(2, 0, noisy=False).name == "default.qubit"
    assert pl_lightning._device(2, 0, noisy=False).name == "lightning.qubit"


def test_device_options_reach_the_device():
    single = qtcore.get_backend("pennylane.lightning", device_options={"c_dtype": np.complex64})
    assert single._device(2, 0, noisy=False).c_dtype == np.complex64
    counts = single.sample_distributions(np.eye(8)[[6, 3]], shots=5, seed=0)
    assert counts.tolist() == [[0] * 6 + [5, 0], [0, 0, 0, 5, 0, 0, 0, 0]]


def test_capabilities_are_read_from_the_devices(pl_default, pl_lightning):
    for b in (pl_default, pl_lightning):
        caps = b.capabilities
        assert caps.gates == frozenset(qtcore.GATES)
        assert caps.parameter_binding and caps.seeded and not caps.exact_probabilities
    assert pl_default.capabilities.noise
    assert not pl_lightning.capabilities.noise


def test_parametric_devices():
    mixed = qtcore.get_backend("pennylane:default.mixed")
    assert mixed.name == "pennylane:default.mixed" and mixed.capabilities.noise
    qubit = qtcore.get_backend("pennylane:default.qubit")
    assert not qubit.capabilities.noise
    with pytest.raises(qtcore.BackendUnavailable, match="RY and CNOT"):
        qtcore.get_backend("pennylane:default.qutrit")
    with pytest.raises(qtcore.BackendUnavailable, match=r"no\.such\.device"):
        qtcore.get_backend("pennylane:no.such.device")


def test_parametric_noisy_device_matches_reference(reference, check_counts):
    mixed = qtcore.get_backend("pennylane:default.mixed")
    noise = NoiseModel(depolarizing_1q=0.05, depolarizing_2q=0.1, readout=0.03)
    P = np.array([[0.1, 0.2, 0.3, 0.4]])
    counts = mixed.sample_distributions(P, shots=50_000, seed=4, noise=noise)
    check_counts(counts, reference.distribution_probabilities(P, noise), what="default.mixed")


# ------------------------------------------------------------------------ capability errors


@pytest.mark.parametrize(
    "noise", [NoiseModel(readout=0.01), NoiseModel(depolarizing_1q=0.01), NoiseModel(0, 0.02, 0)]
)
def test_lightning_raises_capability_error_for_noise(pl_lightning, noise):
    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        pl_lightning.sample_distributions(np.array([[0.5, 0.5]]), shots=10, noise=noise)
    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        pl_lightning.run([Circuit(1, (Gate("x", (0,)),))], shots=10, noise=noise)


def test_lightning_accepts_a_zero_noise_model(pl_lightning):
    circuit = Circuit(1, (Gate("x", (0,)),))
    counts = pl_lightning.run([circuit], shots=10, seed=0, noise=NoiseModel())
    assert counts.tolist() == [[0, 10]]


def test_max_qubits_plus_one_raises(pl_backend):
    n = pl_backend.capabilities.max_qubits + 1
    with pytest.raises(qtcore.CapabilityError, match=str(n)):
        pl_backend.run([Circuit(n)], shots=1)
    with pytest.raises(qtcore.CapabilityError):
        pl_backend.sample_distributions(np.full((1, 2**n), 2.0**-n), shots=1)


def test_max_qubits_option_and_its_validation():
    small = qtcore.get_backend("pennylane.lightning", max_qubits=2)
    assert small.capabilities.max_qubits == 2
    with pytest.raises(qtcore.CapabilityError):
        small.run([Circuit(3)], shots=1)
    with pytest.raises(qtcore.InvalidInput, match="max_qubits"):
        PennyLaneBackend("default.qubit", max_qubits=0)


# ---------------------------------------------------------------------- statistics vs reference


@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_dirichlet_rows_match_reference(pl_backend, reference, check_counts, alpha):
    # 4 rows on n = 3 at 50 000 shots: a row off by TVD 0.02 gives a G non-centrality
    # ≥ 4·shots·TVD² = 80 on ≤ 7 df, detected with probability ≈ 0.99 at level 1e-6/4.
    rng = np.random.default_rng(int(alpha * 10))
    P = rng.dirichlet(np.full(8, alpha), size=4)
    counts = pl_backend.sample_distributions(P, shots=50_000, seed=17)
    check_counts(counts, reference.distribution_probabilities(P), what=pl_backend.name)


def test_dirichlet_rows_n7_match_reference(pl_default, reference, check_counts):
    rng = np.random.default_rng(7)
    P = rng.dirichlet(np.ones(128), size=3)
    counts = pl_default.sample_distributions(P, shots=20_000, seed=3)
    check_counts(counts, reference.distribution_probabilities(P), what="n=7")


def test_unpadded_width_and_float32_rows(pl_backend, reference, check_counts):
    P = np.array([[0.2, 0.3, 0.5], [0.0, 1e-12, 1.0 - 1e-12]], dtype=np.float32)
    counts = pl_backend.sample_distributions(P, shots=20_000, seed=5)
    assert counts.shape == (2, 4)
    check_counts(counts, reference.distribution_probabilities(P), what="padded")


def _random_circuit(rng: np.random.Generator, n: int, depth: int) -> Circuit:
    names = sorted(qtcore.GATES)
    gates = []
    for _ in range(depth):
        name = names[int(rng.integers(len(names)))]
        width, n_params = qtcore.GATES[name]
        qubits = tuple(int(q) for q in rng.choice(n, size=width, replace=False))
        gates.append(Gate(name, qubits, tuple(rng.uniform(-4, 4, size=n_params))))
    return Circuit(n, tuple(gates))


def test_random_circuits_match_reference(pl_backend, reference, check_counts):
    rng = np.random.default_rng(99)
    circuits = [_random_circuit(rng, 3, 12) for _ in range(5)]
    # Same structure, other angles: exercises broadcasting inside run().
    circuits.append(_rebind(circuits[0], rng))
    counts = pl_backend.run(circuits, shots=40_000, seed=8)
    check_counts(counts, reference.probabilities(circuits), what="random circuits")


def _rebind(circuit: Circuit, rng: np.random.Generator) -> Circuit:
    gates = tuple(
        Gate(g.name, g.qubits, tuple(rng.uniform(-4, 4, size=len(g.params)))) for g in circuit.gates
    )
    return Circuit(circuit.n_qubits, gates)


def test_identical_rows_get_independent_draws(pl_backend):
    counts = pl_backend.sample_distributions(np.full((6, 4), 0.25), shots=200, seed=1)
    assert len({tuple(row) for row in counts.tolist()}) == 6


# ------------------------------------------------------------------------------------ seeds


def test_same_seed_same_counts(pl_backend):
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(16), size=5)
    a = pl_backend.sample_distributions(P, shots=300, seed=1234)
    pl_backend.sample_distributions(P, shots=300, seed=99)  # history must not matter
    b = pl_backend.sample_distributions(P, shots=300, seed=1234)
    np.testing.assert_array_equal(a, b)
    c = pl_backend.sample_distributions(P, shots=300, seed=1235)
    assert not np.array_equal(a, c)
    circuits = [Circuit(2, (Gate("h", (0,)), Gate("ry", (1,), (0.4,))))] * 3
    np.testing.assert_array_equal(
        pl_backend.run(circuits, shots=100, seed=5), pl_backend.run(circuits, shots=100, seed=5)
    )


def test_seed_none_gives_fresh_draws(pl_backend):
    P = np.full((1, 16), 1 / 16)
    draws = {tuple(pl_backend.sample_distributions(P, shots=64).ravel()) for _ in range(3)}
    assert len(draws) == 3


def test_seed_reaches_the_device_unchanged(pl_default):
    # The documented mapping: qtcore seed s is qml.device(..., seed=s).
    import pennylane as qml

    P = np.array([[0.1, 0.2, 0.3, 0.4]])
    ours = pl_default.sample_distributions(P, shots=50, seed=77)
    from qtcore_pennylane.backend import _template_function
    from qtcore_pennylane.convert import counts_from_samples

    node = qml.QNode(_template_function(2), qml.device("default.qubit", wires=2, seed=77), shots=50)
    direct = np.asarray(node(qtcore.encoding_template(2).angles(P))).reshape(1, 50, 2)
    np.testing.assert_array_equal(ours, counts_from_samples(direct, 2))


def test_same_seed_same_counts_under_noise(pl_default):
    noise = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.05, readout=0.01)
    P = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
    a = pl_default.sample_distributions(P, shots=500, seed=3, noise=noise)
    b = pl_default.sample_distributions(P, shots=500, seed=3, noise=noise)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- chunking and edge sizes


def test_chunked_and_split_shot_executions(monkeypatch, pl_default, reference, check_counts):
    # A tiny budget forces 1 row per execution and shots split into pieces of ≤ 32 (n = 2).
    monkeypatch.setattr(backend_module, "_SAMPLE_BUDGET", 64)
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(4), size=3)
    counts = pl_default.sample_distributions(P, shots=301, seed=2)
    assert counts.sum(axis=1).tolist() == [301] * 3
    check_counts(counts, reference.distribution_probabilities(P), what="split shots")
    one_hot = pl_default.sample_distributions(np.eye(4)[[2, 1]], shots=33, seed=0)
    assert one_hot.tolist() == [[0, 0, 33, 0], [0, 33, 0, 0]]


def test_many_rows_span_several_broadcast_chunks(pl_default):
    # n = 7: 512 rows per broadcast chunk; 1100 one-hot rows cross two chunk boundaries.
    idx = np.arange(1100) % 128
    P = np.zeros((1100, 128))
    P[np.arange(1100), idx] = 1.0
    counts = pl_default.sample_distributions(P, shots=2, seed=0)
    np.testing.assert_array_equal(counts, 2 * P.astype(np.int64))


def test_edge_sizes(pl_backend):
    assert pl_backend.sample_distributions(np.zeros((0, 4)), shots=3).shape == (0, 4)
    assert pl_backend.run([], shots=3).shape == (0, 0)
    assert pl_backend.sample_distributions(np.array([[1.0]]), shots=1, seed=0).tolist() == [[1, 0]]
    no_gates = pl_backend.run([Circuit(3), Circuit(3)], shots=4, seed=0)
    assert no_gates.tolist() == [[4, 0, 0, 0, 0, 0, 0, 0]] * 2
    P = np.array([[0.5, 0.5]])
    before = P.copy()
    out = pl_backend.sample_distributions(P, shots=10, seed=0)
    np.testing.assert_array_equal(P, before)
    assert out.dtype == np.int64 and out.sum() == 10


def test_invalid_inputs_raise_documented_errors(pl_backend):
    with pytest.raises(qtcore.InvalidInput):
        pl_backend.sample_distributions(np.array([[0.5, 0.6]]), shots=10)
    with pytest.raises(qtcore.InvalidInput):
        pl_backend.sample_distributions(np.array([[np.nan, 1.0]]), shots=10)
    with pytest.raises(qtcore.InvalidInput):
        pl_backend.sample_distributions(np.array([[0.5, 0.5]]), shots=0)
    with pytest.raises(qtcore.InvalidInput):
        pl_backend.run([Circuit(1, (Gate("ry", (0,), (qtcore.Parameter(0),)),))], shots=1)
