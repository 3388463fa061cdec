"""Organisation accounts over HTTP, as browsers without JavaScript use them: the portal on a
real port, invitations through a real SMTP server, several accounts side by side. Who is
not a member sees, opens, downloads and changes nothing; a member does not administer."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from PIL import Image

from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX
from rathaus.portal.store import applications, invitations

HOME = f"{PREFIX}/konto/unternehmen"
MUSTERBAU = {
    "name": "Musterbau GmbH",
    "legal_form": "GmbH",
    "register_number": "hrb 123456",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "city": "München",
}


async def person(world: Any, given_name: str) -> Any:
    citizen = await world.citizen()
    assert (await citizen.register(given_name=given_name, family_name="Muster")).status_code == 303
    return citizen


async def create(citizen: Any, data: dict[str, str] = MUSTERBAU) -> str:
    r = await citizen.post(f"{HOME}/neu", data)
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?meldung=angelegt")
    return str(r.headers["location"].split("/")[-1].split("?")[0])


async def invite(admin: Any, org: str, email: str, role: str = "member", page: str = "") -> Any:
    """Post the invitation form (with the CSRF token of ``page``, by default the organisation's)."""
    data = {"email": email, "role": role}
    return await admin.post(f"{HOME}/{org}/einladungen", data, page=page or f"{HOME}/{org}")


async def join(admin: Any, mails: Any, org: str, who: Any, role: str = "member") -> None:
    assert (await invite(admin, org, who.email, role)).headers["location"].endswith("meldung=eingeladen")
    link = mails.new_link(who.email)
    r = await who.post(link, {"aktion": "annehmen"})
    assert r.status_code == 303 and r.headers["location"] == f"{HOME}/{org}?meldung=beigetreten"


async def account_id(world: Any, citizen: Any) -> str:
    page = (await citizen.http.get(f"{PREFIX}/konto")).text
    assert citizen.email in page
    async with world.portal.db.read() as s:
        found = await s.execute(
            sa.text("SELECT account_id FROM accounts WHERE email = :e"), {"e": citizen.email}
        )
        return str(found.scalar_one())


async def test_an_organisation_by_hand_and_what_others_cannot_do(
    mails: Any, world_without_broker: Any
) -> None:
    world = world_without_broker
    alice, bob, carol = [await person(world, n) for n in ("Alice", "Bob", "Carol")]
    page = await alice.http.get(HOME)
    assert page.status_code == 200 and "Sie handeln noch für kein Unternehmen" in page.text
    assert f'href="{HOME}"' in page.text and 'aria-current="page">Unternehmen<' in page.text
    assert (await (await world.citizen()).http.get(HOME)).status_code == 303  # login required

    # refused data is named and kept
    r = await alice.post(f"{HOME}/neu", {**MUSTERBAU, "postal_code": "803", "register_number": "Nr. 5"})
    assert r.status_code == 400 and "fünf Ziffern" in r.text and "HRB 123456" in r.text
    assert 'value="Musterbau GmbH"' in r.text and 'href="#feld-postal_code"' in r.text
    org = await create(alice)
    page = await alice.http.get(f"{HOME}/{org}?meldung=angelegt")
    assert "Das Unternehmenskonto ist angelegt" in page.text and "HRB 123456" in page.text
    assert "Person einladen" in page.text and "Daten des Unternehmens ändern" in page.text

    # an invitation: refused for a member's address and a second time for the same address
    r = await invite(alice, org, bob.email)
    assert r.status_code == 303 and r.headers["location"].endswith("meldung=eingeladen")
    link = mails.new_link(bob.email)
    page = (await alice.http.get(f"{HOME}/{org}")).text
    assert bob.email in page and "versandt, gültig bis" in page
    r = await invite(alice, org, bob.email, "admin")
    assert (
        r.status_code == 400
        and "schon eine Einladung unterwegs" in r.text
        and 'value="' + bob.email in r.text
    )
    r = await invite(alice, org, alice.email)
    assert r.status_code == 400 and "bereits Mitglied" in r.text
    r = await invite(alice, org, "kein-at-zeichen", "chef")
    assert r.status_code == 400 and "gültige E-Mail-Adresse" in r.text and "Rolle" in r.text

    # without an account: what it is and how to log in; another account: refused, nothing changes
    stranger = await world.citizen()
    r = await stranger.http.get(link)
    assert r.status_code == 200 and "Musterbau GmbH" in r.text
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
    assert f"/konto/anmelden?next={link}" in r.text
    r = await carol.http.get(link)
    assert r.status_code == 403 and "andere E-Mail-Adresse" in r.text and bob.email not in r.text
    r = await carol.post(link, {"aktion": "annehmen"})
    assert r.status_code == 403 and (await carol.http.get(f"{HOME}/{org}")).status_code == 403
    assert "Musterbau" not in (await carol.http.get(HOME)).text
    # the invited address accepts, once
    r = await bob.http.get(link)
    assert r.status_code == 200 and "Einladung annehmen" in r.text and "Einladung ablehnen" in r.text
    r = await bob.post(link, {"aktion": "annehmen"})
    assert r.status_code == 303 and r.headers["location"] == f"{HOME}/{org}?meldung=beigetreten"
    r = await bob.post(link, {"aktion": "annehmen"}, page=f"{HOME}/{org}")
    assert r.status_code == 410 and "schon angenommen" in r.text
    r = await bob.http.get(f"{PREFIX}/konto/einladungen/erfunden")
    assert r.status_code == 404 and "Diese Einladung gibt es nicht" in r.text

    # a member sees everything but administers nothing
    page = (await bob.http.get(f"{HOME}/{org}")).text
    assert "Alice Muster" in page and "Bob Muster (Sie)" in page and "Mitglied" in page
    assert (
        "Person einladen" not in page
        and "Daten des Unternehmens ändern" not in page
        and "Offene Einladungen" not in page
    )
    alice_id, bob_id = await account_id(world, alice), await account_id(world, bob)
    refused = [
        await invite(bob, org, "dritte@example.org"),
        await bob.post(f"{HOME}/{org}/mitglieder/{alice_id}/entfernen", {}, page=f"{HOME}/{org}"),
        await bob.post(f"{HOME}/{org}/mitglieder/{bob_id}/rolle", {"role": "admin"}, page=f"{HOME}/{org}"),
        await bob.http.get(f"{HOME}/{org}/daten"),
        await bob.post(f"{HOME}/{org}/daten", {**MUSTERBAU, "name": "Bob GmbH"}, page=f"{HOME}/{org}"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    # a non-member: nothing at all (the same answer as for an organisation that does not exist)
    r = await invite(alice, org, "dritte@example.org")
    invitation_id = (await alice.http.get(f"{HOME}/{org}")).text.split("/einladungen/")[1].split("/")[0]
    refused = [
        await carol.http.get(f"{HOME}/{org}"),
        await carol.http.get(f"{HOME}/{org}/daten"),
        await carol.post(f"{HOME}/{org}/daten", MUSTERBAU, page=HOME),
        await invite(carol, org, carol.email, "admin", page=HOME),
        await carol.post(f"{HOME}/{org}/mitglieder/{bob_id}/entfernen", {}, page=HOME),
        await carol.post(f"{HOME}/{org}/mitglieder/{alice_id}/rolle", {"role": "member"}, page=HOME),
        await carol.post(f"{HOME}/{org}/einladungen/{invitation_id}/senden", {}, page=HOME),
        await carol.post(f"{HOME}/{org}/einladungen/{invitation_id}/zurueckziehen", {}, page=HOME),
        await carol.http.get(f"{HOME}/{uuid.uuid4()}"),
    ]
    assert [r.status_code for r in refused] == [403] * 9
    assert all("Musterbau" not in r.text and bob.email not in r.text for r in refused)
    page = (await alice.http.get(f"{HOME}/{org}")).text
    assert page.count("Administration") >= 2 and "Bob GmbH" not in page and "Carol" not in page

    # the only admin cannot step down; after handing over she can leave
    r = await alice.post(
        f"{HOME}/{org}/mitglieder/{alice_id}/rolle", {"role": "member"}, page=f"{HOME}/{org}"
    )
    assert r.status_code == 400 and "mindestens eine Person" in r.text and 'href="#mitglieder"' in r.text
    r = await alice.post(f"{HOME}/{org}/mitglieder/{bob_id}/rolle", {"role": "admin"}, page=f"{HOME}/{org}")
    assert r.status_code == 303 and r.headers["location"].endswith("meldung=rolle")
    r = await alice.post(f"{HOME}/{org}/mitglieder/{alice_id}/entfernen", {}, page=f"{HOME}/{org}")
    assert r.status_code == 303 and r.headers["location"] == f"{HOME}?meldung=ausgetreten"
    assert (await alice.http.get(f"{HOME}/{org}")).status_code == 403
    log = (await bob.http.get(f"{HOME}/{org}")).text.split("Änderungsprotokoll")[1]
    assert "Mitgliedschaft beendet" in log and "Rolle geändert" in log and "@" not in log


async def test_expired_and_unsent_invitations(mails: Any, world_without_broker: Any) -> None:
    world = world_without_broker
    alice, dave = await person(world, "Alice"), await person(world, "Dave")
    org = await create(alice)
    await invite(alice, org, dave.email)
    link = mails.new_link(dave.email)
    async with world.portal.db.session() as s:
        await s.execute(
            invitations.update().values(expires_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
        )
    r = await dave.http.get(link)
    assert r.status_code == 410 and "abgelaufen" in r.text and "Musterbau GmbH" in r.text
    page = (await alice.http.get(f"{HOME}/{org}")).text
    assert "abgelaufen am" in page and f'aria-label="Erneut senden an {dave.email}"' in page
    invitation_id = page.split("/einladungen/")[1].split("/")[0]

    # the mail server is down: the invitation is kept, and the page says so
    mails.stop()
    r = await alice.post(f"{HOME}/{org}/einladungen/{invitation_id}/senden", {}, page=f"{HOME}/{org}")
    assert r.status_code == 303 and r.headers["location"].endswith("meldung=nicht_gesendet")
    page = (await alice.http.get(r.headers["location"])).text
    assert "konnte noch nicht versandt werden" in page and "E-Mail noch nicht versandt" in page
    erin = await person(world, "Erin")
    r = await invite(alice, org, erin.email)
    assert r.headers["location"].endswith("meldung=nicht_gesendet")
    r = await dave.http.get(link)  # sent again: only the newest link counts
    assert r.status_code == 404 and "nur der Link aus der neuesten E-Mail" in r.text
    mails.start()
    r = await alice.post(f"{HOME}/{org}/einladungen/{invitation_id}/senden", {}, page=f"{HOME}/{org}")
    assert r.headers["location"].endswith("meldung=erneut")
    r = await dave.post(mails.new_link(dave.email), {"aktion": "ablehnen"})
    assert r.status_code == 200 and "Sie haben die Einladung abgelehnt" in r.text
    assert (await dave.http.get(f"{HOME}/{org}")).status_code == 403


async def test_the_postkorb_and_applications_of_an_organisation(
    mails: Any, world_without_broker: Any
) -> None:
    world = world_without_broker
    alice, bob, carol = [await person(world, n) for n in ("Alice", "Bob", "Carol")]
    org = await create(alice)
    await join(alice, mails, org, bob)
    alice_id, carol_id = await account_id(world, alice), await account_id(world, carol)
    for_org, own, carols = (str(uuid.uuid4()) for _ in range(3))
    async with world.portal.db.session() as s:  # as the submission records them
        for case_id, owner, organisation_id in (
            (for_org, alice_id, org),
            (own, alice_id, None),
            (carols, carol_id, None),
        ):
            await s.execute(
                applications.insert().values(
                    case_id=case_id,
                    account_id=owner,
                    service_id="bewohnerparkausweis",
                    status="eingegangen",
                    submitted_at=datetime.now(UTC).isoformat(),
                    organisation_id=organisation_id,
                )
            )
    await deliver(world, for_org, own)

    async def in_postkorb() -> bool:
        return "1 ungelesen" in (await bob.http.get(f"{PREFIX}/postkorb")).text

    await eventually(in_postkorb)
    page = (await bob.http.get(f"{PREFIX}/antraege")).text
    assert for_org in page and "für Musterbau GmbH" in page and own not in page and carols not in page
    page = (await alice.http.get(f"{PREFIX}/antraege")).text
    assert page.count("für Musterbau GmbH") == 1 and own in page
    r = await bob.http.get(f"{PREFIX}/antraege/{for_org}")
    assert r.status_code == 200 and "Im Namen von" in r.text and "Musterbau GmbH" in r.text
    postkorb = (await bob.http.get(f"{PREFIX}/postkorb")).text
    assert "für Musterbau GmbH" in postkorb and postkorb.count("/herunterladen") == 1
    entry = postkorb.split(f"{PREFIX}/postkorb/")[1].split("/herunterladen")[0]
    own_entry = next(
        e.split("/herunterladen")[0]
        for e in (await alice.http.get(f"{PREFIX}/postkorb")).text.split(f"{PREFIX}/postkorb/")[1:]
        if e.split("/herunterladen")[0] != entry
    )

    # nobody else sees, opens or downloads it
    assert for_org not in (await carol.http.get(f"{PREFIX}/antraege")).text
    assert "Musterbau" not in (await carol.http.get(f"{PREFIX}/postkorb")).text
    assert (await carol.http.get(f"{PREFIX}/antraege/{for_org}")).status_code == 403
    assert (await carol.http.get(f"{PREFIX}/api/antraege/{for_org}")).status_code == 404
    assert (await carol.http.get(f"{PREFIX}/postkorb/{entry}/herunterladen")).status_code == 403
    assert (await bob.http.get(f"{PREFIX}/postkorb/{own_entry}/herunterladen")).status_code == 403
    assert (await bob.http.get(f"{PREFIX}/antraege/{own}")).status_code == 403
    # every member downloads it; read once by one, read for all
    r = await bob.http.get(f"{PREFIX}/postkorb/{entry}/herunterladen")
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and r.headers["cache-control"] == "no-store"
    r = await alice.http.get(f"{PREFIX}/postkorb/{entry}/herunterladen")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert "1 ungelesen" in (await alice.http.get(f"{PREFIX}/postkorb")).text  # her own Bescheid
    assert "ungelesen)" not in (await bob.http.get(f"{PREFIX}/postkorb")).text
    # a member who is removed no longer sees the organisation's Bescheid
    bob_id = await account_id(world, bob)
    r = await alice.post(f"{HOME}/{org}/mitglieder/{bob_id}/entfernen", {}, page=f"{HOME}/{org}")
    assert r.status_code == 303
    assert (await bob.http.get(f"{PREFIX}/postkorb/{entry}/herunterladen")).status_code == 403
    assert for_org not in (await bob.http.get(f"{PREFIX}/antraege")).text


async def deliver(world: Any, *case_ids: str) -> None:
    """The E-Akte opens the cases and output management delivers a Bescheid into the Postkorb,
    over the bus (both kernels stay up until the portal has the events)."""
    eakte, output = Kernel("eakte", world.settings), Kernel("output", world.settings)
    await eakte.start(ModuleApp())
    await output.start(ModuleApp())
    pdf = io.BytesIO()
    Image.new("RGB", (595, 842), "white").save(pdf, format="PDF")
    ref = await output.blobs.put(
        "output", pdf.getvalue(), media_type="application/pdf", filename="bescheid.pdf"
    )
    now = datetime.now(UTC).isoformat()
    for number, case_id in enumerate(case_ids, start=1):
        aktenzeichen = f"523.11-2026-{number:06d}"
        async with eakte.transaction() as uow:
            await uow.emit(
                CaseOpened(
                    case_id=case_id,
                    aktenzeichen=aktenzeichen,
                    service_id="bewohnerparkausweis",
                    unit="KVR-III/12",
                    opened_at=now,
                ),
                subject=case_id,
            )
        async with output.transaction() as uow:
            await uow.emit(
                DecisionDelivered(
                    case_id=case_id,
                    aktenzeichen=aktenzeichen,
                    service_id="bewohnerparkausweis",
                    outcome="granted",
                    document=ref,
                    channel="postkorb",
                    sent_at=now,
                    bekanntgabe="2026-11-26",
                ),
                subject=case_id,
            )

    async def arrived() -> bool:
        async with world.portal.db.read() as s:
            count = await s.execute(sa.text("SELECT count(*) FROM postkorb"))
            return int(count.scalar_one()) == len(case_ids)

    try:
        await eventually(arrived)
    finally:
        await output.stop(ModuleApp())
        await eakte.stop(ModuleApp())
