"""What comes back: "Meine Anträge" (updating in place), the Postkorb and its downloads.

The same as JSON is in ``api.py``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from rathaus.portal import PREFIX
from rathaus.portal.web import zahlung
from rathaus.portal.web.common import FORMAT, PRIVATE, Pages
from rathaus.portal.web.nachrichten import thread_context
from rathaus.portal.web.termine import appointments_of_cases, ip_of

MSG_NOT_YOURS = "Dieses Dokument gibt es nicht oder es gehört nicht zu Ihrem Konto."


def version_of(rows: list[dict[str, Any]]) -> str:
    """A short fingerprint of what the list shows: the page polls until it changes."""
    shown = [(r["case_id"], r["status"], r["aktenzeichen"], r.get("zahlung", "")) for r in rows]
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal
    titles = {d.id: d.title for d in portal.kernel.procedures.all()}

    @get(f"{PREFIX}/antraege", include_in_schema=False)
    async def applications(request: Request[Any, Any, Any]) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        rows = await portal.applications_with_payments(visitor.account)
        return pages.render(
            "antraege.html",
            visitor,
            nav="antraege",
            rows=rows,
            titles=titles,
            stand=version_of(rows),
            **await appointments_of_cases(portal, visitor.account, rows),
        )

    @get(f"{PREFIX}/antraege/liste", include_in_schema=False)
    async def applications_fragment(
        request: Request[Any, Any, Any], stand: FromQuery[str] = ""
    ) -> Template | Response[None]:
        """The list alone, for htmx polling: 204 (nothing to swap) while nothing changed."""
        account = await pages.api_citizen(request)
        rows = await portal.applications_with_payments(account)
        version = version_of(rows)
        if stand == version:
            return Response(None, status_code=204, headers=PRIVATE)
        return Template(
            "antraege_liste.html",
            context={
                **FORMAT,
                "rows": rows,
                "titles": titles,
                "stand": version,
                **await appointments_of_cases(portal, account, rows),
            },
            headers=PRIVATE,
        )

    @get(f"{PREFIX}/antraege/{{case_id:str}}", include_in_schema=False)
    async def application(
        request: Request[Any, Any, Any],
        case_id: FromPath[str],
        eingegangen: FromQuery[str] = "",
        zurueck: FromQuery[str] = "",
        gesendet: FromQuery[str] = "",
    ) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        row = await portal.application(visitor.account, case_id)
        if row is None:
            raise PermissionDeniedException(
                "Diesen Antrag gibt es nicht oder er gehört nicht zu Ihrem Konto."
            )
        payment = await portal.payment_of(visitor.account, case_id)
        expects = portal.expects_payment_first(row)
        thread = await thread_context(
            portal, visitor.account, case_id, back="antrag", gesendet=bool(gesendet)
        )
        visitor = await pages.visitor(request)  # the unread count after reading the thread
        assert visitor.account is not None
        return pages.render(
            "antrag_eingegangen.html",
            visitor,
            nav="antraege",
            app=row,
            title=titles.get(row["service_id"], row["service_id"]),
            fresh=bool(eingegangen),
            payment=payment,
            expects_payment=expects,
            polling=zahlung.polling(payment, expects),
            checking=bool(zurueck),
            bescheide=await portal.notices_of(visitor.account, case_id),
            **await appointments_of_cases(portal, visitor.account, [row]),
            **thread,
        )

    @get(f"{PREFIX}/postkorb", include_in_schema=False)
    async def postkorb(request: Request[Any, Any, Any], archiviert: FromQuery[str] = "") -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        return pages.render(
            "postkorb.html",
            visitor,
            nav="postkorb",
            entries=await portal.postkorb_of(visitor.account),
            threads=await portal.threads_of(visitor.account),
            titles=titles,
            archived=bool(archiviert),
        )

    @get(f"{PREFIX}/postkorb/{{entry_id:str}}/herunterladen", include_in_schema=False)
    async def download(request: Request[Any, Any, Any], entry_id: FromPath[str]) -> Response[bytes]:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        # the first retrieval is recorded (who, when, from where) before the PDF goes out
        opened = await portal.retrieve(
            visitor.account,
            entry_id,
            client_address=ip_of(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        if opened is None:
            raise PermissionDeniedException(MSG_NOT_YOURS)
        entry, body = opened
        name = "Bescheid-" + "".join(
            ch if ch.isalnum() or ch in ".-" else "-" for ch in entry["aktenzeichen"]
        )
        return Response(
            body,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{name}.pdf"',
                "X-Content-Type-Options": "nosniff",
                **PRIVATE,
            },
        )

    return [applications, applications_fragment, application, postkorb, download]
