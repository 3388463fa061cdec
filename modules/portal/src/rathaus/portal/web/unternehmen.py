"""Organisation accounts (Unternehmenskonten): the list, a new one, its page with data,
members, invitations and audit log. Thin: the handlers decide who may do what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rathaus.portal import PREFIX
from rathaus.portal.domain.accounts import Account
from rathaus.portal.domain.organisations import LABELS, LEGAL_FORMS, ROLES
from rathaus.portal.handlers import Invalid, NotAllowed
from rathaus.portal.handlers.organisations import MSG_ADMINS_ONLY, MSG_NO_ORGANISATION
from rathaus.portal.web.common import Pages, Visitor
from rathaus.portal.web.konto import form_of

HOME = f"{PREFIX}/konto/unternehmen"
# what a page says after a change (the query names the message, never user input)
MESSAGES = {
    "angelegt": (
        "success",
        "Das Unternehmenskonto ist angelegt. Sie haben darin die Rolle „Administration“.",
    ),
    "gespeichert": ("success", "Die Daten des Unternehmens sind gespeichert."),
    "eingeladen": ("success", "Die Einladung ist verschickt. Der Link darin gilt 7 Tage."),
    "erneut": (
        "success",
        "Die Einladung ist erneut verschickt, mit einem neuen Link. Der alte gilt nicht mehr.",
    ),
    "nicht_gesendet": (
        "warning",
        "Die Einladung ist gespeichert, aber die E-Mail konnte noch nicht versandt werden. Bitte senden "
        "Sie sie später unter „Offene Einladungen“ erneut.",
    ),
    "zurueckgezogen": ("success", "Die Einladung ist zurückgezogen. Ihr Link gilt nicht mehr."),
    "rolle": ("success", "Die Rolle ist geändert."),
    "entfernt": ("success", "Das Mitglied ist entfernt."),
    "ausgetreten": ("success", "Sie sind nicht mehr Mitglied dieses Unternehmenskontos."),
    "beigetreten": ("success", "Sie sind jetzt Mitglied dieses Unternehmenskontos."),
}


def notice(key: str) -> tuple[str, str] | None:
    return MESSAGES.get(key)


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    async def organisation_page(
        visitor: Visitor,
        organisation_id: str,
        *,
        status_code: int = 200,
        meldung: str = "",
        errors: dict[str, str] | None = None,
        invite: dict[str, str] | None = None,
    ) -> Template:
        assert visitor.account is not None
        page = await portal.organisation_page(visitor.account, organisation_id)
        if page is None:
            raise PermissionDeniedException(MSG_NO_ORGANISATION)
        return pages.render(
            "unternehmen_seite.html",
            visitor,
            status_code=status_code,
            nav="unternehmen",
            org=page,
            invitations=await portal.open_invitations(visitor.account, organisation_id),
            notice=notice(meldung),
            errors=errors or {},
            invite=invite or {},
            roles=ROLES,
            labels=LABELS,
            me=visitor.account.account_id,
        )

    def back(organisation_id: str, meldung: str) -> Redirect:
        if meldung == "ausgetreten":  # the page of the organisation is no longer theirs
            return Redirect(f"{HOME}?meldung={meldung}", status_code=303)
        return Redirect(f"{HOME}/{organisation_id}?meldung={meldung}", status_code=303)

    async def act(
        request: Request[Any, Any, Any], organisation_id: str, change: Callable[[Account], Awaitable[str]]
    ) -> Template | Redirect:
        """Run a change on the organisation page and go back with the message it names; a
        refusal is shown on the page (400), a change the account may not make is 403."""
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        try:
            meldung = await change(visitor.account)
        except NotAllowed as refused:
            raise PermissionDeniedException(str(refused)) from None
        except Invalid as refused:
            return await organisation_page(visitor, organisation_id, status_code=400, errors=refused.errors)
        return back(organisation_id, meldung)

    @get(HOME, include_in_schema=False)
    async def overview(request: Request[Any, Any, Any], meldung: FromQuery[str] = "") -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        return pages.render(
            "unternehmen.html",
            visitor,
            nav="unternehmen",
            memberships=await portal.organisations_of(visitor.account),
            notice=notice(meldung),
        )

    @get(f"{HOME}/neu", include_in_schema=False)
    async def new_form(request: Request[Any, Any, Any]) -> Template:
        visitor = await pages.citizen(request)
        return pages.render(
            "unternehmen_daten.html",
            visitor,
            nav="unternehmen",
            legal_forms=LEGAL_FORMS,
            values={},
            errors={},
            org_id="",
        )

    @post(f"{HOME}/neu", include_in_schema=False)
    async def create(request: Request[Any, Any, Any]) -> Template | Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        data = await form_of(request)
        try:
            organisation_id = await portal.create_organisation(visitor.account, data)
        except Invalid as refused:
            return pages.render(
                "unternehmen_daten.html",
                visitor,
                status_code=400,
                nav="unternehmen",
                legal_forms=LEGAL_FORMS,
                values={k: data.get(k, "")[:200] for k in LABELS},
                errors=refused.errors,
                org_id="",
            )
        return back(organisation_id, "angelegt")

    @get(f"{HOME}/{{organisation_id:str}}", include_in_schema=False)
    async def organisation(
        request: Request[Any, Any, Any], organisation_id: FromPath[str], meldung: FromQuery[str] = ""
    ) -> Template:
        return await organisation_page(await pages.citizen(request), organisation_id, meldung=meldung)

    @get(f"{HOME}/{{organisation_id:str}}/daten", include_in_schema=False)
    async def edit_form(request: Request[Any, Any, Any], organisation_id: FromPath[str]) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        page = await portal.organisation_page(visitor.account, organisation_id)
        if page is None or not page.admin:
            raise PermissionDeniedException(MSG_NO_ORGANISATION if page is None else MSG_ADMINS_ONLY)
        return pages.render(
            "unternehmen_daten.html",
            visitor,
            nav="unternehmen",
            legal_forms=LEGAL_FORMS,
            values=page.data,
            errors={},
            org_id=organisation_id,
        )

    @post(f"{HOME}/{{organisation_id:str}}/daten", include_in_schema=False)
    async def edit(request: Request[Any, Any, Any], organisation_id: FromPath[str]) -> Template | Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        data = await form_of(request)
        try:
            await portal.update_organisation(visitor.account, organisation_id, data)
        except NotAllowed as refused:
            raise PermissionDeniedException(str(refused)) from None
        except Invalid as refused:
            return pages.render(
                "unternehmen_daten.html",
                visitor,
                status_code=400,
                nav="unternehmen",
                legal_forms=LEGAL_FORMS,
                values={k: data.get(k, "")[:200] for k in LABELS},
                errors=refused.errors,
                org_id=organisation_id,
            )
        return back(organisation_id, "gespeichert")

    @post(f"{HOME}/{{organisation_id:str}}/einladungen", include_in_schema=False)
    async def invite(request: Request[Any, Any, Any], organisation_id: FromPath[str]) -> Template | Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        data = await form_of(request)
        email, role = data.get("email", "")[:200], data.get("role", "")
        try:
            invited = await portal.invite(visitor.account, organisation_id, email, role)
        except NotAllowed as refused:
            raise PermissionDeniedException(str(refused)) from None
        except Invalid as refused:
            return await organisation_page(
                visitor,
                organisation_id,
                status_code=400,
                errors=refused.errors,
                invite={"email": email, "role": role},
            )
        return back(organisation_id, "eingeladen" if invited.mailed else "nicht_gesendet")

    @post(f"{HOME}/{{organisation_id:str}}/einladungen/{{invitation_id:str}}/senden", include_in_schema=False)
    async def resend(
        request: Request[Any, Any, Any], organisation_id: FromPath[str], invitation_id: FromPath[str]
    ) -> Template | Redirect:
        async def change(account: Account) -> str:
            mailed = await portal.resend_invitation(account, organisation_id, invitation_id)
            return "erneut" if mailed else "nicht_gesendet"

        return await act(request, organisation_id, change)

    @post(
        f"{HOME}/{{organisation_id:str}}/einladungen/{{invitation_id:str}}/zurueckziehen",
        include_in_schema=False,
    )
    async def withdraw(
        request: Request[Any, Any, Any], organisation_id: FromPath[str], invitation_id: FromPath[str]
    ) -> Template | Redirect:
        async def change(account: Account) -> str:
            await portal.withdraw_invitation(account, organisation_id, invitation_id)
            return "zurueckgezogen"

        return await act(request, organisation_id, change)

    @post(f"{HOME}/{{organisation_id:str}}/mitglieder/{{account_id:str}}/rolle", include_in_schema=False)
    async def change_role(
        request: Request[Any, Any, Any], organisation_id: FromPath[str], account_id: FromPath[str]
    ) -> Template | Redirect:
        role = (await form_of(request)).get("role", "")

        async def change(account: Account) -> str:
            await portal.change_role(account, organisation_id, account_id, role)
            return "rolle"

        return await act(request, organisation_id, change)

    @post(f"{HOME}/{{organisation_id:str}}/mitglieder/{{account_id:str}}/entfernen", include_in_schema=False)
    async def remove(
        request: Request[Any, Any, Any], organisation_id: FromPath[str], account_id: FromPath[str]
    ) -> Template | Redirect:
        async def change(account: Account) -> str:
            await portal.remove_member(account, organisation_id, account_id)
            return "ausgetreten" if account_id == account.account_id else "entfernt"

        return await act(request, organisation_id, change)

    return [
        overview,
        new_form,
        create,
        organisation,
        edit_form,
        edit,
        invite,
        resend,
        withdraw,
        change_role,
        remove,
    ]
