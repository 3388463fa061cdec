"""The embedded test identity provider speaks OpenID Connect correctly: discovery, the
authorization code flow with PKCE S256 and client authentication, RS256 ID tokens that
verify against its JWKS, stable pseudonyms, and refusals of what a real provider refuses.
Its key and secrets live in the data dir and survive a restart."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.jwk import KeySet

from rathaus.platform.runtime.idprovider import MARK, TestIdentityProvider
from rathaus.platform.runtime.processes import free_port

PORTAL = "http://127.0.0.1:9"  # never contacted: the browser is sent there, we read the URL
CALLBACK = PORTAL + "/konto/anmelden/test-oidc/rueckkehr"


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[TestIdentityProvider]:
    provider = TestIdentityProvider(tmp_path, free_port())
    provider.allow_portal(PORTAL)
    provider.start()
    yield provider
    provider.stop()


def authorize(http: httpx.Client, verifier: str, **extra: str) -> httpx.Response:
    params = {
        "client_id": "rathaus-portal",
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid profile",
        "state": "s-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    return http.get("/authorize", params={k: v for k, v in params.items() if v != ""})


def choose(
    http: httpx.Client, page: httpx.Response, person: str = "erika", method: str = "elster"
) -> dict[str, str]:
    action = re.search(r'action="(/authorize/[^"]+)"', page.text)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert action and token, page.text
    r = http.post(
        action.group(1),
        data={"token": token.group(1), "person": person, "methode": method, "aktion": "anmelden"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(CALLBACK + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}


def exchange(
    http: httpx.Client, idp: TestIdentityProvider, code: str, verifier: str, **extra: Any
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    return http.post("/token", data=data, auth=extra.pop("auth", (idp.client_id, idp.client_secret)), **extra)


def test_discovery_login_and_a_verifiable_id_token(idp: TestIdentityProvider) -> None:
    with httpx.Client(base_url=idp.base_url) as http:
        meta = http.get("/.well-known/openid-configuration").json()
        assert meta["issuer"] == idp.base_url and meta["code_challenge_methods_supported"] == ["S256"]
        verifier = secrets.token_urlsafe(48)
        page = authorize(http, verifier)
        assert page.status_code == 200 and MARK in page.text
        assert all(n in page.text for n in ("Benutzername/Passwort", "ELSTER-Zertifikat", "Online-Ausweis"))
        answer = choose(http, page)
        assert answer["iss"] == idp.base_url and answer["state"].startswith("s-")
        r = exchange(http, idp, answer["code"], verifier)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        token = jwt.decode(r.json()["id_token"], KeySet.import_key_set(http.get("/jwks").json()))
        claims = token.claims
        assert token.header["alg"] == "RS256"
        assert (claims["iss"], claims["aud"], claims["acr"]) == (
            idp.base_url,
            "rathaus-portal",
            "STORK-QAA-Level-3",
        )
        assert (claims["given_name"], claims["birthdate"]) == ("Erika", "1964-08-12")
        assert claims["nonce"].startswith("n-") and claims["exp"] > claims["iat"]
        # the code is single use
        assert exchange(http, idp, answer["code"], verifier).json()["error"] == "invalid_grant"
        info = http.get("/userinfo", headers={"authorization": f"Bearer {r.json()['access_token']}"}).json()
        assert info["sub"] == claims["sub"] and info["address"]["locality"] == "Köln"
        # the same person gets the same subject; another person another one
        verifier2 = secrets.token_urlsafe(48)
        again = exchange(
            http, idp, choose(http, authorize(http, verifier2), "erika", "ausweis")["code"], verifier2
        )
        other_v = secrets.token_urlsafe(48)
        other = exchange(http, idp, choose(http, authorize(http, other_v), "max")["code"], other_v)
        keys = KeySet.import_key_set(http.get("/jwks").json())
        assert jwt.decode(again.json()["id_token"], keys).claims["sub"] == claims["sub"]
        assert jwt.decode(other.json()["id_token"], keys).claims["sub"] != claims["sub"]


def test_refusals_like_a_real_provider(idp: TestIdentityProvider) -> None:
    with httpx.Client(base_url=idp.base_url) as http:
        verifier = secrets.token_urlsafe(48)
        # an unregistered redirect URI is never redirected to
        r = authorize(http, verifier, redirect_uri="https://boese.example/cb")
        assert r.status_code == 400 and "Rücksprungadresse" in r.text
        # no PKCE: back to the client with an error
        r = authorize(http, verifier, code_challenge="", code_challenge_method="")
        assert r.status_code == 303 and "error=invalid_request" in r.headers["location"]
        # wrong verifier, wrong client secret, wrong redirect_uri: invalid
        code = choose(http, authorize(http, verifier))["code"]
        assert exchange(http, idp, code, secrets.token_urlsafe(48)).json()["error"] == "invalid_grant"
        code = choose(http, authorize(http, verifier))["code"]
        r = exchange(http, idp, code, verifier, auth=(idp.client_id, "falsch"))
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        code = choose(http, authorize(http, verifier))["code"]
        r = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": PORTAL + "/x",
                "code_verifier": verifier,
            },
            auth=(idp.client_id, idp.client_secret),
        )
        assert r.json()["error"] == "invalid_grant"
        # a forged login form token
        page = authorize(http, verifier)
        action = re.search(r'action="(/authorize/[^"]+)"', page.text)
        assert action
        r = http.post(action.group(1), data={"token": "falsch", "person": "erika", "methode": "elster"})
        assert r.status_code == 400 and "abgelaufen oder ungültig" in r.text
        # asked for "substantiell": basis is not offered, and not accepted when posted anyway
        page = authorize(http, verifier, acr_values="STORK-QAA-Level-3")
        assert "Benutzername/Passwort" not in page.text and "ELSTER-Zertifikat" in page.text
        action = re.search(r'action="(/authorize/[^"]+)"', page.text)
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert action and token
        r = http.post(
            action.group(1), data={"token": token.group(1), "person": "erika", "methode": "benutzername"}
        )
        assert r.status_code == 400 and "Anmeldeart" in r.text


def test_key_and_subjects_survive_a_restart(tmp_path: Path) -> None:
    first = TestIdentityProvider(tmp_path, free_port())
    second = TestIdentityProvider(tmp_path, free_port())
    assert first.config.key.kid == second.config.key.kid
    assert first.client_secret == second.client_secret
    key_file = tmp_path / "idprovider" / "oidc-key.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
