"""The data broker's page: what each register can release, and the exchanges counted by
purpose, the data asked for (in German words) and outcome; no personal data. In real
Chromium with axe-core too."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rathaus.broker import PREFIX, TITLE
from rathaus.contracts.broker import v2
from rathaus.contracts.common import Person
from rathaus.platform.browser import assert_accessible, chromium, serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.kernel.web import create_module_app

ERIKA = Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12")


async def exchange(portal: Kernel, attributes: list[str], level: str) -> v2.EvidenceResponse:
    return await portal.ask(
        v2.FETCH_EVIDENCE,
        v2.EvidenceRequest(
            account_id=str(uuid.uuid4()),
            assurance_level=level,
            person=ERIKA,
            attributes=attributes,
            purpose="Ausstellung einer Meldebescheinigung",
            legal_basis="§ 18 BMG",
            service_id="meldebescheinigung",
            case_id=str(uuid.uuid4()),
        ),
    )


def web(broker: Kernel, app: ModuleApp) -> Any:
    return create_module_app(broker, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)


async def test_the_page_counts_exchanges_with_the_data_in_german_words(
    started: tuple[Kernel, ModuleApp, Kernel],
) -> None:
    broker, app, portal = started
    asked = ["melderegister.strasse", "melderegister.einzugsdatum"]
    assert (await exchange(portal, asked, "substantiell")).released
    assert (await exchange(portal, asked, "hoch")).released
    assert not (await exchange(portal, asked, "niedrig")).released
    async with serve_asgi(web(broker, app)) as base, httpx.AsyncClient(base_url=base) as client:
        page = (await client.get(f"{PREFIX}/")).text
    assert "Melderegister: Anschrift (Straße), Einzugsdatum" in page
    row = page[page.index("Ausstellung einer Meldebescheinigung") :]
    assert row.index("übermittelt") < row.index(">2<") < row.index("abgelehnt")
    assert "Halterin oder Halter seit" in page  # what the Fahrzeugregister can release
    assert "Zenetti" not in page and "Mustermann" not in page and "2019-03-01" not in page


@pytest.mark.browser
async def test_the_page_is_accessible(started: tuple[Kernel, ModuleApp, Kernel]) -> None:
    broker, app, portal = started
    await exchange(portal, ["fahrzeugregister.kennzeichen"], "substantiell")
    async with serve_asgi(web(broker, app)) as base, chromium() as browser:
        page: Any = await browser.new_page()
        await page.goto(f"{base}{PREFIX}/")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.locator("h1").count() == 1
        rows = await page.locator("table tbody tr").all_inner_texts()
        assert any("Fahrzeugregister: Kennzeichen" in r and "übermittelt" in r for r in rows)
