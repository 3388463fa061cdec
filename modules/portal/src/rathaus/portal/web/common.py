"""What every page of the portal shares: who is logged in, the navigation, rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect, Template

from rathaus.portal import PREFIX
from rathaus.portal.domain import STATUS_TEXT, Account, euro, format_date, format_datetime, unit_name
from rathaus.portal.handlers import Portal

LOGIN = f"{PREFIX}/konto/anmelden"
PRIVATE = {"Cache-Control": "no-store"}  # pages with personal data stay out of caches
FORMAT = {
    "datum": format_date,
    "zeit": format_datetime,
    "euro": euro,
    "einheit": unit_name,
    "status_text": STATUS_TEXT,
}


@dataclass(frozen=True)
class Visitor:
    account: Account | None
    unread: int = 0


class LoginRequired(Exception):
    """A page needs an account: the handler answers with a redirect to the login."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.redirect = Redirect(f"{LOGIN}?next={quote(target, safe='/')}", status_code=303)


class Pages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    async def visitor(self, request: Request[Any, Any, Any]) -> Visitor:
        account_id = request.session.get("account_id") if request.session else None
        if not isinstance(account_id, str):
            return Visitor(None)
        account, unread = await self.portal.account_and_unread(account_id)
        if account is not None:  # the Postkorb counts its unread Bescheide and messages
            unread += await self.portal.unread_messages(account_id)
        return Visitor(account, unread)

    async def citizen(self, request: Request[Any, Any, Any]) -> Visitor:
        """The logged-in citizen of a page; raises ``LoginRequired`` (caught by the handler)."""
        visitor = await self.visitor(request)
        if visitor.account is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target if request.method == "GET" else request.url.path)
        return visitor

    def title_of(self, service_id: str) -> str:
        offer = self.portal.kernel.procedures.offer(service_id)
        return offer.title if offer else service_id

    async def api_citizen(self, request: Request[Any, Any, Any]) -> Account:
        """The logged-in citizen of an API call or fragment; 401 otherwise."""
        visitor = await self.visitor(request)
        if visitor.account is None:
            raise NotAuthorizedException("Bitte melden Sie sich an.")
        return visitor.account

    def render(
        self, name: str, visitor: Visitor, *, status_code: int = 200, nav: str = "", **context: Any
    ) -> Template:
        return Template(
            name,
            context={"account": visitor.account, "unread": visitor.unread, "nav": nav, **FORMAT, **context},
            status_code=status_code,
            headers=PRIVATE if visitor.account else None,
        )
