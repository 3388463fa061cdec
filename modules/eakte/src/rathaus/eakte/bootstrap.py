"""Composition root of the E-Akte."""

from __future__ import annotations

import contextlib
from pathlib import Path

from rathaus.contracts.eakte.rpc_v1 import AUTHENTICATE_STAFF
from rathaus.eakte.events import subscribe
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.search.indexer import SearchIndexer
from rathaus.eakte.seed import seed
from rathaus.eakte.store import metadata
from rathaus.eakte.web import routes
from rathaus.platform.kernel import Kernel, ModuleApp

HERE = Path(__file__).parent


def bootstrap(kernel: Kernel) -> ModuleApp:
    eakte = EAkte(kernel)
    search = SearchIndexer(kernel)
    subscribe(kernel.subscriptions, eakte)
    kernel.answer(AUTHENTICATE_STAFF, eakte.authenticate)

    async def seed_demo() -> None:
        await seed(kernel, eakte)

    async def organisation() -> None:
        # units and file-plan entries new in the procedure data, on every start
        await eakte.sync_organisation()

    # the Abgabe's transfer directories are read while the module runs (when partners exist)
    transfer = contextlib.AsyncExitStack()

    async def start_transfer() -> None:
        if kernel.settings.abgabe.partners:
            await transfer.enter_async_context(eakte.transfer_loop())

    async def stop_transfer() -> None:
        await transfer.aclose()

    return ModuleApp(
        routes=routes(eakte, search),
        templates=HERE / "templates",
        migrations=HERE / "migrations",
        metadata=metadata,
        on_start=[organisation, start_transfer, search.start, eakte.start_archive_loop],
        on_stop=[eakte.stop_archive_loop, stop_transfer, search.stop],
        seed=seed_demo,
    )
