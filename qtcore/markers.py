"""``hookimpl``: the one pluggy marker plugin authors need (``@qtcore.hookimpl``).

Example:
    >>> import qtcore
    >>> qtcore.hookimpl.project_name
    'qtcore'
"""

from __future__ import annotations

import pluggy

__all__ = ["hookimpl"]

hookimpl = pluggy.HookimplMarker("qtcore")
