"""Composition root of the portal module: wires the kernel's adapters into the handlers."""

from __future__ import annotations

from pathlib import Path

from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.portal.events import subscribe
from rathaus.portal.handlers import Portal
from rathaus.portal.handlers.base import Clock, system_clock
from rathaus.portal.seed import seed
from rathaus.portal.store import metadata
from rathaus.portal.store_appointments import appointments as _appointment_tables  # noqa: F401 - on metadata
from rathaus.portal.store_passkeys import passkeys as _passkey_tables  # noqa: F401 - on metadata
from rathaus.portal.store_postkorb import nachrichten as _postkorb_tables  # noqa: F401 - on metadata
from rathaus.portal.store_strassen import strassenverzeichnis as _strassen_tables  # noqa: F401 - on metadata
from rathaus.portal.web import routes

HERE = Path(__file__).parent


def bootstrap(kernel: Kernel, clock: Clock = system_clock) -> ModuleApp:
    """The portal's app; ``clock`` is what its sessions and passkey challenges measure time by."""
    portal = Portal(kernel, clock)
    subscribe(kernel.subscriptions, portal)

    async def seed_demo() -> None:
        await seed(kernel, portal)

    return ModuleApp(
        routes=routes(portal),
        templates=HERE / "templates",
        migrations=HERE / "migrations",
        metadata=metadata,
        seed=seed_demo,
    )
