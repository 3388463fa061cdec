"""When the registers may not or cannot help: the broker's refusal, filling in by hand, the
street directory for the parking zone, uploads that are refused, the login lock."""

from __future__ import annotations

from typing import Any

import msgspec
import nats

from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX, commands
from rathaus.portal.domain import MAX_FAILURES, MSG_LOGIN_FAILED
from rathaus.portal.handlers import MSG_BROKER_DOWN

FORM = f"{PREFIX}/leistungen/bewohnerparkausweis/antrag"
BY_HAND = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birth_date": "1964-08-12",
    "street": "Zenettistr.",
    "house_number": "12",
    "postal_code": "80337",
}


async def upload(citizen: Any, data: bytes, name: str, aktion: str = "weiter") -> Any:
    hidden = await citizen.hidden(f"{FORM}/nachweise")
    return await citizen.http.post(
        f"{FORM}/nachweise",
        data={**hidden, "aktion": aktion},
        files={"fahrzeugschein": (name, data, "application/pdf")},
    )


async def test_unverified_account_is_refused_and_fills_in_by_hand(world: Any, scan: Any) -> None:
    nc = await nats.connect(world.settings.nats.url)
    seen: list[dict[str, Any]] = []

    async def collect(msg: Any) -> None:
        seen.append(msgspec.json.decode(msg.data))

    await nc.subscribe("rathaus.portal.>", cb=collect)
    # the real Erika, verified, has her data released for her own application
    erika = await world.citizen()
    await erika.register()
    await commands.verify_identity(world.portal, email=erika.email)
    await erika.post(f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten", {}, page=f"{FORM}/person")
    assert (
        "Zenettistraße"
        in (await erika.http.get(f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten")).text
    )
    # someone registers with her name and birth date, without a verified identity
    anna = await world.citizen()
    assert (await anna.register()).status_code == 303  # level "niedrig"
    r = await anna.post(f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten", {}, page=f"{FORM}/person")
    assert r.status_code == 303 and r.headers["location"] == f"{FORM}/person"
    page = (await anna.http.get(f"{FORM}/person")).text
    assert "Vertrauensniveau" in page and "substantiell" in page and "keine Registerdaten" in page
    assert (await anna.http.get(f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten")).status_code == 302

    # an address the street directory does not know: said at the address fields, nothing lost
    r = await anna.post(f"{FORM}/person", {**BY_HAND, "street": "Gibtsnichtweg", "aktion": "weiter"})
    assert r.status_code == 400 and "Straßenverzeichnis" in r.text and 'value="Gibtsnichtweg"' in r.text
    assert 'href="#feld-street"' in r.text
    r = await anna.post(f"{FORM}/person", {**BY_HAND, "aktion": "weiter"})
    assert r.status_code == 303 and r.headers["location"].endswith("/fahrzeug")
    assert "keine Registerdaten" not in (await anna.http.get(f"{FORM}/person")).text
    r = await anna.post(f"{FORM}/fahrzeug", {"kennzeichen": "M-AN 42", "halter": "", "aktion": "weiter"})
    assert r.status_code == 400 and "Halterin oder Halter" in r.text and 'value="M-AN 42"' in r.text
    r = await anna.post(f"{FORM}/fahrzeug", {"kennzeichen": "M-AN 42", "halter": "ja", "aktion": "weiter"})
    assert r.status_code == 303

    # without register data the registration certificate is required, and checked by content
    assert "freiwillig" not in (await anna.http.get(f"{FORM}/nachweise")).text
    r = await anna.post(f"{FORM}/nachweise", {"aktion": "weiter"})
    assert r.status_code == 400 and "Bitte laden Sie „Zulassungsbescheinigung" in r.text
    r = await upload(anna, b"Dies ist nur Text.\n" * 20, "fahrzeugschein.pdf")
    assert r.status_code == 400 and "keine erlaubte Datei" in r.text
    r = await upload(anna, scan()[:2000], "abgeschnitten.pdf")
    assert r.status_code == 400 and "beschädigt" in r.text
    r = await upload(anna, scan(), "C:\\Scans\\fahrzeugschein.pdf")
    assert r.status_code == 303
    # "Zurück" keeps the upload and goes back a step; a new file replaces the old one
    r = await upload(anna, scan(), "zweiter-scan.pdf", aktion="zurueck")
    assert r.status_code == 303 and r.headers["location"].endswith("/fahrzeug")
    nachweise = (await anna.http.get(f"{FORM}/nachweise")).text
    assert "zweiter-scan.pdf" in nachweise and "Scans" not in nachweise

    summary = (await anna.http.get(f"{FORM}/zusammenfassung")).text
    assert "Schlachthofviertel" in summary and "Sie haben alle Angaben selbst eingetragen" in summary
    case_id = summary.split('name="case_id" value="')[1].split('"')[0]
    r = await anna.post(f"{FORM}/zusammenfassung", {"case_id": case_id, "bestaetigung": "ja"})
    assert r.status_code == 303, r.text

    async def submitted() -> bool:
        return any(e["type"] == "de.rathaus.portal.application.submitted.v2" for e in seen)

    await eventually(submitted)
    event = next(e for e in seen if e["type"] == "de.rathaus.portal.application.submitted.v2")["data"]
    assert event["evidence"] == [] and event["data"]["parkzone"] == "Schlachthofviertel"
    assert (
        event["data"]["street"] == "Zenettistr."
        and event["attachments"][0]["blob"]["filename"] == "zweiter-scan.pdf"
    )
    # she sees her own (refused) request in the log, not the exchanges of others about "Erika Mustermann"
    log = (await anna.http.get(f"{PREFIX}/konto/datennutzung")).text
    assert "Nichts übermittelt" in log and "Daten übermittelt" not in log
    await nc.close()


async def test_login_is_locked_after_repeated_failures(world: Any) -> None:
    max_ = await world.citizen()
    await max_.register(given_name="Max", family_name="Huber", birth_date="1980-01-01")
    await max_.logout()
    for _ in range(MAX_FAILURES - 1):
        r = await max_.login(password="falsch-falsch-falsch")
        assert r.status_code == 400 and MSG_LOGIN_FAILED in r.text
    r = await max_.login(password="falsch-falsch-falsch")
    assert r.status_code == 400 and "gesperrt" in r.text
    r = await max_.login()  # even the right password waits for the lock to end
    assert r.status_code == 400 and "gesperrt" in r.text
    # the same for an address without an account: the lock tells nobody which addresses exist
    ghost = await world.citizen()
    for _ in range(MAX_FAILURES):
        r = await ghost.login(password="irgendetwas-langes")
    assert "gesperrt" in r.text
    # an unsafe "next" is ignored
    other = await world.citizen()
    await other.register(given_name="Eva", family_name="Berg", birth_date="1990-02-03")
    await other.logout()
    r = await other.login(next="//boese.example/")
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_registers_out_of_reach(world_without_broker: Any) -> None:
    world = world_without_broker
    citizen = await world.citizen()
    await citizen.register()
    r = await citizen.post(
        f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten", {}, page=f"{FORM}/person"
    )
    assert r.status_code == 303
    assert MSG_BROKER_DOWN in (await citizen.http.get(f"{FORM}/person")).text
    # the street directory is out of reach too: the address is taken, the zone left to staff
    r = await citizen.post(f"{FORM}/person", {**BY_HAND, "aktion": "weiter"})
    assert r.status_code == 303
    await citizen.post(f"{FORM}/fahrzeug", {"kennzeichen": "M-EM 1964", "halter": "ja", "aktion": "weiter"})
    summary = (await citizen.http.get(f"{FORM}/zusammenfassung")).text
    assert "den Stadtbezirk ermittelt die Sachbearbeitung" in summary
    log = await citizen.http.get(f"{PREFIX}/konto/datennutzung")
    assert log.status_code == 200 and "nicht erreichbar" in log.text


async def test_demo_citizen_is_seeded_once_and_verified(world: Any) -> None:
    assert world.app.seed is not None
    await world.app.seed()
    await world.app.seed()  # idempotent
    lines = (world.settings.data_dir / "demo-zugaenge.txt").read_text(encoding="utf-8").splitlines()
    demo = [line.split("\t") for line in lines if line.startswith("buergerin\t")]
    assert len(demo) == 1 and len(demo[0]) == 4
    _, email, password, _ = demo[0]
    erika = await world.citizen()
    erika.email = email
    assert (await erika.login(password=password)).status_code == 303
    assert "substantiell" in (await erika.http.get(f"{PREFIX}/konto")).text
