"""Passkeys and the session warning in real Chromium, by keyboard alone, every page checked
with axe-core: two passkeys registered on DevTools virtual authenticators, a passkey login
without an e-mail address, one passkey removed; the warning before the idle timeout,
"Sitzung verlängern", and the end of a session (seconds-scale timeouts from the settings)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rathaus.platform.browser import Keyboard, assert_accessible, chromium
from rathaus.platform.kernel.settings import SessionSettings, SessionTimeouts

pytestmark = pytest.mark.browser
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def on_localhost(world: Any) -> str:
    """Browsers take no IP address as a passkey's relying party: the portal is reached at
    ``localhost`` (its public URL says so)."""
    base = world.base_url.replace("127.0.0.1", "localhost")
    world.settings.web.public_url = base
    return str(base)


async def logout_is_there(page: Any) -> None:
    assert await page.get_by_role("button", name="Abmelden").count() == 1, page.url


async def test_two_passkeys_login_and_removal_by_keyboard(world: Any) -> None:
    base = on_localhost(world)
    erika = await world.citizen()
    await erika.register()
    async with chromium() as browser:
        context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("WebAuthn.enable")
        laptop = (await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR}))[
            "authenticatorId"
        ]
        kb = Keyboard(page, base)
        await page.goto(f"{base}/konto/anmelden")
        await kb.check()
        await kb.type_into("E-Mail", erika.email)
        await kb.type_into("Passwort", "Ein-gutes-Passwort-2026")
        await kb.submit_field()
        await page.goto(f"{base}/konto")
        await kb.check()
        await logout_is_there(page)
        assert "Sie haben noch keinen Passkey eingerichtet." in await page.inner_text("#passkeys")

        # without a name the page says what is missing, and nothing is asked of the device
        await kb.tab_to("Passkey einrichten", "button")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#passkey-meldung .kern-alert")
        assert "Namen" in await page.inner_text("#passkey-meldung")
        await assert_accessible(page)

        await kb.type_into("Name des Passkeys", "Laptop")
        await kb.follow("Passkey einrichten", "button")
        assert "Der Passkey ist eingerichtet." in await page.inner_text("#passkeys")
        # the second passkey on another device (the first one is put away)
        await cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": laptop})
        phone = (await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR}))[
            "authenticatorId"
        ]
        await kb.type_into("Name des Passkeys", "Smartphone")
        await kb.follow("Passkey einrichten", "button")
        rows = page.locator("#passkeys tbody tr")
        assert await rows.count() == 2
        assert "noch nie" in await rows.nth(1).inner_text()
        stored = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": phone}))["credentials"]
        assert len(stored) == 1 and stored[0]["isResidentCredential"]

        await kb.follow("Abmelden", "button")
        await kb.follow("Anmelden")
        # the passkey login: no e-mail address, the device answers (user verified)
        await kb.follow("Mit Passkey anmelden", "button")
        await logout_is_there(page)
        await page.goto(f"{base}/konto")
        await kb.check()
        assert "Passkey (zwei Faktoren" in await page.inner_text("main")
        assert "hebt das Vertrauensniveau Ihres Kontos nicht" in await page.inner_text("main")
        assert "noch nie" not in await page.locator("#passkeys tr[data-passkey=Smartphone]").inner_text()

        # remove the laptop's passkey: a confirmation page first
        await kb.follow("„Laptop“ entfernen")
        await logout_is_there(page)
        assert "„Laptop“ entfernen?" in await page.inner_text("h1")
        await kb.follow("Passkey entfernen", "button")
        assert "Der Passkey ist entfernt." in await page.inner_text("#passkeys")
        assert await page.locator("#passkeys tbody tr").count() == 1
        # an error page keeps the navigation and "Abmelden"
        await page.goto(f"{base}/gibt-es-nicht")
        await kb.check()
        await logout_is_there(page)
        await context.close()


@contextlib.asynccontextmanager
async def logged_in_by_keyboard(world: Any) -> AsyncIterator[tuple[Any, Any, Keyboard]]:
    """A new citizen logged in with her password by keyboard: (context, page, keyboard)."""
    erika = await world.citizen()
    await erika.register()
    async with chromium() as browser:
        context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = await context.new_page()
        kb = Keyboard(page, world.base_url)
        await page.goto(f"{world.base_url}/konto/anmelden")
        await kb.type_into("E-Mail", erika.email)
        await kb.type_into("Passwort", "Ein-gutes-Passwort-2026")
        await kb.submit_field()
        yield context, page, kb


async def test_the_session_warning_extend_by_keyboard_and_the_end(world: Any) -> None:
    world.settings.sessions = SessionSettings(
        niedrig=SessionTimeouts(absolute_seconds=600, idle_seconds=20), warn_seconds=8
    )
    async with logged_in_by_keyboard(world) as (context, page, kb):
        await page.goto(f"{world.base_url}/antraege")
        await kb.check()
        dialog = page.locator("#sitzung-warnung")
        assert not await dialog.is_visible()

        # the warning comes by itself, some seconds before the idle timeout, with the focus
        # on "Sitzung verlängern"
        await dialog.wait_for(state="visible", timeout=30_000)
        assert "Ihre Sitzung läuft bald ab" in await dialog.inner_text()
        assert not await page.locator("#sitzung-neu").is_visible()
        assert "Sitzung verlängern" in await page.evaluate("() => document.activeElement.innerText")
        await assert_accessible(page)
        await page.keyboard.press("Enter")
        await dialog.wait_for(state="hidden")
        assert "verlängert" in await page.inner_text("#sitzung-status")
        state = await (await page.request.get(f"{world.base_url}/konto/sitzung")).json()
        assert state["angemeldet"] and state["idle_left"] > 8

        # nothing more is done: the warning again, then the end; the page says so and
        # offers to log in again, where the login page tells why
        await page.wait_for_selector("#sitzung-titel:text('Sie wurden abgemeldet')", timeout=45_000)
        assert await page.locator("#sitzung-neu").is_visible()
        assert not await page.locator("#sitzung-verlaengern").is_visible()
        await assert_accessible(page)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")  # the focus is on "Erneut anmelden"
        await kb.check()
        assert "wegen Inaktivität abgemeldet" in await page.inner_text("main")
        await context.close()


async def test_the_absolute_limit_is_announced_and_cannot_be_extended(world: Any) -> None:
    world.settings.sessions = SessionSettings(
        niedrig=SessionTimeouts(absolute_seconds=30, idle_seconds=600), warn_seconds=10
    )
    async with logged_in_by_keyboard(world) as (context, page, kb):
        await page.goto(f"{world.base_url}/konto")
        await kb.check()
        # opened under an IP address, a passkey cannot work: the page says where it does
        await kb.type_into("Name des Passkeys", "Laptop")
        await kb.tab_to("Passkey einrichten", "button")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#passkey-meldung .kern-alert")
        assert "nur unter der Adresse des Portals (localhost)" in await page.inner_text("#passkey-meldung")

        dialog = page.locator("#sitzung-warnung")
        await dialog.wait_for(state="visible", timeout=30_000)
        text = await dialog.inner_text()
        assert "kann nicht verlängert werden" in text
        assert not await page.locator("#sitzung-verlaengern").is_visible()
        assert "Schließen" in await page.evaluate("() => document.activeElement.innerText")
        await assert_accessible(page)
        await page.keyboard.press("Escape")  # closed by keyboard; the end still comes
        await dialog.wait_for(state="hidden")
        await page.wait_for_selector("#sitzung-titel:text('Sie wurden abgemeldet')", timeout=30_000)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "längste erlaubte Dauer erreicht" in await page.inner_text("main")
        await context.close()
