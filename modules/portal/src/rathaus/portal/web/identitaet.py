"""Logging in through an external identity provider (BundID, BayernID, the test identity
provider): the start, the provider's answer, and the first login, where the citizen sees
what the provider sent and creates an account from it or links their own account."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rathaus.portal import PREFIX
from rathaus.portal.domain import safe_next
from rathaus.portal.domain.identity import FIELD_LABELS, LEVEL_LABELS, differences
from rathaus.portal.domain.sessions import Login
from rathaus.portal.handlers import Arrival, Arrived, IdentityRefused
from rathaus.portal.handlers.identity import MSG_EXPIRED, OrganisationRefused
from rathaus.portal.web.common import Pages, Visitor

log = logging.getLogger("rathaus.portal.identity")

FIRST_LOGIN = f"{PREFIX}/konto/erstanmeldung"
ARRIVAL_KEY = "identity_arrival"
STATE_KEY = "identity_state"
LOGIN_KEYS = ("account_id", "level", "method", "provider")  # what a session of a login holds


def callback_path(provider_id: str) -> str:
    return f"{PREFIX}/konto/anmelden/{provider_id}/rueckkehr"


def base_of(pages: Pages, request: Request[Any, Any, Any]) -> str:
    """The portal's URL as the browser and the providers see it."""
    public = pages.portal.kernel.settings.web.public_url
    return (public or str(request.base_url)).rstrip("/") + PREFIX


def redirect_uri(pages: Pages, request: Request[Any, Any, Any], provider_id: str) -> str:
    """The URL the provider sends the browser back to (registered there)."""
    return base_of(pages, request).removesuffix(PREFIX) + callback_path(provider_id)


def login_session(arrived: Arrived, account_id: str, now: datetime) -> dict[str, Any]:
    """A fresh session for this login (a new one: never the session from before the login),
    with the level of THIS login, how it was made, and its times (the timeouts of its level
    count from now)."""
    amr = (arrived.method or arrived.provider_id,)
    return {
        **Login(account_id, arrived.level, amr, now, now).cookie(),
        "method": arrived.method,
        "provider": arrived.provider_id,
    }


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    def refused(visitor: Visitor, message: str, provider_id: str = "", status: int = 400) -> Template:
        return pages.render(
            "identitaet_fehler.html",
            visitor,
            status_code=status,
            nav="anmelden",
            message=message,
            provider_id=provider_id,
        )

    @get(f"{PREFIX}/konto/anmelden/{{provider_id:str}}", include_in_schema=False)
    async def start(
        request: Request[Any, Any, Any],
        provider_id: FromPath[str],
        next: FromQuery[str] = "",
        niveau: FromQuery[str] = "",
    ) -> Template | Redirect:
        session = dict(request.session or {})
        target, level = safe_next(next, f"{PREFIX}/konto"), niveau if niveau in LEVEL_LABELS else None
        try:
            if any(p.id == provider_id and p.kind == "saml" for p in portal.providers()):
                started = await portal.start_saml_login(provider_id, base_of(pages, request), target, level)
            else:
                started = await portal.start_login(
                    provider_id, redirect_uri(pages, request, provider_id), target, level
                )
        except IdentityRefused as refusal:
            log.warning("identity login not started (%s): %s", provider_id[:32], refusal.reason)
            return refused(await pages.visitor(request), refusal.message, status=502)
        request.set_session({**session, STATE_KEY: started.state})
        return Redirect(started.url, status_code=303)

    @get(f"{PREFIX}/konto/anmelden/{{provider_id:str}}/rueckkehr", include_in_schema=False)
    async def back(request: Request[Any, Any, Any], provider_id: FromPath[str]) -> Template | Redirect:
        session = dict(request.session or {})
        expected = session.pop(STATE_KEY, None)
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        try:
            arrived = await portal.finish_login(
                provider_id,
                params,
                redirect_uri(pages, request, provider_id),
                expected if isinstance(expected, str) else None,
            )
        except IdentityRefused as refusal:
            log.warning("identity login refused (%s): %s", provider_id[:32], refusal.reason)
            request.set_session(session)
            return refused(await pages.visitor(request), refusal.message, provider_id)
        return await arrived_in_session(request, session, arrived)

    async def logged_in(
        request: Request[Any, Any, Any], arrived: Arrived, account_id: str, plain: str
    ) -> Redirect | Template:
        """The session of this login; an organisation identity also opens its organisation
        account (the person a member of it). Then on to where the citizen wanted to go."""
        request.set_session(login_session(arrived, account_id, portal.clock()))
        target = safe_next(arrived.next, f"{PREFIX}/konto")
        try:
            organisation_id = await portal.organisation_login(
                account_id, arrived.provider_id, arrived.attributes.organisation
            )
        except OrganisationRefused as problem:
            log.warning("organisation identity of %s not usable", arrived.provider_id)
            return refused(await pages.visitor(request), str(problem), arrived.provider_id, 409)
        if target in (f"{PREFIX}/", f"{PREFIX}/konto"):
            target = f"{PREFIX}/konto/unternehmen/{organisation_id}" if organisation_id else plain
        return Redirect(target, status_code=303)

    async def arrived_in_session(
        request: Request[Any, Any, Any], session: dict[str, Any], arrived: Arrived, arrival_id: str = ""
    ) -> Redirect | Template:
        """A verified login in the browser that started it: logged in, or to the first login."""
        account_id = await portal.linked_account(arrived.provider_id, arrived.subject)
        if account_id is not None:
            if arrival_id:
                await portal.drop_arrival(arrival_id)
            return await logged_in(request, arrived, account_id, f"{PREFIX}/konto")
        arrival_id = arrival_id or await portal.hold_arrival(arrived)
        kept = {k: session[k] for k in LOGIN_KEYS if k in session}  # a local login stays for linking
        request.set_session({**kept, ARRIVAL_KEY: arrival_id})
        return Redirect(FIRST_LOGIN, status_code=303)

    @get(f"{PREFIX}/saml/metadata", include_in_schema=False)
    async def sp_metadata(request: Request[Any, Any, Any]) -> Response[str]:
        """The portal's SAML service provider metadata (its URL is the entity id)."""
        try:
            xml = portal.sp_metadata(base_of(pages, request))
        except IdentityRefused as refusal:
            return Response(refusal.message, status_code=503, media_type="text/plain")
        return Response(xml, media_type="application/samlmetadata+xml")

    @post(
        f"{PREFIX}/konto/anmelden/{{provider_id:str}}/acs",
        include_in_schema=False,
        exclude_from_csrf=True,  # a cross-site POST by the provider: the signed response is the proof
        status_code=303,
    )
    async def acs(request: Request[Any, Any, Any], provider_id: FromPath[str]) -> Template | Redirect:
        """The SAML assertion consumer service (HTTP-POST). The session cookie may be missing
        here (a cross-site POST): the verified login waits until the browser comes back."""
        form = await request.form()
        encoded = form.get("SAMLResponse")
        try:
            if not isinstance(encoded, str) or not encoded:
                raise IdentityRefused("no SAMLResponse")
            request_id, arrived = await portal.finish_saml_login(
                provider_id, base_of(pages, request), encoded
            )
        except IdentityRefused as refusal:
            log.warning("identity login refused (%s): %s", provider_id[:32], refusal.reason)
            return refused(await pages.visitor(request), refusal.message, provider_id)
        await portal.hold_arrival(arrived, request_id)
        return Redirect(f"{PREFIX}/konto/anmelden/{provider_id}/weiter", status_code=303)

    @get(f"{PREFIX}/konto/anmelden/{{provider_id:str}}/weiter", include_in_schema=False)
    async def saml_back(request: Request[Any, Any, Any], provider_id: FromPath[str]) -> Template | Redirect:
        """The browser back with its session: only the one that started this login gets it."""
        session = dict(request.session or {})
        expected = session.pop(STATE_KEY, None)
        arrival = await portal.arrival(expected) if isinstance(expected, str) else None
        if arrival is None or arrival.provider_id != provider_id:
            log.warning("identity login refused (%s): no verified answer for this session", provider_id[:32])
            request.set_session(session)
            return refused(await pages.visitor(request), MSG_EXPIRED, provider_id)
        return await arrived_in_session(request, session, arrival, arrival.arrival_id)

    async def waiting(request: Request[Any, Any, Any]) -> Arrival | None:
        arrival_id = (request.session or {}).get(ARRIVAL_KEY)
        return await portal.arrival(arrival_id) if isinstance(arrival_id, str) else None

    def first_login_page(
        visitor: Visitor,
        arrival: Arrival,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        email: str | None = None,
    ) -> Template:
        label = next(
            (p.label for p in portal.providers() if p.id == arrival.provider_id), arrival.provider_id
        )
        return pages.render(
            "identitaet_erstanmeldung.html",
            visitor,
            status_code=status,
            nav="anmelden",
            arrival=arrival,
            attributes=arrival.attributes,
            provider_label=label,
            level_label=LEVEL_LABELS.get(arrival.level, arrival.level),
            diffs=differences(visitor.account, arrival.attributes) if visitor.account else [],
            errors=errors or {},
            email=arrival.attributes.email if email is None else email,
        )

    @get(FIRST_LOGIN, include_in_schema=False)
    async def first_login(request: Request[Any, Any, Any]) -> Template:
        visitor = await pages.visitor(request)
        arrival = await waiting(request)
        if arrival is None:
            return refused(visitor, "Es gibt keine offene Anmeldung. Bitte melden Sie sich noch einmal an.")
        return first_login_page(visitor, arrival)

    @post(FIRST_LOGIN, include_in_schema=False)
    async def decide(request: Request[Any, Any, Any]) -> Template | Redirect:
        visitor = await pages.visitor(request)
        arrival = await waiting(request)
        if arrival is None:
            return refused(visitor, "Es gibt keine offene Anmeldung. Bitte melden Sie sich noch einmal an.")
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        action = form.get("aktion", "")
        session = dict(request.session or {})
        if action == "abbrechen":
            await portal.drop_arrival(arrival.arrival_id)
            session.pop(ARRIVAL_KEY, None)
            request.set_session(session)
            return Redirect(
                f"{PREFIX}/konto/anmelden" if visitor.account is None else f"{PREFIX}/konto", status_code=303
            )
        if action == "anlegen":
            email = form.get("email", "").strip()[:200]
            try:
                account_id = await portal.create_from_arrival(arrival, email)
            except ValueError as problem:
                return first_login_page(
                    visitor, arrival, status=400, errors={"email": str(problem)}, email=email
                )
            return await logged_in(request, arrival, account_id, f"{PREFIX}/konto?neu=1")
        if action == "verknuepfen" and visitor.account is not None:
            diffs = differences(visitor.account, arrival.attributes)
            missing = [d.field for d in diffs if form.get(f"wahl-{d.field}") not in ("konto", "anbieter")]
            if missing:
                errors = {
                    f"wahl-{name}": f"Bitte wählen Sie, welcher Wert für „{FIELD_LABELS[name]}“ gelten soll."
                    for name in missing
                }
                return first_login_page(visitor, arrival, status=400, errors=errors)
            take = {d.field for d in diffs if form.get(f"wahl-{d.field}") == "anbieter"}
            try:
                await portal.link_arrival(arrival, visitor.account, take)
            except ValueError as problem:
                return first_login_page(visitor, arrival, status=409, errors={"aktion": str(problem)})
            return await logged_in(request, arrival, visitor.account.account_id, f"{PREFIX}/konto")
        return first_login_page(
            visitor, arrival, status=400, errors={"aktion": "Bitte wählen Sie, wie es weitergehen soll."}
        )

    return [start, back, sp_metadata, acs, saml_back, first_login, decide]
