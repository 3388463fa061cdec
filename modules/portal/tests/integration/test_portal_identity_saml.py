"""SAML 2.0 logins against the real test identity provider (pysaml2's IdP, xmlsec1
signatures): a good login at level "substantiell" with the persistent pseudonym, and the
refusals of an unsigned response, a response for another audience and a replayed one —
each refused with a German page and a log line without personal data."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import sqlalchemy as sa

from modules.portal.tests.integration.identity_helpers import at_saml_provider, saml_login, tamper
from rathaus.platform.runtime.idprovider import TestIdentityProvider
from rathaus.portal import PREFIX
from rathaus.portal.store import identity_links

LEVEL = '<dt class="kern-description-list-item__key">Vertrauensniveau</dt><dd class="kern-description-list-item__value">{}</dd>'
PERSONAL = ("Erika", "Mustermann", "1964-08-12", "Heidestraße", "erika.mustermann")


async def test_sp_metadata_and_a_saml_login_at_substantiell(id_world: Any) -> None:
    citizen = await id_world.citizen()
    metadata = await citizen.http.get(f"{PREFIX}/saml/metadata")
    assert metadata.status_code == 200 and "AssertionConsumerService" in metadata.text
    assert f"{id_world.base_url}/konto/anmelden/test-saml/acs" in metadata.text
    r = await saml_login(citizen, "erika", "elster")
    assert r.status_code == 303 and r.headers["location"] == f"{PREFIX}/konto/erstanmeldung"
    page = await citizen.http.get(f"{PREFIX}/konto/erstanmeldung")
    for shown in ("Erika Mustermann", "12.08.1964", "Heidestraße 17, 51147 Köln", "substantiell"):
        assert shown in page.text, shown
    r = await citizen.post(
        f"{PREFIX}/konto/erstanmeldung", {"aktion": "anlegen", "email": "erika.saml@example.org"}
    )
    assert r.status_code == 303
    assert LEVEL.format("substantiell") in (await citizen.http.get(f"{PREFIX}/konto")).text
    # again, at "hoch": the same persistent pseudonym finds the account
    await citizen.logout()
    r = await saml_login(citizen, "erika", "ausweis")
    assert r.status_code == 303 and r.headers["location"] == "/konto"
    assert LEVEL.format("hoch") in (await citizen.http.get(f"{PREFIX}/konto")).text
    async with id_world.portal.db.session() as s:
        links = (await s.execute(sa.select(identity_links))).mappings().all()
    assert [(link["provider_id"], len(link["subject"]) > 20) for link in links] == [("test-saml", True)]


@pytest.mark.parametrize("how", ["unsigned", "audience"])
async def test_an_unsigned_or_misaddressed_response_is_refused_and_logged(
    id_world: Any, idp: TestIdentityProvider, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = await id_world.citizen()
    await tamper(idp, how)
    acs, form = await at_saml_provider(citizen)
    with caplog.at_level(logging.INFO, logger="rathaus.portal.identity"):
        r = await citizen.http.post(acs, data=form)
    assert r.status_code == 400 and "Anmeldung nicht möglich" in r.text
    refusals = [rec.getMessage() for rec in caplog.records if "refused" in rec.getMessage()]
    assert len(refusals) == 1, caplog.text
    assert ("signed" if how == "unsigned" else "audience") in refusals[0].lower(), refusals[0]
    assert not any(p.lower() in caplog.text.lower() for p in PERSONAL)
    assert (await citizen.http.get(f"{PREFIX}/konto")).status_code == 303  # not logged in


async def test_a_replayed_response_is_refused(id_world: Any, caplog: pytest.LogCaptureFixture) -> None:
    citizen = await id_world.citizen()
    acs, form = await at_saml_provider(citizen)
    assert (await citizen.http.post(acs, data=form)).status_code == 303
    with caplog.at_level(logging.INFO, logger="rathaus.portal.identity"):
        again = await citizen.http.post(acs, data=form)
    assert again.status_code == 400 and "schon verwendet" in again.text
    assert any("refused" in rec.getMessage() for rec in caplog.records)
    # a response posted by another browser is verified but not theirs to use
    thief = await id_world.citizen()
    acs, form = await at_saml_provider(citizen)
    assert (await thief.http.post(acs, data=form)).status_code == 303
    stolen = await thief.http.get(f"{PREFIX}/konto/anmelden/test-saml/weiter")
    assert stolen.status_code == 400
    assert not any(p.lower() in caplog.text.lower() for p in PERSONAL)


async def test_an_organisation_identity_maps_to_its_organisation_account(id_world: Any) -> None:
    from rathaus.portal.store import memberships, organisation_audit, organisation_identities, organisations

    anna = await id_world.citizen()
    r = await saml_login(anna, "musterbau", "elster")
    assert r.headers["location"] == f"{PREFIX}/konto/erstanmeldung"
    page = await anna.http.get(f"{PREFIX}/konto/erstanmeldung")
    assert "Unternehmenskonto „Musterbau GmbH“" in page.text
    r = await anna.post(
        f"{PREFIX}/konto/erstanmeldung", {"aktion": "anlegen", "email": "anna@musterbau.example"}
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"{PREFIX}/konto/unternehmen/")
    organisation_id = r.headers["location"].rsplit("/", 1)[1]
    seite = await anna.http.get(r.headers["location"])
    assert seite.status_code == 200 and "Musterbau GmbH" in seite.text
    async with id_world.portal.db.session() as s:
        org = (await s.execute(sa.select(organisations))).mappings().one()
        assert (org["organisation_id"], org["register_number"], org["city"]) == (
            organisation_id,
            "HRB 123456",
            "München",
        )
        assert (await s.execute(sa.select(memberships.c.role))).scalar_one() == "admin"
        assert (
            await s.execute(sa.select(organisation_identities.c.organisation_id))
        ).scalar_one() == organisation_id
        actions = (await s.execute(sa.select(organisation_audit.c.action))).scalars().all()
    assert set(actions) == {"angelegt", "identitaet_verknuepft"}
    # the next login as the organisation finds the same organisation account: nothing new
    await anna.logout()
    r = await saml_login(anna, "musterbau", "ausweis")
    assert r.headers["location"] == f"{PREFIX}/konto/unternehmen/{organisation_id}"
    async with id_world.portal.db.session() as s:
        assert (await s.execute(sa.select(sa.func.count()).select_from(organisations))).scalar_one() == 1
    # a person's login (no organisation identity) is no member of anything
    erika = await id_world.citizen()
    await saml_login(erika, "erika", "elster")
    r = await erika.post(
        f"{PREFIX}/konto/erstanmeldung", {"aktion": "anlegen", "email": "erika.org@example.org"}
    )
    assert r.headers["location"] == f"{PREFIX}/konto?neu=1"
    assert (await erika.http.get(f"{PREFIX}/konto/unternehmen/{organisation_id}")).status_code in (403, 404)


async def test_an_organisation_identity_finds_the_organisation_account_its_admin_made(id_world: Any) -> None:
    from modules.portal.tests.integration.test_portal_organisations_http import MUSTERBAU, create
    from rathaus.portal.store import organisations

    anna = await id_world.citizen()
    assert (
        await anna.register(given_name="Anna", family_name="Bauer", birth_date="1978-06-15")
    ).status_code == 303
    made = await create(anna, {**MUSTERBAU, "register_number": "HRB 123456"})
    r = await saml_login(anna, "musterbau", "elster")
    assert r.headers["location"] == f"{PREFIX}/konto/erstanmeldung"
    r = await anna.post(f"{PREFIX}/konto/erstanmeldung", {"aktion": "verknuepfen"})
    assert r.status_code == 303 and r.headers["location"] == f"{PREFIX}/konto/unternehmen/{made}"
    async with id_world.portal.db.session() as s:
        assert (await s.execute(sa.select(sa.func.count()).select_from(organisations))).scalar_one() == 1


async def test_the_authn_request_is_signed_and_the_provider_refuses_it_unsigned(id_world: Any) -> None:
    import httpx

    citizen = await id_world.citizen()
    r = await citizen.http.get(f"{PREFIX}/konto/anmelden/test-saml")
    location = r.headers["location"]
    assert "SigAlg=" in location and "Signature=" in location
    unsigned = re.sub(r"&Signature=[^&]+", "", location)
    forged = re.sub(r"&Signature=[^&]+", "&Signature=AAAA", location)
    async with httpx.AsyncClient() as at_idp:
        for url in (unsigned, forged):
            page = await at_idp.get(url)
            assert page.status_code == 400 and "nicht gültig signiert" in page.text
        assert (await at_idp.get(location)).status_code == 200


async def test_a_saml_step_up_asks_for_the_level(id_world: Any) -> None:
    import httpx

    citizen = await id_world.citizen()
    r = await citizen.http.get(f"{PREFIX}/konto/anmelden/test-saml?niveau=hoch&next=/antraege")
    async with httpx.AsyncClient() as at_idp:
        page = await at_idp.get(r.headers["location"])
    assert page.status_code == 200
    assert "Online-Ausweis" in page.text and "ELSTER-Zertifikat" not in page.text
    acs, form = await at_saml_provider(
        citizen, f"{PREFIX}/konto/anmelden/test-saml?niveau=hoch", method="ausweis"
    )
    r = await citizen.http.post(acs, data=form)
    assert r.status_code == 303
