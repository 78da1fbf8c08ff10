"""The hook specifications of qtcore: the whole contract between the core and a plugin.

A plugin is a module (or object) registered under the ``qtcore`` entry-point group whose
functions are decorated with ``@qtcore.hookimpl``. Each hook is called once per plugin when
the registry is first used; a plugin that raises is listed as ``broken`` with the reason and
the other plugins keep working.

Example:
    >>> import qtcore
    >>> class MyPlugin:
    ...     @qtcore.hookimpl
    ...     def qtcore_backends(self):
    ...         return [qtcore.BackendInfo("mine.sim", factory=qtcore.ReferenceBackend)]
    >>> sorted(name for name in dir(qtcore.hookspecs) if name.startswith("qtcore_"))
    ['qtcore_backends', 'qtcore_mitigators', 'qtcore_samplers']
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from qtcore.types import BackendInfo, MitigatorInfo, SamplerInfo

hookspec = pluggy.HookspecMarker("qtcore")


@hookspec
def qtcore_backends() -> Iterable[BackendInfo]:
    """Return the backends this plugin provides, as :class:`~qtcore.BackendInfo` objects.

    Called once, when the registry is first used. Must be cheap and must not import the
    plugin's heavy framework: do that inside ``BackendInfo.factory``. Names are namespaced by
    the plugin (``"qiskit.aer"``); a name registered by two plugins is an error naming both.
    A backend that is installed but cannot run here (no GPU, no credentials) is still
    returned, with an ``availability`` callable that gives the reason.
    """


@hookspec
def qtcore_samplers() -> Iterable[SamplerInfo]:
    """Return the classical samplers this plugin provides, as :class:`~qtcore.SamplerInfo`.

    A sampler's ``sample_weights(p, num_samples, generator=...)`` must return weights W with
    E[W] = p (unbiased) unless its description says it is biased and by how much.
    Same rules as :func:`qtcore_backends`: cheap, namespaced, no heavy imports here.
    """


@hookspec
def qtcore_mitigators() -> Iterable[MitigatorInfo]:
    """Return the error mitigators this plugin provides, as :class:`~qtcore.MitigatorInfo`.

    A mitigator's ``run(backend, circuits, shots=..., seed=..., noise=...)`` returns
    quasi-probabilities and reports the total shots it spent. Same rules as
    :func:`qtcore_backends`.
    """
