"""Logins through an identity provider over HTTP, against the real test identity provider
(OpenID Connect, not a mock): a good login at level "substantiell" with the attribute
preview, linking a local account without silent overwrite, and the refusals of a tampered
answer (wrong signature, wrong audience, expired, wrong issuer, replayed ID token, replayed
redirect, forged state) — each refused with a German page and a log line without personal
data."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from modules.portal.tests.integration.identity_helpers import (
    FORM,
    FORM_TOKEN,
    START,
    at_provider,
    login_via_provider,
    tamper,
)
from rathaus.platform.runtime.idprovider import TestIdentityProvider
from rathaus.portal import PREFIX
from rathaus.portal.store import accounts, identity_links, identity_requests

LEVEL = '<dt class="kern-description-list-item__key">Vertrauensniveau</dt><dd class="kern-description-list-item__value">{}</dd>'
PERSONAL = ("Erika", "Mustermann", "1964-08-12", "Heidestraße", "erika.mustermann")


async def create_account(citizen: Any, email: str) -> Any:
    page = await citizen.http.get(f"{PREFIX}/konto/erstanmeldung")
    assert page.status_code == 200
    return await citizen.post(f"{PREFIX}/konto/erstanmeldung", {"aktion": "anlegen", "email": email})


async def test_first_login_shows_attributes_creates_account_at_this_logins_level(id_world: Any) -> None:
    citizen = await id_world.citizen()
    r = await login_via_provider(citizen, "erika", "elster", next="/konto")
    assert r.status_code == 303 and r.headers["location"] == f"{PREFIX}/konto/erstanmeldung"
    page = await citizen.http.get(f"{PREFIX}/konto/erstanmeldung")
    assert page.status_code == 200
    for shown in ("Erika Mustermann", "12.08.1964", "Heidestraße 17, 51147 Köln", "substantiell"):
        assert shown in page.text, shown
    async with id_world.portal.db.session() as s:  # nothing used before the citizen decided
        assert (await s.execute(sa.select(sa.func.count()).select_from(accounts))).scalar_one() == 0
    r = await citizen.post(
        f"{PREFIX}/konto/erstanmeldung", {"aktion": "anlegen", "email": "erika@example.org"}
    )
    assert r.status_code == 303, r.text
    konto = await citizen.http.get(f"{PREFIX}/konto")
    assert "Erika Mustermann" in konto.text and LEVEL.format("substantiell") in konto.text
    # the next login with the same person finds the account (a stable subject) at its own level
    await citizen.logout()
    r = await login_via_provider(citizen, "erika", "benutzername", next="/konto")
    assert r.status_code == 303 and r.headers["location"] == "/konto"
    konto = await citizen.http.get(f"{PREFIX}/konto")
    assert "Erika Mustermann" in konto.text and LEVEL.format("niedrig") in konto.text
    async with id_world.portal.db.session() as s:
        links = (await s.execute(sa.select(identity_links))).mappings().all()
        stored = (await s.execute(sa.select(accounts.c.assurance_level, accounts.c.password_hash))).one()
    assert len(links) == 1 and links[0]["provider_id"] == "test-oidc"
    assert stored.assurance_level == "niedrig"  # the account's stored level is not the login's
    # an account from a provider has no password: no password logs in to it
    citizen.email = "erika@example.org"
    assert (await citizen.login(password=stored.password_hash)).status_code == 400


async def test_linking_a_local_account_shows_differences_and_overwrites_only_what_is_chosen(
    id_world: Any,
) -> None:
    citizen = await id_world.citizen()
    assert (await citizen.register(given_name="Erika", family_name="Musterfrau")).status_code == 303
    r = await login_via_provider(citizen, "erika", "ausweis")
    assert r.headers["location"] == f"{PREFIX}/konto/erstanmeldung"
    page = await citizen.http.get(f"{PREFIX}/konto/erstanmeldung")
    assert "Musterfrau" in page.text and "Mustermann" in page.text and "Konto verknüpfen" in page.text
    r = await citizen.post(f"{PREFIX}/konto/erstanmeldung", {"aktion": "verknuepfen"})
    assert r.status_code == 400 and "Familienname" in r.text  # no choice, no change
    async with id_world.portal.db.session() as s:
        assert (await s.execute(sa.select(accounts.c.family_name))).scalar_one() == "Musterfrau"
    r = await citizen.post(
        f"{PREFIX}/konto/erstanmeldung", {"aktion": "verknuepfen", "wahl-family_name": "konto"}
    )
    assert r.status_code == 303, r.text
    async with id_world.portal.db.session() as s:
        assert (await s.execute(sa.select(accounts.c.family_name))).scalar_one() == "Musterfrau"
        assert (await s.execute(sa.select(sa.func.count()).select_from(identity_links))).scalar_one() == 1
    assert LEVEL.format("hoch") in (await citizen.http.get(f"{PREFIX}/konto")).text


@pytest.mark.parametrize("how", ["signature", "audience", "expired", "issuer"])
async def test_a_tampered_id_token_is_refused_and_logged(
    id_world: Any, idp: TestIdentityProvider, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = await id_world.citizen()
    callback, _ = await at_provider(citizen, START)
    await tamper(idp, how)
    with caplog.at_level(logging.INFO, logger="rathaus.portal.identity"):
        r = await citizen.http.get(callback)
    assert r.status_code == 400
    assert "Anmeldung nicht möglich" in r.text and "konnte nicht bestätigt werden" in r.text
    refusals = [rec.getMessage() for rec in caplog.records if "refused" in rec.getMessage()]
    assert len(refusals) == 1, caplog.text
    expected = {"signature": "signature", "audience": "aud", "expired": "exp", "issuer": "iss"}[how]
    assert expected in refusals[0].lower(), refusals[0]
    assert not any(p.lower() in caplog.text.lower() for p in PERSONAL)
    assert "erstanmeldung" not in r.headers.get("location", "")
    assert (await citizen.http.get(f"{PREFIX}/konto")).status_code == 303  # not logged in


async def test_a_replayed_id_token_and_a_replayed_redirect_are_refused(
    id_world: Any, idp: TestIdentityProvider, caplog: pytest.LogCaptureFixture
) -> None:
    first = await id_world.citizen()
    callback, _ = await at_provider(first, START)
    assert (await first.http.get(callback)).status_code == 303
    # the same redirect again (code and state once more): the request was used
    with caplog.at_level(logging.INFO, logger="rathaus.portal.identity"):
        again = await first.http.get(callback)
    assert again.status_code == 400 and "abgelaufen oder wurde schon verwendet" in again.text
    # a new login answered with the ID token of the first (its nonce): refused
    other = await id_world.citizen()
    callback, _ = await at_provider(other, START)
    await tamper(idp, "replay")
    with caplog.at_level(logging.INFO, logger="rathaus.portal.identity"):
        r = await other.http.get(callback)
    assert r.status_code == 400
    assert any("nonce" in rec.getMessage() for rec in caplog.records), caplog.text
    assert not any(p.lower() in caplog.text.lower() for p in PERSONAL)


async def test_an_answer_for_another_browser_or_a_forged_state_is_refused(id_world: Any) -> None:
    victim, attacker = await id_world.citizen(), await id_world.citizen()
    callback, _ = await at_provider(attacker, START)
    # the attacker's answer opened in the victim's browser (login CSRF): the state is not theirs
    r = await victim.http.get(callback)
    assert r.status_code == 400
    # a made-up state in the right browser
    await victim.http.get(START)
    r = await victim.http.get(f"{PREFIX}/konto/anmelden/test-oidc/rueckkehr?code=x&state=erfunden")
    assert r.status_code == 400
    async with id_world.portal.db.session() as s:  # the attacker's request is still open: unused
        assert (await s.execute(sa.select(sa.func.count()).select_from(identity_requests))).scalar_one() == 2


async def test_cancelled_at_the_provider_and_unknown_provider(id_world: Any) -> None:
    citizen = await id_world.citizen()
    r = await citizen.http.get(f"{PREFIX}/konto/anmelden/gibt-es-nicht")
    assert r.status_code == 502 and "gibt es hier nicht" in r.text
    r = await citizen.http.get(START)
    async with httpx.AsyncClient() as at_idp:
        page = await at_idp.get(r.headers["location"])
        action, token = FORM.search(page.text), FORM_TOKEN.search(page.text)
        assert action and token
        base = r.headers["location"].split("/authorize")[0]
        back = await at_idp.post(
            base + action.group(1), data={"token": token.group(1), "aktion": "abbrechen"}
        )
    r = await citizen.http.get(back.headers["location"].split(id_world.base_url, 1)[-1])
    assert r.status_code == 400 and "abgebrochen" in r.text


async def test_login_page_offers_the_provider_and_the_level_is_asked_for(
    id_world: Any,
) -> None:
    citizen = await id_world.citizen()
    page = await citizen.http.get(f"{PREFIX}/konto/anmelden?next=/antraege")
    assert "Mit Test-Identitätsanbieter (OpenID Connect) anmelden" in page.text
    assert 'href="/konto/anmelden/test-oidc?next=/antraege"' in page.text
    r = await citizen.http.get(f"{START}?niveau=substantiell")
    assert "acr_values=STORK-QAA-Level-3" in r.headers["location"]
    assert "code_challenge_method=S256" in r.headers["location"]
    async with httpx.AsyncClient() as at_idp:
        page = await at_idp.get(r.headers["location"])
    assert "Benutzername/Passwort" not in page.text and "ELSTER-Zertifikat" in page.text


async def test_step_up_to_substantiell_returns_to_the_draft_and_resuming_checks_again(id_world: Any) -> None:
    citizen = await id_world.citizen()
    service = f"{PREFIX}/leistungen/meldebescheinigung/antrag"
    assert (await login_via_provider(citizen, "max", "benutzername")).status_code == 303
    assert (await create_account(citizen, "max@example.org")).status_code == 303
    page = await citizen.http.get(service)
    assert page.status_code == 403 and "Ihre Anmeldung hat das Vertrauensniveau „basis“" in page.text
    link = re.search(r'href="(/konto/anmelden/test-oidc\?niveau=substantiell&amp;next=[^"]+)"', page.text)
    assert link, page.text
    callback, at_idp = await at_provider(citizen, link.group(1).replace("&amp;", "&"), "max", "elster")
    assert "Benutzername/Passwort" not in at_idp.text  # the provider offers only what is enough
    r = await citizen.http.get(callback)
    assert r.status_code == 303 and r.headers["location"] == service  # back to the application
    first = await citizen.http.get(service)
    assert first.status_code in (302, 303) and first.headers["location"].startswith(service + "/")
    step = first.headers["location"]
    assert (await citizen.http.get(step)).status_code == 200  # the draft is open
    # the draft is kept; resumed after a login at "basis" the level is checked again
    await citizen.logout()
    assert (await login_via_provider(citizen, "max", "benutzername")).status_code == 303
    resumed = await citizen.http.get(step)
    assert resumed.status_code in (302, 303) and resumed.headers["location"] == service
    assert (await citizen.http.get(service)).status_code == 403
    # the logins' levels never raised the account's stored level
    async with id_world.portal.db.session() as s:
        assert (await s.execute(sa.select(accounts.c.assurance_level))).scalar_one() == "niedrig"


async def test_register_data_is_released_only_at_the_level_of_this_login(id_world_broker: Any) -> None:
    world = id_world_broker
    form = f"{PREFIX}/leistungen/bewohnerparkausweis/antrag"
    citizen = await world.citizen()
    assert (await login_via_provider(citizen, "erika", "benutzername")).status_code == 303
    assert (await create_account(citizen, "erika.register@example.org")).status_code == 303
    first = await citizen.http.get(form)
    step = first.headers["location"]
    r = await citizen.post(f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten", {}, page=step)
    preview = (await citizen.http.get(r.headers["location"])).text
    assert "Zenettistraße" not in preview and "substantiell" in preview  # refused at "basis"
    # the same account logged in with ELSTER: the broker releases the data
    await citizen.logout()
    assert (await login_via_provider(citizen, "erika", "elster")).status_code == 303
    r = await citizen.post(f"{PREFIX}/leistungen/bewohnerparkausweis/registerdaten", {}, page=step)
    assert r.status_code == 303
    preview = (await citizen.http.get(r.headers["location"])).text
    assert "Zenettistraße" in preview and "80337" in preview
