"""The staff workspace (Arbeitsplatz): login, inbox, case page, decision, co-signing; a JSON API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.rpc_v1 import StaffCredentials
from rathaus.eakte import PREFIX
from rathaus.eakte.domain import LIFECYCLE_TEXT, MODES, STATUS_TEXT, DecisionRefused, Staff, german_date
from rathaus.eakte.domain_gang import STEP_KINDS
from rathaus.eakte.handlers import EAkte, MessageRefused
from rathaus.eakte.handlers.common import ACTING_FOR
from rathaus.eakte.search.indexer import SearchIndexer
from rathaus.eakte.web_abgabe import routes as records_routes
from rathaus.eakte.web_aktenplan import routes as plan_routes
from rathaus.eakte.web_aussonderung import routes as disposal_routes
from rathaus.eakte.web_gang import gang_context
from rathaus.eakte.web_gang import routes as gang_routes
from rathaus.eakte.web_kasse import routes as fee_routes
from rathaus.eakte.web_lifecycle import routes as lifecycle_routes
from rathaus.eakte.web_suche import routes as search_routes

API_CACHE_SECONDS = 30.0
API_CACHE_KEY = secrets.token_bytes(32)


def routes(eakte: EAkte, search: SearchIndexer) -> list[HTTPRouteHandler]:
    async def member_of(request: Request[Any, Any, Any]) -> Staff | None:
        """The signed-in member; while they work an absent colleague's inbox (Vertretung),
        acting for them with the colleague's unit, and their audit entries say so."""
        ACTING_FOR.set(("", ""))
        staff_id = request.session.get("staff_id") if request.session else None
        member = await eakte.staff_member(staff_id) if staff_id else None
        absent = request.session.get("acting_for") if member and request.session else None
        if member is not None and absent:
            acting = await eakte.acting_member(member, absent)
            if acting is not None:
                ACTING_FOR.set((member.username, absent))
                return acting
        return member

    async def require(request: Request[Any, Any, Any]) -> Staff:
        member = await member_of(request)
        if member is None:
            raise NotAuthorizedException("Bitte melden Sie sich an.")
        return member

    # the Bürgerbüros by id, from the calendars (data): appointments name them
    location_names = {loc.id: loc.name for loc in eakte.kernel.appointments.locations.values()}

    def page(name: str, member: Staff | None, **context: Any) -> Template:
        return Template(
            name,
            context={
                "member": member,
                "status_text": STATUS_TEXT,
                "lifecycle_text": LIFECYCLE_TEXT,
                "modes": MODES,
                "german_date": german_date,
                "location_names": location_names,
                **context,
            },
        )

    async def case_view(member: Staff, case_id: str, **form: Any) -> Template:
        found = await eakte.case(member, case_id)
        if found is None:
            raise PermissionDeniedException("Dieser Vorgang gehört nicht zu Ihrer Organisationseinheit.")
        writer = (
            found["access"] == "zustaendig"
            and member.role in ("sachbearbeitung", "leitung")
            and found["case"]["lifecycle"] == "offen"  # a closed case is read-only
        )
        reachable = bool((found["case"]["applicant"] or {}).get("account_id"))
        postkorb = {
            "can_write": writer and reachable,
            "unreachable": writer and not reachable,
            **(eakte.message_form(found["case"]) if writer and reachable else {}),
        }
        context: dict[str, Any] = {"error": None, "cosign_error": None, "message": {}, "message_errors": {}}
        records = {**await eakte.abgabe_view(member, case_id), **await eakte.datenschutz_view(case_id)}
        lifecycle = await eakte.lifecycle_view(member, found["case"])
        if found["case"]["lifecycle"] != "offen":
            found["can_cosign"] = False  # a closed case takes no co-signature
        gang = await gang_context(eakte, member, found, **form)
        return page(
            "case.html", member, **{**context, **postkorb, **records, **lifecycle, **form, **found, **gang}
        )

    @get(f"{PREFIX}/anmelden", include_in_schema=False)
    async def login_form() -> Template:
        return page("login.html", None, error=None, username="")

    @post(f"{PREFIX}/anmelden", include_in_schema=False)
    async def login(
        request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        identity = await eakte.authenticate(
            StaffCredentials(username=data.get("username", "").strip(), password=data.get("password", ""))
        )
        if not identity.ok:
            return page(
                "login.html",
                None,
                error="Benutzername oder Passwort ist falsch.",
                username=data.get("username", ""),
            )
        request.set_session({"staff_id": identity.staff_id})
        return Redirect(f"{PREFIX}/")

    @post(f"{PREFIX}/abmelden", include_in_schema=False)
    async def logout(request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(f"{PREFIX}/anmelden")

    @get(f"{PREFIX}/", include_in_schema=False)
    async def inbox(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(f"{PREFIX}/anmelden")
        return page(
            "inbox.html",
            member,
            cases=await eakte.inbox(member),
            cosigning=await eakte.cosign_inbox(member),
            gang_steps=await eakte.gang_inbox(member),
            follow_ups=await eakte.wiedervorlagen_due(member),
            step_kinds=STEP_KINDS,
        )

    @get(f"{PREFIX}/vorgaenge/{{case_id:str}}", include_in_schema=False)
    async def case_page(request: Request[Any, Any, Any], case_id: str) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(f"{PREFIX}/anmelden")
        return await case_view(member, case_id)

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/entscheidung", include_in_schema=False)
    async def decide(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(f"{PREFIX}/anmelden")
        try:
            await eakte.decide(member, case_id, data.get("outcome", ""), data.get("reasons", ""))
        except PermissionError:
            raise PermissionDeniedException(
                "Dieser Vorgang gehört nicht zu Ihrer Organisationseinheit."
            ) from None
        except DecisionRefused as refused:
            return await case_view(
                member,
                case_id,
                error=str(refused),
                chosen=data.get("outcome", ""),
                reasons=data.get("reasons", ""),
            )
        return Redirect(f"{PREFIX}/vorgaenge/{case_id}")

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/nachricht", include_in_schema=False)
    async def write(request: Request[Any, Any, Any], case_id: str) -> Template | Redirect:
        """A message to the applicant; "Vorlage übernehmen" fills the form from a template first."""
        member = await member_of(request)
        if member is None:
            return Redirect(f"{PREFIX}/anmelden")
        form = await request.form()
        entered: dict[str, Any] = {
            k: form.get(k, "") for k in ("subject", "text", "template", "others", "deadline")
        }
        entered["documents"] = [str(v) for v in form.getall("documents", [])]
        if form.get("action") == "vorlage":
            found = await eakte.case(member, case_id)
            if found is None:
                raise PermissionDeniedException("Dieser Vorgang gehört nicht zu Ihrer Organisationseinheit.")
            titles = eakte.requestable(found["case"])
            named = [titles[d] for d in entered["documents"] if d in titles]
            named += [line.strip() for line in str(entered["others"]).splitlines() if line.strip()]
            filled = eakte.from_template(found["case"], str(entered["template"]), named)
            return await case_view(member, case_id, message={**entered, **filled})
        try:
            await eakte.send_message(member, case_id, entered)
        except PermissionError:
            raise PermissionDeniedException(
                "Dieser Vorgang gehört nicht zu Ihrer Organisationseinheit."
            ) from None
        except MessageRefused as refused:
            return await case_view(member, case_id, message=entered, message_errors=refused.draft.errors)
        return Redirect(f"{PREFIX}/vorgaenge/{case_id}#nachrichten")

    @post(f"{PREFIX}/vorgaenge/{{case_id:str}}/mitzeichnung", include_in_schema=False)
    async def cosign(
        request: Request[Any, Any, Any], case_id: str, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        member = await member_of(request)
        if member is None:
            return Redirect(f"{PREFIX}/anmelden")
        try:
            await eakte.cosign(member, case_id, data.get("action", ""), data.get("note", ""))
        except PermissionError:
            raise PermissionDeniedException(
                "Ihre Organisationseinheit ist an diesem Vorgang nicht zur Mitzeichnung beteiligt."
            ) from None
        except DecisionRefused as refused:
            return await case_view(
                member,
                case_id,
                cosign_error=str(refused),
                cosign_chosen=data.get("action", ""),
                note=data.get("note", ""),
            )
        return Redirect(f"{PREFIX}/vorgaenge/{case_id}")

    @get(f"{PREFIX}/vorgaenge/{{case_id:str}}/dokumente/{{pk:int}}/original", include_in_schema=False)
    async def original(request: Request[Any, Any, Any], case_id: str, pk: int) -> Response[bytes]:
        member = await require(request)
        doc = await eakte.document(member, case_id, pk)
        if doc is None:
            raise PermissionDeniedException("Dieses Dokument gehört nicht zu Ihrer Organisationseinheit.")
        ref = msgspec.convert(doc["blob"], BlobRef)
        body = await eakte.kernel.blobs.get(ref)
        return Response(
            body,
            media_type=ref.media_type,
            headers={
                "Content-Disposition": f'inline; filename="{ref.filename or doc["document_id"]}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    # -- API for programs (the benchmark decider uses it like a person would) -------------------

    verified: dict[bytes, tuple[str, float]] = {}

    async def api_member(request: Request[Any, Any, Any]) -> Staff:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            raise NotAuthorizedException(
                "HTTP Basic authentication required", headers={"WWW-Authenticate": "Basic"}
            )
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise NotAuthorizedException("malformed credentials") from None
        # Verifying an argon2 hash costs tens of milliseconds of CPU on purpose; a program
        # calling the API many times a second would spend a core on it. A successful check
        # is remembered for a short while under an HMAC of the credentials with a key of
        # this process (the cache holds nothing that could be replayed elsewhere); the
        # account itself is looked up on every call, so a removed account stops at once.
        key = hmac.new(API_CACHE_KEY, f"{username}\0{password}".encode(), hashlib.sha256).digest()
        cached = verified.get(key)
        staff_id = cached[0] if cached and cached[1] > time.monotonic() else None
        if staff_id is None:
            identity = await eakte.authenticate(StaffCredentials(username=username, password=password))
            if identity.ok:
                staff_id = identity.staff_id
                if len(verified) > 1000:
                    verified.clear()
                verified[key] = (staff_id, time.monotonic() + API_CACHE_SECONDS)
        member = await eakte.staff_member(staff_id) if staff_id else None
        if member is None:
            raise NotAuthorizedException("wrong credentials")
        return member

    @get(f"{PREFIX}/api/vorgaenge")
    async def api_cases(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        """The cases of the caller's unit (HTTP Basic auth with a staff account)."""
        member = await api_member(request)
        return [
            {k: c[k] for k in ("case_id", "aktenzeichen", "service_id", "status", "due_at", "opened_at")}
            for c in await eakte.inbox(member)
        ]

    @post(f"{PREFIX}/api/vorgaenge/{{case_id:str}}/entscheidung", status_code=201)
    async def api_decide(
        request: Request[Any, Any, Any], case_id: str, data: dict[str, str]
    ) -> dict[str, str]:
        """Decide a case: ``{"outcome": "granted" | "refused", "reasons": "…"}``."""
        member = await api_member(request)
        try:
            await eakte.decide(member, case_id, data.get("outcome", ""), data.get("reasons", ""))
        except PermissionError:
            raise PermissionDeniedException("not your unit's case") from None
        except DecisionRefused as refused:
            raise ClientException(str(refused), status_code=409) from None
        return {"case_id": case_id, "outcome": data["outcome"]}

    @get(f"{PREFIX}/api/mitzeichnungen")
    async def api_cosign_cases(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        """The cases the caller's unit is asked to co-sign (Mitzeichnung), open ones first."""
        member = await api_member(request)
        return [
            {k: c[k] for k in ("case_id", "aktenzeichen", "service_id", "status", "cosign_status")}
            for c in await eakte.cosign_inbox(member)
        ]

    @post(f"{PREFIX}/api/vorgaenge/{{case_id:str}}/mitzeichnung", status_code=201)
    async def api_cosign(
        request: Request[Any, Any, Any], case_id: str, data: dict[str, str]
    ) -> dict[str, str]:
        """Co-sign a case as a co-signing unit: ``{"action": "mitgezeichnet" | "einwaende",
        "note": "…"}`` (an objection needs a note of at least 20 characters)."""
        member = await api_member(request)
        try:
            await eakte.cosign(member, case_id, data.get("action", ""), data.get("note", ""))
        except PermissionError:
            raise PermissionDeniedException("your unit does not co-sign this case") from None
        except DecisionRefused as refused:
            raise ClientException(str(refused), status_code=409) from None
        return {"case_id": case_id, "action": data.get("action", "")}

    return [
        login_form,
        login,
        logout,
        inbox,
        case_page,
        decide,
        write,
        cosign,
        original,
        api_cases,
        api_decide,
        api_cosign_cases,
        api_cosign,
        *fee_routes(eakte, member_of, page),
        *records_routes(eakte, member_of, page, case_view),
        *lifecycle_routes(eakte, member_of, case_view),
        *plan_routes(eakte, member_of, page),
        *gang_routes(eakte, member_of, page, case_view, api_member),
        *search_routes(eakte, search, member_of, api_member, page),
        *disposal_routes(eakte, member_of, page),
    ]
