"""Logins through the test identity provider in real Chromium: at level "substantiell" by
keyboard alone, the step-up from "basis" to "substantiell" back into the application, and
axe-core on every new page (the portal's and the test identity provider's)."""

from __future__ import annotations

from typing import Any

import pytest

from modules.portal.tests.conftest import PASSWORD
from rathaus.platform.browser import Keyboard, assert_accessible, chromium
from rathaus.platform.runtime.idprovider import MARK, TestIdentityProvider
from rathaus.portal import PREFIX

pytestmark = pytest.mark.browser
LOGIN_BUTTON = "Mit Test-Identitätsanbieter (OpenID Connect) anmelden"
LEVEL = "dt:has-text('Vertrauensniveau') + dd"


async def test_oidc_login_at_substantiell_by_keyboard_alone(id_world: Any) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        keys = Keyboard(page, id_world.base_url)
        await page.goto(id_world.base_url + f"{PREFIX}/konto/anmelden?next=/konto")
        await keys.check()
        await keys.follow(LOGIN_BUTTON)
        assert MARK in await page.inner_text("header")  # at the test identity provider, marked as such
        await keys.tab_to("Erika Mustermann", "input:radio")  # the group's first person is chosen
        await keys.tab_to("Benutzername/Passwort", "input:radio")
        await page.keyboard.press("ArrowDown")  # → ELSTER-Zertifikat
        assert await page.evaluate("document.activeElement.value") == "elster"
        await keys.follow("Anmelden", "button")
        assert page.url == id_world.base_url + f"{PREFIX}/konto/erstanmeldung"
        main = await page.inner_text("main")
        assert "Erika Mustermann" in main and "12.08.1964" in main and "Heidestraße 17, 51147 Köln" in main
        await keys.type_into("E-Mail-Adresse für Benachrichtigungen", "erika.tastatur@example.org")
        await keys.follow("Konto anlegen", "button")
        assert page.url.endswith(f"{PREFIX}/konto?neu=1")
        assert await page.inner_text(LEVEL) == "substantiell"


async def test_step_up_from_basis_to_substantiell_returns_to_the_application(id_world: Any) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(id_world.base_url + f"{PREFIX}/konto/anmelden")
        await page.get_by_role("link", name=LOGIN_BUTTON).click()
        await page.get_by_label("Max Mustermann").check()
        await page.get_by_label("Benutzername/Passwort").check()
        await page.get_by_role("button", name="Anmelden").click()
        await page.get_by_label("E-Mail-Adresse für Benachrichtigungen").fill("max.stufe@example.org")
        await page.get_by_role("button", name="Konto anlegen").click()
        await page.wait_for_url(lambda url: url.endswith("/konto?neu=1"))
        assert await page.inner_text(LEVEL) == "niedrig"
        await page.goto(id_world.base_url + f"{PREFIX}/leistungen/meldebescheinigung/antrag")
        assert "höheres Vertrauensniveau" in await page.inner_text("main")
        await assert_accessible(page)
        await page.get_by_role(
            "link", name="Mit Test-Identitätsanbieter (OpenID Connect) erneut anmelden"
        ).click()
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.get_by_label("Benutzername/Passwort").count() == 0  # not enough: not offered
        await page.get_by_label("Max Mustermann").check()
        await page.get_by_label("ELSTER-Zertifikat").check()
        await page.get_by_role("button", name="Anmelden").click()
        await page.wait_for_url(f"**{PREFIX}/leistungen/meldebescheinigung/antrag/*")
        await page.wait_for_load_state("networkidle")
        assert "Meldebescheinigung" in await page.inner_text("main")
        await assert_accessible(page)


async def test_every_new_page_passes_axe(id_world: Any, idp: TestIdentityProvider) -> None:
    citizen = await id_world.citizen()
    assert (await citizen.register(given_name="Erika", family_name="Musterfrau")).status_code == 303
    async with chromium() as browser:
        page = await browser.new_page()
        checked: list[str] = []

        async def check(what: str) -> None:
            await page.wait_for_load_state("networkidle")
            await assert_accessible(page)
            checked.append(what)

        # the test identity provider's own pages
        await page.goto(idp.base_url + "/")
        assert MARK in await page.inner_text("body")
        await check("idp index")
        await page.goto(
            idp.base_url + "/authorize?client_id=rathaus-portal&redirect_uri=https://boese.example/"
        )
        assert "Rücksprungadresse" in await page.inner_text("main")
        await check("idp error page")
        # a refused answer in the portal
        await page.goto(
            id_world.base_url + f"{PREFIX}/konto/anmelden/test-oidc/rueckkehr?code=x&state=erfunden"
        )
        assert "Anmeldung nicht möglich" in await page.inner_text("main")
        await check("portal refusal")
        # logged in locally with other data, then through the provider: the differences
        await page.goto(id_world.base_url + f"{PREFIX}/konto/anmelden")
        await page.get_by_label("E-Mail").fill(citizen.email)
        await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Anmelden", exact=True).click()
        await page.goto(id_world.base_url + f"{PREFIX}/konto/anmelden")
        await check("login page with providers")
        await page.get_by_role("link", name=LOGIN_BUTTON).click()
        await check("idp login page")
        await page.get_by_role("button", name="Anmelden").click()
        await page.wait_for_url("**/konto/erstanmeldung")
        assert "Musterfrau" in await page.inner_text("main")
        await check("first login with differences")
        await page.get_by_role("button", name="Konto verknüpfen").click()
        assert "Bitte wählen Sie" in await page.inner_text("main")
        await check("first login, no choice made")
        await page.get_by_label("Vom Identitätsanbieter übernehmen: Mustermann").check()
        await page.get_by_role("button", name="Konto verknüpfen").click()
        await page.wait_for_url("**/konto")
        assert "Erika Mustermann" in await page.inner_text("main")
        # a first login without a local account: the e-mail refused
        fresh = await browser.new_page()
        page = fresh
        await page.goto(id_world.base_url + f"{PREFIX}/konto/anmelden")
        await page.get_by_role("link", name=LOGIN_BUTTON).click()
        await page.get_by_label("Ömer Yılmaz").check()
        await page.get_by_role("button", name="Anmelden").click()
        await page.wait_for_url("**/konto/erstanmeldung")
        await check("first login, new account")
        await page.get_by_label("E-Mail-Adresse für Benachrichtigungen").fill("kein-mail")
        await page.get_by_role("button", name="Konto anlegen").click()
        assert "gültige E-Mail-Adresse" in await page.inner_text("main")
        await check("first login, e-mail refused")
    assert len(checked) == 9


async def test_saml_login_in_the_browser_and_the_posting_page_without_javascript(id_world: Any) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(id_world.base_url + f"{PREFIX}/konto/anmelden?next=/antraege")
        await page.get_by_role("link", name="Mit Test-Identitätsanbieter (SAML) anmelden").click()
        await page.wait_for_load_state("networkidle")
        assert MARK in await page.inner_text("header")
        await assert_accessible(page)
        await page.get_by_label("Leonie Schäfer-Özdemir").check()
        await page.get_by_label("ELSTER-Zertifikat").check()
        await page.get_by_role("button", name="Anmelden").click()  # the answer posts itself to the portal
        await page.wait_for_url("**/konto/erstanmeldung")
        assert "Leonie Schäfer-Özdemir" in await page.inner_text("main")
        await page.get_by_label("E-Mail-Adresse für Benachrichtigungen").fill("leonie@example.org")
        await page.get_by_role("button", name="Konto anlegen").click()
        await page.wait_for_url("**/antraege")
        await page.goto(id_world.base_url + f"{PREFIX}/konto")
        assert await page.inner_text(LEVEL) == "substantiell"
        # without JavaScript the provider's answer waits on a page with a button: accessible too
        context = await browser.new_context(java_script_enabled=False)
        plain = await context.new_page()
        await plain.goto(id_world.base_url + f"{PREFIX}/konto/anmelden")
        await plain.get_by_role("link", name="Mit Test-Identitätsanbieter (SAML) anmelden").click()
        await plain.get_by_role("button", name="Anmelden").click()
        await plain.wait_for_load_state()
        assert "Weiter zum Dienst" in await plain.inner_text("main")
        # axe needs JavaScript: the same page, its self-submitting script taken out
        html = (await plain.content()).split("<script>")[0] + "</main></body></html>"
        audit = await browser.new_page()
        await audit.set_content(html)
        await assert_accessible(audit)
        keys = Keyboard(plain, id_world.base_url)  # by keyboard (its axe check needs JavaScript)
        await keys.tab_to("Weiter zum Dienst", "button")
        async with plain.expect_navigation():
            await plain.keyboard.press("Enter")
        assert plain.url.endswith("/konto/erstanmeldung")
