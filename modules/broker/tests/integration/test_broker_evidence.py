"""Once-only over the real bus: release by attribute, refusals, the log and its event;
version 1 clients are answered by the same rules."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import nats
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from rathaus.broker.handlers import Broker
from rathaus.broker.store import transparency_log, vehicles, verify_log
from rathaus.contracts.broker import v1, v2
from rathaus.contracts.common import Person
from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.testing import eventually

ERIKA = Person(given_name="erika", family_name="MUSTERMANN", birth_date="1964-08-12")
RELEASED = "rathaus.broker.evidence.released.v1"


def ask(
    attributes: list[str], *, account: str, level: str = "substantiell", **changes: Any
) -> v2.EvidenceRequest:
    fields: dict[str, Any] = {
        "account_id": account,
        "assurance_level": level,
        "person": ERIKA,
        "attributes": attributes,
        "purpose": "Ausstellung einer Meldebescheinigung",
        "legal_basis": "§ 18 BMG",
        "service_id": "meldebescheinigung",
        "case_id": str(uuid.uuid4()),
        **changes,
    }
    return v2.EvidenceRequest(**fields)


def ask_v1(person: Person, level: str, account: str) -> v1.EvidenceRequest:
    return v1.EvidenceRequest(
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
async def released_events(settings: Settings) -> AsyncIterator[list[dict[str, Any]]]:
    nc = await nats.connect(settings.nats.url)
    seen: list[dict[str, Any]] = []

    async def collect(msg: Any) -> None:
        seen.append(msgspec.json.decode(msg.data))

    await nc.subscribe(RELEASED, cb=collect)
    yield seen
    await nc.close()


async def test_exactly_the_requested_attributes_are_released(
    kernels: tuple[Kernel, Kernel], released_events: list[dict[str, Any]]
) -> None:
    broker, portal = kernels
    account = str(uuid.uuid4())
    wanted = ["melderegister.strasse", "melderegister.hausnummer", "melderegister.einzugsdatum"]
    request = ask(wanted, account=account)
    answer = await portal.ask(v2.FETCH_EVIDENCE, request)
    assert answer.released and answer.message == "" and answer.evidence_id
    assert answer.values == {
        "melderegister.strasse": ["Zenettistraße"],
        "melderegister.hausnummer": ["12"],
        "melderegister.einzugsdatum": ["2019-03-01"],
    }
    names = await portal.ask(
        v2.FETCH_EVIDENCE, ask(["melderegister.vorname", "melderegister.geburtsdatum"], account=account)
    )
    assert names.values == {"melderegister.vorname": ["Erika"], "melderegister.geburtsdatum": ["1964-08-12"]}

    async def both_events() -> bool:
        return len(released_events) == 2

    await eventually(both_events)
    event = next(e for e in released_events if e["subject"] == request.case_id)
    data = event["data"]
    assert data["evidence_id"] == answer.evidence_id and data["registers"] == ["melderegister"]
    assert data["attributes"] == sorted(wanted)
    assert "Zenetti" not in str(event) and "2019-03-01" not in str(event)

    async with broker.db.read() as session:
        row = (
            (
                await session.execute(
                    sa.select(transparency_log).where(transparency_log.c.case_id == request.case_id)
                )
            )
            .mappings()
            .one()
        )
    assert row["released"] and row["attributes"] == sorted(wanted) and row["registers"] == ["melderegister"]
    exchanges = await Broker(broker).exchanges(v1.TransparencyQuery(account_id=account, person=ERIKA))
    assert [e.data for e in exchanges] == [
        ["Melderegister: Vorname, Geburtsdatum"],
        ["Melderegister: Anschrift (Straße), Anschrift (Hausnummer), Einzugsdatum"],
    ]


async def test_several_vehicles_are_several_values_in_the_order_of_their_kennzeichen(
    kernels: tuple[Kernel, Kernel],
) -> None:
    broker, portal = kernels
    async with broker.db.session() as session:  # Erika buys a second car
        await session.execute(
            vehicles.insert().values(
                kennzeichen="M-EM 17", holder_id=1, make="Renault", model="Zoe", holder_since="2024-05-02"
            )
        )
    account = str(uuid.uuid4())
    cars = ["fahrzeugregister.kennzeichen", "fahrzeugregister.hersteller", "fahrzeugregister.modell"]
    answer = await portal.ask(v2.FETCH_EVIDENCE, ask(cars, account=account))
    assert answer.values == {
        "fahrzeugregister.kennzeichen": ["M-EM 17", "M-EM 1964"],
        "fahrzeugregister.hersteller": ["Renault", "Volkswagen"],
        "fahrzeugregister.modell": ["Zoe", "Golf"],
    }
    only_plates = await portal.ask(v2.FETCH_EVIDENCE, ask(["fahrzeugregister.kennzeichen"], account=account))
    assert only_plates.values == {"fahrzeugregister.kennzeichen": ["M-EM 17", "M-EM 1964"]}
    old = await portal.ask(v1.FETCH_EVIDENCE, ask_v1(ERIKA, "hoch", account))
    assert [(v.kennzeichen, v.make, v.holder_since) for v in old.vehicles] == [
        ("M-EM 17", "Renault", "2024-05-02"),
        ("M-EM 1964", "Volkswagen", "2019-03-01"),
    ]


async def test_refusals_are_german_logged_and_the_chain_verifies(
    kernels: tuple[Kernel, Kernel], released_events: list[dict[str, Any]]
) -> None:
    broker, portal = kernels
    account = str(uuid.uuid4())
    street = ["melderegister.strasse"]
    low = await portal.ask(v2.FETCH_EVIDENCE, ask(street, account=account, level="niedrig"))
    assert not low.released and "substantiell" in low.message and low.values == {}
    no_purpose = await portal.ask(v2.FETCH_EVIDENCE, ask(street, account=account, purpose=" "))
    assert not no_purpose.released and "Zweck und Rechtsgrundlage" in no_purpose.message
    unknown = await portal.ask(v2.FETCH_EVIDENCE, ask([*street, "melderegister.religion"], account=account))
    assert not unknown.released and "„melderegister.religion“" in unknown.message and unknown.values == {}
    other = await portal.ask(v2.FETCH_EVIDENCE, ask(["steuerregister.einkommen"], account=account))
    assert not other.released and "„steuerregister“ ist nicht angebunden" in other.message
    nobody = Person(given_name="Nie", family_name="Gemeldet", birth_date="2000-01-01")
    unmatched = await portal.ask(v2.FETCH_EVIDENCE, ask(street, account=account, person=nobody))
    assert not unmatched.released and "kein eindeutiger Eintrag" in unmatched.message
    ok = await portal.ask(v2.FETCH_EVIDENCE, ask(street, account=account))
    assert ok.released

    async def released_once() -> bool:
        return len(released_events) == 1

    await eventually(released_once)
    assert released_events[0]["data"]["evidence_id"] == ok.evidence_id  # refusals release nothing

    log = await portal.ask(v1.QUERY_TRANSPARENCY, v1.TransparencyQuery(account_id=account, person=ERIKA))
    assert [e.released for e in log.entries] == [True, False, False, False, False, False]
    assert log.entries[2].registers == ["steuerregister"]
    exchanges = await Broker(broker).exchanges(v1.TransparencyQuery(account_id=account, person=ERIKA))
    assert exchanges[3].data == ["Melderegister: Anschrift (Straße), melderegister.religion"]
    async with broker.db.session() as session:
        assert await verify_log(session)
    with pytest.raises(DBAPIError, match="append-only"):
        async with broker.db.session() as session:
            await session.execute(sa.update(transparency_log).values(attributes=[]))
    with pytest.raises(DBAPIError, match="append-only"):
        async with broker.db.session() as session:
            await session.execute(sa.delete(transparency_log))


async def test_a_changed_entry_breaks_the_chain(kernels: tuple[Kernel, Kernel]) -> None:
    broker, portal = kernels
    account = str(uuid.uuid4())
    await portal.ask(v2.FETCH_EVIDENCE, ask(["melderegister.ort"], account=account))
    await portal.ask(v2.FETCH_EVIDENCE, ask(["melderegister.stadtbezirk"], account=account))
    async with broker.db.session() as session:
        assert await verify_log(session)
        # past the append-only trigger, as someone with the database file (or its owner) could
        if broker.db.is_sqlite:
            await session.execute(sa.text("DROP TRIGGER transparency_log_no_update"))
        else:
            await session.execute(sa.text("ALTER TABLE transparency_log DISABLE TRIGGER USER"))
        await session.execute(
            sa.update(transparency_log)
            .where(transparency_log.c.seq == 1)
            .values(attributes=["melderegister.vorname"])
        )
    async with broker.db.session() as session:
        assert not await verify_log(session)


async def test_version_1_still_answers(
    kernels: tuple[Kernel, Kernel], released_events: list[dict[str, Any]]
) -> None:
    _, portal = kernels
    account = str(uuid.uuid4())
    ok = await portal.ask(v1.FETCH_EVIDENCE, ask_v1(ERIKA, "substantiell", account))
    assert ok.released and ok.address is not None and ok.address.street == "Zenettistraße"
    assert ok.address.city == "München" and ok.address.postal_code == "80337"
    assert ok.stadtbezirk == "02 Ludwigsvorstadt-Isarvorstadt" and ok.parkzone == "Schlachthofviertel"
    assert [v.kennzeichen for v in ok.vehicles] == ["M-EM 1964"]
    low = await portal.ask(v1.FETCH_EVIDENCE, ask_v1(ERIKA, "niedrig", account))
    assert not low.released and "substantiell" in low.message and low.address is None
    nobody = Person(given_name="Nie", family_name="Gemeldet", birth_date="2000-01-01")
    unknown = await portal.ask(v1.FETCH_EVIDENCE, ask_v1(nobody, "substantiell", account))
    assert not unknown.released and "kein eindeutiger Eintrag" in unknown.message

    async def event_arrived() -> bool:
        return len(released_events) == 1

    await eventually(event_arrived)
    data = released_events[0]["data"]
    assert data["evidence_id"] == ok.evidence_id
    assert data["registers"] == ["melderegister", "fahrzeugregister"]
    assert (
        "melderegister.parkzone" in data["attributes"]
        and "fahrzeugregister.kennzeichen" in data["attributes"]
    )
    assert "Mustermann" not in str(released_events[0]) and "Zenetti" not in str(released_events[0])

    log = await portal.ask(v1.QUERY_TRANSPARENCY, v1.TransparencyQuery(account_id=account, person=ERIKA))
    assert [e.released for e in log.entries] == [False, False, True]
    assert log.entries[2].registers == ["melderegister", "fahrzeugregister"]
