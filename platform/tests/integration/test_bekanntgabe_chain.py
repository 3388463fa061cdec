"""The Bekanntgabe across the real modules on one nats-server, each with its own database: a
Bescheid rendered by output lands in the citizen's Postkorb, she downloads it over HTTP, the
portal records the retrieval, output moves the day of notice to the retrieval day once (a
redelivered retrieval changes nothing), and the E-Akte and the portal's case page show it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest
import sqlalchemy as sa

from rathaus.contracts.common import Address, Person
from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.platform.v1 import DeliverDecision
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.eakte.bootstrap import bootstrap as eakte_bootstrap
from rathaus.eakte.store import vorgaenge
from rathaus.eakte.store_bekanntgabe import abrufe as eakte_abrufe
from rathaus.eakte.store_bekanntgabe import bekanntgaben
from rathaus.output.bekanntgabe import POSTKORB, appeal_period_end, determine
from rathaus.output.bootstrap import bootstrap as output_bootstrap
from rathaus.output.store import bescheide
from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.calendar import munich_day
from rathaus.platform.kernel.outbox import outbox_table, processed_table
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX, TITLE
from rathaus.portal.bootstrap import bootstrap as portal_bootstrap
from rathaus.portal.store import accounts, applications, postkorb
from rathaus.portal.store_abrufe import abrufe as portal_abrufe

TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
PASSWORD = "Ein-gutes-Passwort-2026"
DETERMINED = "rathaus.output.bekanntgabe.determined.v1"
RETRIEVED = "rathaus.portal.document.retrieved.v1"
PARKEN = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birth_date": "1964-08-12",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "stadtbezirk": "02",
    "parkzone": "Schlachthofviertel",
    "kennzeichen": "M-EM 1964",
    "halter": "ja",
}
FACTS = {
    "gueltig_ab": "2026-11-22",
    "gueltig_bis": "2028-11-21",
    "gebuehr": "30,00 €",
    "gebuehr_cent": "3000",
}


@dataclass
class Town:
    settings: Settings
    portal: Kernel
    output: Kernel
    eakte: Kernel
    platform: Kernel
    base: str

    async def one(self, kernel: Kernel, query: Any) -> dict[str, Any] | None:
        async with kernel.db.read() as s:
            row = (await s.execute(query)).mappings().first()
        return dict(row) if row else None


@pytest.fixture
async def town(settings: Settings) -> AsyncIterator[Town]:
    portal, output, eakte = Kernel("portal", settings), Kernel("output", settings), Kernel("eakte", settings)
    apps = {
        "portal": portal_bootstrap(portal),
        "output": output_bootstrap(output),
        "eakte": eakte_bootstrap(eakte),
    }
    await eakte.start(apps["eakte"], seed=True)
    await output.start(apps["output"])
    await portal.start(apps["portal"])
    platform = Kernel("platform", settings)
    await platform.start(ModuleApp())
    app = apps["portal"]
    web = create_module_app(portal, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    try:
        async with serve_asgi(web) as base:
            yield Town(settings, portal, output, eakte, platform, base)
    finally:
        await platform.stop(ModuleApp())
        await portal.stop(apps["portal"])
        await output.stop(apps["output"])
        await eakte.stop(apps["eakte"])


async def register(http: httpx.AsyncClient, email: str) -> None:
    path = f"{PREFIX}/konto/registrieren"
    token = TOKEN.search((await http.get(path)).text)
    assert token
    form = {
        "_csrf_token": token.group(1),
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birth_date": "1964-08-12",
        "email": email,
        "password": PASSWORD,
        "password_repeat": PASSWORD,
    }
    assert (await http.post(path, data=form)).status_code == 303


async def test_a_retrieval_moves_the_bekanntgabe_once_across_the_modules(town: Town) -> None:
    email = f"erika-{uuid.uuid4().hex[:8]}@example.org"
    async with httpx.AsyncClient(
        base_url=town.base, timeout=30, headers={"User-Agent": "Kettentest/1.0"}
    ) as http:
        await register(http, email)
        account_id = (
            await town.one(town.portal, sa.select(accounts).where(accounts.c.email == email)) or {}
        )["account_id"]
        # the application (as the portal's submission writes it and announces it)
        case_id = str(uuid.uuid4())
        definition = town.eakte.procedures.get("bewohnerparkausweis", 1)
        erika = Party(
            person=Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12"),
            address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
            email=email,
            account_id=account_id,
        )
        async with town.portal.transaction() as uow:
            await uow.session.execute(
                applications.insert().values(
                    case_id=case_id,
                    account_id=account_id,
                    service_id="bewohnerparkausweis",
                    status="eingegangen",
                    submitted_at=datetime.now(UTC).isoformat(),
                    service_version=1,
                )
            )
            await uow.emit(
                ApplicationSubmitted(
                    case_id=case_id,
                    service_id="bewohnerparkausweis",
                    service_version=1,
                    procedure_digest=definition.digest,
                    applicant=erika,
                    data=PARKEN,
                    submitted_at=datetime.now(UTC).isoformat(),
                ),
                subject=case_id,
            )

        async def opened() -> bool:
            return (
                await town.one(town.eakte, sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id))
                is not None
            )

        await eventually(opened, timeout=30)
        case = await town.one(town.eakte, sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id))
        assert case is not None
        # the decision (as the E-Akte makes it) and the workflow's delivery command
        async with town.eakte.transaction() as uow:
            await uow.emit(
                DecisionMade(
                    case_id=case_id,
                    aktenzeichen=case["aktenzeichen"],
                    service_id="bewohnerparkausweis",
                    service_version=1,
                    procedure_digest=definition.digest,
                    outcome="granted",
                    reasons="Die Voraussetzungen liegen vor.",
                    recipient=erika,
                    data=PARKEN,
                    facts=FACTS,
                    unit=case["unit"],
                    decided_by="s1",
                    decided_at=datetime.now(UTC).isoformat(),
                    submitted_at=case["submitted_at"],
                ),
                subject=case_id,
            )
        async with town.platform.transaction() as uow:
            await uow.emit(DeliverDecision(case_id=case_id, channel="postkorb", template=""), subject=case_id)

        async def in_postkorb() -> bool:
            entry = await town.one(town.portal, sa.select(postkorb).where(postkorb.c.case_id == case_id))
            filed = await town.one(
                town.eakte, sa.select(bekanntgaben).where(bekanntgaben.c.case_id == case_id)
            )
            return entry is not None and filed is not None

        await eventually(in_postkorb, timeout=60)
        delivered = await town.one(town.output, sa.select(bescheide).where(bescheide.c.case_id == case_id))
        assert delivered is not None
        presumed = determine(POSTKORB, delivered["sent_at"]).presumed
        assert presumed is not None and delivered["bekanntgabe"] == presumed.isoformat()
        entry = await town.one(town.portal, sa.select(postkorb).where(postkorb.c.case_id == case_id))
        assert entry is not None and entry["bekanntgabe"] == presumed.isoformat()

        # she downloads it: the real PDF, and the chain runs
        r = await http.get(f"{PREFIX}/postkorb/{entry['entry_id']}/herunterladen")
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        abruf = await town.one(town.portal, sa.select(portal_abrufe))
        assert abruf is not None and abruf["user_agent"] == "Kettentest/1.0"
        day = munich_day(abruf["retrieved_at"])
        assert day < presumed  # provided and retrieved within minutes: the retrieval day counts

        async def determined() -> bool:
            notice = await town.one(
                town.eakte, sa.select(bekanntgaben).where(bekanntgaben.c.case_id == case_id)
            )
            shown = await town.one(town.portal, sa.select(portal_abrufe))
            return bool(notice and notice["determined"] and shown and shown["bekanntgabe"])

        await eventually(determined, timeout=30)
        notice = await town.one(town.eakte, sa.select(bekanntgaben).where(bekanntgaben.c.case_id == case_id))
        assert notice is not None
        assert (notice["bekanntgabe"], notice["by_retrieval"], notice["presumed"]) == (
            day.isoformat(),
            True,
            presumed.isoformat(),
        )
        assert notice["appeal_ends"] == appeal_period_end(day).isoformat()
        evidence = await town.one(
            town.eakte, sa.select(eakte_abrufe).where(eakte_abrufe.c.case_id == case_id)
        )
        assert evidence is not None
        assert (evidence["name"], evidence["client_address"], evidence["user_agent"]) == (
            "Erika Mustermann",
            "127.0.0.1",
            "Kettentest/1.0",
        )
        page = (await http.get(f"{PREFIX}/antraege/{case_id}")).text
        assert f"{day.strftime('%d.%m.%Y')} – der Tag Ihres ersten Abrufs" in page

        # the retrieval redelivered on the bus (the same envelope once more) and a second
        # download: output still determined it once
        async with town.portal.db.read() as s:
            payload = (
                await s.execute(sa.select(outbox_table.c.payload).where(outbox_table.c.topic == RETRIEVED))
            ).scalar_one()
            event_id = (
                await s.execute(sa.select(outbox_table.c.event_id).where(outbox_table.c.topic == RETRIEVED))
            ).scalar_one()
        nc = await nats.connect(town.settings.nats.url)
        try:
            await nc.jetstream().publish(RETRIEVED, payload)
        finally:
            await nc.close()
        assert (await http.get(f"{PREFIX}/postkorb/{entry['entry_id']}/herunterladen")).status_code == 200

        async def handled() -> bool:
            async with town.output.db.read() as s:
                seen = await s.execute(
                    sa.select(sa.func.count())
                    .select_from(processed_table)
                    .where(processed_table.c.event_id == event_id)
                )
                return int(seen.scalar_one()) == 1

        await eventually(handled)
        async with town.output.db.read() as s:
            published = (
                await s.execute(
                    sa.select(sa.func.count())
                    .select_from(outbox_table)
                    .where(outbox_table.c.topic == DETERMINED)
                )
            ).scalar_one()
        assert published == 1
        async with town.portal.db.read() as s:
            retrievals = (await s.execute(sa.select(sa.func.count()).select_from(portal_abrufe))).scalar_one()
        assert retrievals == 1
        again = await town.one(town.output, sa.select(bescheide).where(bescheide.c.case_id == case_id))
        assert again is not None and again["bekanntgabe"] == day.isoformat()
