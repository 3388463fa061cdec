"""An integrator (or a load test) submits the Bewohnerparkausweis as JSON through the portal's
real HTTP app, with the real data broker's street directory on a real nats-server."""

from __future__ import annotations

import asyncio
import base64
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import msgspec
import nats
import pytest

from rathaus.contracts.common import BlobRef
from rathaus.platform.kernel.procedures import Procedures
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX

API = f"{PREFIX}/api/antraege"
ANGABEN = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birth_date": "1964-08-12",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "kennzeichen": "M-EM 1964",
    "halter": "ja",
}
FAHRZEUGSCHEIN = "Zulassungsbescheinigung Teil I (Fahrzeugschein)"


def antrag(scan: bytes | None, **changes: Any) -> dict[str, Any]:
    """A complete application as JSON; ``scan`` None: without the vehicle registration."""
    nachweise = [
        {
            "art": "fahrzeugschein",
            "dateiname": "fahrzeugschein-scan.pdf",
            "inhalt_base64": base64.b64encode(data).decode(),
        }
        for data in ([scan] if scan is not None else [])
    ]
    return {"service_id": "bewohnerparkausweis", "angaben": ANGABEN, "nachweise": nachweise, **changes}


async def test_submit_as_json_once_and_follow_its_status(world: Any, scan: Any) -> None:
    erika = await world.citizen()
    assert (await erika.register()).status_code == 303
    vorgangsnummer = str(uuid.uuid4())
    body = antrag(scan(), vorgangsnummer=vorgangsnummer)

    # sent twice at once (a client retrying): one case, one event
    first, second = await asyncio.gather(erika.http.post(API, json=body), erika.http.post(API, json=body))
    assert sorted([first.status_code, second.status_code]) == [200, 201], (first.text, second.text)
    expected = {
        "vorgangsnummer": vorgangsnummer,
        "status": "eingegangen",
        "status_url": f"/api/antraege/{vorgangsnummer}",
        "hinweise": [],
    }
    assert first.json() == second.json() == expected
    created = first if first.status_code == 201 else second
    assert created.headers["location"] == expected["status_url"]
    again = await erika.http.post(API, json=body)
    assert again.status_code == 200 and again.json() == expected

    status = await erika.http.get(expected["status_url"])
    assert status.status_code == 200
    assert status.json() | {"submitted_at": ""} == {
        "case_id": vorgangsnummer,
        "service_id": "bewohnerparkausweis",
        "status": "eingegangen",
        "aktenzeichen": None,
        "submitted_at": "",
        "service_version": 1,
    }

    events = await world.submitted_events(vorgangsnummer)
    assert len(events) == 1
    data = events[0]["data"]
    assert data["data"] == {
        **ANGABEN,
        "stadtbezirk": "02 Ludwigsvorstadt-Isarvorstadt",
        "parkzone": "Schlachthofviertel",
    }
    assert data["applicant"]["email"] == erika.email and data["applicant"]["account_id"]
    assert data["evidence"] == []  # no register data asked for
    assert [a["field"] for a in data["attachments"]] == ["fahrzeugschein"]
    blob = msgspec.convert(data["attachments"][0]["blob"], BlobRef)
    assert blob.media_type == "application/pdf" and blob.filename == "fahrzeugschein-scan.pdf"
    assert await world.portal.blobs.get(blob) == scan()

    # without a Vorgangsnummer the portal chooses one
    r = await erika.http.post(API, json=antrag(scan()))
    assert r.status_code == 201, r.text
    other = r.json()["vorgangsnummer"]
    assert other != vorgangsnummer and str(uuid.UUID(other)) == other
    listed = (await erika.http.get(API)).json()
    assert {a["case_id"] for a in listed} == {vorgangsnummer, other}
    assert len(await world.submitted_events(other)) == 1

    # another account can neither take the Vorgangsnummer nor see the case
    max_ = await world.citizen()
    assert (await max_.register(given_name="Max", family_name="Huber")).status_code == 303
    r = await max_.http.post(API, json=antrag(scan(), vorgangsnummer=vorgangsnummer))
    assert r.status_code == 409 and set(r.json()["fehler"]) == {"vorgangsnummer"}, r.text
    r = await max_.http.get(expected["status_url"])
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    assert (await max_.http.get(API)).json() == []
    assert len(await world.submitted_events(vorgangsnummer)) == 1


async def test_refused_without_login_as_a_form_or_with_wrong_content(world: Any, scan: Any) -> None:
    visitor = await world.citizen()
    r = await visitor.http.post(API, json=antrag(scan()))
    assert r.status_code == 401 and r.json()["detail"] == "Bitte melden Sie sich an."
    assert (await visitor.http.get(f"{API}/{uuid.uuid4()}")).status_code == 401

    erika = await world.citizen()
    assert (await erika.register()).status_code == 303

    async def refused(body: Any, status: int = 400) -> dict[str, str]:
        r = await erika.http.post(API, json=body)
        assert r.status_code == status, r.text
        fehler: dict[str, str] = r.json()["fehler"]
        return fehler

    # what a cross-site HTML form can send is not accepted (and needs no CSRF token)
    r = await erika.http.post(API, data={"service_id": "bewohnerparkausweis"})
    assert r.status_code == 415, r.text
    r = await erika.http.post(
        API, content=msgspec.json.encode(antrag(scan())), headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415, r.text

    # the form's rules and German messages
    postal_code = Procedures.load().get("bewohnerparkausweis", 1).node("postal_code").element
    fehler = await refused(antrag(scan(), angaben={**ANGABEN, "postal_code": "12345"}))
    assert fehler == {"postal_code": postal_code.pattern_message}
    fehler = await refused(antrag(None))
    assert fehler == {"fahrzeugschein": f"Bitte laden Sie „{FAHRZEUGSCHEIN}“ hoch."}
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    body = antrag(scan())
    body["nachweise"][0] |= {
        "dateiname": "fahrzeugschein.pdf",
        "inhalt_base64": base64.b64encode(gif).decode(),
    }
    fehler = await refused(body)
    assert fehler == {
        "fahrzeugschein": f"{FAHRZEUGSCHEIN}: Diese Datei ist keine erlaubte Datei. "
        "Erlaubt sind: PDF, PNG, JPEG."
    }
    fehler = await refused(antrag(scan(), angaben={**ANGABEN, "street": "Gibtesnichtweg"}))
    assert set(fehler) == {"street"} and "Anschrift" in fehler["street"]
    fehler = await refused(antrag(scan(), angaben={**ANGABEN, "kennzeichen": "", "farbe": "rot"}))
    assert set(fehler) == {"kennzeichen", "farbe"}  # a field the form has not
    # a value only the street directory gives is not taken from the client
    r = await erika.http.post(API, json=antrag(scan(), angaben={**ANGABEN, "parkzone": "Altstadt"}))
    assert r.status_code == 201, r.text
    zone = (await world.submitted_events(r.json()["vorgangsnummer"]))[0]["data"]["data"]["parkzone"]
    assert zone == "Schlachthofviertel"

    # a malformed body
    fehler = await refused({**antrag(scan()), "farbe": "blau"})
    assert set(fehler) == {"farbe"} and "Erlaubt sind: service_id, angaben" in fehler["farbe"]
    fehler = await refused({"angaben": ANGABEN})
    assert fehler == {"service_id": "Diese Angabe fehlt."}
    fehler = await refused(antrag(scan(), vorgangsnummer="123"))
    assert set(fehler) == {"vorgangsnummer"}
    fehler = await refused(antrag(scan(), service_id="gibtesnicht"))
    assert set(fehler) == {"service_id"}
    r = await erika.http.post(API, content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and set(r.json()["fehler"]) == {"antrag"}

    # nothing else was stored: one application, its file, its event
    assert len((await erika.http.get(API)).json()) == 1
    blobs = Path(urlparse(world.settings.blob_location()).path) / "portal"
    assert len([p for p in blobs.rglob("*") if p.is_file()]) == 1
    assert await published(world) == 1


async def published(world: Any) -> int:
    """How many events the portal has published (after its outbox has drained)."""

    async def drained() -> bool:
        return (await world.portal.outbox_storage.stats()).pending == 0

    await eventually(drained)
    nc = await nats.connect(world.settings.nats.url)
    try:
        return int((await nc.jetstream().stream_info("RATHAUS_PORTAL")).state.messages)
    finally:
        await nc.close()


async def test_the_content_check_runs_beside_the_event_loop(
    world: Any, scan: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding an upload (up to 50 megapixels) must not hold the portal's event loop: the
    check here waits until the loop itself lets it go on, which it cannot while the check
    runs on it."""
    from rathaus.portal.handlers import submission

    started, release = threading.Event(), threading.Event()
    real = submission.check_upload

    def check_waiting_for_the_loop(node: Any, data: bytes) -> tuple[str | None, str]:
        started.set()
        if not release.wait(10):
            return "Die Prüfung hat die Ereignisschleife angehalten.", ""
        return real(node, data)

    monkeypatch.setattr(submission, "check_upload", check_waiting_for_the_loop)
    erika = await world.citizen()
    assert (await erika.register()).status_code == 303
    sent = asyncio.create_task(erika.http.post(API, json=antrag(scan())))
    assert await asyncio.to_thread(started.wait, 10)
    asyncio.get_running_loop().call_soon(release.set)  # only a free loop gets here
    r = await sent
    assert r.status_code == 201, r.text
