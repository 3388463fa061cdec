"""opendata_0002 on a database that has facts from before it, on SQLite and PostgreSQL:
the facts stay, cases completed before have no duration, cases half known before get none
either (their start was never kept) and keep no timestamp once complete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.opendata import store
from rathaus.opendata.bootstrap import bootstrap
from rathaus.opendata.handlers import OpenData
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.db import Database, alembic_config
from rathaus.platform.testing import eventually

MIGRATIONS = Path(store.__file__).parent / "migrations"
NH = "09 Neuhausen-Nymphenburg"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    if request.param == "postgresql":
        settings.databases["opendata"] = request.getfixturevalue("postgres_url")
    yield settings


async def at_0001(url: str) -> Database:
    db = Database(url, module="opendata")

    def run(connection: sa.Connection) -> None:
        config = alembic_config(MIGRATIONS, "alembic_version", None)
        config.attributes["connection"] = connection
        command.upgrade(config, "opendata_0001")

    async with db.engine.begin() as conn:
        await conn.run_sync(run)
    return db


async def test_upgrade_keeps_the_facts(database: Settings) -> None:
    settings = database
    done, opened_only, delivered_only = (str(uuid.uuid4()) for _ in range(3))
    old = sa.table(
        "faelle",
        *(sa.column(c) for c in ("case_id", "service_id", "stadtbezirk", "antrag_monat", "ergebnis")),
    )
    db = await at_0001(settings.database_url("opendata"))
    async with db.engine.begin() as conn:
        await conn.execute(
            old.insert(),
            [
                {"case_id": done, "service_id": "bewohnerparkausweis", "stadtbezirk": NH}
                | {"antrag_monat": "2026-10", "ergebnis": "granted"},
                {"case_id": opened_only, "service_id": "bewohnerparkausweis", "stadtbezirk": NH}
                | {"antrag_monat": "2026-10", "ergebnis": None},
                {"case_id": delivered_only, "service_id": "bewohnerparkausweis", "stadtbezirk": None}
                | {"antrag_monat": None, "ergebnis": "refused"},
            ],
        )
        await conn.execute(sa.text("update faelle set bescheid_monat = '2026-11' where ergebnis is not null"))
    await db.dispose()

    kernel = Kernel("opendata", settings)
    app = bootstrap(kernel)
    await kernel.start(app)  # migrates to head
    eakte, output = Kernel("eakte", settings), Kernel("output", settings)
    await eakte.start(ModuleApp())
    await output.start(ModuleApp())
    try:
        async with output.transaction() as uow:
            await uow.emit(
                DecisionDelivered(
                    case_id=opened_only,
                    aktenzeichen="523.11-2026-000001",
                    service_id="bewohnerparkausweis",
                    outcome="granted",
                    document=BlobRef(
                        sha256="0" * 64, key="output/x.pdf", size=1, media_type="application/pdf"
                    ),
                    channel="postkorb",
                    sent_at="2026-11-20T10:00:00+00:00",
                    bekanntgabe="2026-11-23",
                ),
                subject=opened_only,
            )
        async with eakte.transaction() as uow:
            await uow.emit(
                CaseOpened(
                    case_id=delivered_only,
                    aktenzeichen="523.11-2026-000002",
                    service_id="bewohnerparkausweis",
                    unit="KVR-III/12",
                    stadtbezirk="09",
                    opened_at="2026-10-20T09:00:00+00:00",
                    submitted_at="2026-10-20T08:00:00+00:00",
                    service_version=1,
                ),
                subject=delivered_only,
            )

        async def handled() -> bool:
            return kernel.consumer.handled == 2

        await eventually(handled, timeout=60)
        async with kernel.db.session() as s:
            facts = {f["case_id"]: f for f in (await s.execute(store.faelle.select())).mappings().all()}
            counts = await store.counts(s, "bewohnerparkausweis")
            hours = await store.durations(s, "bewohnerparkausweis")
        assert set(facts) == {done, opened_only, delivered_only}
        for fact in facts.values():  # all complete now: no timestamps, and no duration known
            assert (fact["beginn"], fact["ende"], fact["dauer_stunden"]) == (None, None, None)
        assert counts == {
            "antraege": {(NH, "2026-10"): 3},
            "bewilligt": {(NH, "2026-11"): 2},
            "abgelehnt": {(NH, "2026-11"): 1},
        }
        assert hours == {}  # counted, but no duration to publish
        ds = await OpenData(kernel).dataset("bewohnerparkausweise-stadtbezirk-monat")
        assert ds is not None and ds.times_total.p50 is None
    finally:
        await output.stop(ModuleApp())
        await eakte.stop(ModuleApp())
        await kernel.stop(app)
