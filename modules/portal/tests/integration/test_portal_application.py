"""A citizen applies through the portal's real HTTP app, with the real data broker on a real
nats-server, and follows the case as other modules report on it."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.platform.v1 import CaseStatusChanged
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX, commands
from rathaus.portal.domain import MSG_LOGIN_FAILED

FORM = f"{PREFIX}/leistungen/bewohnerparkausweis/antrag"


def now() -> str:
    return datetime.now(UTC).isoformat()


async def fill_in(citizen: Any, kennzeichen: str = "M-EM 1964", **person: str) -> None:
    values = {
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birth_date": "1964-08-12",
        "street": "Zenettistraße",
        "house_number": "12",
        "postal_code": "80337",
        **person,
    }
    r = await citizen.post(f"{FORM}/person", {**values, "aktion": "weiter"})
    assert r.status_code == 303 and r.headers["location"].endswith("/fahrzeug"), r.text
    r = await citizen.post(
        f"{FORM}/fahrzeug", {"kennzeichen": kennzeichen, "halter": "ja", "aktion": "weiter"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/nachweise"), r.text


async def upload(citizen: Any, data: bytes, name: str) -> Any:
    hidden = await citizen.hidden(f"{FORM}/nachweise")
    return await citizen.http.post(
        f"{FORM}/nachweise",
        data={**hidden, "aktion": "weiter"},
        files={"fahrzeugschein": (name, data, "application/pdf")},
    )


def pdf_bescheid() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (595, 842), "white").save(out, format="PDF")
    return out.getvalue()


async def test_apply_with_register_data_and_follow_the_case(world: Any, scan: Any) -> None:
    erika = await world.citizen()
    # pages that need an account send the visitor to the login; the API answers 401
    r = await erika.http.get(f"{FORM}")
    assert (
        r.status_code == 303
        and r.headers["location"] == "/konto/anmelden?next=/leistungen/bewohnerparkausweis/antrag"
    )
    assert (await erika.http.get(f"{PREFIX}/api/antraege")).status_code == 401
    assert (await erika.http.get(f"{PREFIX}/antraege/liste")).status_code == 401
    openapi = (await erika.http.get(f"{PREFIX}/schema/openapi.json")).json()
    assert all(path.startswith("/api/") for path in openapi["paths"])  # the pages are not an API
    r = await erika.register()
    assert r.status_code == 303, r.text
    assert "niedrig" in (await erika.http.get(f"{PREFIX}/konto")).text
    await commands.verify_identity(world.portal, email=erika.email)  # the Bürgerbüro checked her ID
    await erika.logout()
    r = await erika.login(password="falsches-Passwort")
    assert r.status_code == 400 and MSG_LOGIN_FAILED in r.text
    r = await erika.login(next="/leistungen/bewohnerparkausweis/antrag")
    assert r.status_code == 303 and r.headers["location"] == "/leistungen/bewohnerparkausweis/antrag"
    assert "substantiell" in (await erika.http.get(f"{PREFIX}/konto")).text

    # register data on request: a preview first, nothing used before she confirms
    r = await erika.post(f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten", {}, page=f"{FORM}/person")
    assert r.status_code == 303 and r.headers["location"].endswith("/registerdaten")
    preview = (await erika.http.get(r.headers["location"])).text
    for expected in ("Zenettistraße", "80337", "M-EM 1964", "§ 45", "Kennzeichen"):
        assert expected in preview, expected
    assert 'value="Zenettistraße"' not in (await erika.http.get(f"{FORM}/person")).text
    r = await erika.post(
        f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten/entscheidung",
        {"wahl": "uebernehmen"},
        page=f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten",
    )
    assert r.status_code == 303
    person_page = (await erika.http.get(f"{FORM}/person")).text
    assert 'value="Zenettistraße"' in person_page and 'value="80337"' in person_page

    # a wrong value: the step keeps what was typed and says what is wrong, linked to the field
    r = await erika.post(
        f"{FORM}/person",
        {**ERIKA_FORM, "postal_code": "12345", "aktion": "weiter"},
    )
    assert r.status_code == 400
    assert 'href="#feld-postal_code"' in r.text and 'aria-invalid="true"' in r.text
    assert "Münchner Postleitzahl" in r.text and 'value="12345"' in r.text
    await fill_in(erika)
    # the vehicle came from the register: the upload is optional, she uploads the scan anyway
    nachweise = (await erika.http.get(f"{FORM}/nachweise")).text
    assert "freiwillig" in nachweise
    r = await upload(erika, scan(), "fahrzeugschein-scan.pdf")
    assert r.status_code == 303 and r.headers["location"].endswith("/zusammenfassung"), r.text
    summary = (await erika.http.get(f"{FORM}/zusammenfassung")).text
    for expected in (
        "fahrzeugschein-scan.pdf",
        "Schlachthofviertel",
        "30,00 €",
        "Melderegister",
        "M-EM 1964",
    ):
        assert expected in summary, expected
    case_id = summary.split('name="case_id" value="')[1].split('"')[0]

    # not without the confirmation; then a double click submits once
    r = await erika.post(f"{FORM}/zusammenfassung", {"case_id": case_id})
    assert r.status_code == 400 and "Bitte bestätigen Sie" in r.text
    token = await erika.token(f"{FORM}/zusammenfassung")
    form = {"case_id": case_id, "bestaetigung": "ja", "_csrf_token": token}
    first, second = await asyncio.gather(
        erika.http.post(f"{FORM}/zusammenfassung", data=form),
        erika.http.post(f"{FORM}/zusammenfassung", data=form),
    )
    third = await erika.http.post(f"{FORM}/zusammenfassung", data=form)
    for r in (first, second, third):
        assert r.status_code == 303 and r.headers["location"] == f"/antraege/{case_id}?eingegangen=1", r.text
    confirmation = (await erika.http.get(first.headers["location"])).text
    assert case_id in confirmation and "Vorgangsnummer" in confirmation
    events = await world.submitted_events(case_id)
    assert len(events) == 1
    data = events[0]["data"]
    assert data["data"]["parkzone"] == "Schlachthofviertel" and data["data"]["kennzeichen"] == "M-EM 1964"
    assert data["stadtbezirk"] == "02 Ludwigsvorstadt-Isarvorstadt"
    assert data["service_version"] == 1 and len(data["procedure_digest"]) == 64
    assert data["evidence"][0]["registers"] == ["melderegister", "fahrzeugregister"]
    assert data["attachments"][0]["field"] == "fahrzeugschein"
    assert data["applicant"]["email"] == erika.email

    # the case moves on: Meine Anträge follows, an older status never overwrites a newer one
    platform, eakte, output = (
        Kernel("platform", world.settings),
        Kernel("eakte", world.settings),
        Kernel("output", world.settings),
    )
    for k in (platform, eakte, output):
        await k.start(ModuleApp())
    try:
        async with platform.transaction() as uow:
            for status in ("zur_entscheidung", "in_pruefung"):
                await uow.emit(
                    CaseStatusChanged(
                        case_id=case_id, service_id="bewohnerparkausweis", status=status, at=now()
                    ),
                    subject=case_id,
                )
        async with eakte.transaction() as uow:
            await uow.emit(
                CaseOpened(
                    case_id=case_id,
                    aktenzeichen="523.11-2026-000007",
                    service_id="bewohnerparkausweis",
                    unit="KVR-III/12",
                    opened_at=now(),
                ),
                subject=case_id,
            )

        async def listed() -> bool:
            text = (await erika.http.get(f"{PREFIX}/antraege/liste")).text
            return "523.11-2026-000007" in text and "Zur Entscheidung" in text

        await eventually(listed)
        assert "In Prüfung" not in (await erika.http.get(f"{PREFIX}/antraege")).text
        page = (await erika.http.get(f"{PREFIX}/antraege")).text
        stand = page.split("/antraege/liste?stand=")[1].split('"')[0]
        assert (await erika.http.get(f"{PREFIX}/antraege/liste?stand={stand}")).status_code == 204
        api = (await erika.http.get(f"{PREFIX}/api/antraege")).json()
        assert api == [
            {
                "case_id": case_id,
                "service_id": "bewohnerparkausweis",
                "status": "zur_entscheidung",
                "aktenzeichen": "523.11-2026-000007",
                "submitted_at": api[0]["submitted_at"],
                "service_version": 1,
            }
        ]

        # the Bescheid arrives in the Postkorb
        bescheid = pdf_bescheid()
        ref = await output.blobs.put(
            "output", bescheid, media_type="application/pdf", filename="bescheid.pdf"
        )
        delivered = DecisionDelivered(
            case_id=case_id,
            aktenzeichen="523.11-2026-000007",
            service_id="bewohnerparkausweis",
            outcome="granted",
            document=ref,
            channel="postkorb",
            sent_at=now(),
            bekanntgabe="2026-11-26",
        )
        for _ in range(2):  # delivered twice (a retry): one entry
            async with output.transaction() as uow:
                await uow.emit(delivered, subject=case_id)

        async def in_postkorb() -> bool:
            return "1 ungelesen" in (await erika.http.get(f"{PREFIX}/postkorb")).text

        await eventually(in_postkorb)
        postkorb = (await erika.http.get(f"{PREFIX}/postkorb")).text
        assert "523.11-2026-000007" in postkorb and "26.11.2026" in postkorb and "herunterladen" in postkorb
        assert postkorb.count("/herunterladen") == 1
        link = _download_link(postkorb)
        r = await erika.http.get(link)
        assert r.status_code == 200 and r.content == bescheid
        assert r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"].startswith("attachment;")
        postkorb = (await erika.http.get(f"{PREFIX}/postkorb")).text
        assert "ungelesen" not in postkorb and "gelesen" in postkorb
        assert "Zugestellt" in (await erika.http.get(f"{PREFIX}/antraege/liste")).text

        # another citizen sees nothing of it, not even with the address of the download
        max_ = await world.citizen()
        await max_.register(given_name="Max", family_name="Huber", birth_date="1980-01-01")
        assert (await max_.http.get(link)).status_code == 403
        assert (await max_.http.get(f"{PREFIX}/postkorb/{uuid.uuid4()}/herunterladen")).status_code == 403
        assert (await max_.http.get(f"{PREFIX}/antraege/{case_id}")).status_code == 403
        assert case_id not in (await max_.http.get(f"{PREFIX}/antraege")).text
        assert (await max_.http.get(f"{PREFIX}/api/antraege")).json() == []
        assert "523.11" not in (await max_.http.get(f"{PREFIX}/postkorb")).text
    finally:
        for k in (output, eakte, platform):
            await k.stop(ModuleApp())

    # who used her data: the broker's log, with the case
    log = (await erika.http.get(f"{PREFIX}/konto/datennutzung")).text
    assert case_id in log and "Melderegister" in log and "Daten übermittelt" in log


ERIKA_FORM = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birth_date": "1964-08-12",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
}


def _download_link(page: str) -> str:
    start = page.index("/postkorb/")
    return page[start : page.index('"', start)]
