"""The portal in real Chromium: every page passes axe-core (WCAG 2.1 AA), and a citizen
applies for a Bewohnerparkausweis with the keyboard alone."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.platform.browser import FORM_REFRESHED, MARK_FORM, Keyboard, assert_accessible, chromium
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.testing import eventually
from rathaus.portal import commands

pytestmark = pytest.mark.browser
PASSWORD = "Ein-gutes-Passwort-2026"
SCAN = Path(__file__).parents[4] / "e2e" / "data" / "fahrzeugschein-scan.pdf"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_the_whole_application_by_keyboard(world: Any) -> None:
    email = "erika-tastatur@example.org"
    async with chromium() as browser:
        context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = await context.new_page()
        kb = Keyboard(page, world.base_url)
        await page.goto(world.base_url + "/")
        await kb.check()
        await kb.follow("Anmelden")
        await kb.follow("Registrieren")
        await kb.type_into("Vorname", "Erika")
        await kb.type_into("Familienname", "Mustermann")
        await kb.tab_to("Geburtsdatum", "input:date")
        await page.keyboard.type("12081964")  # day first, as a German date field expects
        if await page.get_by_label("Geburtsdatum").input_value() != "1964-08-12":
            # this Chromium's date field takes the month first: into the field again, and retype
            await kb.tab_to("Familienname", "input", backwards=True)
            await kb.tab_to("Geburtsdatum", "input:date")
            await page.keyboard.type("08121964")
        assert await page.get_by_label("Geburtsdatum").input_value() == "1964-08-12"
        await kb.type_into("E-Mail", email)
        await kb.type_into("Passwort", PASSWORD)
        await kb.type_into("Passwort wiederholen", PASSWORD)
        await kb.follow("Registrieren", "button")
        assert "Ihr Konto ist angelegt" in await page.inner_text("main")
        await commands.verify_identity(world.portal, email=email)  # the Bürgerbüro checked her ID
        await kb.follow("Abmelden", "button")
        await kb.follow("Anmelden")
        await kb.type_into("E-Mail", email)
        await kb.type_into("Passwort", PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")  # Enter in the password field submits the login
        await kb.check()
        await kb.type_into("Leistung suchen", "Parkausweis")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await kb.check()
        # the catalogue lists more parking permits now; the online one comes first
        first_hit = page.locator("section[aria-labelledby=ergebnisse] ol > li a").first
        assert await first_hit.inner_text() == "Bewohnerparkausweis beantragen"
        await kb.follow("Bewohnerparkausweis beantragen")
        await kb.follow("Online beantragen")
        await kb.follow("Daten aus dem Melde- und Fahrzeugregister abrufen", "button")
        main = await page.inner_text("main")
        assert "Zenettistraße" in main and "M-EM 1964" in main
        await kb.follow("Daten übernehmen", "button")
        assert await page.get_by_label("Straße").input_value() == "Zenettistraße"
        await kb.follow("Weiter", "button")
        assert await page.get_by_label("Amtliches Kennzeichen").input_value() == "M-EM 1964"
        await kb.tab_to("Ich bin Halterin oder Halter des Fahrzeugs", "select")
        # the select's change makes htmx refresh the form: mark the old form, type, and wait
        # for a new one with no request in flight (networkidle alone may come before htmx asks)
        await page.evaluate(MARK_FORM)
        await page.keyboard.type("Ich")  # a select takes the option whose name is typed
        await page.wait_for_function(FORM_REFRESHED)
        assert await page.get_by_label("Ich bin Halterin oder Halter des Fahrzeugs").input_value() == "ja"
        await kb.follow("Weiter", "button")
        # a file dialog cannot be typed into: the input is reached by keyboard, the file set for it
        await kb.tab_to("Zulassungsbescheinigung Teil I (Fahrzeugschein)", "input:file")
        await page.locator("input[type=file]:focus").set_input_files(str(SCAN))
        await kb.follow("Weiter", "button")
        main = await page.inner_text("main")
        assert "fahrzeugschein-scan.pdf" in main and "30,00 €" in main
        # submitting without the confirmation: the error summary names it and links to it
        await kb.follow("Antrag verbindlich absenden", "button")
        assert "Bitte bestätigen Sie" in await page.inner_text("main")
        await kb.tab_to("Ich bestätige, dass meine Angaben richtig und vollständig sind.", "input:checkbox")
        await page.keyboard.press("Space")
        assert await page.get_by_label(
            "Ich bestätige, dass meine Angaben richtig und vollständig sind."
        ).is_checked()
        await kb.follow("Antrag verbindlich absenden", "button")
        main = await page.inner_text("main")
        assert "Vorgangsnummer" in main and UUID.search(main)
        await kb.follow("Zu Meine Anträge")
        assert "Eingegangen" in await page.inner_text("main")
        await context.close()


async def test_every_page_is_accessible(world: Any) -> None:
    erika, low = await world.citizen(), await world.citizen()
    await erika.register()
    await commands.verify_identity(world.portal, email=erika.email)
    await low.register(given_name="Lea", family_name="Niedrig", birth_date="1990-01-01")
    async with chromium() as browser:
        visitor = await browser.new_page()
        checked: list[str] = []

        async def visit(page: Any, path: str) -> None:
            await page.goto(world.base_url + path)
            await page.wait_for_load_state("networkidle")
            await assert_accessible(page)
            checked.append(path)

        for path in (
            "/",
            "/?q=Parkausweis",
            "/?q=gibtesnicht",
            "/leistungen/bewohnerparkausweis",
            "/leistungen/meldebescheinigung",
            "/konto/anmelden",
            "/konto/registrieren",
            "/barrierefreiheit",
            "/datenschutz",
            "/impressum",
            "/leistungen/gibtesnicht",
        ):
            await visit(visitor, path)
        # pages with errors: registration and login
        await visitor.goto(world.base_url + "/konto/registrieren")
        await visitor.get_by_role("button", name="Registrieren").click()
        assert "Bitte prüfen Sie" in await visitor.inner_text("main")
        await assert_accessible(visitor)
        await visitor.goto(world.base_url + "/konto/anmelden")
        await visitor.get_by_label("E-Mail").fill(erika.email)
        await visitor.get_by_label("Passwort").fill("falsch-falsch")
        await visitor.get_by_role("button", name="Anmelden", exact=True).click()
        assert "E-Mail-Adresse oder Passwort ist falsch" in await visitor.inner_text("main")
        await assert_accessible(visitor)

        async def logged_in(email: str) -> Any:
            page = await browser.new_page()
            await page.goto(world.base_url + "/konto/anmelden")
            await page.get_by_label("E-Mail").fill(email)
            await page.get_by_label("Passwort").fill(PASSWORD)
            await page.get_by_role("button", name="Anmelden", exact=True).click()
            await page.wait_for_load_state("networkidle")
            return page

        # the broker's refusal on the first step, and every step with its errors
        lea = await logged_in(low.email)
        await visit(lea, "/leistungen/bewohnerparkausweis/antrag/person")
        await lea.get_by_role("button", name="Daten aus dem Melde- und Fahrzeugregister abrufen").click()
        assert "Vertrauensniveau" in await lea.inner_text("main")
        await assert_accessible(lea)
        await lea.get_by_label("Straße").fill("")
        await lea.get_by_role("button", name="Weiter").click()
        assert "Bitte geben Sie „Straße“ an." in await lea.inner_text("main")
        await assert_accessible(lea)
        for step in ("fahrzeug", "nachweise", "zusammenfassung"):
            await visit(lea, f"/leistungen/bewohnerparkausweis/antrag/{step}")
            await lea.get_by_role("button", name=re.compile("^(Weiter|Antrag verbindlich absenden)$")).click()
            await lea.wait_for_load_state("networkidle")
            await assert_accessible(lea)
        await visit(lea, "/konto")
        await visit(lea, "/konto/datennutzung")

        # the verified citizen: preview, summary, confirmation, Meine Anträge, Postkorb
        page = await logged_in(erika.email)
        await visit(page, "/leistungen/bewohnerparkausweis/antrag/person")
        await page.get_by_role("button", name="Daten aus dem Melde- und Fahrzeugregister abrufen").click()
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        await page.get_by_role("button", name="Daten übernehmen").click()
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        await page.get_by_role("button", name="Weiter").click()
        await page.get_by_label("Ich bin Halterin oder Halter des Fahrzeugs").select_option("ja")
        await page.get_by_role("button", name="Weiter").click()
        await visit(page, "/leistungen/bewohnerparkausweis/antrag/nachweise")
        await page.get_by_role("button", name="Weiter").click()
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        await page.get_by_label("Ich bestätige, dass meine Angaben richtig und vollständig sind.").check()
        await page.get_by_role("button", name="Antrag verbindlich absenden").click()
        await page.wait_for_load_state("networkidle")
        case_id = UUID.search(await page.inner_text("main"))
        assert case_id
        await assert_accessible(page)
        await visit(page, "/antraege")
        assert "noch nicht vergeben" in await page.inner_text("main")

        async def updated_in_place() -> bool:  # htmx polls the list; the page is not reloaded
            main = await page.inner_text("main")
            return "523.11-2026-000042" in main and "Zugestellt" in main

        async def in_postkorb() -> bool:
            await page.goto(world.base_url + "/postkorb")
            return "1 ungelesen" in await page.inner_text("body")

        async with delivered(world, case_id.group(0)):
            await eventually(updated_in_place)
            await assert_accessible(page)
            await eventually(in_postkorb)
        await assert_accessible(page)
        await visit(page, f"/antraege/{case_id.group(0)}")
        await visit(page, "/konto")
        await visit(page, "/konto/datennutzung")
        assert case_id.group(0) in await page.inner_text("main")
        await visit(page, f"/antraege/{'0' * 8}-0000-0000-0000-{'0' * 12}")  # 403 page
    assert len(checked) > 20


@contextlib.asynccontextmanager
async def delivered(world: Any, case_id: str) -> AsyncIterator[None]:
    """The E-Akte opens the case and output management delivers a Bescheid (kernels of both
    stay up until the caller has seen the result: their outbox relays publish meanwhile)."""
    eakte, output = Kernel("eakte", world.settings), Kernel("output", world.settings)
    await eakte.start(ModuleApp())
    await output.start(ModuleApp())
    pdf = io.BytesIO()
    Image.new("RGB", (595, 842), "white").save(pdf, format="PDF")
    now = datetime.now(UTC).isoformat()
    ref = await output.blobs.put(
        "output", pdf.getvalue(), media_type="application/pdf", filename="bescheid.pdf"
    )
    async with eakte.transaction() as uow:
        await uow.emit(
            CaseOpened(
                case_id=case_id,
                aktenzeichen="523.11-2026-000042",
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
                aktenzeichen="523.11-2026-000042",
                service_id="bewohnerparkausweis",
                outcome="granted",
                document=ref,
                channel="postkorb",
                sent_at=now,
                bekanntgabe="2026-11-26",
            ),
            subject=case_id,
        )
    try:
        yield
    finally:
        await output.stop(ModuleApp())
        await eakte.stop(ModuleApp())
