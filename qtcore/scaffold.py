"""``qtcore new-plugin NAME``: write a complete third-party backend plugin from one template.

The package follows the layout every qtcore plugin shares (pyproject with the ``qtcore``
entry point, ``plugin.py`` with the hook only, ``backend.py``, ``convert.py``, ``noise.py``,
tests that subclass the conformance suite's ``BackendTests``, README, CHANGELOG and a CI
workflow running ``qtcore conformance``). Its backend is a small, honest, batched numpy
statevector simulator that passes conformance as written: replace its insides with your
framework and keep the suite green.

Example:
    >>> import tempfile, pathlib
    >>> from qtcore.scaffold import write_plugin
    >>> root = write_plugin("mysim", tempfile.mkdtemp())
    >>> sorted(p.name for p in (root / "qtcore_mysim").iterdir())
    ['__init__.py', 'backend.py', 'convert.py', 'noise.py', 'plugin.py']
"""

from __future__ import annotations

import re
from pathlib import Path

from qtcore.errors import InvalidInput

__all__ = ["plugin_files", "write_plugin"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "qtcore-{name}"
version = "0.1.0"
description = "qtcore backend plugin: {name}.sim"
readme = "README.md"
requires-python = ">=3.10"
# The qtcore API range this plugin supports (conformance checks it).
dependencies = ["qtcore>=0.1,<0.2", "numpy>=1.24"]

[project.optional-dependencies]
test = ["pytest>=8", "qtcore-conformance>=0.1,<0.2"]

[project.entry-points.qtcore]
{name} = "qtcore_{name}.plugin"

[tool.setuptools.packages.find]
include = ["qtcore_{name}*"]
"""

_INIT = '''\
"""qtcore-{name}: the ``{name}.sim`` backend for qtcore."""

from qtcore_{name}.backend import {cls}

__version__ = "0.1.0"
__all__ = ["{cls}", "__version__"]
'''

_PLUGIN = '''\
"""The qtcore hook of this plugin: registration only, no heavy import at module level."""

from __future__ import annotations

import qtcore


def _create(**options: object) -> qtcore.Backend:
    from qtcore_{name}.backend import {cls}

    return {cls}(**options)


@qtcore.hookimpl
def qtcore_backends() -> list[qtcore.BackendInfo]:
    """Register ``{name}.sim``."""
    return [
        qtcore.BackendInfo(
            "{name}.sim",
            factory=_create,
            description="{name}: batched numpy statevector simulator",
        )
    ]
'''

_CONVERT = '''\
"""IR -> native operations, native results -> qtcore's big-endian counts (bit order lives here).

This template's "native" form is a list of (matrix, qubits) pairs on a statevector whose axis
``q`` is qubit ``q``; flattening it gives big-endian outcome indices (qubit 0 most
significant), so :func:`to_big_endian_counts` has nothing to reorder. A framework with the
opposite order (Qiskit is little-endian) reverses the bits here and nowhere else.
"""

from __future__ import annotations

import numpy as np
from qtcore import Gate

_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_CX = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=np.complex128)
_CZ = np.diag([1, 1, 1, -1]).astype(np.complex128)


def gate_matrices(gate: Gate, angles: np.ndarray) -> np.ndarray:
    """Matrices (B, d, d) of ``gate`` for a batch of angles (B,) (ignored for fixed gates)."""
    batch = angles.shape[0]
    if gate.name in ("h", "x", "cx", "cz"):
        fixed = {{"h": _H, "x": _X, "cx": _CX, "cz": _CZ}}[gate.name]
        return np.broadcast_to(fixed, (batch, *fixed.shape))
    c, s = np.cos(angles / 2), np.sin(angles / 2)
    m = np.zeros((batch, 2, 2), dtype=np.complex128)
    if gate.name == "ry":
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    elif gate.name == "rx":
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -1j * s, -1j * s, c
    elif gate.name == "rz":
        m[:, 0, 0], m[:, 1, 1] = np.exp(-0.5j * angles), np.exp(0.5j * angles)
    else:
        raise ValueError(f"no matrix for gate {{gate.name!r}}")
    return m


def to_big_endian_counts(counts: np.ndarray) -> np.ndarray:
    """Counts (B, 2**n) in qtcore's order; this simulator is big-endian already."""
    return np.asarray(counts, dtype=np.int64)
'''

_NOISE = '''\
"""qtcore.NoiseModel -> native noise. This backend models none.

It declares ``noise=False``, so qtcore.BackendBase raises CapabilityError on any non-trivial
NoiseModel before this module is reached. A noisy backend converts here, in one function, to
its framework's channels (mind the conventions: qtcore.noise's p versus Qiskit's λ).
"""

from __future__ import annotations

from qtcore import CapabilityError, NoiseModel


def to_native_noise(noise: NoiseModel | None) -> None:
    """The native noise model (``None``: this backend is noiseless)."""
    if noise is not None and not noise.is_noiseless:
        raise CapabilityError("{name}.sim models no noise; pass noise=None")
    return None
'''

_BACKEND = '''\
"""The ``{name}.sim`` backend: a batched numpy statevector simulator of the qtcore IR.

Circuits that share a structure (every amplitude-encoding circuit of one width does) are
simulated together as one (B, 2, ..., 2) array; shots come from qtcore.shots.sample_counts,
one seeded stream per row, so the same seed gives the same counts and identical rows get
independent draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import qtcore
from qtcore import Circuit, NoiseModel
from qtcore.shots import sample_counts

from qtcore_{name}.convert import gate_matrices, to_big_endian_counts
from qtcore_{name}.noise import to_native_noise


class {cls}(qtcore.BackendBase):
    """Exact statevector simulation up to 12 qubits, noiseless, seeded and thread-safe."""

    name = "{name}.sim"
    capabilities = qtcore.Capabilities(max_qubits=12, exact_probabilities=True)

    def __init__(self, **options: Any) -> None:
        if options:
            raise qtcore.InvalidInput(f"{name}.sim takes no options, got {{sorted(options)}}")

    def probabilities(self, circuits: list[Circuit], noise: NoiseModel | None = None) -> np.ndarray:
        """Exact outcome probabilities (B, 2**n) of the circuits."""
        to_native_noise(noise)
        circuits = list(circuits)
        if not circuits:
            return np.zeros((0, 0))
        n = circuits[0].n_qubits
        out = np.zeros((len(circuits), 2**n))
        groups: dict[tuple[object, ...], list[int]] = {{}}
        for i, c in enumerate(circuits):
            groups.setdefault(tuple((g.name, g.qubits) for g in c.gates), []).append(i)
        for rows in groups.values():
            state = _simulate([circuits[i] for i in rows])
            out[rows] = np.abs(state.reshape(len(rows), -1)) ** 2
        return out

    def _run(
        self,
        circuits: list[Circuit],
        *,
        shots: int,
        seed: int | None,
        noise: NoiseModel | None,
    ) -> np.ndarray:
        probs = self.probabilities(circuits, noise)
        return to_big_endian_counts(sample_counts(probs, shots, seed))


def _simulate(circuits: list[Circuit]) -> np.ndarray:
    """Statevectors (B, 2, ..., 2) of circuits with one structure (angles may differ)."""
    n, batch = circuits[0].n_qubits, len(circuits)
    state = np.zeros((batch,) + (2,) * n, dtype=np.complex128)
    state[(slice(None),) + (0,) * n] = 1.0
    for j, gate in enumerate(circuits[0].gates):
        angles = np.array([float(c.gates[j].params[0]) if gate.params else 0.0 for c in circuits])
        m = gate_matrices(gate, angles)
        k = len(gate.qubits)
        axes = [1 + q for q in gate.qubits]
        moved = np.moveaxis(state, axes, list(range(-k, 0)))
        shape = moved.shape
        flat = moved.reshape(batch, -1, 2**k)
        flat = np.einsum("bij,bsj->bsi", m, flat)
        state = np.moveaxis(flat.reshape(shape), list(range(-k, 0)), axes)
    return state
'''

_TEST_BACKEND = '''\
"""Direct tests of {name}.sim against qtcore's exact reference backend."""

from __future__ import annotations

import numpy as np
import qtcore
from qtcore import Circuit, Gate
from scipy import stats

from qtcore_{name} import {cls}

FALSE_FAILURE = 1e-6  # per statistical assertion: p-value > 1e-6


def test_registered() -> None:
    assert isinstance(qtcore.get_backend("{name}.sim"), {cls})


def test_probabilities_equal_the_reference() -> None:
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(16), size=4)
    circuits = qtcore.amplitude_encoding(P)
    got = {cls}().probabilities(circuits)
    want = qtcore.ReferenceBackend().probabilities(circuits)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_big_endian() -> None:
    counts = {cls}().run([Circuit(3, (Gate("x", (0,)),))], shots=10, seed=1)
    assert counts[0, 0b100] == 10


def test_counts_fit_the_distribution() -> None:
    P = np.array([[0.1, 0.2, 0.3, 0.4]])
    counts = {cls}().sample_distributions(P, shots=20_000, seed=3)[0]
    p_value = stats.chisquare(counts, 20_000 * P[0]).pvalue
    assert p_value > FALSE_FAILURE
'''

_TEST_CONFORMANCE = '''\
"""The shared qtcore conformance suite, run on {name}.sim."""

from typing import Any, ClassVar

import pytest

qtcore_conformance = pytest.importorskip("qtcore_conformance")


class Test{cls}Conformance(qtcore_conformance.BackendTests):
    backend_name = "{name}.sim"
    backend_options: ClassVar[dict[str, Any]] = {{}}  # kwargs for qtcore.get_backend
    known_failures: ClassVar[dict[str, str]] = {{}}  # check name -> reason (strict xfail)
'''

_README = """\
# qtcore-{name}

A [qtcore](https://pypi.org/project/qtcore/) backend plugin: registers `{name}.sim`, a batched
numpy statevector simulator of the qtcore circuit IR (a starting point: replace its insides
with your framework and keep conformance green).

## Install

```bash
pip install -e .            # registers the `qtcore` entry point `{name}`
qtcore backends             # {name}.sim is listed
qtcore conformance {name}.sim
```

## Capabilities

| capability | value |
|---|---|
| max_qubits | 12 |
| noise | no (a NoiseModel raises `CapabilityError`) |
| exact_probabilities | yes (`probabilities(circuits)`) |
| seeded | yes: same seed, same counts; row i uses its own stream |
| thread_safe | yes |

## Noise mapping

None: this backend is noiseless. A noisy backend maps `qtcore.NoiseModel` in `noise.py` (one
function) and declares `noise=True`; conformance then checks the convention in closed form.

## Credentials

None needed.

## Tests

```bash
pip install -e ".[test]"
pytest tests/    # includes the shared suite (tests/test_{name}_conformance.py)
```
"""

_CHANGELOG = """\
# Changelog

All notable changes to this project are documented here (Keep a Changelog, SemVer).

## [0.1.0]
### Added
- `{name}.sim`: batched numpy statevector backend, generated by `qtcore new-plugin`.
"""

_WORKFLOW = """\
name: conformance

on:
  push:
  pull_request:

jobs:
  conformance:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.10", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python-version }}}}
      - run: python -m pip install --upgrade pip
      - run: python -m pip install -e ".[test]"
      - name: unit tests and the shared suite (BackendTests subclass)
        run: python -m pytest tests/ -q
      - name: qtcore conformance (table, JSON and JUnit reports)
        run: qtcore conformance {name}.sim --json conformance.json --junit-xml conformance.xml
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: conformance-${{{{ matrix.python-version }}}}
          path: conformance.*
"""


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Backend"


def plugin_files(name: str) -> dict[str, str]:
    """Relative path -> text of every file of the plugin ``qtcore-<name>``.

    Raises:
        InvalidInput: ``name`` is not a lower-case identifier.

    Example:
        >>> from qtcore.scaffold import plugin_files
        >>> files = plugin_files("mysim")
        >>> 'mysim = "qtcore_mysim.plugin"' in files["pyproject.toml"]
        True
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"plugin name {name!r} must be a lower-case identifier (letters, digits, '_', "
            "starting with a letter, at most 40 characters), e.g. 'mysim'"
        )
    fields = {"name": name, "cls": _class_name(name)}
    pkg = f"qtcore_{name}"
    templates = {
        "pyproject.toml": _PYPROJECT,
        f"{pkg}/__init__.py": _INIT,
        f"{pkg}/plugin.py": _PLUGIN,
        f"{pkg}/backend.py": _BACKEND,
        f"{pkg}/convert.py": _CONVERT,
        f"{pkg}/noise.py": _NOISE,
        f"tests/test_{name}_backend.py": _TEST_BACKEND,
        f"tests/test_{name}_conformance.py": _TEST_CONFORMANCE,
        "README.md": _README,
        "CHANGELOG.md": _CHANGELOG,
        ".github/workflows/conformance.yml": _WORKFLOW,
    }
    return {path: text.format(**fields) for path, text in templates.items()}


def write_plugin(name: str, directory: str | Path = ".", *, force: bool = False) -> Path:
    """Write the plugin package ``qtcore-<name>/`` under ``directory`` and return its path.

    Raises:
        InvalidInput: bad name, or the target exists and ``force`` is False.

    Example:
        >>> import tempfile
        >>> from qtcore.scaffold import write_plugin
        >>> (write_plugin("demo", tempfile.mkdtemp()) / "README.md").exists()
        True
    """
    files = plugin_files(name)
    root = Path(directory) / f"qtcore-{name}"
    if root.exists() and not force:
        raise InvalidInput(f"{root} exists; choose another directory or pass --force")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
