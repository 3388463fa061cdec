"""Composition root of the E-Akte."""

from __future__ import annotations

from pathlib import Path

from rathaus.contracts.eakte.rpc_v1 import AUTHENTICATE_STAFF
from rathaus.eakte.events import subscribe
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.seed import seed
from rathaus.eakte.store import metadata
from rathaus.eakte.web import routes
from rathaus.platform.kernel import Kernel, ModuleApp

HERE = Path(__file__).parent


def bootstrap(kernel: Kernel) -> ModuleApp:
    eakte = EAkte(kernel)
    subscribe(kernel.subscriptions, eakte)
    kernel.answer(AUTHENTICATE_STAFF, eakte.authenticate)

    async def seed_demo() -> None:
        await seed(kernel, eakte)

    async def organisation() -> None:
        # units and file-plan entries new in the procedure data, on every start
        await eakte.sync_organisation()

    return ModuleApp(
        routes=routes(eakte),
        templates=HERE / "templates",
        migrations=HERE / "migrations",
        metadata=metadata,
        on_start=[organisation, eakte.start_archive_loop],
        on_stop=[eakte.stop_archive_loop],
        seed=seed_demo,
    )
