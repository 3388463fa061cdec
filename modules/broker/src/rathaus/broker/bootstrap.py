"""Composition root of the data broker."""

from __future__ import annotations

from pathlib import Path

from rathaus.broker.directory import publish_street_directory
from rathaus.broker.handlers import Broker
from rathaus.broker.seed import seed_registers, seed_street_directory
from rathaus.broker.store import metadata
from rathaus.broker.web import routes
from rathaus.contracts.broker import v1, v2
from rathaus.platform.kernel import Kernel, ModuleApp

HERE = Path(__file__).parent


def bootstrap(kernel: Kernel) -> ModuleApp:
    broker = Broker(kernel)
    kernel.answer(v2.FETCH_EVIDENCE, broker.fetch_evidence)
    kernel.answer(v2.LOOKUP_ADDRESS, broker.lookup_address)
    kernel.answer(v1.QUERY_TRANSPARENCY, broker.transparency)
    # version 1 for clients not yet upgraded, answered by the same rules
    kernel.answer(v1.FETCH_EVIDENCE, broker.fetch_evidence_v1)
    kernel.answer(v1.LOOKUP_ADDRESS, broker.lookup_address_v1)

    async def seed() -> None:
        async with kernel.db.session() as session:
            await seed_registers(session)

    async def complete_street_directory() -> None:
        async with kernel.db.session() as session:
            await seed_street_directory(session)

    async def publish_directory() -> None:
        await publish_street_directory(kernel)

    return ModuleApp(
        routes=routes(broker),
        templates=HERE / "templates",
        migrations=HERE / "migrations",
        metadata=metadata,
        seed=seed,
        on_start=[complete_street_directory, publish_directory],
    )
