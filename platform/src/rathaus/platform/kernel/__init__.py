"""The kernel: what every module uses, the same way.

settings, db, outbox, bus, consumer, blobs, telemetry and web live in their own
files; :class:`Kernel` wires them for one module.
"""

from rathaus.platform.kernel.module import Kernel, ModuleApp
from rathaus.platform.kernel.settings import Settings, load_settings
from rathaus.platform.kernel.uow import UnitOfWork

__all__ = ["Kernel", "ModuleApp", "Settings", "UnitOfWork", "load_settings"]
