"""The records-management parts of the case page in real Chromium, by keyboard, checked with
axe-core (WCAG 2.1 AA): "Vorgang abgeben" (choose the partner, confirm), the list of
handovers, the data-protection restriction and the Akteneinsicht form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modules.eakte.tests.integration.records_helpers import case_with_documents
from modules.eakte.tests.integration.test_eakte_postkorb_browser import login
from rathaus.eakte import PREFIX
from rathaus.platform.browser import Keyboard, chromium
from rathaus.platform.kernel import Settings
from rathaus.platform.kernel.settings import AbgabeSettings, PartnerAuthority

pytestmark = pytest.mark.browser


@pytest.fixture
def office_settings(settings: Settings, procedure_dir: Path, tmp_path: Path) -> Settings:
    partner = PartnerAuthority(
        code="09184000",
        name="Landratsamt München",
        outbox=tmp_path / "transfer" / "aus",
        inbox=tmp_path / "transfer" / "ein",
    )
    return settings.model_copy(
        update={
            "procedure_dirs": [procedure_dir],
            "abgabe": AbgabeSettings(partners=[partner], poll_seconds=0.2),
        }
    )


async def test_hand_over_restrict_and_list_by_keyboard(office: Any, served: str, tmp_path: Path) -> None:
    handed = await case_with_documents(office, {"plan-1": ("Lageplan", b"%PDF-1.7 Lageplan", "Lageplan")})
    restricted = await case_with_documents(office, {"plan-2": ("Lageplan", b"%PDF-1.7 Plan", "Plan")})
    async with chromium() as browser:
        page = await browser.new_page()
        kb = Keyboard(page, served)
        await login(page, served, *office.login_of("BAU-T/31"))
        await page.goto(f"{served}{PREFIX}/vorgaenge/{handed}")
        await kb.check()
        # without the confirmation the browser does not send; choose, confirm, send
        await kb.tab_to("Empfangende Behörde", "select")
        await page.keyboard.press("ArrowDown")
        assert await page.locator("#partner").input_value() == "09184000"
        await kb.tab_to("Ich bestätige:", "input:checkbox")
        await page.keyboard.press("Space")
        await kb.follow("Vorgang abgeben", "button")
        main = await page.inner_text("main")
        assert "Landratsamt München (09184000) – Gesendet, Empfang nicht bestätigt" in main
        assert "wird gerade an Landratsamt München abgegeben" in main
        assert list((tmp_path / "transfer" / "aus").glob("*_Abgabe.Abgabe.0401.xdomea"))
        await kb.follow("Abgaben", "a")
        assert "Gesendet, Empfang nicht bestätigt" in await page.inner_text("main")

        # the restriction of another case, by keyboard; then visible as such
        await page.goto(f"{served}{PREFIX}/vorgaenge/{restricted}")
        await kb.check()
        await kb.type_into("Löschersuchen (Geschäftszeichen oder Eingangsdatum)", "DS-2026-4")
        await kb.follow("Verarbeitung einschränken", "button")
        main = await page.inner_text("main")
        assert "Verarbeitung eingeschränkt (Art. 18 DSGVO)" in main and "Löschersuchen DS-2026-4" in main
        # the export form is reachable by keyboard (the PDF itself: test_eakte_datenschutz)
        await kb.tab_to("Zu schwärzende Wörter oder Passagen", "textarea")
