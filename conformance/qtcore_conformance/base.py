"""``BackendTests``: the conformance suite as a pytest class to subclass.

A plugin's test module::

    import pytest
    qtcore_conformance = pytest.importorskip("qtcore_conformance")

    class TestMineConformance(qtcore_conformance.BackendTests):
        backend_name = "mine.sim"
        backend_options = {}              # kwargs for qtcore.get_backend
        known_failures = {}               # check name -> reason (strict xfail)
        distribution_tolerance_tvd = None # set for intrinsic device noise

Each registered check becomes a test method ``test_<check name>``. Skips come only from
declared capabilities (with the reason), and every known failure is a *strict* xfail: it
must keep failing, so a fixed bug surfaces.

Example:
    >>> from qtcore_conformance import BackendTests
    >>> "test_bit_order_one_hot_probes" in dir(BackendTests)
    True
"""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

import pytest

import qtcore
from qtcore_conformance import checks as _checks  # noqa: F401  (registers the checks)
from qtcore_conformance.catalog import CHECKS, GROUPS, Check, total_slots
from qtcore_conformance.context import CheckContext, derive_seed
from qtcore_conformance.session import STATE

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_SEED",
    "BackendTests",
    "MitigatorTests",
    "SamplerTests",
    "check_alpha",
]

DEFAULT_BUDGET = 1e-6
DEFAULT_SEED = 20240611


def check_alpha(chk: Check, budget_per_backend: float) -> float:
    """The fixed α of a check: its slots' share of the per-backend budget.

    Example:
        >>> from qtcore_conformance.base import check_alpha
        >>> from qtcore_conformance.catalog import CHECKS, total_slots
        >>> chk = CHECKS["encoding_dirichlet_rows"]
        >>> check_alpha(chk, 1e-6) == 1e-6 * chk.slots / total_slots()
        True
    """
    # Deterministic checks (slots = 0) spend nothing; a kind may have no stochastic check.
    return budget_per_backend * chk.slots / max(total_slots(chk.kind), 1)


def _make_test(chk: Check) -> Any:
    def test(self: Any, qtcore_check_context: CheckContext) -> None:
        chk.func(qtcore_check_context)

    test.__name__ = f"test_{chk.name}"
    owner = {"backend": "BackendTests", "sampler": "SamplerTests"}.get(chk.kind, "MitigatorTests")
    test.__qualname__ = f"{owner}.test_{chk.name}"
    test.__doc__ = chk.summary
    test.qtcore_check = chk  # type: ignore[attr-defined]
    return pytest.mark.qtcore_check(chk.name, tier=chk.tier, group=chk.group)(test)


class BackendTests:
    """Subclass, set ``backend_name``, and pytest runs every conformance check on it.

    Attributes:
        backend_name: the registered backend to test (None: the backends named with
            ``--qtcore-backend``).
        backend_options: keyword arguments for :func:`qtcore.get_backend`.
        known_failures: check name -> reason; each such check is a strict xfail.
        distribution_tolerance_tvd: for backends with intrinsic device noise: distribution
            checks assert ``TVD ≤ tolerance`` with a one-sided distribution-free test instead
            of an exact goodness of fit, and the NoiseModel checks skip with that reason.
    """

    backend_name: ClassVar[str | None] = None
    backend_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}
    distribution_tolerance_tvd: ClassVar[float | None] = None

    @pytest.fixture(scope="class")
    @classmethod
    def qtcore_backend_name(cls, request: pytest.FixtureRequest) -> str:
        """The backend name (parametrised by ``--qtcore-backend`` when the class has none)."""
        name = request.cls.backend_name
        if name is None:
            pytest.skip("no backend: set backend_name or pass --qtcore-backend NAME")
        return str(name)

    @pytest.fixture(scope="class")
    @classmethod
    def qtcore_backend(cls, request: pytest.FixtureRequest, qtcore_backend_name: str) -> Any:
        """The backend under test, created once per class."""
        try:
            return qtcore.get_backend(qtcore_backend_name, **request.cls.backend_options)
        except qtcore.BackendUnavailable as exc:
            pytest.skip(f"backend {qtcore_backend_name!r} is unavailable here: {exc}")

    @pytest.fixture
    def qtcore_check_context(
        self, request: pytest.FixtureRequest, qtcore_backend: Any, qtcore_backend_name: str
    ) -> Any:
        """A :class:`CheckContext` for the running check, recorded for the reports."""
        chk: Check = request.function.qtcore_check
        config = request.config
        budget = float(config.getoption("qtcore_budget") or DEFAULT_BUDGET)
        base_seed = int(config.getoption("qtcore_seed") or DEFAULT_SEED)
        state = config.stash.get(STATE, None)
        n_backends = state.n_backends if state is not None else 1
        per_backend = budget / max(n_backends, 1)
        tolerance = request.cls.distribution_tolerance_tvd
        cli_tol = config.getoption("qtcore_tolerance_tvd", None)
        if tolerance is None and cli_tol is not None and request.cls.backend_name is None:
            tolerance = float(cli_tol)
        ctx = CheckContext(
            backend=qtcore_backend,
            backend_name=qtcore_backend_name,
            check_name=chk.name,
            alpha=check_alpha(chk, per_backend),
            seed=derive_seed(base_seed, chk.name),
            tolerance=tolerance,
            reproduce=_reproduce(request, qtcore_backend_name, chk.name, base_seed, per_backend,
                                 tolerance),
            options=dict(request.cls.backend_options),
            base_seed=base_seed,
            sink=request.node.user_properties,
        )
        request.node.user_properties.append(("qtcore_seed", ctx.seed))
        yield ctx
        if state is not None:
            state.records.extend(ctx.records)


def _reproduce(
    request: pytest.FixtureRequest,
    backend: str,
    check: str,
    base_seed: int,
    budget: float,
    tolerance: float | None,
) -> str:
    if request.cls.backend_name is None:
        tol = f" --tolerance-tvd {tolerance:g}" if tolerance is not None else ""
        return (f"qtcore conformance {shlex.quote(backend)} --check {check} --seed {base_seed} "
                f"--budget {budget:.6g}{tol}")
    nodeid = request.node.nodeid
    return (f"python -m pytest {shlex.quote(nodeid)} -p no:cacheprovider --qtcore-seed "
            f"{base_seed} --qtcore-budget {budget:.6g}")


class SamplerTests:
    """Subclass, set ``sampler_name``, and pytest runs the sampler checks on it.

    Attributes:
        sampler_name: the registered sampler (``qtcore.get_sampler``).
        sampler_options: keyword arguments for :func:`qtcore.get_sampler`.
        known_failures: check name -> reason; each such check is a strict xfail.

    Example:
        >>> from qtcore_conformance import SamplerTests
        >>> "test_sampler_unbiased" in dir(SamplerTests)
        True
    """

    sampler_name: ClassVar[str | None] = None
    sampler_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def qtcore_sampler_name(cls, request: pytest.FixtureRequest) -> str:
        """The sampler name (parametrised by ``--qtcore-sampler`` when the class has none)."""
        name = request.cls.sampler_name
        if name is None:
            pytest.skip("no sampler: set sampler_name or pass --qtcore-sampler NAME")
        return str(name)

    @pytest.fixture(scope="class")
    @classmethod
    def qtcore_sampler(cls, request: pytest.FixtureRequest, qtcore_sampler_name: str) -> Any:
        """The sampler under test, created once per class."""
        return qtcore.get_sampler(qtcore_sampler_name, **request.cls.sampler_options)

    @pytest.fixture
    def qtcore_check_context(
        self, request: pytest.FixtureRequest, qtcore_sampler: Any, qtcore_sampler_name: str
    ) -> Any:
        """A :class:`CheckContext` whose subject is the sampler."""
        yield from _subject_context(request, qtcore_sampler, qtcore_sampler_name, "sampler")


class MitigatorTests:
    """Subclass, set ``mitigator_name``, and pytest runs the mitigator checks on it.

    Attributes:
        mitigator_name: the registered mitigator (``qtcore.get_mitigator``).
        mitigator_options: keyword arguments for :func:`qtcore.get_mitigator`.
        known_failures: check name -> reason; each such check is a strict xfail.

    Example:
        >>> from qtcore_conformance import MitigatorTests
        >>> "test_mitigator_exact_on_linear_noise" in dir(MitigatorTests)
        True
    """

    mitigator_name: ClassVar[str | None] = None
    mitigator_options: ClassVar[dict[str, Any]] = {}
    known_failures: ClassVar[dict[str, str]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def qtcore_mitigator_name(cls, request: pytest.FixtureRequest) -> str:
        """The mitigator name (parametrised by ``--qtcore-mitigator`` when the class has none)."""
        name = request.cls.mitigator_name
        if name is None:
            pytest.skip("no mitigator: set mitigator_name or pass --qtcore-mitigator NAME")
        return str(name)

    @pytest.fixture(scope="class")
    @classmethod
    def qtcore_mitigator(cls, request: pytest.FixtureRequest, qtcore_mitigator_name: str) -> Any:
        """The mitigator under test, created once per class."""
        try:
            return qtcore.get_mitigator(qtcore_mitigator_name, **request.cls.mitigator_options)
        except qtcore.BackendUnavailable as exc:
            pytest.skip(f"mitigator {qtcore_mitigator_name!r} is unavailable here: {exc}")

    @pytest.fixture
    def qtcore_check_context(
        self, request: pytest.FixtureRequest, qtcore_mitigator: Any, qtcore_mitigator_name: str
    ) -> Any:
        """A :class:`CheckContext` whose subject is the mitigator."""
        yield from _subject_context(request, qtcore_mitigator, qtcore_mitigator_name,
                                    "mitigator")


def _subject_context(
    request: pytest.FixtureRequest, subject: Any, name: str, kind: str
) -> Any:
    """The check context for a sampler or mitigator (a generator fixture body)."""
    chk: Check = request.function.qtcore_check
    config = request.config
    budget = float(config.getoption("qtcore_budget") or DEFAULT_BUDGET)
    base_seed = int(config.getoption("qtcore_seed") or DEFAULT_SEED)
    state = config.stash.get(STATE, None)
    per_subject = budget / max(state.n_backends if state is not None else 1, 1)
    ctx = CheckContext(
        backend=subject,
        backend_name=name,
        check_name=chk.name,
        alpha=check_alpha(chk, per_subject),
        seed=derive_seed(base_seed, chk.name),
        reproduce=(
            f"qtcore conformance --{kind} {shlex.quote(name)} --check {chk.name} --seed "
            f"{base_seed} --budget {per_subject:.6g}"
            if getattr(request.cls, f"{kind}_name") is None
            else f"python -m pytest {shlex.quote(request.node.nodeid)} -p no:cacheprovider "
            f"--qtcore-seed {base_seed} --qtcore-budget {per_subject:.6g}"
        ),
        base_seed=base_seed,
        sink=request.node.user_properties,
    )
    request.node.user_properties.append(("qtcore_seed", ctx.seed))
    yield ctx
    if state is not None:
        state.records.extend(ctx.records)


_OWNERS: dict[str, type] = {
    "backend": BackendTests,
    "sampler": SamplerTests,
    "mitigator": MitigatorTests,
}


for _chk in sorted(CHECKS.values(), key=lambda c: GROUPS.index(c.group)):
    setattr(_OWNERS[_chk.kind], f"test_{_chk.name}", _make_test(_chk))
