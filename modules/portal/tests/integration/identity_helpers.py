"""Logging in through the embedded test identity provider over HTTP, as a browser without
JavaScript does: the portal on a real port, the test identity provider on its own port
(a real OpenID Connect provider: discovery, PKCE, RS256 ID tokens, JWKS)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from rathaus.platform.runtime.idprovider import TEST_PROVIDER_ID, TestIdentityProvider
from rathaus.portal import PREFIX

FORM = re.compile(r'action="(/authorize/[^"]+)"')
FORM_TOKEN = re.compile(r'name="token" value="([^"]+)"')
START = f"{PREFIX}/konto/anmelden/{TEST_PROVIDER_ID}"


async def tamper(idp: TestIdentityProvider, how: str) -> None:
    """Make the next ID token the test provider issues misbehave (its test control)."""
    async with httpx.AsyncClient(base_url=idp.base_url) as http:
        r = await http.post("/_test/tamper", data={"how": how}, auth=(idp.client_id, idp.client_secret))
        assert r.status_code == 200, r.text


async def at_provider(
    citizen: Any, start: str, person: str = "erika", method: str = "elster"
) -> tuple[str, httpx.Response]:
    """Follow the portal's redirect to the provider, pick person and method there; returns the
    portal path (with query) the provider sends the browser back to, and the login page."""
    r = await citizen.http.get(start)
    assert r.status_code == 303, r.text
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as browser_at_idp:
        page = await browser_at_idp.get(r.headers["location"])
        assert page.status_code == 200, page.text
        action, token = FORM.search(page.text), FORM_TOKEN.search(page.text)
        assert action and token
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(r.headers["location"]))
        back = await browser_at_idp.post(
            origin + action.group(1),
            data={"token": token.group(1), "person": person, "methode": method, "aktion": "anmelden"},
        )
    assert back.status_code == 303, back.text
    parts = urlsplit(back.headers["location"])
    return f"{parts.path}?{parts.query}", page


async def login_via_provider(
    citizen: Any, person: str = "erika", method: str = "elster", next: str = ""
) -> httpx.Response:
    """The whole round trip; returns the portal's answer to the provider's redirect."""
    start = START + (f"?next={next}" if next else "")
    callback, _ = await at_provider(citizen, start, person, method)
    return await citizen.http.get(callback)  # type: ignore[no-any-return]


SAML_START = f"{PREFIX}/konto/anmelden/test-saml"
POSTED = re.compile(r'<form method="post" action="([^"]+)" id="saml-antwort">')
SAML_RESPONSE = re.compile(r'name="SAMLResponse" value="([^"]+)"')


async def at_saml_provider(
    citizen: Any, start: str = SAML_START, person: str = "erika", method: str = "elster"
) -> tuple[str, dict[str, str]]:
    """Through the SAML test provider's login page; returns the portal path the provider's
    page posts to (the ACS) and the form it posts (SAMLResponse, RelayState)."""
    r = await citizen.http.get(start)
    assert r.status_code == 303, r.text
    assert "/saml/sso?SAMLRequest=" in r.headers["location"]
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as browser_at_idp:
        page = await browser_at_idp.get(r.headers["location"])
        assert page.status_code == 200, page.text
        action, token = FORM.search(page.text), FORM_TOKEN.search(page.text)
        assert action and token
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(r.headers["location"]))
        answer = await browser_at_idp.post(
            origin + action.group(1),
            data={"token": token.group(1), "person": person, "methode": method, "aktion": "anmelden"},
        )
    assert answer.status_code == 200, answer.text
    posted, response = POSTED.search(answer.text), SAML_RESPONSE.search(answer.text)
    assert posted and response, answer.text
    return urlsplit(posted.group(1)).path, {"SAMLResponse": response.group(1)}


async def saml_login(
    citizen: Any, person: str = "erika", method: str = "elster", start: str = SAML_START
) -> httpx.Response:
    """The whole SAML round trip; returns the portal's answer once the browser is back."""
    acs, form = await at_saml_provider(citizen, start, person, method)
    r = await citizen.http.post(acs, data=form)
    assert r.status_code == 303, r.text
    return await citizen.http.get(r.headers["location"])  # type: ignore[no-any-return]
