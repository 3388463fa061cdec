"""Pages and API of the citizens' portal: thin, they hand over to the handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router

from rathaus.portal.handlers import Portal
from rathaus.portal.web import (
    antrag,
    api,
    catalogue,
    einladungen,
    identitaet,
    konto,
    nachrichten,
    passkeys,
    postfach,
    sitzung,
    termine,
    unternehmen,
    zahlung,
)
from rathaus.portal.web.common import LoginRequired, Pages


def to_login(_: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    return exc.redirect


def routes(portal: Portal) -> list[Router]:
    """Every page and the JSON API of the portal; a page that needs an account sends a visitor
    without one to the login (the API answers 401)."""
    pages = Pages(portal)
    return [
        Router(
            path="/",
            route_handlers=[
                *catalogue.routes(pages),
                *konto.routes(pages),
                *identitaet.routes(pages),
                *sitzung.routes(pages),
                *passkeys.routes(pages),
                *antrag.routes(pages),
                *postfach.routes(pages),
                *nachrichten.routes(pages),
                *zahlung.routes(pages),
                *unternehmen.routes(pages),
                *einladungen.routes(pages),
                *termine.routes(pages),
                *api.routes(pages),
            ],
            exception_handlers={LoginRequired: to_login},
        )
    ]
