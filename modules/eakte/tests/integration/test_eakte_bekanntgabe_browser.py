"""The staff case page with the day of notice, its legal basis and the first retrieval (who,
when, from where) in real Chromium: before and after the retrieval, axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

from typing import Any

import pytest

from modules.eakte.tests.integration.bekanntgabe_helpers import delivered_case, determined, recorded, row
from rathaus.eakte import PREFIX
from rathaus.platform.browser import assert_accessible, chromium
from rathaus.platform.kernel import ModuleApp
from rathaus.platform.testing import eventually

pytestmark = pytest.mark.browser


async def test_the_case_page_with_the_retrieval_is_accessible(office: Any, served: str) -> None:
    case = await delivered_case(office)
    try:
        async with chromium() as browser:
            page: Any = await browser.new_page()
            await page.goto(f"{served}{PREFIX}/anmelden")
            user, password = office.login_of("BAU-T/31")
            await page.get_by_label("Benutzername").fill(user)
            await page.get_by_label("Passwort").fill(password)
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            await page.goto(f"{served}{PREFIX}/vorgaenge/{case.case_id}")
            assert "noch nicht abgerufen" in await page.inner_text("main")
            await assert_accessible(page)

            await office.emit(office.portal, recorded(case), case.case_id)
            await office.emit(case.output, determined(case), case.case_id)

            async def settled() -> bool:
                found = await row(office, case.case_id)
                return bool(found and found["determined"])

            await eventually(settled, timeout=30)
            await page.reload()
            main = await page.inner_text("main")
            assert "21.11.2026 – Tag des ersten Abrufs" in main and "203.0.113.7" in main
            await assert_accessible(page)
    finally:
        await case.output.stop(ModuleApp())
