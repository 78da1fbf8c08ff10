"""Amplitude encoding: exact states, the fast angle transform, and the template."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import qtcore
from qtcore.encoding import encoding_angles_naive, gray_code
from qtcore.simulator import statevectors


def _rows(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    d = 2**n
    one_hot = np.zeros(d)
    one_hot[rng.integers(d)] = 1.0
    last = np.zeros(d)
    last[-1] = 1.0
    return {
        "one-hot": one_hot,
        "one-hot-last": last,
        "uniform": np.full(d, 1 / d),
        "dirichlet-0.1": rng.dirichlet(np.full(d, 0.1)),
        "dirichlet-1": rng.dirichlet(np.ones(d)),
    }


@pytest.mark.parametrize("n", range(1, 11))
def test_statevector_is_sqrt_p(n: int) -> None:
    rng = np.random.default_rng(n)
    rows = _rows(n, rng)
    P = np.stack(list(rows.values()))
    sv = statevectors(qtcore.amplitude_encoding(P))
    np.testing.assert_allclose(sv, np.sqrt(P), atol=1e-10, rtol=0)


@pytest.mark.parametrize("width", [1, 3, 5, 6, 7, 100, 1000])
def test_non_power_of_two_rows_are_padded_with_zero_probability(width: int) -> None:
    rng = np.random.default_rng(width)
    P = rng.dirichlet(np.ones(width), size=3)
    circuits = qtcore.amplitude_encoding(P)
    n = max(1, int(np.ceil(np.log2(width))))
    assert all(c.n_qubits == n for c in circuits)
    sv = statevectors(circuits)
    expected = np.zeros((3, 2**n))
    expected[:, :width] = np.sqrt(P)
    np.testing.assert_allclose(sv, expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("n", range(1, 9))
def test_fast_angles_equal_the_direct_linear_solve(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    for row in _rows(n, rng).values():
        fast = qtcore.encoding_angles(row[None, :])[0]
        np.testing.assert_allclose(fast, encoding_angles_naive(row), atol=1e-10)


@pytest.mark.parametrize("n", range(1, 11))
def test_gate_counts_match_the_mottonen_tree(n: int) -> None:
    ops = qtcore.encoding_template(n).circuit.count_ops()
    assert ops.get("ry", 0) == 2**n - 1
    assert ops.get("cx", 0) == 2**n - 2


def test_template_binding_equals_amplitude_encoding() -> None:
    P = np.random.default_rng(0).dirichlet(np.ones(16), size=4)
    t = qtcore.encoding_template(4)
    assert t.bind(t.angles(P)) == qtcore.amplitude_encoding(P)
    assert [t.circuit.bind(a) for a in t.angles(P)] == qtcore.amplitude_encoding(P)


def test_template_pads_narrower_rows_and_rejects_wider_ones() -> None:
    t = qtcore.encoding_template(3)
    np.testing.assert_allclose(
        t.angles(np.array([[0.5, 0.5]])), qtcore.encoding_angles(np.array([[0.5, 0.5] + [0] * 6]))
    )
    with pytest.raises(qtcore.InvalidInput, match="needs more than"):
        t.angles(np.full((1, 16), 1 / 16))


def test_boundary_rows_give_finite_angles_and_keep_support() -> None:
    tiny = np.array([1 - 3e-12, 1e-12, 1e-12, 1e-12])
    float32 = np.array([[0.25, 0.25, 0.25, 0.25]], dtype=np.float32)
    off = np.array([0.5 + 5e-10, 0.5 + 5e-10, 0.0, 0.0])
    zeros = np.array([0.0, 0.0, 0.0, 1.0])
    for P in (tiny[None], float32, off[None], zeros[None]):
        angles = qtcore.encoding_angles(P)
        assert np.all(np.isfinite(angles))
        sv = statevectors(qtcore.amplitude_encoding(P))
        probs = np.abs(sv) ** 2
        np.testing.assert_allclose(probs, np.asarray(P, dtype=float) / np.sum(P), atol=1e-9)
        assert np.all(probs[np.asarray(P) == 0] < 1e-20)


def test_gray_code_changes_one_bit_per_step() -> None:
    g = gray_code(64)
    assert len(set(g.tolist())) == 64
    steps = g ^ np.roll(g, -1)
    assert all(bin(int(s)).count("1") == 1 for s in steps)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 1e3, allow_nan=False)).filter(
        lambda a: a.sum() > 1e-6
    )
)
def test_any_valid_row_encodes_exactly(raw: np.ndarray) -> None:
    row = raw / raw.sum()
    sv = statevectors(qtcore.amplitude_encoding(row[None]))[0]
    padded = np.zeros(sv.shape[0])
    padded[: row.size] = row
    np.testing.assert_allclose(np.abs(sv) ** 2, padded, atol=1e-10)
    assert np.all(sv.real >= -1e-12) and np.allclose(sv.imag, 0)
