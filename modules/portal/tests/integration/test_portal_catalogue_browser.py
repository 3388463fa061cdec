"""The catalogue in real Chromium: the home page with its Lebenslagen, searches with and without
results, an online and an offline service page, an unknown service: no axe-core violations
(WCAG 2.1 AA), one h1 and headings in order; and a search by keyboard alone."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from rathaus.platform.browser import assert_accessible, chromium

pytestmark = pytest.mark.browser

HEADINGS = """() => Array.from(document.querySelectorAll("main h1, main h2, main h3, main h4"))
  .map(h => Number(h.tagName[1]))"""
FOCUSED = """() => {
  const el = document.activeElement;
  return el ? [el.tagName.toLowerCase(), (el.getAttribute("aria-label") || el.innerText || el.id || "").trim()] : ["", ""];
}"""


async def visit(page: Any, url: str, status: int = 200) -> str:
    response = await page.goto(url)
    assert response.status == status, (url, response.status)
    await page.wait_for_load_state("networkidle")
    await assert_accessible(page)
    levels = await page.evaluate(HEADINGS)
    assert levels.count(1) == 1 and levels[0] == 1, (url, levels)
    assert all(b - a <= 1 for a, b in pairwise(levels)), (url, levels)  # no level skipped
    return str(await page.inner_text("main"))


async def test_the_catalogue_pages_are_accessible(world_without_broker: Any) -> None:
    base = world_without_broker.base_url
    async with chromium() as browser:
        page = await browser.new_page()

        main = await visit(page, base + "/")
        assert "Alle Leistungen nach Lebenslagen" in main and "Ausweise und Dokumente" in main
        assert "Personalausweis beantragen" in main and "Bewohnerparkausweis beantragen" in main
        badges = page.locator("section[aria-labelledby=mobilitat-und-verkehr] .kern-badge")
        assert await badges.count() >= 1 and (await badges.first.inner_text()).strip() == "online"

        main = await visit(page, base + "/?q=Parkausweiss")
        assert "Leistungen gefunden" in main
        hits = page.locator("section[aria-labelledby=ergebnisse] ol > li")
        assert "Bewohnerparkausweis beantragen" in await hits.first.inner_text()
        assert "online" in await hits.first.inner_text()  # the badge is text, not colour alone
        assert "Parkausweis für Handwerksbetriebe" in main

        main = await visit(page, base + "/?q=Xylophonquartett")
        assert "Keine Leistung gefunden." in main and "Lebenslagen" in main

        main = await visit(page, base + "/leistungen/bewohnerparkausweis")
        for heading in (
            "Online beantragen",
            "Kosten",
            "Fristen",
            "Unterlagen",
            "Voraussetzungen",
            "Rechtsgrundlagen",
        ):
            assert heading in main
        assert "Vertrauensniveau „niedrig“" in main and "Privatpersonen" in main
        link = page.get_by_role("link", name="Online beantragen")
        assert await link.get_attribute("href") == "/leistungen/bewohnerparkausweis/antrag"

        main = await visit(page, base + "/leistungen/personalausweis")
        assert "So erhalten Sie diese Leistung" in main and "Bürgerbüro, mit Termin" in main
        assert "46,00 €" in main and "Personalausweisgesetz" in main and "99008001000000" in main
        assert await page.get_by_role("link", name="Online beantragen").count() == 0

        main = await visit(page, base + "/leistungen/gibtesnicht", status=404)
        assert "Diese Leistung gibt es nicht" in main


async def test_search_by_keyboard_alone(world_without_broker: Any) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(world_without_broker.base_url + "/")

        async def tab_to(tag: str, name: str) -> None:
            seen = []
            for _ in range(60):
                await page.keyboard.press("Tab")
                focused = await page.evaluate(FOCUSED)
                seen.append(focused)
                if focused[0] == tag and focused[1].startswith(name):
                    return
            raise AssertionError(f"{tag} {name!r} not reached by Tab: {seen}")

        await tab_to("input", "suche")
        await page.keyboard.type("Hunde anmelden")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert "Suchergebnisse für „Hunde anmelden“" in await page.inner_text("main")
        first = page.locator("section[aria-labelledby=ergebnisse] ol > li a").first
        title = (await first.inner_text()).strip()
        await tab_to("a", title)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.inner_text("h1") == title
