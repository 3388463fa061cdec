"""Passkeys on the account page (register, remove) and on the login page (log in).

The ceremonies are JSON between the page's script and these routes (CSRF token in the
header); the challenge's id rides in the session, the challenge itself stays in the
database. Removing a passkey is a plain form with a confirmation page.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from rathaus.portal import PREFIX
from rathaus.portal.domain import safe_next
from rathaus.portal.domain.sessions import AMR_PASSKEY
from rathaus.portal.handlers.passkeys import PasskeyRefused
from rathaus.portal.web.common import PRIVATE, Pages
from rathaus.portal.web.sitzung import begin_login

CEREMONY = "passkey_challenge"  # the session key of the running ceremony's challenge id
KONTO = f"{PREFIX}/konto"
MSG_BAD_REQUEST = (
    "Die Anfrage ist unvollständig. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
)


def json_response(body: dict[str, Any], status: int = 200) -> Response[dict[str, Any]]:
    return Response(body, status_code=status, headers=PRIVATE)


async def body_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
    try:
        data = await request.json()
    except Exception:
        raise PasskeyRefused(MSG_BAD_REQUEST) from None
    if not isinstance(data, dict):
        raise PasskeyRefused(MSG_BAD_REQUEST)
    return data


def take_ceremony(request: Request[Any, Any, Any]) -> Any:
    session = dict(request.session or {})
    challenge_id = session.pop(CEREMONY, None)
    request.set_session(session)
    return challenge_id


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    @post(f"{KONTO}/passkeys/optionen", include_in_schema=False)
    async def registration_options(request: Request[Any, Any, Any]) -> Response[bytes]:
        account = await pages.api_citizen(request)
        challenge_id, options = await portal.start_registration(account)
        request.set_session({**(request.session or {}), CEREMONY: challenge_id})
        return Response(options.encode(), media_type="application/json", headers=PRIVATE)

    @post(f"{KONTO}/passkeys", include_in_schema=False)
    async def register(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        account = await pages.api_citizen(request)
        challenge_id = take_ceremony(request)
        try:
            data = await body_of(request)
            key = await portal.finish_registration(
                account, challenge_id, data.get("credential"), str(data.get("name", ""))
            )
        except PasskeyRefused as refused:
            return json_response({"ok": False, "fehler": str(refused)}, 400)
        return json_response({"ok": True, "name": key.name}, 201)

    @get(f"{KONTO}/passkeys/{{credential_id:str}}/entfernen", include_in_schema=False)
    async def confirm_removal(request: Request[Any, Any, Any], credential_id: FromPath[str]) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        keys = {k.credential_id: k for k in await portal.passkeys_of(visitor.account.account_id)}
        if credential_id not in keys:
            raise NotFoundException("Diesen Passkey gibt es in Ihrem Konto nicht.")
        return pages.render("passkey_entfernen.html", visitor, nav="konto", key=keys[credential_id])

    @post(f"{KONTO}/passkeys/{{credential_id:str}}/entfernen", include_in_schema=False)
    async def remove(request: Request[Any, Any, Any], credential_id: FromPath[str]) -> Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        if not await portal.remove_passkey(visitor.account.account_id, credential_id):
            raise NotFoundException("Diesen Passkey gibt es in Ihrem Konto nicht.")
        return Redirect(f"{KONTO}?passkey=entfernt#passkeys", status_code=303)

    @post(f"{KONTO}/anmelden/passkey/optionen", include_in_schema=False)
    async def login_options(request: Request[Any, Any, Any]) -> Response[bytes]:
        challenge_id, options = await portal.start_passkey_login()
        request.set_session({**(request.session or {}), CEREMONY: challenge_id})
        return Response(options.encode(), media_type="application/json", headers=PRIVATE)

    @post(f"{KONTO}/anmelden/passkey", include_in_schema=False)
    async def login(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        challenge_id = take_ceremony(request)
        try:
            data = await body_of(request)
            account = await portal.finish_passkey_login(challenge_id, data.get("credential"))
        except PasskeyRefused as refused:
            return json_response({"ok": False, "fehler": str(refused)}, 400)
        # the level stays the account's: a passkey proves the same person is back, not who it is
        begin_login(request, pages, account.account_id, account.assurance_level, AMR_PASSKEY)
        return json_response({"ok": True, "ziel": safe_next(str(data.get("next") or ""))})

    return [registration_options, register, confirm_removal, remove, login_options, login]
