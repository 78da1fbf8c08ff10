"""Mutation testing of the suite: every broken backend fails the check named for its fault,
and the correct reference passes that same check (same seed, same α).

Each check runs at its share of the default budget (1e-6), so the reference control fails
with probability ≤ that share; the mutants fail by construction or with power ≫ 0.99.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import qtcore

sys.path.insert(0, str(Path(__file__).parent))
from conformance_mutants import MUTANTS
from qtcore_conformance.base import DEFAULT_BUDGET, DEFAULT_SEED, check_alpha
from qtcore_conformance.catalog import CHECKS
from qtcore_conformance.context import CheckContext, CheckFailed, derive_seed


def run_check(name: str, backend: object, tolerance: float | None = None) -> None:
    """Run one check directly on a backend instance (raises CheckFailed on failure)."""
    chk = CHECKS[name]
    ctx = CheckContext(
        backend=backend,
        backend_name=getattr(backend, "name", "?"),
        check_name=name,
        alpha=check_alpha(chk, DEFAULT_BUDGET),
        seed=derive_seed(DEFAULT_SEED, name),
        reproduce=f"pytest {__file__}",
        tolerance=tolerance,
    )
    chk.func(ctx)


@pytest.mark.parametrize("mutant", list(MUTANTS), ids=lambda m: m.__name__)
def test_mutant_fails_its_named_check(mutant: type) -> None:
    check_name = MUTANTS[mutant]
    with pytest.raises(CheckFailed) as info:
        run_check(check_name, mutant())
    message = str(info.value)
    # Every failure names the check, the seed and a reproducing command.
    assert f"conformance check {check_name!r} failed" in message
    assert "seed:" in message and "reproduce:" in message


class _NoiselessReference(qtcore.ReferenceBackend):
    """The reference, declaring no noise: BackendBase must then raise on a NoiseModel."""

    capabilities = qtcore.Capabilities(max_qubits=10, exact_probabilities=True)


@pytest.mark.parametrize("check_name", sorted(set(MUTANTS.values())))
def test_reference_passes_each_mutation_check(check_name: str) -> None:
    honest = (_NoiselessReference() if check_name == "capabilities_noise_undeclared_raises"
              else qtcore.ReferenceBackend())
    run_check(check_name, honest)


def test_statistical_failure_message_has_the_numbers() -> None:
    from conformance_mutants import FlippedRzSign

    with pytest.raises(CheckFailed) as info:
        run_check("gates_single_qubit", FlippedRzSign())
    message = str(info.value)
    for needle in ("statistic:", "p-value:", "TVD", "power:", "shots:"):
        assert needle in message, message


TOLERANCE_CHECKS = [
    "bit_order_one_hot_probes",
    "bit_order_x_gates",
    "encoding_dirichlet_rows",
    "gates_single_qubit",
    "gates_identities",
    "batch_identical_rows_independent",
    "output_edge_sizes",
]


@pytest.mark.parametrize("check_name", TOLERANCE_CHECKS)
def test_tolerance_mode_passes_an_honest_noisy_device(check_name: str) -> None:
    from conformance_mutants import NoisyDevice

    run_check(check_name, NoisyDevice(), tolerance=0.12)


def test_tolerance_mode_still_catches_faults_and_exact_mode_rejects_device_noise() -> None:
    from conformance_mutants import NoisyDevice, NoisyLittleEndian

    with pytest.raises(CheckFailed, match=r"TVD ≤ 0\.12 one-sided"):
        run_check("bit_order_one_hot_probes", NoisyLittleEndian(), tolerance=0.12)
    # Without a tolerance, device noise is (rightly) a failure of the exact checks.
    with pytest.raises(CheckFailed):
        run_check("encoding_dirichlet_rows", NoisyDevice())
    # NoiseModel checks cannot be checked on top of intrinsic noise: a stated skip.
    with pytest.raises(pytest.skip.Exception, match=r"intrinsic device noise|does not declare"):
        run_check("noise_depolarizing_closed_form", NoisyDevice(), tolerance=0.12)


def test_failing_random_circuit_is_shrunk_to_a_minimal_json_circuit() -> None:
    import json
    import re

    from conformance_mutants import FlippedRzSign

    with pytest.raises(CheckFailed) as info:
        run_check("gates_random_circuits", FlippedRzSign())
    message = str(info.value)
    match = re.search(r"minimal failing circuit \(shrunk from (\d+) gates\): (\{.*\})", message)
    assert match, message
    minimal = qtcore.Circuit.from_json(json.loads(match.group(2)))
    assert len(minimal.gates) < int(match.group(1))
    # Only rz is broken: the minimal circuit must still contain one.
    assert any(g.name == "rz" for g in minimal.gates), minimal
