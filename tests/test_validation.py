"""Every invalid input raises the documented error, through every entry point."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import qtcore
from qtcore import Circuit, Gate, NoiseModel, Parameter

GOOD = np.array([[0.5, 0.5]])


@pytest.fixture
def ref() -> qtcore.ReferenceBackend:
    return qtcore.ReferenceBackend()


@pytest.mark.parametrize(
    ("P", "match"),
    [
        (np.array([[np.nan, 1.0]]), "non-finite"),
        (np.array([[np.inf, 0.0]]), "non-finite"),
        (np.array([[1.5, -0.5]]), "negative"),
        (np.array([[0.5, 0.4]]), "sums to"),
        (np.array([[0.6, 0.6]]), "sums to"),
        (np.array([0.5, 0.5]), "shape"),
        (np.ones((1, 1, 2)) / 2, "shape"),
        (np.zeros((1, 0)), "zero columns"),
        (np.array([["a", "b"]]), "numeric"),
        (np.array([[True, False]]), "numeric"),
        (np.array([[0.5 + 0j, 0.5]]), "numeric"),
    ],
)
def test_bad_distributions_raise_invalid_input(ref, P, match) -> None:
    with pytest.raises(qtcore.InvalidInput, match=match):
        ref.sample_distributions(P, shots=10)
    with pytest.raises(qtcore.InvalidInput, match=match):
        qtcore.amplitude_encoding(P)


@pytest.mark.parametrize("shots", [0, -1, 1.5, True, "10", None, np.float64(3.0)])
def test_bad_shots_raise(ref, shots) -> None:
    with pytest.raises(qtcore.InvalidInput, match="shots"):
        ref.sample_distributions(GOOD, shots=shots)
    with pytest.raises(qtcore.InvalidInput, match="shots"):
        ref.run([Circuit(1)], shots=shots)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_bad_seeds_raise(ref, seed) -> None:
    with pytest.raises(qtcore.InvalidInput, match="seed"):
        ref.sample_distributions(GOOD, shots=1, seed=seed)


def test_numpy_integer_shots_and_seed_are_accepted(ref) -> None:
    counts = ref.sample_distributions(GOOD, shots=np.int32(7), seed=np.uint8(3))
    assert counts.sum() == 7


def test_too_many_qubits_raise_capability_error(ref) -> None:
    with pytest.raises(qtcore.CapabilityError, match="at most 10 qubits"):
        ref.sample_distributions(np.full((1, 2**10 + 1), 1 / (2**10 + 1)), shots=1)
    with pytest.raises(qtcore.CapabilityError, match="at most 10 qubits"):
        ref.run([Circuit(11)], shots=1)
    # exactly the maximum works
    assert ref.run([Circuit(10)], shots=1).shape == (1, 1024)


def test_noise_on_a_noiseless_backend_raises() -> None:
    class Ideal(qtcore.BackendBase):
        name = "test.ideal"
        capabilities = qtcore.Capabilities(max_qubits=3)

        def _run(self, circuits, *, shots, seed, noise):
            from qtcore.shots import sample_counts
            from qtcore.simulator import probabilities

            return sample_counts(probabilities(circuits), shots, seed)

    with pytest.raises(qtcore.CapabilityError, match="does not model noise"):
        Ideal().sample_distributions(GOOD, shots=1, noise=NoiseModel(readout=0.1))
    # an all-zero model is no noise at all
    assert Ideal().sample_distributions(GOOD, shots=3, noise=NoiseModel()).sum() == 3


def test_run_rejects_mixed_widths_unbound_parameters_and_non_circuits(ref) -> None:
    with pytest.raises(qtcore.InvalidInput, match="same n_qubits"):
        ref.run([Circuit(1), Circuit(2)], shots=1)
    with pytest.raises(qtcore.InvalidInput, match="unbound"):
        ref.run([Circuit(1, (Gate("ry", (0,), (Parameter(0),)),))], shots=1)
    with pytest.raises(qtcore.InvalidInput, match="Circuit"):
        ref.run(["h 0"], shots=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depolarizing_1q": -0.1}, "outside"),
        ({"depolarizing_1q": 0.8}, "outside"),
        ({"depolarizing_2q": 0.95}, "outside"),
        ({"readout": 0.6}, "outside"),
        ({"readout": float("nan")}, "outside"),
        ({"readout": "x"}, "number"),
    ],
)
def test_bad_noise_models_raise(kwargs, match) -> None:
    with pytest.raises(qtcore.InvalidInput, match=match):
        NoiseModel(**kwargs)


def test_noise_must_be_a_noise_model(ref) -> None:
    with pytest.raises(qtcore.InvalidInput, match="NoiseModel"):
        ref.sample_distributions(GOOD, shots=1, noise={"readout": 0.1})


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Gate("toffoli", (0, 1, 2)), "unknown gate"),
        (lambda: Gate("cx", (0,)), "acts on 2"),
        (lambda: Gate("cx", (1, 1)), "same qubit"),
        (lambda: Gate("ry", (0,)), "takes 1 angle"),
        (lambda: Gate("ry", (0,), (float("nan"),)), "non-finite"),
        (lambda: Gate("x", (-1,)), "≥ 0"),
        (lambda: Circuit(0), "n_qubits"),
        (lambda: Circuit(2, (Gate("x", (2,)),)), "touches a qubit"),
        (lambda: Circuit(1, ("x",)), "qtcore.Gate"),
        (lambda: Circuit(1, (Gate("ry", (0,), (Parameter(1),)),)).bind([1.0]), "slots"),
    ],
)
def test_bad_circuits_raise(build, match) -> None:
    with pytest.raises(qtcore.InvalidInput, match=match):
        build()


def test_edge_sizes(ref) -> None:
    assert ref.sample_distributions(np.zeros((0, 5)), shots=3).shape == (0, 8)
    assert ref.run([], shots=3).shape == (0, 0)
    assert ref.sample_distributions(np.array([[1.0]]), shots=1, seed=0).tolist() == [[1, 0]]
    assert ref.run([Circuit(1)], shots=4, seed=0).tolist() == [[4, 0]]


def test_float32_and_near_normalised_rows_are_accepted(ref) -> None:
    P32 = np.random.default_rng(0).dirichlet(np.ones(100), size=4).astype(np.float32)
    assert ref.sample_distributions(P32, shots=10, seed=0).shape == (4, 128)
    near = np.array([[0.5 + 4e-7, 0.5]])
    assert ref.sample_distributions(near, shots=10, seed=0).sum() == 10


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 6), elements=st.floats(0, 1)))
def test_input_is_never_mutated(raw) -> None:
    raw = raw + 1e-3
    P = raw / raw.sum(axis=1, keepdims=True)
    before = P.copy()
    qtcore.ReferenceBackend().sample_distributions(P, shots=5, seed=1)
    np.testing.assert_array_equal(P, before)
    out = qtcore.validate_distributions(P)
    assert not np.shares_memory(out, P)


def test_a_misbehaving_plugin_is_caught_at_the_boundary() -> None:
    class Bad(qtcore.BackendBase):
        name = "test.bad"
        capabilities = qtcore.Capabilities(max_qubits=3)

        def _run(self, circuits, *, shots, seed, noise):
            return np.zeros((len(circuits), 2 ** circuits[0].n_qubits), dtype=np.int64)

    with pytest.raises(qtcore.BackendError, match="do not sum to"):
        Bad().sample_distributions(GOOD, shots=5)
