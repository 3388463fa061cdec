"""The first retrieval of a Bescheid from the Postkorb, over HTTP with two accounts: recorded
once with who, when and from where, announced on the bus (the INTERNAL event without the
address), never for a citizen the Bescheid is not for; the day of notice output determines
from it is shown on the case page."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import pytest
import sqlalchemy as sa
from PIL import Image

from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.calendar import munich_day
from rathaus.platform.kernel.outbox import outbox_table
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX
from rathaus.portal.bootstrap import bootstrap
from rathaus.portal.handlers import Portal
from rathaus.portal.store import accounts, applications, postkorb
from rathaus.portal.store_abrufe import abrufe

RETRIEVED = "rathaus.portal.document.retrieved.v1"
RECORDED = "rathaus.portal.retrieval.recorded.v1"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Testbrowser/1.0"


async def account_of(world: Any, email: str) -> str:
    async with world.portal.db.read() as s:
        found = await s.execute(sa.select(accounts.c.account_id).where(accounts.c.email == email))
        return str(found.scalar_one())


async def rows(world: Any, table: sa.Table) -> list[dict[str, Any]]:
    async with world.portal.db.read() as s:
        return [dict(r) for r in (await s.execute(sa.select(table))).mappings().all()]


async def test_the_first_retrieval_is_recorded_once_and_only_for_its_citizen(world: Any) -> None:
    erika, max_ = await world.citizen(), await world.citizen()
    assert (await erika.register()).status_code == 303
    assert (
        await max_.register(given_name="Max", family_name="Huber", birth_date="1980-01-01")
    ).status_code == 303
    case_id = str(uuid.uuid4())
    async with world.portal.db.session() as s:
        await s.execute(
            applications.insert().values(
                case_id=case_id,
                account_id=await account_of(world, erika.email),
                service_id="bewohnerparkausweis",
                status="zur_entscheidung",
                submitted_at="2026-11-01T10:00:00+00:00",
                service_version=1,
            )
        )
    nc = await nats.connect(world.settings.nats.url)
    seen: list[dict[str, Any]] = []

    async def collect(msg: Any) -> None:
        seen.append({**msgspec.json.decode(msg.data), "nats_subject": msg.subject})

    await nc.subscribe("rathaus.portal.>", cb=collect)
    output = Kernel("output", world.settings)
    await output.start(ModuleApp())
    try:
        pdf = io.BytesIO()
        Image.new("RGB", (595, 842), "white").save(pdf, format="PDF")
        bescheid = pdf.getvalue()
        ref = await output.blobs.put("output", bescheid, media_type="application/pdf", filename="b.pdf")
        async with output.transaction() as uow:
            await uow.emit(
                DecisionDelivered(
                    case_id=case_id,
                    aktenzeichen="523.11-2026-000321",
                    service_id="bewohnerparkausweis",
                    outcome="granted",
                    document=ref,
                    channel="postkorb",
                    sent_at=datetime.now(UTC).isoformat(),
                    bekanntgabe="2026-12-03",
                ),
                subject=case_id,
            )

        async def arrived() -> bool:
            return len(await rows(world, postkorb)) == 1

        await eventually(arrived)
        (entry,) = await rows(world, postkorb)
        link = f"{PREFIX}/postkorb/{entry['entry_id']}/herunterladen"
        page = (await erika.http.get(f"{PREFIX}/antraege/{case_id}")).text
        assert "Zuerst abgerufen" in page and "noch nicht" in page
        assert "03.12.2026, wenn Sie den Bescheid nicht vorher abrufen" in page

        # another citizen: refused, and nothing is recorded or marked read
        assert (await max_.http.get(link, headers={"User-Agent": AGENT})).status_code == 403
        assert (await max_.http.get(f"{PREFIX}/antraege/{case_id}")).status_code == 403
        assert await rows(world, abrufe) == []
        assert (await rows(world, postkorb))[0]["read"] is False

        # Erika retrieves it twice: the first retrieval is recorded, once
        for _ in range(2):
            r = await erika.http.get(link, headers={"User-Agent": AGENT})
            assert r.status_code == 200 and r.content == bescheid
        (abruf,) = await rows(world, abrufe)
        assert abruf["account_id"] == await account_of(world, erika.email)
        assert abruf["client_address"] == "127.0.0.1" and abruf["user_agent"] == AGENT
        assert abruf["case_id"] == case_id and abruf["sha256"] == ref.sha256
        retrieved_at = datetime.fromisoformat(abruf["retrieved_at"])
        assert abs((datetime.now(UTC) - retrieved_at).total_seconds()) < 60

        async def announced() -> bool:
            return {e["nats_subject"] for e in seen} >= {RETRIEVED, RECORDED}

        await eventually(announced)
        assert (await max_.http.get(link)).status_code == 403  # still not his, after hers
        async with world.portal.db.read() as s:  # everything the portal ever staged for the bus
            staged = (await s.execute(sa.select(outbox_table.c.topic))).scalars().all()
        assert sorted(t for t in staged if t in (RETRIEVED, RECORDED)) == [RETRIEVED, RECORDED]
        (internal,) = [e for e in seen if e["nats_subject"] == RETRIEVED]
        (personal,) = [e for e in seen if e["nats_subject"] == RECORDED]
        assert internal["dataclassification"] == "internal" and personal["dataclassification"] == "personal"
        assert internal["data"] == {
            "retrieval_id": abruf["retrieval_id"],
            "case_id": case_id,
            "sha256": ref.sha256,
            "retrieved_at": abruf["retrieved_at"],
        }
        assert personal["data"]["retrieval_id"] == abruf["retrieval_id"]
        assert personal["data"]["name"] == "Erika Mustermann"
        assert personal["data"]["client_address"] == "127.0.0.1" and personal["data"]["user_agent"] == AGENT

        # output determined the day of notice from the retrieval: the case page says so
        day = munich_day(abruf["retrieved_at"]).isoformat()
        async with output.transaction() as uow:
            await uow.emit(
                BekanntgabeDetermined(
                    case_id=case_id,
                    aktenzeichen="523.11-2026-000321",
                    sha256=ref.sha256,
                    channel="postkorb",
                    provided_at=abruf["retrieved_at"],
                    retrieved_at=abruf["retrieved_at"],
                    presumed="2026-12-03",
                    bekanntgabe=day,
                    by_retrieval=True,
                    legal_basis="§ 9 Abs. 1 Satz 4 OZG",
                ),
                subject=case_id,
            )
        german = munich_day(abruf["retrieved_at"]).strftime("%d.%m.%Y")

        async def shown() -> bool:
            text = (await erika.http.get(f"{PREFIX}/antraege/{case_id}")).text
            return f"{german} – der Tag Ihres ersten Abrufs" in text

        await eventually(shown)
        assert german in (await erika.http.get(f"{PREFIX}/postkorb")).text
        assert (await rows(world, abrufe))[0]["bekanntgabe"] == day
    finally:
        await nc.close()
        await output.stop(ModuleApp())


@pytest.fixture(params=["sqlite", "postgresql"])
async def portal(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Portal]:
    """The portal module on its SQLite file, and on PostgreSQL (where the machine has it)."""
    if request.param == "postgresql":
        settings.databases["portal"] = request.getfixturevalue("postgres_url")
    kernel = Kernel("portal", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    yield Portal(kernel)
    await kernel.stop(app)


async def test_two_first_retrievals_at_once_record_one(portal: Portal) -> None:
    """Two downloads of the same Bescheid at the same moment (two tabs, two members of an
    organisation): one first retrieval, announced once, on SQLite and PostgreSQL."""
    account_id = await portal.register(
        email=f"erika-{uuid.uuid4().hex[:6]}@example.org",
        password="Ein-gutes-Passwort-2026",
        given_name="Erika",
        family_name="Mustermann",
        birth_date="1964-08-12",
    )
    account = await portal.account(account_id)
    assert account is not None
    ref = await portal.kernel.blobs.put("output", b"%PDF-1.7 Bescheid", media_type="application/pdf")
    entry_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with portal.kernel.db.session() as s:
        await s.execute(
            postkorb.insert().values(
                entry_id=entry_id,
                account_id=account_id,
                case_id=case_id,
                title="Bescheid",
                aktenzeichen="523.11-2026-000001",
                bekanntgabe="2026-12-03",
                document=msgspec.to_builtins(ref),
                sha256=ref.sha256,
                read=False,
                created_at=datetime.now(UTC).isoformat(),
            )
        )
    results = await asyncio.gather(
        *(portal.retrieve(account, entry_id, client_address="192.0.2.1", user_agent="A") for _ in range(4))
    )
    assert all(r is not None and r[1] == b"%PDF-1.7 Bescheid" for r in results)
    async with portal.kernel.db.read() as s:
        recorded = (await s.execute(sa.select(abrufe))).mappings().all()
        staged = (await s.execute(sa.select(outbox_table.c.topic))).scalars().all()
    assert len(recorded) == 1 and recorded[0]["client_address"] == "192.0.2.1"
    assert sorted(t for t in staged if t in (RETRIEVED, RECORDED)) == [RETRIEVED, RECORDED]
