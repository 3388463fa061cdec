"""Once-only over the real bus: release, refusal, the log and its event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import nats
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from rathaus.broker.bootstrap import bootstrap
from rathaus.broker.store import transparency_log, verify_log
from rathaus.contracts.broker.v1 import (
    FETCH_EVIDENCE,
    LOOKUP_ADDRESS,
    QUERY_TRANSPARENCY,
    AddressInfo,
    AddressQuery,
    EvidenceRequest,
    TransparencyQuery,
)
from rathaus.contracts.common import Person
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.testing import eventually

ERIKA = Person(given_name="erika", family_name="MUSTERMANN", birth_date="1964-08-12")


def request(person: Person, level: str, account: str) -> EvidenceRequest:
    return EvidenceRequest(
        account_id=account,
        assurance_level=level,
        person=person,
        registers=["melderegister", "fahrzeugregister"],
        purpose="Prüfung des Antrags auf einen Bewohnerparkausweis",
        legal_basis="§ 45 StVO",
        service_id="bewohnerparkausweis",
        case_id=str(uuid.uuid4()),
    )


@pytest.fixture
async def kernels(settings: Settings) -> AsyncIterator[tuple[Kernel, Kernel]]:
    broker = Kernel("broker", settings)
    app = bootstrap(broker)
    await broker.start(app, seed=True)
    portal = Kernel("portal", settings)
    await portal.start(ModuleApp())
    yield broker, portal
    await portal.stop(ModuleApp())
    await broker.stop(app)


async def test_release_refusals_log_and_event(kernels: tuple[Kernel, Kernel], settings: Settings) -> None:
    broker, portal = kernels
    nc = await nats.connect(settings.nats.url)
    released_events: list[dict[str, object]] = []

    async def collect(msg: nats.aio.msg.Msg) -> None:
        released_events.append(msgspec.json.decode(msg.data))

    await nc.subscribe("rathaus.broker.evidence.released.v1", cb=collect)
    account = str(uuid.uuid4())
    ok = await portal.ask(FETCH_EVIDENCE, request(ERIKA, "substantiell", account))
    assert ok.released and ok.address is not None and ok.address.street == "Zenettistraße"
    assert ok.stadtbezirk == "02 Ludwigsvorstadt-Isarvorstadt" and ok.parkzone == "Schlachthofviertel"
    assert [v.kennzeichen for v in ok.vehicles] == ["M-EM 1964"]
    low = await portal.ask(FETCH_EVIDENCE, request(ERIKA, "niedrig", account))
    assert not low.released and "substantiell" in low.message and low.address is None
    nobody = Person(given_name="Nie", family_name="Gemeldet", birth_date="2000-01-01")
    unknown = await portal.ask(FETCH_EVIDENCE, request(nobody, "substantiell", account))
    assert not unknown.released and "kein eindeutiger Eintrag" in unknown.message

    async def event_arrived() -> bool:
        return len(released_events) == 1

    await eventually(event_arrived)
    data = released_events[0]["data"]
    assert isinstance(data, dict) and data["evidence_id"] == ok.evidence_id
    assert "Mustermann" not in str(released_events[0]) and "Zenetti" not in str(released_events[0])
    await nc.close()

    log = await portal.ask(QUERY_TRANSPARENCY, TransparencyQuery(account_id=account, person=ERIKA))
    assert [e.released for e in log.entries] == [False, False, True]
    async with broker.db.session() as session:
        assert await verify_log(session)
    with pytest.raises(DBAPIError, match="append-only"):
        async with broker.db.session() as session:
            await session.execute(sa.update(transparency_log).values(purpose="geändert"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with broker.db.session() as session:
            await session.execute(sa.delete(transparency_log))


async def test_address_lookup_from_the_street_directory(kernels: tuple[Kernel, Kernel]) -> None:
    _, portal = kernels
    found = await portal.ask(
        LOOKUP_ADDRESS, AddressQuery(street="Zenettistr.", house_number="12", postal_code="80337")
    )
    assert found == AddressInfo(
        found=True, stadtbezirk="02 Ludwigsvorstadt-Isarvorstadt", parkzone="Schlachthofviertel"
    )
    # another house number of the same street and postal code: the street answers
    other = await portal.ask(
        LOOKUP_ADDRESS, AddressQuery(street="zenettistraße", house_number="99", postal_code="80337")
    )
    assert other.found and other.parkzone == "Schlachthofviertel"
    unknown = await portal.ask(
        LOOKUP_ADDRESS, AddressQuery(street="Nirgendwostraße", house_number="1", postal_code="80331")
    )
    assert not unknown.found and "Straßenverzeichnis" in unknown.message
