"""Deterministic behaviour of the Braket backends: registration, capabilities, errors, bit order
on one-hot rows, exact probabilities against ``reference`` (both engines), seeds and row
independence, and ``braket.aws`` without credentials.

The goodness-of-fit tests of sampled counts are in test_braket_statistics.py.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from qtcore_braket.backend import (
    AwsDeviceBackend,
    BraketDensityMatrixBackend,
    BraketDeviceBackend,
    BraketStateVectorBackend,
)
from qtcore_braket.credentials import aws_credentials_problem, known_secrets, redact

import qtcore
from qtcore import Circuit, Gate, NoiseModel

NAMES = ["braket.sv", "braket.dm"]
NOISE = NoiseModel(depolarizing_1q=0.02, depolarizing_2q=0.08, readout=0.03)
REF = qtcore.ReferenceBackend()


@pytest.fixture(scope="module", params=NAMES)
def backend(request):
    return qtcore.get_backend(request.param)


@pytest.fixture
def no_aws(tmp_path, monkeypatch):
    """An environment in which botocore finds no AWS credentials."""
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))


# -- registration and capabilities --------------------------------------------------------------
def test_registered_through_the_entry_point():
    entries = {e.name: e for e in qtcore.backends()}
    for name, cls in [("braket.sv", BraketStateVectorBackend),
                      ("braket.dm", BraketDensityMatrixBackend)]:
        assert entries[name].plugin.distribution == "qtcore-braket"
        assert entries[name].unavailable_reason() is None
        assert type(qtcore.get_backend(name)) is cls
    assert entries["braket.aws"].info.parametric


def test_capabilities():
    sv = qtcore.get_backend("braket.sv").capabilities
    dm = qtcore.get_backend("braket.dm").capabilities
    assert (sv.noise, sv.max_qubits, sv.exact_probabilities, sv.seeded) == (False, 20, True, True)
    assert (dm.noise, dm.max_qubits, dm.exact_probabilities, dm.seeded) == (True, 10, True, True)
    assert sv.gates == dm.gates == frozenset(qtcore.GATES)


def test_bad_options_raise():
    with pytest.raises(qtcore.InvalidInput, match="engine"):
        qtcore.get_backend("braket.sv", engine="qasm")
    with pytest.raises(qtcore.InvalidInput, match="max_parallel"):
        qtcore.get_backend("braket.dm", max_parallel=0)
    with pytest.raises(qtcore.InvalidInput, match="shots_from"):
        qtcore.get_backend("braket.dm", shots_from="numpy")
    with pytest.raises(qtcore.InvalidInput, match="engine='program'"):
        qtcore.get_backend("braket.sv", shots_from="braket", engine="local_simulator")


def test_braket_drawn_shots_declare_unseeded_on_the_instance_only():
    own = qtcore.get_backend("braket.dm", shots_from="braket")
    assert own.capabilities.seeded is False
    assert BraketDensityMatrixBackend.capabilities.seeded is True
    assert qtcore.get_backend("braket.dm").capabilities.seeded is True
    # One-hot rows are deterministic whoever draws; identical rows still draw independently.
    P = np.zeros((3, 8))
    P[:, 5] = 1.0
    assert own.sample_distributions(P, shots=9, seed=0).tolist() == [[0] * 5 + [9, 0, 0]] * 3
    counts = own.sample_distributions(np.full((6, 8), 1 / 8), shots=400)
    # Unseeded: false-failure rate < 1e-7 (15 pairs × mode probability 5.1e-9, as above).
    assert len({tuple(r) for r in counts.tolist()}) == 6


def test_noise_on_the_state_vector_backend_raises():
    sv = qtcore.get_backend("braket.sv")
    with pytest.raises(qtcore.CapabilityError, match=r"braket\.sv"):
        sv.run([Circuit(1, (Gate("x", (0,)),))], shots=1, noise=NOISE)
    with pytest.raises(qtcore.CapabilityError):
        sv.sample_distributions([[0.5, 0.5]], shots=1, noise=NoiseModel(readout=0.1))
    # An all-zero model is no noise, and is accepted.
    assert sv.sample_distributions([[0.0, 1.0]], shots=3, noise=NoiseModel()).tolist() == [[0, 3]]


def test_too_many_qubits_raise(backend):
    n = backend.capabilities.max_qubits + 1
    with pytest.raises(qtcore.CapabilityError, match=str(n)):
        backend.run([Circuit(n, (Gate("x", (0,)),))], shots=1)


# -- bit order and one-hot rows -----------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_one_hot_rows_land_on_their_index(backend, n):
    N = 2**n
    indices = sorted({1 % N, N // 2, N - 1, (5 * N) // 7})
    P = np.zeros((len(indices), N))
    P[np.arange(len(indices)), indices] = 1.0
    counts = backend.sample_distributions(P, shots=17, seed=3)
    want = np.zeros_like(counts)
    want[np.arange(len(indices)), indices] = 17
    assert counts.tolist() == want.tolist()


# -- exact probabilities ------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["program", "local_simulator"])
def test_exact_probabilities_equal_reference(engine):
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.full(8, 0.5), size=3)
    circuits = [
        Circuit(3, (Gate("h", (0,)), Gate("cx", (0, 2)), Gate("ry", (1,), (0.4,)))),
        Circuit(3, (Gate("rx", (2,), (1.1,)), Gate("cz", (2, 0)), Gate("h", (0,)))),
        Circuit(3, (Gate("h", (0,)), Gate("cx", (0, 2)), Gate("ry", (1,), (-2.0,)))),
    ]
    sv = qtcore.get_backend("braket.sv", engine=engine)
    dm = qtcore.get_backend("braket.dm", engine=engine)
    np.testing.assert_allclose(sv.distribution_probabilities(P), P, atol=1e-12)
    np.testing.assert_allclose(sv.probabilities(circuits), REF.probabilities(circuits),
                               atol=1e-12)
    np.testing.assert_allclose(dm.distribution_probabilities(P, NOISE),
                               REF.distribution_probabilities(P, NOISE), atol=1e-12)
    np.testing.assert_allclose(dm.probabilities(circuits, NOISE),
                               REF.probabilities(circuits, NOISE), atol=1e-12)


def test_local_simulator_batch_in_worker_processes_equals_sequential_tasks():
    P = np.random.default_rng(6).dirichlet(np.ones(4), size=3)
    batch = qtcore.get_backend("braket.sv", engine="local_simulator", max_parallel=2)
    np.testing.assert_allclose(batch.distribution_probabilities(P), P, atol=1e-12)


def test_empty_inputs(backend):
    assert backend.probabilities([]).shape == (0, 0)
    assert backend.distribution_probabilities(np.zeros((0, 4))).shape == (0, 4)
    assert backend.sample_distributions(np.zeros((0, 4)), shots=3, seed=0).shape == (0, 4)


# -- seeds --------------------------------------------------------------------------------------
def test_same_seed_same_counts_and_rows_independent_of_batch(backend):
    rng = np.random.default_rng(8)
    P = rng.dirichlet(np.ones(8), size=4)
    a = backend.sample_distributions(P, shots=200, seed=42)
    assert np.array_equal(a, backend.sample_distributions(P, shots=200, seed=42))
    assert not np.array_equal(a, backend.sample_distributions(P, shots=200, seed=43))
    mixed = np.vstack([P[:2], rng.dirichlet(np.ones(8), size=3)])
    assert np.array_equal(a[:2], backend.sample_distributions(mixed, shots=200, seed=42)[:2])
    # run() on the same circuits draws the same streams: same counts.
    circuits = qtcore.amplitude_encoding(P)
    assert np.array_equal(a, backend.run(circuits, shots=200, seed=42))


def test_identical_rows_get_independent_draws(backend):
    P = np.full((6, 8), 1 / 8)
    counts = backend.sample_distributions(P, shots=400, seed=1)
    # Six equal rows of 400 uniform shots over 8 cells: P(two rows equal) ≤ the multinomial
    # mode's probability 5.1e-9, so over the 15 pairs a correct backend fails with < 1e-7.
    assert len({tuple(r) for r in counts.tolist()}) == 6


def test_concurrent_calls_from_threads_match_serial_calls(backend):
    P = np.random.default_rng(9).dirichlet(np.ones(4), size=3)
    serial = [backend.sample_distributions(P, shots=100, seed=s) for s in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda s: backend.sample_distributions(P, shots=100, seed=s),
                                 range(4)))
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded))


# -- braket.aws without credentials -------------------------------------------------------------
def test_aws_is_listed_unavailable_with_the_reason(no_aws):
    entry = next(e for e in qtcore.backends() if e.name == "braket.aws")
    reason = entry.unavailable_reason()
    assert reason is not None and "no AWS credentials" in reason
    arn = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
    with pytest.raises(qtcore.BackendUnavailable, match="no AWS credentials"):
        qtcore.get_backend(f"braket.aws:{arn}")
    with pytest.raises(qtcore.BackendUnavailable, match="no AWS credentials"):
        AwsDeviceBackend(arn)


def test_credentials_are_found_but_never_shown(no_aws, monkeypatch, tmp_path):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    env = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secret}
    assert aws_credentials_problem(environ=env) is None
    (tmp_path / "credentials").write_text(
        f"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\n"
    )
    assert aws_credentials_problem() is None
    assert secret in known_secrets()
    assert redact(f"denied for {secret}", known_secrets()) == "denied for ***"
    # A profile named but absent: the reason names the error kind, never the file's content.
    monkeypatch.setenv("AWS_PROFILE", "missing")
    reason = aws_credentials_problem()
    assert reason is not None and secret not in reason


class _FailingDevice:
    """A Braket-like device whose run_batch fails, quoting a secret, or loses a task."""

    def __init__(self, message: str | None) -> None:
        self.message = message

    def run_batch(self, circuit, *, shots, inputs, **options):
        if self.message is not None:
            raise RuntimeError(self.message)
        class Batch:
            def results(self):
                return [None] * len(inputs)

        return Batch()


def test_device_errors_are_redacted_and_lost_tasks_raise(monkeypatch):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    failing = BraketDeviceBackend(_FailingDevice(f"signature mismatch for {secret}"),
                                  name="braket.fake", max_qubits=4)
    with pytest.raises(qtcore.BackendError) as info:
        failing.sample_distributions([[0.5, 0.5]], shots=10)
    assert secret not in str(info.value) and "***" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    lossy = BraketDeviceBackend(_FailingDevice(None), name="braket.fake", max_qubits=4)
    with pytest.raises(qtcore.BackendError, match="2 of 2 tasks failed"):
        lossy.sample_distributions([[0.5, 0.5], [1.0, 0.0]], shots=10)
