"""The case page's Postkorb in real Chromium, checked with axe-core (WCAG 2.1 AA): a clerk
writes a Nachforderung from a template by keyboard, sees the form's errors and the thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rathaus.contracts.input.v1 import ReplyRouted
from rathaus.eakte import PREFIX
from rathaus.platform.browser import Keyboard, assert_accessible, chromium

pytestmark = pytest.mark.browser

PARKEN = {"given_name": "Erika", "family_name": "Mustermann", "kennzeichen": "M-EM 1964"}


async def login(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}{PREFIX}/anmelden")
    await page.get_by_label("Benutzername").focus()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}{PREFIX}/")


async def test_a_nachforderung_by_keyboard_and_the_thread_are_accessible(office: Any, served: str) -> None:
    case_id = await office.submit("bewohnerparkausweis", PARKEN)
    await office.wait_for("case.opened.v1", case_id)
    async with chromium() as browser:
        page = await browser.new_page()
        kb = Keyboard(page, served)
        await login(page, served, *office.login_of("KVR-III/12"))
        await page.goto(f"{served}{PREFIX}/vorgaenge/{case_id}")
        await kb.check()
        # an empty message: the errors are listed and linked to their fields
        await kb.follow("Nachricht senden", "button")
        assert "Bitte geben Sie einen Betreff an." in await page.inner_text("main")
        # a template, a document to request, by keyboard
        await kb.tab_to("Vorlage (optional)", "select")
        await page.keyboard.press("ArrowDown")  # "Nachforderung von Unterlagen"
        assert await page.locator("#nachricht-template").input_value() == "unterlagen_fehlen"
        await kb.tab_to("Zulassungsbescheinigung Teil I (Fahrzeugschein)", "input:checkbox")
        await page.keyboard.press("Space")
        await kb.follow("Vorlage übernehmen", "button")
        assert "Zulassungsbescheinigung Teil I" in await page.locator("#nachricht-text").input_value()
        assert await page.locator("#nachricht-subject").input_value() == "Bitte reichen Sie Unterlagen nach"
        await kb.follow("Nachricht senden", "button")
        sent = await office.wait_for("message.sent.v1", case_id)
        assert [r["document_type"] for r in sent["requested"]] == ["fahrzeugschein"]
        await office.wait_for("documents.requested.v1", case_id)
        main = await page.inner_text("main")
        assert (
            "Unterlagen angefordert" in main
            and "An Antragsteller/in: Bitte reichen Sie Unterlagen nach" in main
        )
        # the reply in the thread
        now = datetime.now(UTC).isoformat()
        await office.emit(
            office.input,
            ReplyRouted(
                case_id=case_id,
                reply_id="antwort-1",
                in_reply_to=sent["message_id"],
                unit="KVR-III/12",
                text="Anbei der Fahrzeugschein.",
                documents=[],
                received_at=now,
            ),
            case_id,
        )
        await office.wait_for("reply.filed.v1", case_id)
        await page.goto(f"{served}{PREFIX}/vorgaenge/{case_id}")
        assert "Anbei der Fahrzeugschein." in await page.inner_text("main")
        await assert_accessible(page)
