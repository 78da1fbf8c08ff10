"""Deliberately broken backends: each must fail the conformance check named for its fault.

They subclass the exact reference backend and break one thing each, the way a careless
plugin author would (several override the public methods, bypassing BackendBase's checks).
``MUTANTS`` maps each to the check that must catch it. ``plugin`` registers them all (for
tests that go through the registry and the CLI).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import qtcore
from qtcore import Capabilities, Circuit, Gate, NoiseModel
from qtcore.reference import ReferenceBackend
from qtcore.shots import sample_counts
from qtcore.simulator import probabilities


def _reverse_columns(counts: np.ndarray) -> np.ndarray:
    width = counts.shape[1]
    n = width.bit_length() - 1
    perm = [int(format(i, f"0{n}b")[::-1], 2) for i in range(width)]
    return counts[:, perm]


class LittleEndian(ReferenceBackend):
    """Reports outcomes little-endian (qubit 0 as the least significant bit)."""

    name = "mutant.little_endian"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        return _reverse_columns(super()._run(circuits, shots=shots, seed=seed, noise=noise))

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any,
                              noise: Any) -> np.ndarray:
        return _reverse_columns(super()._sample_distributions(P, shots=shots, seed=seed,
                                                              noise=noise))


class IgnoresSeed(ReferenceBackend):
    """Draws fresh randomness whatever the seed."""

    name = "mutant.ignores_seed"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        return super()._run(circuits, shots=shots, seed=None, noise=noise)

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any,
                              noise: Any) -> np.ndarray:
        return super()._sample_distributions(P, shots=shots, seed=None, noise=noise)


class WrongShotTotals(ReferenceBackend):
    """Loses one shot per row (an off-by-one in a native result conversion)."""

    name = "mutant.wrong_shot_totals"

    def sample_distributions(self, P: Any, *, shots: int, seed: Any = None,
                             noise: Any = None) -> np.ndarray:
        counts = super().sample_distributions(P, shots=shots, seed=seed, noise=noise)
        if counts.size:
            counts[:, int(np.argmax(counts[0]))] -= 1
            counts = np.clip(counts, 0, None)
        return counts


class IgnoresNoise(ReferenceBackend):
    """Declares noise but simulates every circuit noiselessly."""

    name = "mutant.ignores_noise"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        return super()._run(circuits, shots=shots, seed=seed, noise=None)

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any,
                              noise: Any) -> np.ndarray:
        return super()._sample_distributions(P, shots=shots, seed=seed, noise=None)


class Renormalises(ReferenceBackend):
    """Silently 'fixes' bad input: NaN to 0, absolute values, rows divided by their sum."""

    name = "mutant.renormalises"

    def sample_distributions(self, P: Any, *, shots: int, seed: Any = None,
                             noise: Any = None) -> np.ndarray:
        arr = np.asarray(P, dtype=np.float64)
        if arr.ndim == 2 and arr.shape[1] > 0:
            arr = np.abs(np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0))
            sums = arr.sum(axis=1, keepdims=True)
            arr = np.where(sums > 0, arr / np.where(sums > 0, sums, 1), 1.0 / arr.shape[1])
        return super().sample_distributions(arr, shots=shots, seed=seed, noise=noise)


class DropsLastRow(ReferenceBackend):
    """Loses the last row of every batch (an off-by-one in batching)."""

    name = "mutant.drops_last_row"

    def sample_distributions(self, P: Any, *, shots: int, seed: Any = None,
                             noise: Any = None) -> np.ndarray:
        out = super().sample_distributions(P, shots=shots, seed=seed, noise=noise)
        return out[:-1] if len(out) > 1 else out

    def run(self, circuits: Any, *, shots: int, seed: Any = None,
            noise: Any = None) -> np.ndarray:
        out = super().run(circuits, shots=shots, seed=seed, noise=noise)
        return out[:-1] if len(out) > 1 else out


class IdenticalDraws(ReferenceBackend):
    """Seeds every row's generator with the seed itself: identical rows, identical draws."""

    name = "mutant.identical_draws"

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any,
                              noise: Any) -> np.ndarray:
        probs = self._exact(P, noise)
        root = 12345 if seed is None else seed
        return np.stack([np.random.default_rng(root).multinomial(shots, row / row.sum())
                         for row in probs])


class QiskitLambda(ReferenceBackend):
    """Passes our p as Qiskit's λ (depolarizing too weak by 3/4 for 1q, 15/16 for 2q)."""

    name = "mutant.qiskit_lambda"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        if noise is not None:
            noise = NoiseModel(noise.depolarizing_1q * 3 / 4, noise.depolarizing_2q * 15 / 16,
                               noise.readout)
        return sample_counts(probabilities(circuits, noise), shots, seed)


class FlippedRzSign(ReferenceBackend):
    """Implements rz(θ) as rz(-θ) (a sign convention error)."""

    name = "mutant.flipped_rz"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        flipped = [Circuit(c.n_qubits, tuple(
            Gate("rz", g.qubits, (-float(g.params[0]),)) if g.name == "rz" else g
            for g in c.gates)) for c in circuits]
        return super()._run(flipped, shots=shots, seed=seed, noise=noise)


class AngleScaled(ReferenceBackend):
    """Rotates by 1.05·θ (a subtle calibration/unit bug: TVD ≈ 0.02–0.05 on most probes)."""

    name = "mutant.angle_scaled"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        scaled = [Circuit(c.n_qubits, tuple(
            Gate(g.name, g.qubits, (1.05 * float(g.params[0]),)) if g.params else g
            for g in c.gates)) for c in circuits]
        return super()._run(scaled, shots=shots, seed=seed, noise=noise)


class SwappedNoiseRates(ReferenceBackend):
    """Applies depolarizing_2q after 1q gates and depolarizing_1q after 2q gates."""

    name = "mutant.swapped_noise_rates"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        if noise is not None:
            noise = NoiseModel(min(noise.depolarizing_2q, 0.75), noise.depolarizing_1q,
                               noise.readout)
        return super()._run(circuits, shots=shots, seed=seed, noise=noise)


class LeaksMemory(ReferenceBackend):
    """Keeps every input and result it ever saw."""

    name = "mutant.leaks_memory"

    def __init__(self) -> None:
        self._kept: list[np.ndarray] = []

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any,
                              noise: Any) -> np.ndarray:
        out = super()._sample_distributions(P, shots=shots, seed=seed, noise=noise)
        self._kept += [P.copy(), out.copy()]
        return out


class SwallowsNoise(ReferenceBackend):
    """Declares no noise, then silently ignores a NoiseModel instead of raising."""

    name = "mutant.swallows_noise"
    capabilities = Capabilities(max_qubits=10, exact_probabilities=True)

    def sample_distributions(self, P: Any, *, shots: int, seed: Any = None,
                             noise: Any = None) -> np.ndarray:
        return super().sample_distributions(P, shots=shots, seed=seed, noise=None)

    def run(self, circuits: Any, *, shots: int, seed: Any = None,
            noise: Any = None) -> np.ndarray:
        return super().run(circuits, shots=shots, seed=seed, noise=None)


class IgnoresMaxQubits(ReferenceBackend):
    """Declares max_qubits=3 but runs wider circuits anyway."""

    name = "mutant.ignores_max_qubits"
    capabilities = Capabilities(max_qubits=3, noise=True, exact_probabilities=True)

    def _check_width(self, n: int) -> None:
        return None


class NoisyDevice(ReferenceBackend):
    """Not broken: a device with intrinsic noise (like a calibrated fake device).

    It always applies ``INTRINSIC`` and cannot take a NoiseModel; conformance tests it with
    ``distribution_tolerance_tvd`` (its worst TVD to the ideal on the suite's circuits is
    about 0.09, on 5-qubit encodings). Five qubits keep its density matrices fast.
    """

    name = "mutant.noisy_device"
    capabilities = Capabilities(max_qubits=5, noise=False)
    INTRINSIC = NoiseModel(depolarizing_1q=0.001, depolarizing_2q=0.004, readout=0.005)

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        return super()._run(circuits, shots=shots, seed=seed, noise=self.INTRINSIC)

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any,
                              noise: Any) -> np.ndarray:
        return super()._sample_distributions(P, shots=shots, seed=seed, noise=self.INTRINSIC)


class NoisyLittleEndian(NoisyDevice):
    """A noisy device that also reports little-endian outcomes."""

    name = "mutant.noisy_little_endian"

    def _run(self, circuits: list[Circuit], *, shots: int, seed: Any, noise: Any) -> np.ndarray:
        return _reverse_columns(super()._run(circuits, shots=shots, seed=seed, noise=noise))

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any,
                              noise: Any) -> np.ndarray:
        return _reverse_columns(super()._sample_distributions(P, shots=shots, seed=seed,
                                                              noise=noise))


#: Each broken backend and the check that must catch its fault.
class IgnoresRowOffset(ReferenceBackend):
    """Declares row_seeded and takes row_offset, but seeds every chunk's rows from 0."""

    name = "mutant.ignores_row_offset"

    def _sample_distributions(self, P: np.ndarray, *, shots: int, seed: Any, noise: Any,
                              row_offset: int = 0) -> np.ndarray:
        return super()._sample_distributions(P, shots=shots, seed=seed, noise=noise)


MUTANTS: dict[type[ReferenceBackend], str] = {
    LittleEndian: "bit_order_one_hot_probes",
    IgnoresSeed: "seed_same_counts",
    WrongShotTotals: "output_shape_dtype_totals",
    IgnoresNoise: "noise_depolarizing_closed_form",
    Renormalises: "invalid_probabilities_raise",
    DropsLastRow: "output_shape_dtype_totals",
    IdenticalDraws: "batch_identical_rows_independent",
    QiskitLambda: "noise_depolarizing_closed_form",
    FlippedRzSign: "gates_single_qubit",
    AngleScaled: "gates_single_qubit",
    SwappedNoiseRates: "noise_every_gate_depth_sweep",
    LeaksMemory: "large_batch_no_memory_growth",
    SwallowsNoise: "capabilities_noise_undeclared_raises",
    IgnoresMaxQubits: "capabilities_max_qubits_enforced",
    IgnoresRowOffset: "seed_executor_chunks",
}


@qtcore.hookimpl
def qtcore_backends() -> list[qtcore.BackendInfo]:
    """Register every mutant (for registry and CLI tests)."""
    return [qtcore.BackendInfo(cls.name, factory=cls, description=(cls.__doc__ or "").strip())
            for cls in MUTANTS]
