"""Plugin discovery and the registry of backends, samplers and mitigators.

The registry is the only place that collects hook results. It loads every entry point of
the ``qtcore`` group one by one, so a plugin that fails to import, or whose hook raises or
returns something malformed, is recorded as ``broken`` with the reason while the others keep
working. Two plugins registering one name raise :class:`~qtcore.PluginConflict` naming both
distributions. The core's built-ins (``qtcore.builtins``) go through the same hooks.

Loading is steered from the environment, as conda and pytest allow:

* ``QTCORE_DISABLED_PLUGINS=a,b``: skip these entry points (by entry-point or distribution name);
* ``QTCORE_LOAD_PLUGINS=a,b``: load only these (the core's built-ins always load);
* ``QTCORE_TRACE_PLUGINS=1``: pluggy's hook tracing to stderr.

Example:
    >>> import qtcore
    >>> "reference" in [entry.name for entry in qtcore.backends()]
    True
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pluggy

from qtcore import builtins, hookspecs
from qtcore.errors import (
    BackendError,
    BackendUnavailable,
    InvalidInput,
    PluginConflict,
    QtcoreError,
    UnknownName,
)
from qtcore.types import BackendInfo, MitigatorInfo, SamplerInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginRecord",
    "Registered",
    "Registry",
    "get_registry",
    "reset_registry",
]

ENTRY_POINT_GROUP = "qtcore"
CORE_PLUGIN = "qtcore"

InfoT = TypeVar("InfoT", BackendInfo, SamplerInfo, MitigatorInfo)

_KINDS: dict[str, tuple[str, type]] = {
    "backend": ("qtcore_backends", BackendInfo),
    "sampler": ("qtcore_samplers", SamplerInfo),
    "mitigator": ("qtcore_mitigators", MitigatorInfo),
}


def _version() -> str:
    try:
        return md.version("qtcore")
    except md.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class PluginRecord:
    """One plugin as the registry sees it.

    Attributes:
        name: the entry-point name (``"qtcore"`` for the core's built-ins).
        distribution, version: the installed distribution that provides it.
        status: ``"ok"``, ``"broken"`` (failed to import or register) or ``"disabled"``.
        reason: why it is broken or disabled.
        hooks: the hooks it implements.

    Example:
        >>> import qtcore
        >>> core = next(p for p in qtcore.plugins() if p.name == "qtcore")
        >>> core.distribution, core.status
        ('qtcore', 'ok')
    """

    name: str
    distribution: str
    version: str
    status: str = "ok"
    reason: str = ""
    hooks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registered(Generic[InfoT]):
    """A registered backend, sampler or mitigator with the plugin that provides it.

    Attributes:
        info: the plugin's :class:`~qtcore.BackendInfo` (or Sampler/MitigatorInfo).
        plugin: the plugin's :class:`PluginRecord`.

    Example:
        >>> import qtcore
        >>> entry = qtcore.get_registry().get("backend", "reference")
        >>> entry.name, entry.plugin.name, entry.unavailable_reason()
        ('reference', 'qtcore', None)
    """

    info: InfoT
    plugin: PluginRecord

    @property
    def name(self) -> str:
        """The registered name."""
        return self.info.name

    @property
    def description(self) -> str:
        """The one-line description."""
        return self.info.description

    def unavailable_reason(self) -> str | None:
        """Why a backend cannot run here, or ``None`` (always ``None`` for non-backends)."""
        check = getattr(self.info, "availability", None)
        if check is None:
            return None
        try:
            reason: str | None = check()
            return reason
        except Exception as exc:  # an availability check must never break a listing
            return f"availability check raised {type(exc).__name__}: {exc}"


@dataclass
class _Loaded:
    records: dict[str, PluginRecord] = field(default_factory=dict)
    by_kind: dict[str, dict[str, Registered[Any]]] = field(default_factory=dict)


def _split_env(value: str | None) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}


class Registry:
    """Loads plugins and resolves names. Most users call :func:`qtcore.get_backend` instead.

    Args:
        entry_points: the entry points to load; default: the installed ``qtcore`` group.
        environ: the environment to read ``QTCORE_*`` variables from; default ``os.environ``.

    Example:
        >>> from qtcore.registry import Registry
        >>> reg = Registry(entry_points=[])
        >>> reg.get("backend", "reference").plugin.distribution
        'qtcore'
    """

    def __init__(
        self,
        entry_points: Iterable[md.EntryPoint] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._entry_points = entry_points
        self._env = os.environ if environ is None else environ
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)

    # -- loading --------------------------------------------------------------------------
    def _load(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load_all()
            return self._loaded

    def _load_all(self) -> _Loaded:
        loaded = _Loaded()
        if self._env.get("QTCORE_TRACE_PLUGINS", "") not in ("", "0"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()
        self.pm.register(builtins, name=CORE_PLUGIN)
        loaded.records[CORE_PLUGIN] = PluginRecord(CORE_PLUGIN, "qtcore", _version())
        disabled = _split_env(self._env.get("QTCORE_DISABLED_PLUGINS"))
        only = _split_env(self._env.get("QTCORE_LOAD_PLUGINS"))
        eps = (
            list(md.entry_points(group=ENTRY_POINT_GROUP))
            if self._entry_points is None
            else list(self._entry_points)
        )
        for ep in eps:
            dist = getattr(ep, "dist", None)
            dist_name = dist.name if dist is not None else "<unknown distribution>"
            version = dist.version if dist is not None else "?"
            if ep.name == CORE_PLUGIN and dist_name == "qtcore":
                continue
            if ep.name in loaded.records:
                loaded.records[f"{ep.name} ({dist_name})"] = PluginRecord(
                    ep.name,
                    dist_name,
                    version,
                    "broken",
                    f"entry point name {ep.name!r} is already used by "
                    f"{loaded.records[ep.name].distribution}; rename one of them",
                )
                continue
            names = {ep.name, dist_name}
            if names & disabled or (only and not names & only):
                why = "QTCORE_DISABLED_PLUGINS" if names & disabled else "QTCORE_LOAD_PLUGINS"
                loaded.records[ep.name] = PluginRecord(
                    ep.name, dist_name, version, "disabled", f"excluded by {why}"
                )
                continue
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
            except Exception as exc:
                loaded.records[ep.name] = PluginRecord(
                    ep.name,
                    dist_name,
                    version,
                    "broken",
                    f"failed to load {ep.value!r}: {type(exc).__name__}: {exc}",
                )
                continue
            loaded.records[ep.name] = PluginRecord(ep.name, dist_name, version)
        for kind, (hook_name, info_type) in _KINDS.items():
            loaded.by_kind[kind] = self._collect(loaded, hook_name, info_type)
        for name, record in list(loaded.records.items()):
            if record.status == "ok":
                plugin = self.pm.get_plugin(name)
                hooks = tuple(
                    h.name for h in (self.pm.get_hookcallers(plugin) or []) if plugin is not None
                )
                loaded.records[name] = PluginRecord(
                    record.name,
                    record.distribution,
                    record.version,
                    record.status,
                    record.reason,
                    tuple(sorted(hooks)),
                )
        return loaded

    def _collect(
        self, loaded: _Loaded, hook_name: str, info_type: type
    ) -> dict[str, Registered[Any]]:
        found: dict[str, Registered[Any]] = {}
        for plugin_name, record in loaded.records.items():
            if record.status != "ok":
                continue
            plugin = self.pm.get_plugin(plugin_name)
            if plugin is None or not hasattr(plugin, hook_name):
                continue
            others = [p for name, p in self.pm.list_name_plugin() if name != plugin_name]
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                results = caller()
                infos = [info for result in results for info in (result or ())]
                for info in infos:
                    if not isinstance(info, info_type):
                        raise TypeError(
                            f"{hook_name} must return {info_type.__name__} objects, "
                            f"got {type(info).__name__}"
                        )
            except Exception as exc:
                loaded.records[plugin_name] = PluginRecord(
                    record.name,
                    record.distribution,
                    record.version,
                    "broken",
                    f"{hook_name} raised {type(exc).__name__}: {exc}",
                )
                # A broken plugin contributes nothing, whichever hook failed.
                for table in loaded.by_kind.values():
                    for key in [k for k, v in table.items() if v.plugin.name == plugin_name]:
                        del table[key]
                continue
            for info in infos:
                if info.name in found:
                    first = found[info.name].plugin
                    raise PluginConflict(
                        f"{info_type.__name__[:-4].lower()} name {info.name!r} is registered "
                        f"by two distributions: {first.distribution} (plugin {first.name!r}) "
                        f"and {record.distribution} (plugin {plugin_name!r}). Uninstall one, "
                        "or disable one with QTCORE_DISABLED_PLUGINS="
                        f"{plugin_name}"
                    )
                found[info.name] = Registered(info, record)
        return found

    # -- queries --------------------------------------------------------------------------
    def plugins(self) -> list[PluginRecord]:
        """Every plugin seen, broken and disabled ones included."""
        return list(self._load().records.values())

    def entries(self, kind: str) -> list[Registered[Any]]:
        """Registered entries of ``kind`` (``"backend"``, ``"sampler"``, ``"mitigator"``)."""
        if kind not in _KINDS:
            raise InvalidInput(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
        loaded = self._load()
        live = {name for name, rec in loaded.records.items() if rec.status == "ok"}
        return sorted(
            (e for e in loaded.by_kind[kind].values() if e.plugin.name in live),
            key=lambda e: e.name,
        )

    def get(self, kind: str, name: str) -> Registered[Any]:
        """The entry registered under ``name`` (or a parametric ``base:variant``).

        Raises:
            UnknownName: no such name; the message suggests close matches and lists all.
        """
        entries = {e.name: e for e in self.entries(kind)}
        if isinstance(name, str):
            if name in entries:
                return entries[name]
            base = name.split(":", 1)[0]
            if ":" in name and base in entries and getattr(entries[base].info, "parametric", False):
                return entries[base]
        names = sorted(entries)
        close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        broken = [r for r in self.plugins() if r.status == "broken"]
        extra = (
            " Broken plugins (see `qtcore backends`): "
            + ", ".join(f"{r.name} ({r.reason})" for r in broken)
            if broken
            else ""
        )
        raise UnknownName(
            f"no {kind} named {name!r}.{hint} Installed {kind}s: {', '.join(names) or 'none'}."
            f"{extra}"
        )

    def create(self, kind: str, name: str, **options: Any) -> Any:
        """Instantiate the named backend, sampler or mitigator with ``options``.

        Raises:
            UnknownName, BackendUnavailable, InvalidInput (options the factory rejects),
            BackendError (the factory failed).
        """
        entry = self.get(kind, name)
        reason = entry.unavailable_reason()
        if reason:
            raise BackendUnavailable(f"{kind} {name!r} cannot run here: {reason}")
        info = entry.info
        args: tuple[Any, ...] = ()
        if getattr(info, "parametric", False):
            variant = name.split(":", 1)[1] if ":" in name else ""
            if not variant:
                variants = ", ".join(getattr(info, "variants", ())) or "see its plugin docs"
                raise InvalidInput(
                    f"{kind} {name!r} needs a variant: '{name}:<variant>' ({variants})"
                )
            args = (variant,)
        factory: Callable[..., Any] = info.factory
        try:
            return factory(*args, **options)
        except QtcoreError:
            raise
        except TypeError as exc:
            raise InvalidInput(f"{kind} {name!r} rejected the options {options}: {exc}") from exc
        except ImportError as exc:
            raise BackendUnavailable(
                f"{kind} {name!r} needs a package that is not installed: {exc}. "
                f"Reinstall its distribution ({entry.plugin.distribution})"
            ) from exc
        except Exception as exc:
            raise BackendError(
                f"creating {kind} {name!r} failed: {type(exc).__name__}: {exc}"
            ) from exc


_REGISTRY: Registry | None = None
_REGISTRY_LOCK = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry, created on first use.

    Example:
        >>> from qtcore.registry import get_registry
        >>> get_registry() is get_registry()
        True
    """
    global _REGISTRY
    with _REGISTRY_LOCK:
        if _REGISTRY is None:
            _REGISTRY = Registry()
        return _REGISTRY


def reset_registry() -> None:
    """Forget loaded plugins; the next call re-reads entry points and the environment.

    Example:
        >>> from qtcore.registry import get_registry, reset_registry
        >>> first = get_registry(); reset_registry(); get_registry() is first
        False
    """
    global _REGISTRY
    with _REGISTRY_LOCK:
        _REGISTRY = None
