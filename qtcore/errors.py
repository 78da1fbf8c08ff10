"""The one error hierarchy of qtcore.

Every error a user can meet derives from :class:`QtcoreError`; each message names the
bad value and says what to do about it.

Example:
    >>> import qtcore
    >>> try:
    ...     qtcore.validate_shots(0)
    ... except qtcore.InvalidInput as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    InvalidInput True
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "CapabilityError",
    "DataUnavailable",
    "InvalidInput",
    "PluginConflict",
    "PluginError",
    "QtcoreError",
    "UnknownName",
]


class QtcoreError(Exception):
    """Base class of every error raised by qtcore and its plugins."""


class InvalidInput(QtcoreError, ValueError):
    """An argument is malformed: NaN or negative probabilities, bad shape, shots ≤ 0, …"""


class CapabilityError(QtcoreError):
    """The backend cannot do what was asked (too many qubits, noise it does not model, …)."""


class BackendUnavailable(QtcoreError):
    """The backend is installed but cannot run here (no GPU, no credentials, …)."""


class BackendError(QtcoreError):
    """The backend failed while running a job that was valid."""


class PluginError(QtcoreError):
    """A plugin is misconfigured or a plugin name cannot be resolved."""


class UnknownName(PluginError, LookupError):
    """No installed plugin registers the requested backend, sampler or mitigator name."""


class PluginConflict(PluginError):
    """Two plugins register the same name."""


class DataUnavailable(QtcoreError):
    """A data set's package or file is not installed; the message gives the pip command."""
