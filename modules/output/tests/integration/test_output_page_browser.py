"""The staff page of output management in real Chromium, checked with axe-core (WCAG 2.1
AA), reached by keyboard: the unit's deliveries with their channel in German, and what its
cases sent to other authorities (to whom, on which legal basis, when; not the data)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.contracts.platform.v1 import DeliverDecision
from rathaus.eakte.bootstrap import bootstrap as eakte_bootstrap
from rathaus.output import PREFIX, TITLE
from rathaus.output.bootstrap import bootstrap
from rathaus.output.store import bescheide
from rathaus.platform.browser import assert_accessible, chromium, serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

pytestmark = pytest.mark.browser
UNIT = "KVR-III/12"


@pytest.fixture
async def running(
    settings: Settings, write_procedure: Callable[..., Path]
) -> AsyncIterator[tuple[Kernel, ModuleApp]]:
    settings.procedure_dirs = [write_procedure()]
    eakte = Kernel("eakte", settings)
    eakte_app = eakte_bootstrap(eakte)
    await eakte.start(eakte_app, seed=True)  # the staff accounts
    kernel = Kernel("output", settings)
    app = bootstrap(kernel)
    await kernel.start(app)
    yield kernel, app
    await kernel.stop(app)
    await eakte.stop(eakte_app)


def account(settings: Settings) -> tuple[str, str]:
    for line in (settings.data_dir / "demo-zugaenge.txt").read_text().splitlines():
        role, user, password, unit = line.split("\t")
        if unit == UNIT and role == "sachbearbeitung":
            return user, password
    raise AssertionError(f"no account of {UNIT}")


async def test_the_postausgang_shows_channels_and_notified_authorities(
    running: tuple[Kernel, ModuleApp],
    settings: Settings,
    decide: Callable[..., DecisionMade],
    verein: dict[str, Any],
) -> None:
    kernel, app = running
    definition = kernel.procedures.get("vereinstest", 1)
    parken = kernel.procedures.get("bewohnerparkausweis", 1)
    cases = [
        decide(definition, data=verein, unit=UNIT, aktenzeichen="124.10-2026-000001"),  # Postkorb, notified
        decide(definition, data=verein, unit=UNIT, recipient=Party(), aktenzeichen="124.10-2026-000002"),
        decide(parken, recipient=Party(email="a@example.org"), aktenzeichen="523.11-2026-000003"),
        decide(definition, data=verein, unit="KVR-I/21", aktenzeichen="124.10-2026-000004"),  # another unit
    ]
    bench = Kernel("testbench", settings)
    await bench.start(ModuleApp())
    async with bench.transaction() as uow:
        for case in cases:
            await uow.emit(case, subject=case.case_id)
            await uow.emit(
                DeliverDecision(case_id=case.case_id, channel="", template=""), subject=case.case_id
            )

    async def delivered() -> bool:
        async with kernel.db.read() as s:
            done = (
                await s.execute(sa.select(sa.func.count()).where(bescheide.c.sha256.is_not(None)))
            ).scalar()
        return done == len(cases)

    await eventually(delivered, timeout=60)
    await bench.stop(ModuleApp())

    web = create_module_app(kernel, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    async with serve_asgi(web) as base, chromium() as browser:
        page: Any = await browser.new_page()
        await page.goto(f"{base}{PREFIX}/")
        assert page.url.endswith("/anmelden")
        await assert_accessible(page)
        user, password = account(settings)
        await page.get_by_label("Benutzername").focus()
        await page.keyboard.type(user)
        await page.keyboard.press("Tab")
        await page.keyboard.type(password)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}{PREFIX}/")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.get_by_role("heading", level=1).count() == 1

        deliveries = page.get_by_role("table").nth(0)
        rows = [await r.inner_text() for r in await deliveries.get_by_role("row").all()]
        by_az = {
            az: next(r for r in rows if az in r)
            for az in ("124.10-2026-000001", "124.10-2026-000002", "523.11-2026-000003")
        }
        assert "Postkorb" in by_az["124.10-2026-000001"]
        assert "nur Akte" in by_az["124.10-2026-000002"]
        assert "E-Mail" in by_az["523.11-2026-000003"]
        assert not any("124.10-2026-000004" in r for r in rows)  # another unit's case

        heading = page.get_by_role("heading", name="Übermittlungen an andere Behörden")
        assert await heading.count() == 1
        forwards = page.get_by_role("table").nth(1)
        text = await forwards.inner_text()
        assert "Finanzamt München" in text and "§ 138 AO" in text
        assert "124.10-2026-000001" in text and "124.10-2026-000004" not in text
        main = await page.inner_text("main")
        for personal in ("Isarfreunde", "089 1234567", "Anna", "anonym", "a@example.org"):
            assert personal not in main

        # the whole page by keyboard: the log-out button is reachable
        for _ in range(8):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.textContent.trim()") == "Abmelden":
                break
        else:
            raise AssertionError("Abmelden is not reachable by keyboard")
