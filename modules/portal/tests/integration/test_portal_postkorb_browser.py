"""The Postkorb's thread in real Chromium: a citizen reads the authority's Nachforderung and
answers with a file by keyboard alone; every page on the way passes axe-core (WCAG 2.1 AA),
the refused file's error page included."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from modules.portal.tests.integration.test_portal_postkorb import apply
from rathaus.contracts.eakte.v1 import CaseOpened, MessageSent, RequestedDocument
from rathaus.platform.browser import Keyboard, chromium
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX
from rathaus.portal.store_postkorb import nachrichten

pytestmark = pytest.mark.browser
PASSWORD = "Ein-gutes-Passwort-2026"
SCAN = Path(__file__).parents[4] / "e2e" / "data" / "fahrzeugschein-scan.pdf"
AKTENZEICHEN = "523.11-2026-000321"


def now() -> str:
    return datetime.now(UTC).isoformat()


async def test_the_reply_by_keyboard_alone(world: Any, tmp_path: Path) -> None:
    erika, case_id = await apply(world, SCAN.read_bytes)  # a Bewohnerparkausweis, as in the HTTP tests
    eakte = Kernel("eakte", world.settings)
    await eakte.start(ModuleApp())
    try:
        async with eakte.transaction() as uow:
            await uow.emit(
                CaseOpened(
                    case_id=case_id,
                    aktenzeichen=AKTENZEICHEN,
                    service_id="bewohnerparkausweis",
                    unit="KVR-III/12",
                    opened_at=now(),
                ),
                subject=case_id,
            )
            await uow.emit(
                MessageSent(
                    case_id=case_id,
                    message_id=str(uuid.uuid4()),
                    aktenzeichen=AKTENZEICHEN,
                    subject="Bitte reichen Sie Unterlagen nach",
                    text="Uns fehlt die Zulassungsbescheinigung Teil I.",
                    requested=[RequestedDocument(document_type="fahrzeugschein", title="Fahrzeugschein")],
                    deadline=(date.today() + timedelta(days=10)).isoformat(),
                    unit="KVR-III/12",
                    sent_by="staff-1",
                    sent_at=now(),
                ),
                subject=case_id,
            )

        async def arrived() -> bool:
            return "Postkorb (1 ungelesen)" in (await erika.http.get(f"{PREFIX}/antraege")).text

        await eventually(arrived, timeout=30)
    finally:
        await eakte.stop(ModuleApp())

    not_a_pdf = tmp_path / "notiz.pdf"
    not_a_pdf.write_bytes(b"nur eine Notiz, kein PDF")
    async with chromium() as browser:
        context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = await context.new_page()
        kb = Keyboard(page, world.base_url)
        await page.goto(world.base_url + "/")
        await kb.follow("Anmelden")
        await kb.type_into("E-Mail", erika.email)
        await kb.type_into("Passwort", PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await kb.check()
        await kb.follow("Postkorb (1 ungelesen)")
        assert "Unterlagen angefordert" in await page.inner_text("main")
        await kb.follow(f"Bewohnerparkausweis beantragen, Aktenzeichen {AKTENZEICHEN}")
        main = await page.inner_text("main")
        assert "Uns fehlt die Zulassungsbescheinigung Teil I." in main and "noch 10 Tage" in main

        async def reply_with(path: Path) -> None:
            await kb.tab_to("Ihre Nachricht", "textarea")
            await page.keyboard.press("Control+A")
            await page.keyboard.type("Anbei der Fahrzeugschein.")
            await kb.tab_to("Fahrzeugschein", "input:file")
            # reached by keyboard; the operating system's file dialog is outside the page
            await page.locator("input[type=file]:focus").set_input_files(str(path))
            await kb.follow("Antwort senden", "button")

        # a file that is no PDF: refused with the application's checks, the text kept
        await reply_with(not_a_pdf)
        main = await page.inner_text("main")
        assert "Ihre Antwort wurde nicht gesendet" in main and "keine erlaubte Datei" in main
        assert await page.get_by_label("Ihre Nachricht").input_value() == "Anbei der Fahrzeugschein."
        await reply_with(SCAN)
        main = await page.inner_text("main")
        assert "Ihre Antwort wurde gesendet." in main and "fahrzeugschein-scan.pdf" in main
        await kb.follow("Zum Antrag")  # the thread on the application's page
        assert "Anbei der Fahrzeugschein." in await page.inner_text("main")
        await kb.follow("Postkorb")
        await kb.follow("Archivierte Nachrichten")
    async with world.portal.db.read() as s:
        stored = (
            (
                await s.execute(
                    sa.select(nachrichten.c.attachments).where(
                        nachrichten.c.case_id == case_id, nachrichten.c.direction == "buerger"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [[a["filename"] for a in row] for row in stored] == [["fahrzeugschein-scan.pdf"]]
