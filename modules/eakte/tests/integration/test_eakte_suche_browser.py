"""The search page in real Chromium, driven by keyboard and checked with axe-core (WCAG 2.1
AA): a search with hits and facets, a facet chosen, a search that cannot be run."""

from __future__ import annotations

from typing import Any

import pytest

from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.eakte import PREFIX
from rathaus.platform.browser import assert_accessible, chromium
from rathaus.platform.testing import eventually

pytestmark = pytest.mark.browser

DATA = {
    "art": "container",
    "beginn": "2026-08-01",
    "ende": "2026-08-02",
    "strasse": "Tal",
    "flaechen": [{"bezeichnung": "Container", "quadratmeter": 6}],
    "gebuehr": 30.0,
}


async def test_search_by_keyboard_is_accessible(office: Any, served: str, clerk_of: Any) -> None:
    case_id = await office.submit("test-mitzeichnung", DATA)
    await office.wait_for("case.opened.v1", case_id)
    blob = await office.input.blobs.put("input", b"scan", media_type="text/plain", filename="scan.txt")
    await office.emit(
        office.input,
        DocumentRouted(
            document_id=f"doc-{case_id}",
            case_id=case_id,
            unit="BAU-T/31",
            document_type="schreiben",
            title="Beschwerde über den Container",
            medium="papier",
            source="scan",
            blob=blob,
            text="Herr Müller beschwert sich: der Container steht auf der Straße vor der Einfahrt.",
            received_at="2026-11-23T10:15:00+00:00",
        ),
        case_id,
    )
    await office.wait_for("document.filed.v1", case_id)
    clerk = await clerk_of("BAU-T/31")

    async def indexed() -> bool:
        page = await clerk.http.get(f"{PREFIX}/suche", params={"q": "Mueller Strasse"})
        return "1 Treffer" in page.text

    await eventually(indexed, timeout=30)
    async with chromium() as browser:
        page: Any = await browser.new_page()
        await page.goto(f"{served}{PREFIX}/anmelden")
        await page.get_by_label("Benutzername").focus()
        user, password = office.login_of("BAU-T/31")
        await page.keyboard.type(user)
        await page.keyboard.press("Tab")
        await page.keyboard.type(password)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{served}{PREFIX}/")
        await page.get_by_role("link", name="Suche", exact=True).focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await assert_accessible(page)
        # a search by keyboard
        await page.get_by_label("Suchbegriffe").focus()
        await page.keyboard.type("Mueller Strasse")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "1 Treffer" in await page.inner_text("#trefferzahl")
        main = await page.inner_text("main")
        assert "Beschwerde über den Container" in main and "Treffer eingrenzen" in main
        assert await page.locator("mark").all_inner_texts() == ["Müller", "Straße"]
        await assert_accessible(page)
        # a facet, chosen by keyboard
        facet = page.get_by_role("navigation", name="Treffer eingrenzen").get_by_role("link").first
        await facet.focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "entfernen" in await page.inner_text("main")
        await assert_accessible(page)
        # a search that cannot be run: the message, linked to the field
        await page.get_by_label("Suchbegriffe").focus()
        await page.keyboard.press("Control+A")
        await page.keyboard.type('"Container')
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "Anführungszeichen" in await page.inner_text("[role=alert]")
        assert await page.get_by_label("Suchbegriffe").get_attribute("aria-invalid") == "true"
        await assert_accessible(page)
