"""Which IBM fake devices ``qiskit-ibm-runtime`` ships, found without importing it.

Registration must stay cheap (importing ``qiskit_ibm_runtime`` takes seconds), so the
variants of ``qiskit.fake:<device>`` are read from the package's data folders: every
``fake_provider/backends/<device>/`` folder holding a ``conf_<device>.json`` snapshot.

Example:
    >>> from qtcore_qiskit.devices import fake_device_names
    >>> "manila" in fake_device_names()
    True
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

__all__ = ["fake_device_names"]


@cache
def fake_device_names() -> tuple[str, ...]:
    """The device names of ``qiskit_ibm_runtime.fake_provider``, sorted; ``()`` if absent.

    Example:
        >>> from qtcore_qiskit.devices import fake_device_names
        >>> names = fake_device_names()
        >>> list(names) == sorted(names)
        True
    """
    # find_spec on a top-level name locates the package without executing it.
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        return ()
    names: set[str] = set()
    for location in spec.submodule_search_locations:
        root = Path(location) / "fake_provider" / "backends"
        if root.is_dir():
            names.update(d.name for d in root.iterdir() if (d / f"conf_{d.name}.json").is_file())
    return tuple(sorted(names))
