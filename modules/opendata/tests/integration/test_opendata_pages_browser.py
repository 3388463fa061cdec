"""The public pages of the open-data portal in real Chromium, checked with axe-core
(WCAG 2.1 AA), reached by keyboard: the catalogue of two services, a dataset with
suppressed cells and processing times, and one without cases yet."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.opendata import PREFIX, TITLE
from rathaus.opendata.bootstrap import bootstrap
from rathaus.platform.browser import assert_accessible, chromium, serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

pytestmark = pytest.mark.browser
DATASET = "bewohnerparkausweise-stadtbezirk-monat"


FOUND = "test-fundsachen-stadtbezirk-monat"


@pytest.fixture
async def running(
    settings: Settings, write_service: Callable[..., Path]
) -> AsyncIterator[tuple[Kernel, ModuleApp]]:
    settings.procedure_dirs = [write_service("test-fundsache", 1, FOUND, dataset_title="Fundsachen")]
    kernel = Kernel("opendata", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    eakte, output = Kernel("eakte", settings), Kernel("output", settings)
    await eakte.start(ModuleApp())
    await output.start(ModuleApp())
    decided: list[tuple[str, str]] = []
    async with eakte.transaction() as uow:
        for district, n in (("03", 6), ("02", 1), ("05", 3)):
            for i in range(n):
                case_id = str(uuid.uuid4())
                if district == "03":  # three granted, three refused: times are shown
                    decided.append((case_id, "granted" if i % 2 else "refused"))
                await uow.emit(
                    CaseOpened(
                        case_id=case_id,
                        aktenzeichen="523.11-2026-000001",
                        service_id="bewohnerparkausweis",
                        unit="KVR-III/12",
                        stadtbezirk=district,
                        opened_at="2026-11-05T10:00:00+00:00",
                        submitted_at="2026-11-05T09:00:00+00:00",
                        service_version=1,
                    ),
                    subject=case_id,
                )
    async with output.transaction() as uow:
        for case_id, outcome in decided:
            await uow.emit(
                DecisionDelivered(
                    case_id=case_id,
                    aktenzeichen="523.11-2026-000001",
                    service_id="bewohnerparkausweis",
                    outcome=outcome,
                    document=BlobRef(
                        sha256="0" * 64, key="output/x.pdf", size=1, media_type="application/pdf"
                    ),
                    channel="postkorb",
                    sent_at="2026-11-08T09:00:00+00:00",
                    bekanntgabe="2026-11-11",
                ),
                subject=case_id,
            )

    async def counted() -> bool:
        return kernel.consumer.handled == 16

    await eventually(counted)
    yield kernel, app
    await output.stop(ModuleApp())
    await eakte.stop(ModuleApp())
    await kernel.stop(app)


async def test_catalogue_and_dataset_pages(running: tuple[Kernel, ModuleApp]) -> None:
    kernel, app = running
    web = create_module_app(kernel, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    async with serve_asgi(web) as base, chromium() as browser:
        page: Any = await browser.new_page()
        await page.goto(f"{base}{PREFIX}/")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.locator("h1").count() == 1
        main = await page.inner_text("main")
        assert "Bewohnerparkausweise nach Stadtbezirk und Monat" in main and "Datenlizenz Deutschland" in main
        datasets = len(
            set(await page.locator("section.kern-card h2, section.kern-card h3").all_inner_texts())
        )
        assert "Fundsachen" in main and await page.locator("section.kern-card").count() == datasets >= 2

        # by keyboard: tab to the dataset's link and follow it
        title = "Bewohnerparkausweise nach Stadtbezirk und Monat"
        for _ in range(30):
            await page.keyboard.press("Tab")
            if await page.evaluate("() => document.activeElement.textContent.trim()") == title:
                break
        else:
            raise AssertionError("the dataset link cannot be reached by keyboard")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}{PREFIX}/datasets/{DATASET}")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)

        caption = await page.inner_text("caption >> nth=0")
        assert "je Stadtbezirk und Monat" in caption
        assert await page.locator("th[scope=col]").count() >= 5
        headings = await page.locator("table >> nth=0 >> thead th").all_inner_texts()
        assert headings[2:] == ["Eingegangene Anträge", "Erteilte Bewohnerparkausweise", "Abgelehnte Anträge"]
        rows = await page.locator("table >> nth=0 >> tbody tr").all_inner_texts()
        assert any("02 Ludwigsvorstadt-Isarvorstadt" in r and "gesperrt" in r for r in rows)
        assert any("03 Maxvorstadt" in r and "6" in r and "gesperrt" not in r for r in rows)
        assert "Wort „gesperrt“" in await page.inner_text("#geheimhaltung + p")
        # the processing times: six Bescheide, each 72 hours (3.0 days)
        times = page.locator("table", has=page.locator("caption", has_text="Bearbeitungsdauer"))
        assert await times.locator("th[scope=row]").first.inner_text() == "November 2026"
        cells = await times.locator("tbody tr >> nth=0 >> td").all_inner_texts()
        assert cells[:3] == ["6", "3,0", "3,0"]
        # the downloads the page offers are there
        for table in (
            "Anträge und Bescheide je Stadtbezirk und Monat",
            "Bearbeitungsdauer je Monat der Zustellung",
        ):
            for fmt in ("CSV", "JSON"):
                link = page.get_by_role("link", name=f"{table} als {fmt} herunterladen")
                response = await page.request.get(f"{base}{await link.get_attribute('href')}")
                assert response.ok

        # the other service: a dataset without cases yet, the same page, still accessible
        await page.goto(f"{base}{PREFIX}/datasets/{FOUND}")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.inner_text("h1") == "Fundsachen"
        assert "Noch keine Fälle" in await page.inner_text("main")
        times = page.locator("table", has=page.locator("caption", has_text="Bearbeitungsdauer"))
        assert await times.locator("tbody tr").all_inner_texts() == [
            "Alle Monate\t0\tnicht veröffentlicht\tnicht veröffentlicht\tweniger als 5 Bescheide"
        ]
