"""The kernel: what every module uses, the same way.

settings, db, outbox, bus, consumer, blobs, telemetry and web live in their own
files; :class:`Kernel` wires them for one module.

The names below are imported on first use: ``rathaus.platform.kernel.settings`` alone (what
the command line needs to start) then does not pull in the web framework, the database
layer and the message bus, about two seconds of imports for ``rathaus --help``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rathaus.platform.kernel.module import Kernel, ModuleApp
    from rathaus.platform.kernel.settings import Settings, load_settings
    from rathaus.platform.kernel.uow import UnitOfWork

__all__ = ["Kernel", "ModuleApp", "Settings", "UnitOfWork", "load_settings"]

_WHERE = {
    "Kernel": "module",
    "ModuleApp": "module",
    "Settings": "settings",
    "load_settings": "settings",
    "UnitOfWork": "uow",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
