"""The staff pages of input management in real Chromium, each checked with axe-core
(WCAG 2.1 AA): login by keyboard, triage list, a letter with its assignment form and
errors, the upload form with an error, the page of a letter being read, the journal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rathaus.eakte.bootstrap import bootstrap as eakte_bootstrap
from rathaus.input import PREFIX, TITLE
from rathaus.input.bootstrap import bootstrap
from rathaus.platform.browser import assert_accessible, chromium, serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

pytestmark = pytest.mark.browser


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[tuple[Kernel, ModuleApp]]:
    eakte = Kernel("eakte", settings)
    eakte_app = eakte_bootstrap(eakte)
    await eakte.start(eakte_app, seed=True)
    kernel = Kernel("input", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    yield kernel, app
    await kernel.stop(app)
    await eakte.stop(eakte_app)


def poststelle(settings: Settings) -> tuple[str, str]:
    for line in (settings.data_dir / "demo-zugaenge.txt").read_text().splitlines():
        role, user, password, _unit = line.split("\t")
        if role == "poststelle":
            return user, password
    raise AssertionError("no poststelle account")


async def test_staff_pages_are_accessible_and_work_by_keyboard(
    running: tuple[Kernel, ModuleApp],
    settings: Settings,
    make_letter: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    kernel, app = running
    inbox = settings.data_dir / "input" / "eingangsordner"
    (inbox / "brief.pdf").write_bytes(
        make_letter(["Betreff: Frage zum Parken", "Wie beantrage ich einen Bewohnerparkausweis?"])
    )
    web = create_module_app(kernel, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    async with serve_asgi(web) as base, chromium() as browser:
        page: Any = await browser.new_page()

        async def check() -> None:
            await page.wait_for_load_state("networkidle")
            await assert_accessible(page)

        await page.goto(f"{base}{PREFIX}/")
        assert page.url.endswith("/anmelden")
        await check()
        user, password = poststelle(settings)
        await page.get_by_label("Benutzername").focus()
        await page.keyboard.type(user)
        await page.keyboard.press("Tab")
        await page.keyboard.type(password)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}{PREFIX}/verteilen")

        async def listed() -> bool:
            await page.goto(f"{base}{PREFIX}/verteilen")
            return "Frage zum Parken" in await page.inner_text("main")

        await eventually(listed, timeout=60)
        await check()
        assert "Bewohnerparkausweis beantragen (KVR-III/12)" in await page.inner_text("main")

        await page.get_by_role("link", name="ansehen und zuordnen").first.click()
        await page.wait_for_selector("img[alt='Seite 1 des Originals']")
        await check()
        assert await page.get_by_role("heading", level=1).count() == 1
        # the assignment form by keyboard: an unknown Aktenzeichen is refused in German
        await page.get_by_label("Aktenzeichen des Vorgangs").focus()
        await page.keyboard.type("523.11-2026-000001")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        main = await page.inner_text("main")
        assert "Bitte korrigieren Sie Ihre Angaben" in main and "kein laufender Vorgang bekannt" in main
        await check()
        await page.get_by_role("link", name="kein laufender Vorgang bekannt").click()
        assert await page.evaluate("document.activeElement.id") == "aktenzeichen"

        await page.goto(f"{base}{PREFIX}/hochladen")
        await check()
        fake = tmp_path / "brief.pdf"
        fake.write_text("Nur ein Text mit der Endung .pdf", encoding="utf-8")
        await page.get_by_label("Datei des Briefs").set_input_files(str(fake))
        async with page.expect_navigation():
            await page.get_by_role("button", name="Hochladen").click()
        assert "kein PDF und kein Bild" in await page.inner_text("main")
        await check()

        # a real scan: its page says it is being read, then shows the result by itself
        scan = tmp_path / f"scan-{uuid.uuid4().hex[:6]}.png"
        scan.write_bytes(
            make_letter(["Sehr geehrte Damen und Herren,", "anbei meine Unterlagen."], fmt="PNG")
        )
        await page.get_by_label("Datei des Briefs").set_input_files(str(scan))
        await page.get_by_role("button", name="Hochladen").click()
        await page.wait_for_url(f"{base}{PREFIX}/briefe/**")
        await check()
        await page.get_by_text("Einem Vorgang zuordnen").wait_for(timeout=60_000)
        await check()
        assert "anbei meine Unterlagen" in await page.inner_text("main")

        await page.goto(f"{base}{PREFIX}/journal")
        await check()
