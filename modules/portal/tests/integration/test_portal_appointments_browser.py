"""Booking an appointment in real Chromium with the keyboard alone: every page of the flow
passes axe-core, the proof of work runs in the page, the reservation warns before it runs
out and is extended from the warning (WCAG 2.2.1), the ICS downloads, the appointment is
cancelled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from modules.portal.tests.integration.termine_helpers import day_ahead, world_with_city
from rathaus.platform.browser import Keyboard, assert_accessible, chromium
from rathaus.portal.domain.appointments import long_date

pytestmark = pytest.mark.browser


@pytest.fixture
def world(request: Any, settings: Any, tmp_path: Any) -> Any:
    # reservations of one minute: the warning is due at once
    return world_with_city(request, settings, tmp_path, hold=1)


async def test_book_an_appointment_by_keyboard_get_the_ics_and_cancel(world: Any, mails: Any) -> None:
    async with chromium() as browser:
        context = await browser.new_context(
            locale="de-DE", timezone_id="Europe/Berlin", accept_downloads=True
        )
        page = await context.new_page()
        kb = Keyboard(page, world.base_url)
        await page.goto(world.base_url + "/termine")
        await kb.check()
        await kb.follow("Personalausweis beantragen")
        await kb.tab_to("Wie viele Personen kommen? (Bürgerbüro Test)", "select")
        await page.keyboard.press("ArrowDown")  # two persons
        await kb.follow("Freie Tage im Bürgerbüro Test anzeigen", "button")
        assert "Woche vom" in await page.inner_text("main")
        await kb.follow(long_date(day_ahead(2)))
        main = await page.inner_text("main")
        assert "(40 Minuten)" in main and "07:00 Uhr" in main
        await kb.tab_to("07:00 Uhr", "input:radio")
        await page.keyboard.press("ArrowDown")  # 07:10
        await kb.follow("Termin reservieren", "button")  # the script solves the challenge first
        assert "Ihr Termin ist reserviert" in await page.inner_text("main")
        assert "07:10 bis 07:50 Uhr" in await page.inner_text("main")
        # the warning appears in the live region, with the button that extends
        await page.get_by_role("button", name="Reservierung verlängern").wait_for()
        assert "läuft um" in await page.inner_text("#warnung")
        await assert_accessible(page)
        await kb.tab_to("Reservierung verlängern", "button")
        await page.keyboard.press("Enter")
        await page.get_by_text("Die Reservierung ist verlängert bis").wait_for()
        await kb.type_into("Name", "Erika Mustermann")
        await kb.type_into("E-Mail", "erika-termin@example.org")
        await kb.follow("Termin verbindlich buchen", "button")
        main = await page.inner_text("main")
        assert "Ihr Termin ist gebucht" in main and "Buchungsnummer" in main
        await kb.tab_to("Termin für den Kalender herunterladen (ICS)", "a")
        async with page.expect_download() as download:
            await page.keyboard.press("Enter")
        path = await (await download.value).path()
        ics = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
        assert "METHOD:REQUEST" in ics and "DTSTART;TZID=Europe/Berlin:" in ics and "Teststraße 1" in ics
        await kb.follow("Termin absagen", "button")
        assert "Dieser Termin ist abgesagt" in await page.inner_text("main")
        await context.close()
    assert len(mails.to("erika-termin@example.org")) == 2
