"""IR ↔ Cirq: the round trip is exact, the conventions agree, folding keeps the unitary."""

from __future__ import annotations

import cirq
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qtcore_mitiq import ZNEMitigator
from qtcore_mitiq.convert import from_cirq, to_cirq

import qtcore
from qtcore import Circuit, Gate, Parameter
from qtcore.simulator import statevectors

ANGLES = st.one_of(
    st.floats(-20.0, 20.0, allow_nan=False),
    st.sampled_from([0.0, np.pi / 2, -np.pi / 2, np.pi, 2 * np.pi, 4 * np.pi, 1e-300]),
)


@st.composite
def circuits(draw: st.DrawFn, max_qubits: int = 4, max_gates: int = 12) -> Circuit:
    n = draw(st.integers(1, max_qubits))
    names = ["rx", "ry", "rz", "h", "x"] + (["cx", "cz"] if n > 1 else [])
    gates = []
    for _ in range(draw(st.integers(0, max_gates))):
        name = draw(st.sampled_from(names))
        k, n_params = qtcore.GATES[name]
        qubits = tuple(draw(st.permutations(range(n)))[:k])
        params = tuple(draw(ANGLES) for _ in range(n_params))
        gates.append(Gate(name, qubits, params))
    return Circuit(n, tuple(gates))


@settings(max_examples=150, deadline=None)
@given(circuits())
def test_round_trip_is_exact(circuit: Circuit) -> None:
    # equality of frozen dataclasses: same gates, same qubits, bit-identical angles
    assert from_cirq(to_cirq(circuit), circuit.n_qubits) == circuit


@settings(max_examples=60, deadline=None)
@given(circuits())
def test_cirq_simulates_the_same_state(circuit: Circuit) -> None:
    # Same gate conventions and the same big-endian order: Cirq's state vector over
    # LineQubit.range(n) equals the core simulator's, global phase included.
    ours = statevectors([circuit])[0]
    theirs = cirq.final_state_vector(
        to_cirq(circuit),
        qubit_order=cirq.LineQubit.range(circuit.n_qubits),
        dtype=np.complex128,
    )
    np.testing.assert_allclose(theirs, ours, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(circuits(max_qubits=3, max_gates=8), st.sampled_from([1, 2, 3, 4.5, 5]), st.integers(0, 99))
def test_folded_circuits_keep_the_unitary(circuit: Circuit, scale: float, seed: int) -> None:
    for scaling in ("fold_gates_at_random", "fold_global"):
        (folded,) = ZNEMitigator(scaling=scaling).fold([circuit], scale, seed=seed)
        assert folded.n_qubits == circuit.n_qubits
        np.testing.assert_allclose(statevectors([folded]), statevectors([circuit]), atol=1e-9)


def test_odd_scale_factors_fold_every_gate() -> None:
    P = np.random.default_rng(5).dirichlet(np.ones(8), size=1)
    (c,) = qtcore.amplitude_encoding(P)
    for scale in (3, 5):
        for scaling in ("fold_gates_at_random", "fold_global"):
            (folded,) = ZNEMitigator(scaling=scaling).fold([c], scale, seed=1)
            assert folded.count_ops() == {k: scale * v for k, v in c.count_ops().items()}


def test_fold_seed_is_honoured() -> None:
    # A fractional scale folds a random gate subset: the seed must reach Mitiq (a wrong
    # keyword is silently ignored by Mitiq 1.1.0, which would make these all differ).
    P = np.random.default_rng(6).dirichlet(np.ones(16), size=1)
    (c,) = qtcore.amplitude_encoding(P)
    zne = ZNEMitigator(scale_factors=(1, 2))
    a = zne.fold([c], 2, seed=11)[0]
    assert a == zne.fold([c], 2, seed=11)[0]
    others = {zne.fold([c], 2, seed=s)[0].gates for s in range(12, 17)}
    # 29 gates, 14 folded: two seeds pick the same subset with probability 1/C(29, 14) ≈ 1e-8
    assert len(others | {a.gates}) == 6


def test_idle_qubits_and_empty_circuits() -> None:
    c = Circuit(3, (Gate("x", (2,)),))
    assert from_cirq(to_cirq(c), 3) == c
    assert from_cirq(to_cirq(Circuit(2)), 2) == Circuit(2)


def test_measurements_are_ignored_and_inverse_powers_accepted() -> None:
    q = cirq.LineQubit.range(2)
    native = cirq.Circuit(
        cirq.H(q[0]) ** -1, cirq.X(q[1]) ** 3, cirq.CZ(q[0], q[1]) ** -1, cirq.measure(*q)
    )
    assert [g.name for g in from_cirq(native, 2).gates] == ["h", "x", "cz"]


@pytest.mark.parametrize(
    "op",
    [
        cirq.Y(cirq.LineQubit(0)),
        cirq.X(cirq.LineQubit(0)) ** 0.5,
        cirq.H(cirq.LineQubit(0)) ** 2,
        cirq.SWAP(cirq.LineQubit(0), cirq.LineQubit(1)),
        cirq.X(cirq.GridQubit(0, 0)),
        cirq.X(cirq.LineQubit(5)),
    ],
)
def test_operations_outside_the_ir_raise(op: cirq.Operation) -> None:
    with pytest.raises(qtcore.InvalidInput):
        from_cirq(cirq.Circuit(op), 2)


def test_unbound_parameters_raise() -> None:
    with pytest.raises(qtcore.InvalidInput, match="unbound"):
        to_cirq(Circuit(1, (Gate("ry", (0,), (Parameter(0),)),)))
    with pytest.raises(qtcore.InvalidInput):
        to_cirq("not a circuit")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("scaling", "scale"),
    [
        ("fold_gates_at_random", 3),
        ("fold_gates_at_random", 5),
        ("fold_global", 3),
        ("fold_global", 2.5),
    ],
)
def test_structure_plan_equals_mitiqs_own_folding(scaling: str, scale: float) -> None:
    # The cached per-structure plan must give exactly what folding each circuit with Mitiq
    # gives (same gates in the same order; angles equal, ours exactly ±θ).
    P = np.random.default_rng(9).dirichlet(np.ones(8), size=3)
    circuits = qtcore.amplitude_encoding(P)
    zne = ZNEMitigator(scaling=scaling)
    fast = zne.fold(circuits, scale, seed=4)
    for c, f in zip(circuits, fast):
        slow = zne._mitiq_fold(c, scale, 0)
        assert [(g.name, g.qubits) for g in f.gates] == [(g.name, g.qubits) for g in slow.gates]
        np.testing.assert_allclose(
            [g.params[0] for g in f.gates if g.params],
            [g.params[0] for g in slow.gates if g.params],
            rtol=1e-14,
        )
        angles = {abs(g.params[0]) for g in c.gates if g.params}
        assert {abs(g.params[0]) for g in f.gates if g.params} <= angles


def test_folded_template_binds_like_the_original() -> None:
    t = qtcore.encoding_template(3)
    P = np.random.default_rng(2).dirichlet(np.ones(8), size=2)
    angles = t.angles(P)
    (folded,) = ZNEMitigator().fold([t.circuit], 3)
    for row, c in zip(angles, qtcore.amplitude_encoding(P)):
        assert folded.bind(row) == ZNEMitigator().fold([c], 3)[0]


def test_registering_the_plugin_imports_no_heavy_framework() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "QTCORE_LOAD_PLUGINS": "qtcore,mitiq"}  # this plugin alone
    code = (
        "import sys, qtcore; qtcore.mitigators(); import qtcore_mitiq;"
        "heavy = {'cirq', 'mitiq', 'scipy', 'sympy'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
