"""The records manager's page "Aussonderung" in real Chromium, by keyboard alone, checked
with axe-core (WCAG 2.1 AA): empty, then after "Fällige Vorgänge jetzt anbieten" with a run
against the Test-Archiv (archived, destroyed, unappraised = "Zu klären"). Case workers may
not see it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from modules.eakte.tests.integration.aussonderung_helpers import closed_case
from rathaus.eakte import PREFIX
from rathaus.eakte.store_aussonderung import aussonderungen
from rathaus.platform.browser import Keyboard, chromium
from rathaus.platform.kernel import Settings
from rathaus.platform.kernel.settings import ArchiveSettings
from rathaus.platform.runtime.archivpeer import TestArchive, peer_config
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually


@pytest.fixture
def office_settings(settings: Settings, procedure_dir: Path) -> Settings:
    chosen = settings.model_copy(update={"procedure_dirs": [procedure_dir]})
    chosen.archive = ArchiveSettings(poll_seconds=0.1)
    return chosen


@pytest.fixture
def archive(office_settings: Settings) -> Iterator[TestArchive]:
    peer = TestArchive(office_settings.data_dir, free_port(), peer_config(office_settings), poll_seconds=0.1)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
        peer.peer.close()


async def test_case_workers_may_not_see_the_aussonderung(office: Any, clerk_of: Callable[..., Any]) -> None:
    clerk = await clerk_of("BAU-T/31")
    response = await clerk.http.get(f"{PREFIX}/aussonderung")
    assert response.status_code == 403
    assert "Löschprotokoll" not in response.text
    lead = await clerk_of("BAU-T/31", "leitung")
    page = await lead.http.get(f"{PREFIX}/aussonderung")
    assert page.status_code == 200 and "Noch keine Aussonderung" in page.text


@pytest.mark.browser
async def test_the_records_manager_starts_and_follows_an_aussonderung_by_keyboard(
    office: Any, served: str, archive: TestArchive
) -> None:
    archive.peer.set_controls({"b": "offen"})
    taken = await closed_case(office, "test-mitzeichnung", "A")
    declined = await closed_case(office, "test-mitzeichnung", "V")
    open_question = await closed_case(office, "test-mitzeichnung", "B")
    async with chromium() as browser:
        page: Any = await browser.new_page()
        keys = Keyboard(page, served)
        username, password = office.login_of("BAU-T/31", "leitung")
        await page.goto(f"{served}{PREFIX}/anmelden")
        await keys.type_into("Benutzername", username)
        await keys.type_into("Passwort", password)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await keys.follow("Aussonderung")
        assert "Noch keine Aussonderung" in await page.inner_text("main")
        await keys.follow("Fällige Vorgänge jetzt anbieten", "button")
        assert "1 Aussonderung(en) gestartet." in await page.inner_text("main")

        async def closed() -> bool:
            async with office.eakte.db.read() as s:
                states = (await s.execute(sa.select(aussonderungen.c.state))).scalars().all()
            return states == ["abgeschlossen"]

        await eventually(closed, timeout=60)
        await page.reload()
        await keys.check()
        text = await page.inner_text("main")
        assert "Vom Archiv übernommen" in text and "TEST-ARCHIV stadtarchiv/" in text
        assert "Vernichtet" in text and "0502 Bewertungsverzeichnis: V" in text
        zu_klaeren = await page.inner_text("table >> nth=0")
        assert open_question["aktenzeichen"] in zu_klaeren
        assert taken["aktenzeichen"] not in zu_klaeren and declined["aktenzeichen"] not in zu_klaeren
        assert "Mustermann" not in text  # Aktenzeichen only, no personal data on this page
