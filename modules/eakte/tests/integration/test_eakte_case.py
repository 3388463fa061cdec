"""The E-Akte on the real bus: open a case, file documents in any order, decide."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import msgspec
import nats
import pytest

from rathaus.contracts.common import Address, Person
from rathaus.contracts.eakte.rpc_v1 import AUTHENTICATE_STAFF, StaffCredentials
from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.contracts.portal.v1 import Applicant, ApplicationSubmitted
from rathaus.eakte import PREFIX, TITLE
from rathaus.eakte.bootstrap import bootstrap
from rathaus.eakte.handlers import EAkte
from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

NOW = datetime.now(UTC).isoformat()


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[Kernel, ModuleApp, Kernel, Kernel]]:
    eakte = Kernel("eakte", settings)
    app = bootstrap(eakte)
    await eakte.start(app, seed=True)
    portal, input_ = Kernel("portal", settings), Kernel("input", settings)
    await portal.start(ModuleApp())
    await input_.start(ModuleApp())
    yield eakte, app, portal, input_
    await input_.stop(ModuleApp())
    await portal.stop(ModuleApp())
    await eakte.stop(app)


def login_of(settings: Settings, unit: str) -> tuple[str, str]:
    for line in (settings.data_dir / "demo-zugaenge.txt").read_text().splitlines():
        role, user, password, u = line.split("\t")
        if u == unit and role == "sachbearbeitung":
            return user, password
    raise AssertionError(unit)


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    page = (await client.get(path)).text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


async def test_case_documents_decision(
    world: tuple[Kernel, ModuleApp, Kernel, Kernel], settings: Settings
) -> None:
    eakte, app, portal, input_ = world
    nc = await nats.connect(settings.nats.url)
    seen: list[dict[str, object]] = []

    async def collect(msg: nats.aio.msg.Msg) -> None:
        seen.append(msgspec.json.decode(msg.data))

    await nc.subscribe("rathaus.eakte.>", cb=collect)
    case_id = str(uuid.uuid4())
    blob = await input_.blobs.put("input", b"%PDF-1.7 scan", media_type="application/pdf", filename="fs.pdf")
    # the document overtakes the application
    async with input_.transaction() as uow:
        await uow.emit(
            DocumentRouted(
                document_id="doc-1",
                case_id=case_id,
                unit="KVR-III/12",
                document_type="fahrzeugschein",
                title="Fahrzeugschein",
                medium="online",
                source="portal",
                blob=blob,
                text="Zulassungsbescheinigung Teil I",
                received_at=NOW,
            ),
            subject=case_id,
        )
    async with portal.transaction() as uow:
        await uow.emit(
            ApplicationSubmitted(
                case_id=case_id,
                service_id="bewohnerparkausweis",
                account_id="a1",
                applicant=Applicant(
                    person=Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12"),
                    address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
                    email="erika@example.org",
                ),
                form={"kennzeichen": "M-EM 1964", "parkzone": "Schlachthofviertel"},
                submitted_at=NOW,
            ),
            subject=case_id,
        )

    async def opened_and_filed() -> bool:
        types = [e["type"] for e in seen]
        return "de.rathaus.eakte.case.opened.v1" in types and "de.rathaus.eakte.document.filed.v1" in types

    await eventually(opened_and_filed)
    opened = next(e for e in seen if e["type"] == "de.rathaus.eakte.case.opened.v1")
    az = opened["data"]["aktenzeichen"]  # type: ignore[index]
    assert re.fullmatch(r"523\.11-\d{4}-000001", az)

    web = create_module_app(eakte, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    user, password = login_of(settings, "KVR-III/12")
    # a real server in this event loop (a TestClient would run the app in another thread and
    # block this loop, where the consumers hold their transactions)
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base, follow_redirects=True) as client:
        assert (await client.get(f"{PREFIX}/vorgaenge/{case_id}", follow_redirects=False)).status_code in (
            302,
            303,
        )
        token = await form_token(client, f"{PREFIX}/anmelden")
        await client.post(
            f"{PREFIX}/anmelden", data={"username": user, "password": "falsch", "_csrf_token": token}
        )
        token = await form_token(client, f"{PREFIX}/anmelden")
        r = await client.post(
            f"{PREFIX}/anmelden", data={"username": user, "password": password, "_csrf_token": token}
        )
        assert az in r.text
        page = (await client.get(f"{PREFIX}/vorgaenge/{case_id}")).text
        assert "Zulassungsbescheinigung Teil I" in page and "Erika" in page
        original = await client.get(f"{PREFIX}/vorgaenge/{case_id}/dokumente/1/original")
        assert original.content == b"%PDF-1.7 scan"
        token = await form_token(client, f"{PREFIX}/vorgaenge/{case_id}")
        r = await client.post(
            f"{PREFIX}/vorgaenge/{case_id}/entscheidung",
            data={"outcome": "refused", "reasons": "zu kurz", "_csrf_token": token},
        )
        assert "Begründung" in r.text
        token = await form_token(client, f"{PREFIX}/vorgaenge/{case_id}")
        await client.post(
            f"{PREFIX}/vorgaenge/{case_id}/entscheidung",
            data={"outcome": "granted", "reasons": "", "_csrf_token": token},
        )

    async def decided() -> bool:
        return any(e["type"] == "de.rathaus.eakte.decision.made.v1" for e in seen)

    await eventually(decided)
    made = next(e for e in seen if e["type"] == "de.rathaus.eakte.decision.made.v1")["data"]
    assert made["outcome"] == "granted" and made["facts"]["kennzeichen"] == "M-EM 1964"  # type: ignore[index]
    # another unit's clerk may neither see nor decide it
    other_user, other_password = login_of(settings, "KVR-II/11")
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base, follow_redirects=True) as client:
        token = await form_token(client, f"{PREFIX}/anmelden")
        await client.post(
            f"{PREFIX}/anmelden",
            data={"username": other_user, "password": other_password, "_csrf_token": token},
        )
        assert (await client.get(f"{PREFIX}/vorgaenge/{case_id}")).status_code == 403
        assert az not in (await client.get(f"{PREFIX}/")).text
    # the request/reply login for other modules, and the audit chain
    ok = await portal.ask(AUTHENTICATE_STAFF, StaffCredentials(username=user, password=password))
    bad = await portal.ask(AUTHENTICATE_STAFF, StaffCredentials(username=user, password="nein"))
    assert ok.ok and ok.unit == "KVR-III/12" and not bad.ok
    assert await EAkte(eakte).verify_audit()
    await nc.close()
