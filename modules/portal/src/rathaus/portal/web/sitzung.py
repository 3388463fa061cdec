"""The login session: begin one, ask how long it lasts, extend it (the warning's
"Sitzung verlängern"), and the notice on the login page after a session ran out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect

from rathaus.portal import PREFIX
from rathaus.portal.domain import safe_next
from rathaus.portal.domain.sessions import EXPIRED, EXPIRED_TEXT, Login, without_login
from rathaus.portal.web.common import LOGIN, PRIVATE, Pages

STATUS = f"{PREFIX}/konto/sitzung"
EXTEND = f"{PREFIX}/konto/sitzung/verlaengern"


def begin_login(
    request: Request[Any, Any, Any], pages: Pages, account_id: str, level: str, amr: tuple[str, ...]
) -> None:
    """Start a session for a login at ``level`` made with ``amr``; what the session held
    before (a notice, an anonymous draft's key) makes way for it."""
    now = pages.portal.clock()
    session = {k: v for k, v in without_login(request.session).items() if k != EXPIRED}
    request.set_session({**session, **Login(account_id, level, amr, now, now).cookie()})


def expired_notice(request: Request[Any, Any, Any]) -> str | None:
    """Why the last session ended, once (the login page shows it, then it is gone)."""
    session = request.session or {}
    reason = session.get(EXPIRED)
    if not isinstance(reason, str):
        return None
    request.set_session({k: v for k, v in session.items() if k != EXPIRED})
    return EXPIRED_TEXT.get(reason)


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    async def state(request: Request[Any, Any, Any], touch: bool) -> dict[str, Any]:
        visitor = await pages.visitor(request, touch=touch)
        view = pages.session_view(visitor)
        return {"angemeldet": view is not None, **(view or {})}

    @get(STATUS, include_in_schema=False)
    async def status(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """How long the session lasts; asking is no activity (it does not extend the session)."""
        return Response(await state(request, touch=False), headers=PRIVATE)

    @post(EXTEND, include_in_schema=False)
    async def extend(request: Request[Any, Any, Any]) -> Response[dict[str, Any]] | Redirect:
        """Activity: the idle timeout starts again (the absolute one stays). The warning's
        script asks for JSON; without JavaScript the form goes back to the page it came from."""
        found = await state(request, touch=True)
        if "application/json" in request.headers.get("accept", ""):
            return Response(found, headers=PRIVATE)
        form = await request.form()
        back = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
        return Redirect(
            back if found["angemeldet"] else f"{LOGIN}?next={quote(back, safe='/')}", status_code=303
        )

    @get("/{unknown:path}", include_in_schema=False)
    async def not_found(unknown: FromPath[str]) -> None:
        """Any other address: "not found", but through the session middleware, so the error
        page knows who is logged in and shows "Abmelden" (a path no route knows would
        bypass the middleware)."""
        raise NotFoundException("Diese Seite gibt es nicht.")

    return [status, extend, not_found]
