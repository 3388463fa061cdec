"""A broker database from before attributes and Einzugsdatum, upgraded in place on SQLite
and PostgreSQL: the log's chain still verifies, old entries read as what version 1
released, and every resident gets the Einzugsdatum a fresh seed gives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection

from rathaus.broker.bootstrap import bootstrap
from rathaus.broker.handlers import Broker
from rathaus.broker.seed import synthetic_residents
from rathaus.broker.store import append_log, residents, vehicles, verify_log
from rathaus.contracts.broker import v1, v2
from rathaus.contracts.common import Person
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.db import alembic_config

ERIKA = Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12")
OLD_ACCOUNT = "konto-von-frueher"


def old_entry(case_id: str, released: bool) -> dict[str, object]:
    """A log entry as the broker wrote it before broker_0003: no attributes."""
    return {
        "at": "2026-10-01T09:00:00+00:00",
        "requester": "portal",
        "purpose": "Prüfung des Antrags auf einen Bewohnerparkausweis",
        "legal_basis": "§ 45 StVO",
        "case_id": case_id,
        "service_id": "bewohnerparkausweis",
        "account_id": OLD_ACCOUNT,
        "resident_id": 1 if released else None,
        "registers": ["melderegister", "fahrzeugregister"],
        "released": released,
        "evidence_id": str(uuid.uuid4()) if released else "",
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "postgresql":
        settings.databases["broker"] = request.getfixturevalue("postgres_url")
    return settings


@pytest.fixture
async def upgraded(database: Settings) -> AsyncIterator[tuple[Kernel, Kernel]]:
    broker = Kernel("broker", database)
    app = bootstrap(broker)
    assert app.migrations is not None
    location: Path = app.migrations

    def to_broker_0002(connection: Connection) -> None:
        config = alembic_config(location, "alembic_version", None)
        config.attributes["connection"] = connection
        command.upgrade(config, "broker_0002")

    async with broker.db.engine.begin() as conn:
        await conn.run_sync(to_broker_0002)
    people, cars = synthetic_residents(count=60)
    async with broker.db.session() as session:
        await session.execute(
            residents.insert(), [{k: v for k, v in p.items() if k != "moved_in"} for p in people]
        )
        await session.execute(vehicles.insert(), cars)
        await append_log(session, old_entry(str(uuid.uuid4()), released=True))
        await append_log(session, old_entry(str(uuid.uuid4()), released=False))
    await broker.start(app, seed=True)  # migrates to head; the registers exist, nothing is seeded
    portal = Kernel("portal", database)
    await portal.start(ModuleApp())
    yield broker, portal
    await portal.stop(ModuleApp())
    await broker.stop(app)


async def test_an_old_database_is_upgraded_in_place(upgraded: tuple[Kernel, Kernel]) -> None:
    broker, portal = upgraded
    async with broker.db.read() as session:
        assert await verify_log(session)
        dates = dict((await session.execute(sa.select(residents.c.id, residents.c.moved_in))).all())
    people, _ = synthetic_residents(count=60)
    assert dates == {p["id"]: p["moved_in"] for p in people}
    assert dates[1] == "2019-03-01"

    answer = await portal.ask(
        v2.FETCH_EVIDENCE,
        v2.EvidenceRequest(
            account_id=OLD_ACCOUNT,
            assurance_level="hoch",
            person=ERIKA,
            attributes=["melderegister.einzugsdatum", "melderegister.strasse"],
            purpose="Ausstellung einer Meldebescheinigung",
            legal_basis="§ 18 BMG",
            service_id="meldebescheinigung",
            case_id=str(uuid.uuid4()),
        ),
    )
    assert answer.values == {
        "melderegister.einzugsdatum": ["2019-03-01"],
        "melderegister.strasse": ["Zenettistraße"],
    }
    async with broker.db.read() as session:
        assert await verify_log(session)  # old entries and new ones in one chain

    query = v1.TransparencyQuery(account_id=OLD_ACCOUNT, person=ERIKA)
    exchanges = await Broker(broker).exchanges(query)
    assert [e.released for e in exchanges] == [True, False, True]
    assert exchanges[0].data == ["Melderegister: Anschrift (Straße), Einzugsdatum"]
    # what a version 1 request released, in German words
    assert exchanges[2].data == [
        "Melderegister: Anschrift (Straße), Anschrift (Hausnummer), Anschrift (Postleitzahl), "
        "Anschrift (Ort), Stadtbezirk, Parklizenzgebiet",
        "Fahrzeugregister: Kennzeichen, Fahrzeughersteller, Fahrzeugmodell, Halterin oder Halter seit",
    ]
    parking = "Prüfung des Antrags auf einen Bewohnerparkausweis"
    assert await Broker(broker).statistics() == [
        {
            "purpose": "Ausstellung einer Meldebescheinigung",
            "data": exchanges[0].data,
            "released": True,
            "count": 1,
        },
        {"purpose": parking, "data": exchanges[2].data, "released": True, "count": 1},
        {"purpose": parking, "data": exchanges[2].data, "released": False, "count": 1},
    ]
    log = await portal.ask(v1.QUERY_TRANSPARENCY, query)
    assert [e.registers for e in log.entries] == [
        ["melderegister"],
        ["melderegister", "fahrzeugregister"],
        ["melderegister", "fahrzeugregister"],
    ]
