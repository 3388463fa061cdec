"""The link of an invitation (/konto/einladungen/<token>): what it is, for a visitor without
an account how to log in, and for the invited address accept or decline. Every state of a
link has one German page; the status code says whether the link can still be used."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from rathaus.portal import PREFIX
from rathaus.portal.handlers import InvitationLink
from rathaus.portal.web.common import LOGIN, PRIVATE, Pages, Visitor
from rathaus.portal.web.konto import form_of
from rathaus.portal.web.unternehmen import HOME

INVITATION = f"{PREFIX}/konto/einladungen"


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal

    @get(f"{INVITATION}/{{token:str}}", include_in_schema=False)
    async def invitation(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        visitor = await pages.visitor(request)
        link = await portal.invitation(token, visitor.account)
        return invitation_page(visitor, token, link)

    @post(f"{INVITATION}/{{token:str}}", include_in_schema=False)
    async def answer(request: Request[Any, Any, Any], token: FromPath[str]) -> Template | Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        accept = (await form_of(request)).get("aktion") == "annehmen"
        link = await portal.answer_invitation(visitor.account, token, accept)
        if link is not None and link.answered_now and link.state == "angenommen":
            return Redirect(f"{HOME}/{link.organisation_id}?meldung=beigetreten", status_code=303)
        return invitation_page(visitor, token, link)

    def invitation_page(visitor: Visitor, token: str, link: InvitationLink | None) -> Template:
        """One page for every state of a link; the status code says whether it can still be used."""
        if link is None:
            status = 404
        elif link.answered_now:
            status = 200
        elif link.state in ("abgelaufen", "angenommen", "abgelehnt", "zurueckgezogen"):
            status = 410
        elif visitor.account is not None and not link.for_this_account:
            status = 403
        else:
            status = 200
        template = pages.render(
            "einladung.html",
            visitor,
            status_code=status,
            nav="unternehmen",
            link=link,
            login=f"{LOGIN}?next={quote(f'{INVITATION}/{token}', safe='/')}",
            token=token,
        )
        # the token is in the address: it must not travel on in a Referer header, nor the
        # page stay in a cache, even for a visitor not yet logged in
        template.headers.update({"Referrer-Policy": "no-referrer", **PRIVATE})
        return template

    return [invitation, answer]
