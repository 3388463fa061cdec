"""The workspace's pages in real Chromium, checked with axe-core (WCAG 2.1 AA): the
co-signing inbox, the case page of the co-signing unit with its form (driven by keyboard),
the case page of the responsible unit with groups, repeated rows and the decision form."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from rathaus.eakte import PREFIX
from rathaus.eakte.store import beteiligungen
from rathaus.platform.browser import assert_accessible, chromium
from rathaus.platform.testing import eventually

pytestmark = pytest.mark.browser

DATA = {
    "art": "geruest",
    "beginn": "2026-08-01",
    "ende": "2026-08-03",
    "strasse": "Tal",
    "flaechen": [{"bezeichnung": "Gerüst", "quadratmeter": 4}, {"bezeichnung": "Zufahrt", "quadratmeter": 2}],
    "gebuehr": 45.0,
}


async def login(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}{PREFIX}/anmelden")
    await page.get_by_label("Benutzername").focus()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}{PREFIX}/")


async def test_inbox_and_case_pages_are_accessible(office: Any, served: str) -> None:
    case_id = await office.submit(
        "test-mitzeichnung", DATA, warnings=["Die Fläche liegt in einer Fußgängerzone."]
    )
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    await office.request_decision(case_id)

    async def asked() -> bool:
        async with office.eakte.db.read() as s:
            found = await s.execute(sa.select(beteiligungen.c.pk).where(beteiligungen.c.case_id == case_id))
            return found.first() is not None

    await eventually(asked)
    async with chromium() as browser:
        page: Any = await browser.new_page()

        async def check() -> None:
            await page.wait_for_load_state("networkidle")
            await assert_accessible(page)

        # the co-signing unit: its inbox with the case "zur Mitzeichnung"
        await login(page, served, *office.login_of("KVR-III/11"))
        assert "Zur Mitzeichnung" in await page.inner_text("main")
        await check()
        await page.get_by_role("link", name=az).click()
        await page.wait_for_url(f"{served}{PREFIX}/vorgaenge/{case_id}")
        await check()
        # object by keyboard, with a note too short: the error, accessible
        await page.get_by_label("Einwände erheben").focus()
        await page.keyboard.press("Space")
        await page.get_by_label("Vermerk").focus()
        await page.keyboard.type("Zu kurz.")
        await page.get_by_role("button", name="Mitzeichnung abgeben").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "mindestens 20 Zeichen" in await page.inner_text("main")
        await check()
        await page.get_by_label("Mitzeichnen", exact=True).check()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Mitzeichnung abgeben").click()
        assert "Mitgezeichnet" in await page.inner_text("main")
        await check()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Abmelden").click()

        # the responsible unit: the case page with its data and the decision form
        await login(page, served, *office.login_of("BAU-T/31"))
        await check()
        await page.goto(f"{served}{PREFIX}/vorgaenge/{case_id}")
        main = await page.inner_text("main")
        assert "Fläche 2" in main and "Baugerüst" in main and "45,00 €" in main
        await check()
        # a refusal without reasons: the error, accessible
        await page.get_by_label("Ablehnen").check()
        await page.get_by_label("Begründung").fill("")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Entscheidung treffen").click()
        assert "Eine Ablehnung braucht eine Begründung" in await page.inner_text("main")
        await check()
