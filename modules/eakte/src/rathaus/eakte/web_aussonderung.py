"""The records manager's page "Aussonderung": the runs with the archive (xdomea 0501–0507),
their objects and states, what needs attention (unappraised, failed imports), refused
messages and the deletion log; and "Jetzt anbieten" (what the nightly schedule does)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template

from rathaus.eakte import PREFIX
from rathaus.eakte import aussonderung_regeln as rules
from rathaus.eakte.domain import Staff
from rathaus.eakte.handlers import EAkte

# the records manager ("registratur", added with the Aktenplan administration) and, until
# that role exists everywhere, the Leitung
RECORDS_ROLES = ("registratur", "leitung")
RECORDS_ONLY = "Die Aussonderung sehen die Registratur und die Leitung."
VERFAHREN_TEXT = {rules.VIERSTUFIG: "vierstufig (0501–0506)", rules.ZWEISTUFIG: "zweistufig (0503–0506)"}
MESSAGE_TEXT = {
    "0501": "Anbieteverzeichnis",
    "0502": "Bewertungsverzeichnis",
    "0503": "Aussonderung",
    "0504": "Empfangsbestätigung Angebot",
    "0505": "Empfangsbestätigung Bewertung",
    "0506": "Importbestätigung",
    "0507": "Empfangsbestätigung Aussonderung",
}


def routes(
    eakte: EAkte,
    member_of: Callable[[Request[Any, Any, Any]], Awaitable[Staff | None]],
    page: Callable[..., Template],
) -> list[HTTPRouteHandler]:
    login = f"{PREFIX}/anmelden"

    async def records_manager(request: Request[Any, Any, Any]) -> Staff | None:
        member = await member_of(request)
        if member is not None and member.role not in RECORDS_ROLES:
            raise PermissionDeniedException(RECORDS_ONLY)
        return member

    @get(f"{PREFIX}/aussonderung", include_in_schema=False)
    async def overview(request: Request[Any, Any, Any]) -> Template | Redirect:
        member = await records_manager(request)
        if member is None:
            return Redirect(login)
        started = request.query_params.get("gestartet", "")
        return page(
            "aussonderung.html",
            member,
            archive=eakte.archive,
            notice=f"{started} Aussonderung(en) gestartet." if started.isdigit() else "",
            run_text=rules.RUN_TEXT,
            object_text=rules.OBJ_TEXT,
            verfahren_text=VERFAHREN_TEXT,
            message_text=MESSAGE_TEXT,
            **await eakte.aussonderung_overview(),
        )

    @post(f"{PREFIX}/aussonderung/starten", include_in_schema=False)
    async def start(request: Request[Any, Any, Any]) -> Redirect:
        member = await records_manager(request)
        if member is None:
            return Redirect(login)
        started = await eakte.start_aussonderung(
            datetime.now(UTC).date(), trigger=f"registratur:{member.username}"
        )
        return Redirect(f"{PREFIX}/aussonderung?gestartet={len(started)}")

    return [overview, start]
