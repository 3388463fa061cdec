"""The records manager's Aktenplan pages and the case worker's zdA in real Chromium, by
keyboard alone, every page checked with axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from rathaus.eakte import PREFIX
from rathaus.eakte.store import aktenplan, vorgaenge
from rathaus.platform.browser import Keyboard, chromium
from rathaus.platform.kernel.calendar import munich_day
from rathaus.platform.testing import eventually

pytestmark = pytest.mark.browser


async def login(keys: Keyboard, base: str, username: str, password: str) -> None:
    page = keys.page
    await page.goto(f"{base}{PREFIX}/anmelden")
    await keys.type_into("Benutzername", username)
    await keys.type_into("Passwort", password)
    await keys.submit_field()
    assert page.url == f"{base}{PREFIX}/"


async def test_aktenplan_administration_by_keyboard(office: Any, served: str) -> None:
    async with chromium() as browser:
        page: Any = await browser.new_page()
        keys = Keyboard(page, served)
        await login(keys, served, *office.login_of("POST", "registratur"))
        await keys.follow("Aktenplan")
        assert "811.30 Reisegewerbekarten" in await page.inner_text("main")

        # a new entry under 811: the parent chosen by typing in the list, a wrong code first
        await keys.tab_to("Übergeordneter Eintrag", "select")
        await page.keyboard.type("811 G")
        assert await page.eval_on_selector("#neu-parent", "e => e.value") == "811"
        await keys.type_into("Kennzeichen", "124.50")
        await keys.type_into("Titel", "Versteigerer")
        await keys.submit_field()
        main = await page.inner_text("main")
        assert "Der Eintrag wurde nicht angelegt" in main and "fortsetzen" in main
        await keys.type_into("Kennzeichen", "811.50")
        await keys.tab_to("Aussonderungsart", "select")
        await page.keyboard.type("A")
        await keys.type_into("Aufbewahrung", "unbefristet")
        await keys.submit_field()
        assert "Eintrag 811.50 gespeichert." in await page.inner_text("main")

        # its page: stilllegen by keyboard, then reaktivieren
        await keys.follow("811.50 Versteigerer")
        assert "A (archivwürdig), Aufbewahrung unbefristet" in await page.inner_text("main")
        await keys.follow("Eintrag stilllegen", "button")
        assert "stillgelegt" in await page.inner_text("main")
        await keys.follow("Eintrag reaktivieren", "button")
        async with office.eakte.db.read() as s:
            row = (await s.execute(sa.select(aktenplan).where(aktenplan.c.code == "811.50"))).mappings().one()
        assert row["aktiv"] and row["aussonderungsart"] == "A" and row["aufbewahrung"] == "unbefristet"


async def test_zda_by_keyboard(office: Any, served: str) -> None:
    case_id = await office.submit("test-fiktion", {"taetigkeit": "Marktstand"}, applicant=office.business())
    await office.wait_for("case.opened.v1", case_id)
    await office.request_decision(case_id)

    async def ready() -> bool:
        async with office.eakte.db.read() as s:
            status = await s.execute(sa.select(vorgaenge.c.status).where(vorgaenge.c.case_id == case_id))
            return status.scalar() == "zur_entscheidung"

    await eventually(ready)
    async with chromium() as browser:
        page: Any = await browser.new_page(locale="de-DE")
        keys = Keyboard(page, served)
        await login(keys, served, *office.login_of("KVR-I/21"))
        await page.goto(f"{served}{PREFIX}/vorgaenge/{case_id}")
        await keys.check()
        await keys.tab_to("Bewilligen", "input:radio")
        await page.keyboard.press("Space")
        await keys.follow("Entscheidung treffen", "button")
        # the lifecycle section with its forms; a wrong day first, then zdA with proposal V
        await keys.type_into("zdA-Datum", "01012020", "zda-datum")
        await keys.follow("zdA verfügen", "button")
        assert "nicht vor der Entscheidung" in await page.inner_text("main")
        # afresh: the day proposed is today
        today = munich_day(datetime.now(UTC).isoformat())
        await page.goto(f"{served}{PREFIX}/vorgaenge/{case_id}")
        assert await page.eval_on_selector("#zda-datum", "e => e.value") == today.isoformat()
        await keys.tab_to("Bewertungsvorschlag", "select")
        await page.keyboard.type("V")
        await keys.follow("zdA verfügen", "button")
        main = await page.inner_text("main")
        assert "schreibgeschützt" in main and "V (vernichten)" in main
        async with office.eakte.db.read() as s:
            row = (
                (await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id))).mappings().one()
            )
        assert row["lifecycle"] == "zda" and row["bewertungsvorschlag"] == "V"
        assert row["zda_at"] == today.isoformat()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Abmelden").click()

        # the Leitung reopens it, by keyboard, with a reason
        await login(keys, served, *office.login_of("KVR-I/21", "leitung"))
        await page.goto(f"{served}{PREFIX}/vorgaenge/{case_id}")
        await keys.check()
        await keys.tab_to("Grund der Wiederaufnahme", "textarea")
        await page.keyboard.type("Widerspruch eingegangen, der Vorgang wird fortgeführt.")
        await keys.follow("Vorgang wieder öffnen", "button")
        assert "zdA verfügen" in await page.inner_text("main")
        # and moves it to another entry of the unit: the history of Aktenzeichen on the page
        await keys.tab_to("Neuer Aktenplaneintrag", "select")
        await page.keyboard.type("811.10")
        await keys.tab_to("Grund", "textarea", "umschreiben-grund")
        await page.keyboard.type("Falsch zugeordnet: eine Gewerbeanmeldung.")
        await keys.follow("Umschreiben", "button")
        assert "Frühere Aktenzeichen (Umschreibungen)" in await page.inner_text("main")
        assert "Vorgang 811.10-" in await page.inner_text("main")
