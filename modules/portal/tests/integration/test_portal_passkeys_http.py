"""Passkeys over HTTP with a software authenticator: several per account, log in without an
e-mail address, remove one; and every way a ceremony must be refused (a wrong, replayed or
expired challenge, another origin, no user verification, a counter that went back, a
removed passkey, another account's passkey, no CSRF token)."""

from __future__ import annotations

from typing import Any

import httpx

from modules.portal.tests.integration.softkey import SoftKey
from rathaus.portal import PREFIX
from rathaus.portal.handlers.passkeys import MSG_EXPIRED, MSG_LOGIN_FAILED, MSG_UNKNOWN, relying_party

KONTO = f"{PREFIX}/konto"
LOGIN = f"{PREFIX}/konto/anmelden"


async def post_json(citizen: Any, path: str, body: dict[str, Any], page: str) -> httpx.Response:
    token = await citizen.token(page)
    return await citizen.http.post(
        path, json=body, headers={"x-csrftoken": token, "accept": "application/json"}
    )


async def add_passkey(citizen: Any, key: SoftKey, name: str, **bend: Any) -> httpx.Response:
    options = (await post_json(citizen, f"{KONTO}/passkeys/optionen", {}, KONTO)).json()
    return await post_json(
        citizen, f"{KONTO}/passkeys", {"name": name, "credential": key.create(options, **bend)}, KONTO
    )


async def login_options(citizen: Any) -> dict[str, Any]:
    response = await post_json(citizen, f"{KONTO}/anmelden/passkey/optionen", {}, LOGIN)
    assert response.status_code == 201, response.text
    options: dict[str, Any] = response.json()
    return options


async def passkey_login(citizen: Any, key: SoftKey, next: str = "", **bend: Any) -> httpx.Response:
    options = await login_options(citizen)
    credential = key.get(options, **bend)
    return await post_json(
        citizen, f"{KONTO}/anmelden/passkey", {"credential": credential, "next": next}, LOGIN
    )


def last_refusal(caplog: Any) -> str:
    """Why the last ceremony was refused, as logged (no personal data in it)."""
    found = [r.getMessage() for r in caplog.records if r.name == "rathaus.portal.passkeys"]
    assert found, "the refusal was not logged"
    return found[-1]


def new_key(world: Any) -> SoftKey:
    return SoftKey(*relying_party(world.settings))


async def test_register_two_log_in_without_email_remove_one(world: Any) -> None:
    erika = await world.citizen()
    assert (await erika.register()).status_code == 303
    laptop, phone = new_key(world), new_key(world)
    r = await add_passkey(erika, laptop, "Laptop")
    assert r.status_code == 201 and r.json() == {"ok": True, "name": "Laptop"}, r.text
    assert (await add_passkey(erika, phone, "  Smartphone  ")).status_code == 201
    page = (await erika.http.get(KONTO)).text
    assert page.count("data-passkey=") == 2 and 'data-passkey="Smartphone"' in page
    assert "noch nie" in page and "Passwort" in page  # this session: a password login
    # the same authenticator again is refused (and the options exclude it)
    options = (await post_json(erika, f"{KONTO}/passkeys/optionen", {}, KONTO)).json()
    assert {c["id"] for c in options["excludeCredentials"]} == {laptop.id, phone.id}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    await erika.logout()

    # log in with the phone: no e-mail address, the browser names the passkey
    r = await passkey_login(erika, phone, next="/antraege")
    assert r.status_code == 200 and r.json() == {"ok": True, "ziel": "/antraege"}, r.text
    page = (await erika.http.get(KONTO)).text
    assert "Passkey (zwei Faktoren" in page
    assert "niedrig" in page  # the account's level is unchanged: nobody checked her identity
    assert "hebt das Vertrauensniveau Ihres Kontos nicht" in page

    # remove the laptop's passkey: a confirmation page, then a CSRF-protected POST
    confirm = await erika.http.get(f"{KONTO}/passkeys/{laptop.id}/entfernen")
    assert confirm.status_code == 200 and "„Laptop“ entfernen?" in confirm.text
    unprotected = await erika.http.post(f"{KONTO}/passkeys/{laptop.id}/entfernen")
    assert unprotected.status_code == 403
    r = await erika.post(
        f"{KONTO}/passkeys/{laptop.id}/entfernen", {}, page=f"{KONTO}/passkeys/{laptop.id}/entfernen"
    )
    assert r.status_code == 303 and "passkey=entfernt" in r.headers["location"]
    page = (await erika.http.get(r.headers["location"])).text
    assert page.count("data-passkey=") == 1 and "Der Passkey ist entfernt." in page
    await erika.logout()
    r = await passkey_login(erika, laptop)
    assert r.status_code == 400 and r.json()["fehler"] == MSG_UNKNOWN
    assert (await passkey_login(erika, phone)).status_code == 200


async def test_ceremonies_that_must_be_refused(world: Any, caplog: Any) -> None:
    erika = await world.citizen()
    await erika.register()
    key = new_key(world)
    _, origin = relying_party(world.settings)
    # registration: another origin, a challenge the server never gave, no name
    r = await add_passkey(erika, key, "Laptop", origin="https://rathaus.example.org")
    assert r.status_code == 400 and "nicht eingerichtet" in r.json()["fehler"]
    assert "Unexpected client data origin" in last_refusal(caplog)
    r = await add_passkey(erika, key, "Laptop", challenge="bm90LXRoZS1jaGFsbGVuZ2U")
    assert r.status_code == 400
    assert "challenge was not expected" in last_refusal(caplog)
    assert (await add_passkey(erika, key, "   ")).status_code == 400
    assert (await erika.http.get(KONTO)).text.count("data-passkey=") == 0
    assert (await add_passkey(erika, key, "Laptop")).status_code == 201
    await erika.logout()

    # login: a wrong challenge, another origin, no user verification
    r = await passkey_login(erika, key, challenge="bm90LXRoZS1jaGFsbGVuZ2U")
    assert r.status_code == 400 and r.json()["fehler"] == MSG_LOGIN_FAILED
    assert "challenge was not expected" in last_refusal(caplog)
    r = await passkey_login(erika, key, origin="http://localhost:1")
    assert r.status_code == 400 and r.json()["fehler"] == MSG_LOGIN_FAILED
    assert origin != "http://localhost:1" and "Unexpected client data origin" in last_refusal(caplog)
    r = await passkey_login(erika, key, verified=False)
    assert r.status_code == 400 and "User verification is required" in last_refusal(caplog)
    # a counter that does not move on (a cloned authenticator?) is refused
    assert (await passkey_login(erika, key, count=10)).status_code == 200
    await erika.logout()
    assert (await passkey_login(erika, key, count=10)).status_code == 400
    assert "sign count" in last_refusal(caplog)
    assert (await passkey_login(erika, key, count=11)).status_code == 200
    await erika.logout()

    # a replayed answer: the same session cookie and answer again; the challenge is gone
    # from the server even though the old cookie still names it
    options = await login_options(erika)
    before = dict(erika.http.cookies)
    credential = key.get(options)
    token = await erika.token(LOGIN)
    body = {"credential": credential, "next": ""}
    headers = {"x-csrftoken": token, "accept": "application/json"}
    assert (await erika.http.post(f"{KONTO}/anmelden/passkey", json=body, headers=headers)).status_code == 200
    await erika.logout()
    replay = httpx.AsyncClient(base_url=world.base_url, cookies=before)
    world.clients.append(replay)
    r = await replay.post(f"{KONTO}/anmelden/passkey", json=body, headers=headers)
    assert r.status_code == 400 and r.json()["fehler"] == MSG_EXPIRED, r.text
    assert "unknown or used challenge" in last_refusal(caplog)
    assert (await replay.get(KONTO)).status_code == 303  # not logged in

    # an expired challenge
    options = await login_options(erika)
    world.clock.advance(minutes=6)
    credential = key.get(options)
    r = await post_json(erika, f"{KONTO}/anmelden/passkey", {"credential": credential}, LOGIN)
    assert r.status_code == 400 and r.json()["fehler"] == MSG_EXPIRED
    assert "challenge expired" in last_refusal(caplog)
    # an answer without asking first (no ceremony in this session)
    fresh = await world.citizen()
    r = await post_json(fresh, f"{KONTO}/anmelden/passkey", {"credential": credential}, LOGIN)
    assert r.status_code == 400 and r.json()["fehler"] == MSG_EXPIRED
    # nonsense instead of a credential
    await login_options(fresh)
    r = await post_json(fresh, f"{KONTO}/anmelden/passkey", {"credential": "kein JSON"}, LOGIN)
    assert r.status_code == 400


async def test_nobody_removes_another_accounts_passkey(world: Any) -> None:
    erika, max_ = await world.citizen(), await world.citizen()
    await erika.register()
    await max_.register(given_name="Max")
    key = new_key(world)
    assert (await add_passkey(erika, key, "Laptop")).status_code == 201
    assert (await max_.http.get(f"{KONTO}/passkeys/{key.id}/entfernen")).status_code == 404
    token = await max_.token(KONTO)
    r = await max_.http.post(f"{KONTO}/passkeys/{key.id}/entfernen", data={"_csrf_token": token})
    assert r.status_code == 404
    assert 'data-passkey="Laptop"' in (await erika.http.get(KONTO)).text
    # registering needs a login
    anonymous = await world.citizen()
    r = await post_json(anonymous, f"{KONTO}/passkeys/optionen", {}, LOGIN)
    assert r.status_code == 401
