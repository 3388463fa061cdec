"""Sessions per assurance level over HTTP, on the portal's clock that the test moves on:
the idle and the absolute timeout end a session (the login page says why), asking how long
is left is no activity, "Sitzung verlängern" is, htmx's polling is not, and a saved draft
survives an expired session."""

from __future__ import annotations

from typing import Any

from rathaus.portal import PREFIX, commands

KONTO = f"{PREFIX}/konto"
LOGIN = f"{PREFIX}/konto/anmelden"
STATUS = f"{PREFIX}/konto/sitzung"
EXTEND = f"{PREFIX}/konto/sitzung/verlaengern"
FORM = f"{PREFIX}/leistungen/bewohnerparkausweis/antrag"
IDLE_NOTICE = "wegen Inaktivität abgemeldet"
ABSOLUTE_NOTICE = "längste erlaubte Dauer erreicht"


async def status(citizen: Any) -> dict[str, Any]:
    response = await citizen.http.get(STATUS, headers={"accept": "application/json"})
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


async def extend(citizen: Any, token: str = "") -> dict[str, Any]:
    token = token or await citizen.token(KONTO)
    response = await citizen.http.post(
        EXTEND, data={"_csrf_token": token}, headers={"accept": "application/json"}
    )
    found: dict[str, Any] = response.json()
    return found


async def test_idle_timeout_at_basis_and_the_notice(world: Any) -> None:
    erika = await world.citizen()
    await erika.register()
    for _ in range(3):  # activity within the hour keeps the session, again and again
        world.clock.advance(minutes=59)
        assert (await erika.http.get(KONTO)).status_code == 200
    world.clock.advance(minutes=60, seconds=1)
    r = await erika.http.get(KONTO)
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN)
    page = (await erika.http.get(r.headers["location"])).text
    assert IDLE_NOTICE in page and "Antragsentwürfe bleiben erhalten" in page
    assert "Sie sind angemeldet" not in page and "Abmelden" not in page
    assert IDLE_NOTICE not in (await erika.http.get(LOGIN)).text  # said once
    assert (await status(erika)) == {"angemeldet": False}


async def test_logout_is_on_every_page_error_pages_included(world: Any) -> None:
    erika = await world.citizen()
    await erika.register()
    for path in (
        "/",
        KONTO,
        f"{PREFIX}/antraege",
        f"{PREFIX}/postkorb",
        "/gibt-es-nicht",
        f"{KONTO}/passkeys/x/entfernen",
    ):
        page = await erika.http.get(path)
        assert page.status_code in (200, 404), path
        assert f'action="{PREFIX}/konto/abmelden"' in page.text, path
    await erika.logout()
    assert f'action="{PREFIX}/konto/abmelden"' not in (await erika.http.get("/gibt-es-nicht")).text


async def test_asking_is_no_activity_extending_is(world: Any) -> None:
    erika = await world.citizen()
    await erika.register()
    first = await status(erika)
    assert first["angemeldet"] and first["level"] == "basis" and first["extendable"]
    assert 3590 <= first["idle_left"] <= 3600 and first["warn_before"] == 120
    world.clock.advance(minutes=30)
    assert 1790 <= (await status(erika))["idle_left"] <= 1800
    assert 1780 <= (await status(erika))["idle_left"] <= 1800  # still not moved by asking
    # htmx's polling of a list is no activity either
    polled = await erika.http.get(f"{PREFIX}/antraege/liste", headers={"hx-request": "true"})
    assert polled.status_code == 200
    assert (await status(erika))["idle_left"] <= 1800
    extended = await extend(erika)
    assert extended["angemeldet"] and 3590 <= extended["idle_left"] <= 3600
    assert extended["absolute_left"] <= 12 * 3600 - 30 * 60  # the absolute end did not move
    # without JavaScript the form goes back to where it came from
    token = await erika.token(KONTO)
    r = await erika.http.post(EXTEND, data={"_csrf_token": token, "next": "/antraege"})
    assert r.status_code == 303 and r.headers["location"] == "/antraege"
    # and without a CSRF token it is refused
    assert (await erika.http.post(EXTEND, headers={"accept": "application/json"})).status_code == 403


async def test_absolute_timeout_at_hoch_cannot_be_extended(world: Any) -> None:
    erika = await world.citizen()
    await erika.register()
    await commands.verify_identity(world.portal, email=erika.email, assurance_level="hoch")
    await erika.logout()
    await erika.login()
    state = await status(erika)
    assert state["level"] == "hoch" and state["idle_left"] <= 300 and state["absolute_left"] <= 1800
    for _ in range(6):  # active every four minutes: 24 minutes
        world.clock.advance(minutes=4)
        assert (await erika.http.get(KONTO)).status_code == 200
    world.clock.advance(minutes=3)
    state = await extend(erika)  # 27 minutes: the absolute end (30) comes before the idle one
    assert state["angemeldet"] and not state["extendable"] and state["absolute_left"] <= 180
    assert "lässt sich nicht verlängern" in (await erika.http.get(KONTO)).text
    token = await erika.token(KONTO)  # the warning's form, on the page she has open
    world.clock.advance(minutes=3)
    assert (await extend(erika, token)) == {"angemeldet": False}
    page = (await erika.http.get(LOGIN)).text
    assert ABSOLUTE_NOTICE in page


async def test_a_saved_draft_survives_an_expired_session(world: Any) -> None:
    erika = await world.citizen()
    await erika.register()
    await commands.verify_identity(world.portal, email=erika.email)  # substantiell: 30 min idle
    await erika.logout()
    await erika.login()
    assert (await status(erika))["level"] == "substantiell"
    r = await erika.post(
        f"{FORM}/person",
        {
            "given_name": "Erika",
            "family_name": "Mustermann",
            "birth_date": "1964-08-12",
            "street": "Zenettistraße",
            "house_number": "12",
            "postal_code": "80337",
            "aktion": "weiter",
        },
        page=f"{FORM}/person",
    )
    assert r.status_code == 303, r.text
    world.clock.advance(minutes=31)
    r = await erika.http.get(f"{FORM}/person")
    assert r.status_code == 303 and r.headers["location"] == f"{LOGIN}?next={FORM}/person"
    assert IDLE_NOTICE in (await erika.http.get(r.headers["location"])).text
    r = await erika.login(next=f"{FORM}/person")
    assert r.status_code == 303 and r.headers["location"] == f"{FORM}/person"
    page = (await erika.http.get(f"{FORM}/person")).text
    assert 'value="Zenettistraße"' in page and 'value="80337"' in page
