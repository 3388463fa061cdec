"""What every page of the portal shares: who is logged in, the navigation, rendering."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect, Template

from rathaus.platform.kernel.settings import SessionTimeouts
from rathaus.portal import PREFIX
from rathaus.portal.domain import (
    ASSURANCE_ORDER,
    STATUS_TEXT,
    Account,
    euro,
    format_date,
    format_datetime,
    unit_name,
)
from rathaus.portal.domain.identity import LEVEL_LABELS
from rathaus.portal.domain.sessions import (
    EXPIRED,
    LEVEL_LABEL,
    Login,
    method_text,
    read_login,
    timeouts_for,
    warn_before,
    without_login,
)
from rathaus.portal.handlers import Portal

LOGIN = f"{PREFIX}/konto/anmelden"
PRIVATE = {"Cache-Control": "no-store"}  # pages with personal data stay out of caches
FORMAT = {
    "datum": format_date,
    "zeit": format_datetime,
    "euro": euro,
    "einheit": unit_name,
    "status_text": STATUS_TEXT,
    "level_labels": LEVEL_LABELS,
}


@dataclass(frozen=True)
class Visitor:
    account: Account | None
    unread: int = 0
    login: Login | None = None  # the session's login (level, method, times)
    timeouts: SessionTimeouts | None = None


class LoginRequired(Exception):
    """A page needs an account: the handler answers with a redirect to the login."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.redirect = Redirect(f"{LOGIN}?next={quote(target, safe='/')}", status_code=303)


class Pages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    async def visitor(self, request: Request[Any, Any, Any], *, touch: bool = True) -> Visitor:
        """Who is logged in. A session past its idle or absolute timeout is ended here (the
        login page then says why); any other request counts as activity unless ``touch`` is
        false (the warning script asking how long is left)."""
        session = request.session or {}
        account_id = session.get("account_id")
        if not isinstance(account_id, str):
            return Visitor(None)
        account, unread = await self.portal.account_and_unread(account_id)
        if account is None:
            return Visitor(None)
        now = self.portal.clock()
        login = read_login(session, account.assurance_level, now)
        assert login is not None
        if not session.get("provider"):
            # a local login (password, passkey) is at the account's own level as it is now:
            # raised by the Bürgerbüro after looking at an ID card, it counts at once
            login = replace(login, level=account.assurance_level)
        timeouts = timeouts_for(self.portal.kernel.settings.sessions, login.level)
        expired = login.expiry(timeouts, now)
        if expired is not None:
            request.set_session({**without_login(session), EXPIRED: expired})
            return Visitor(None)
        # htmx's polling (a list that refreshes itself) is no activity of the person
        background = request.method == "GET" and request.headers.get("hx-request") == "true"
        if touch and not background:
            login = login.touched(now)
            request.set_session({**session, **login.cookie()})
        if login.level in ASSURANCE_ORDER:
            # the level of THIS login counts (an identity provider's, or the account's own)
            account = replace(account, assurance_level=login.level)
        return Visitor(account, unread, login, timeouts)

    def session_view(self, visitor: Visitor) -> dict[str, Any] | None:
        """What the pages show of the session: level, method, and the times the warning
        script counts down from (seconds from now, so the browser's clock does not matter)."""
        login, timeouts = visitor.login, visitor.timeouts
        if login is None or timeouts is None:
            return None
        now = self.portal.clock()
        return {
            "level": LEVEL_LABEL.get(login.level, login.level),
            "method": method_text(login.amr),
            "passkey": "mfa" in login.amr,
            "idle_left": max(0, int((login.idle_ends(timeouts) - now).total_seconds())),
            "absolute_left": max(0, int((login.absolute_ends(timeouts) - now).total_seconds())),
            "warn_before": warn_before(self.portal.kernel.settings.sessions, timeouts),
            "extendable": login.extendable(timeouts),
            "ends_at": format_datetime(login.ends(timeouts).isoformat()),
            "absolute_at": format_datetime(login.absolute_ends(timeouts).isoformat()),
        }

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
            context={
                "account": visitor.account,
                "unread": visitor.unread,
                "nav": nav,
                "identity_providers": self.portal.providers(),
                "sitzung": self.session_view(visitor),
                **FORMAT,
                **context,
            },
            status_code=status_code,
            headers=PRIVATE if visitor.account else None,
        )
