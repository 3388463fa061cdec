"""Organisation accounts in real Chromium: every page and state passes axe-core (WCAG 2.1
AA), and a business is set up and an invitation accepted with the keyboard alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from rathaus.platform.browser import Keyboard as BaseKeyboard
from rathaus.platform.browser import assert_accessible, chromium
from rathaus.portal import PREFIX
from rathaus.portal.store import applications, invitations, postkorb

pytestmark = pytest.mark.browser
PASSWORD = "Ein-gutes-Passwort-2026"
HOME = f"{PREFIX}/konto/unternehmen"


class Keyboard(BaseKeyboard):
    async def log_in(self, email: str) -> None:
        await self.type_into("E-Mail", email)
        await self.type_into("Passwort", PASSWORD)
        await self.submit_field()


async def test_a_business_and_its_invitation_by_keyboard(mails: Any, world_without_broker: Any) -> None:
    world = world_without_broker
    alice, bob = await world.citizen(), await world.citizen()
    await alice.register(given_name="Alice", family_name="Muster")
    await bob.register(given_name="Bob", family_name="Muster")
    async with chromium() as browser:
        context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = await context.new_page()
        kb = Keyboard(page)
        await page.goto(world.base_url + f"{PREFIX}/konto/anmelden")
        await kb.log_in(alice.email)
        await kb.follow("Unternehmen")
        assert "Sie handeln noch für kein Unternehmen" in await page.inner_text("main")
        await kb.follow("Unternehmenskonto anlegen")
        await kb.follow("Unternehmenskonto anlegen", "button")  # nothing filled in: the errors
        assert "Bitte prüfen Sie Ihre Angaben" in await page.inner_text("main")
        await kb.type_into("Name des Unternehmens", "Musterbau GmbH")
        await kb.tab_to("Rechtsform", "select")
        await page.keyboard.type("GmbH")  # a closed select picks the option typed
        assert await page.get_by_label("Rechtsform").input_value() == "GmbH"
        await kb.type_into("Registernummer", "HRB 123456")
        await kb.type_into("Straße", "Zenettistraße")
        await kb.type_into("Hausnummer", "12")
        await kb.type_into("Postleitzahl", "80337")
        await kb.type_into("Ort", "München")
        await kb.follow("Unternehmenskonto anlegen", "button")
        main = await page.inner_text("main")
        assert "Das Unternehmenskonto ist angelegt" in main and "HRB 123456" in main
        await kb.type_into("E-Mail-Adresse der Person", bob.email)
        await kb.tab_to("Mitglied: stellt Anträge", "input:radio")
        await page.keyboard.press("ArrowDown")  # arrows move the choice within the group
        assert await page.locator("#feld-role-admin").is_checked()
        await kb.follow("Einladung senden", "button")
        main = await page.inner_text("main")
        assert "Die Einladung ist verschickt" in main and bob.email in main

        # Bob opens the link from his e-mail, logs in and accepts
        other = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        invited = await other.new_page()
        kb = Keyboard(invited)
        await invited.goto(world.base_url + mails.new_link(bob.email))
        await kb.check()
        assert "Musterbau GmbH" in await invited.inner_text("main")
        await kb.follow("Anmelden und Einladung ansehen")
        await kb.log_in(bob.email)
        assert "Rolle „Administration“" in await invited.inner_text("main")
        await kb.follow("Einladung annehmen", "button")
        main = await invited.inner_text("main")
        assert "Sie sind jetzt Mitglied" in main and "Bob Muster (Sie)" in main
        await context.close()
        await other.close()


async def test_every_organisation_page_is_accessible(mails: Any, world_without_broker: Any) -> None:
    world = world_without_broker
    alice, bob, carol = await world.citizen(), await world.citizen(), await world.citizen()
    for citizen, name in ((alice, "Alice"), (bob, "Bob"), (carol, "Carol")):
        await citizen.register(given_name=name, family_name="Muster")
    org = (await alice.post(f"{HOME}/neu", ORG)).headers["location"].split("/")[-1].split("?")[0]
    await alice.post(
        f"{HOME}/{org}/einladungen", {"email": bob.email, "role": "member"}, page=f"{HOME}/{org}"
    )
    accepted = mails.new_link(bob.email)
    await bob.post(accepted, {"aktion": "annehmen"})
    await alice.post(
        f"{HOME}/{org}/einladungen", {"email": carol.email, "role": "admin"}, page=f"{HOME}/{org}"
    )
    carols_link = mails.new_link(carol.email)
    mails.stop()  # an invitation that could not be mailed yet
    await alice.post(
        f"{HOME}/{org}/einladungen", {"email": "spaeter@example.org", "role": "member"}, page=f"{HOME}/{org}"
    )
    mails.start()
    await alice.post(
        f"{HOME}/{org}/einladungen",
        {"email": "abgelaufen@example.org", "role": "member"},
        page=f"{HOME}/{org}",
    )
    expired = mails.new_link("abgelaufen@example.org")
    async with world.portal.db.session() as s:
        await s.execute(
            invitations.update()
            .where(invitations.c.email == "abgelaufen@example.org")
            .values(expires_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
        )
        # an application and a Bescheid of the business (as the submission and the delivery write them)
        case_id = str(uuid.uuid4())
        alice_id = (
            await s.execute(sa.text("SELECT account_id FROM accounts WHERE email = :e"), {"e": alice.email})
        ).scalar_one()
        await s.execute(
            applications.insert().values(
                case_id=case_id,
                account_id=alice_id,
                service_id="bewohnerparkausweis",
                status="zugestellt",
                aktenzeichen="523.11-2026-000042",
                submitted_at=datetime.now(UTC).isoformat(),
                organisation_id=org,
            )
        )
        await s.execute(
            postkorb.insert().values(
                entry_id=str(uuid.uuid4()),
                account_id=alice_id,
                organisation_id=org,
                case_id=case_id,
                title="Bescheid zu Ihrem Antrag „Bewohnerparkausweis beantragen“",
                aktenzeichen="523.11-2026-000042",
                bekanntgabe="2026-11-26",
                document={
                    "sha256": "0" * 64,
                    "key": "output/x",
                    "size": 2048,
                    "media_type": "application/pdf",
                },
                sha256="0" * 64,
                read=False,
                created_at=datetime.now(UTC).isoformat(),
            )
        )

    async with chromium() as browser:
        checked: list[str] = []

        async def logged_in(email: str) -> Any:
            page = await browser.new_page()
            await page.goto(world.base_url + f"{PREFIX}/konto/anmelden")
            await page.get_by_label("E-Mail").fill(email)
            await page.get_by_label("Passwort").fill(PASSWORD)
            await page.get_by_role("button", name="Anmelden", exact=True).click()
            await page.wait_for_load_state("networkidle")
            return page

        async def visit(page: Any, path: str, expect: str) -> None:
            await page.goto(world.base_url + path)
            await page.wait_for_load_state("networkidle")
            assert expect in await page.inner_text("main"), path
            await assert_accessible(page)
            checked.append(path)

        async def after_click(page: Any, button: str, expect: str) -> None:
            await page.get_by_role("button", name=button, exact=True).first.click()
            await page.wait_for_load_state("networkidle")
            assert expect in await page.inner_text("main"), button
            await assert_accessible(page)
            checked.append(button)

        admin = await logged_in(alice.email)
        await visit(admin, HOME, "Musterbau GmbH")
        await visit(admin, f"{HOME}/neu", "Unternehmenskonto anlegen")
        await after_click(admin, "Unternehmenskonto anlegen", "Bitte prüfen Sie")
        await visit(admin, f"{HOME}/{org}", "E-Mail noch nicht versandt")
        assert "abgelaufen am" in await admin.inner_text("main")
        await admin.get_by_label("E-Mail-Adresse der Person").fill("kein-at")
        await after_click(admin, "Einladung senden", "gültige E-Mail-Adresse")
        await admin.get_by_label("Rolle von Alice Muster").select_option("member")
        await after_click(admin, "Rolle ändern für Alice Muster", "mindestens eine Person")
        await visit(admin, f"{HOME}/{org}/daten", "Daten des Unternehmens ändern")
        await admin.get_by_label("Postleitzahl").fill("1")
        await after_click(admin, "Daten speichern", "fünf Ziffern")
        await visit(admin, f"{PREFIX}/antraege", "für Musterbau GmbH")
        await visit(admin, f"{PREFIX}/antraege/{case_id}", "Im Namen von")
        await visit(admin, f"{PREFIX}/postkorb", "für Musterbau GmbH")

        member = await logged_in(bob.email)
        await visit(member, f"{HOME}/{org}", "Bob Muster (Sie)")
        await visit(member, accepted, "schon angenommen")
        await visit(member, carols_link, "andere E-Mail-Adresse")
        await visit(member, f"{PREFIX}/konto/einladungen/erfunden", "gibt es nicht")
        await visit(member, expired, "abgelaufen")
        await visit(member, f"{HOME}/{uuid.uuid4()}", "Fehler 403")

        anonymous = await browser.new_page()
        await visit(anonymous, carols_link, "Anmelden und Einladung ansehen")
        invited = await logged_in(carol.email)
        await visit(invited, carols_link, "Einladung annehmen")
        await after_click(invited, "Einladung ablehnen", "Sie haben die Einladung abgelehnt")
        await visit(invited, HOME, "Sie handeln noch für kein Unternehmen")
    assert len(checked) == 21


ORG = {
    "name": "Musterbau GmbH",
    "legal_form": "GmbH",
    "register_number": "HRB 123456",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "city": "München",
}
