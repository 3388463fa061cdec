"""Staff pages of input management (thin): triage list, a letter with its original and OCR
text and the assignment form, the upload of scanned letters, the journal of routed documents."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rathaus.input import PREFIX
from rathaus.input.domain import (
    DOCUMENT_TYPES,
    EXAMPLE_AKTENZEICHEN,
    MAX_BYTES,
    UnreadableFile,
    megabytes,
    sniff,
)
from rathaus.input.handlers import AssignmentRejected, Input
from rathaus.input.reading import preview
from rathaus.platform.kernel.staffauth import StaffSession, current_staff, login_routes

MAILROOM = ("poststelle", "leitung")
BERLIN = ZoneInfo("Europe/Berlin")
MAX_PREVIEW_PAGES = 10
STATUS = {
    "neu": "wird gelesen",
    "wartend": "wartet auf den Vorgang",
    "triage": "zuzuordnen",
    "zugeordnet": "zugeordnet",
}
SOURCES = {
    "portal": "online (Portal)",
    "scan": "Scan (hochgeladen)",
    "eingangsordner": "Scan (Eingangsordner)",
}


def when(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M")


def page(name: str, staff: StaffSession, status_code: int = 200, **context: Any) -> Template:
    return Template(
        name,
        status_code=status_code,
        context={
            "staff": staff,
            "mailroom": staff.role in MAILROOM,
            "when": when,
            "status_text": STATUS,
            "sources": SOURCES,
            "types": {k: v.label for k, v in DOCUMENT_TYPES.items()},
            **context,
        },
    )


def mailroom(request: Request[Any, Any, Any]) -> StaffSession | None:
    """The member of staff when they may triage, upload and assign; None when not logged in."""
    staff = current_staff(request)
    if staff is not None and staff.role not in MAILROOM:
        raise PermissionDeniedException("Briefe verteilen nur die Poststelle und die Leitung.")
    return staff


def routes(handlers: Input) -> list[HTTPRouteHandler]:
    login = Redirect(f"{PREFIX}/anmelden")

    async def letter_or_404(document_id: str) -> dict[str, Any]:
        doc = await handlers.letter(document_id)
        if doc is None:
            raise NotFoundException("Diesen Brief gibt es nicht.")
        return doc

    async def letter_page(
        staff: StaffSession, doc: dict[str, Any], status_code: int = 200, **context: Any
    ) -> Template:
        suggestion = doc.get("suggestion") or {}
        context.setdefault(
            "form",
            {
                "aktenzeichen": "",
                "document_type": doc["document_type"] or "schreiben",
                "title": doc["title"] or "",
            },
        )
        return page(
            "letter.html",
            staff,
            status_code,
            doc=doc,
            preview_pages=range(1, min(doc["pages"] or 1, MAX_PREVIEW_PAGES) + 1),
            known=await handlers.aktenzeichen_of(suggestion.get("service_id")),
            example=EXAMPLE_AKTENZEICHEN,
            errors=context.pop("errors", {}),
            **context,
        )

    @get(f"{PREFIX}/", include_in_schema=False)
    async def home(request: Request[Any, Any, Any]) -> Redirect:
        staff = current_staff(request)
        if staff is None:
            return login
        return Redirect(f"{PREFIX}/verteilen" if staff.role in MAILROOM else f"{PREFIX}/journal")

    @get(f"{PREFIX}/verteilen", include_in_schema=False)
    async def triage(request: Request[Any, Any, Any]) -> Template | Redirect:
        staff = mailroom(request)
        if staff is None:
            return login
        return page("triage.html", staff, letters=await handlers.triage())

    @get(f"{PREFIX}/briefe/{{document_id:str}}", include_in_schema=False)
    async def letter(
        request: Request[Any, Any, Any], document_id: FromPath[str], bereits: FromQuery[bool] = False
    ) -> Template | Redirect:
        staff = mailroom(request)
        if staff is None:
            return login
        return await letter_page(staff, await letter_or_404(document_id), already=bereits)

    @get(f"{PREFIX}/briefe/{{document_id:str}}/lesestatus", include_in_schema=False)
    async def reading_status(request: Request[Any, Any, Any], document_id: FromPath[str]) -> Response[str]:
        if mailroom(request) is None:
            raise NotAuthorizedException("Bitte melden Sie sich an.")
        doc = await letter_or_404(document_id)
        if doc["status"] == "neu":
            return Response("", status_code=204)  # htmx keeps polling
        return Response("", status_code=200, headers={"HX-Refresh": "true"})

    @get(f"{PREFIX}/briefe/{{document_id:str}}/original", include_in_schema=False)
    async def original(
        request: Request[Any, Any, Any], document_id: FromPath[str]
    ) -> Response[bytes] | Redirect:
        if mailroom(request) is None:
            return login
        doc = await letter_or_404(document_id)
        data = await handlers.original(doc)
        name = doc["blob"].get("filename") or f"brief-{document_id}"
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
        media_type = sniff(data)  # served as what it is, never as what it was declared to be
        disposition = "inline" if media_type else "attachment"
        return Response(
            data,
            media_type=media_type or "application/octet-stream",
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": f'{disposition}; filename="{ascii_name}"',
                "Cache-Control": "private, no-store",
            },
        )

    @get(f"{PREFIX}/briefe/{{document_id:str}}/seiten/{{number:int}}", include_in_schema=False)
    async def page_image(
        request: Request[Any, Any, Any], document_id: FromPath[str], number: FromPath[int]
    ) -> Response[bytes] | Redirect:
        if mailroom(request) is None:
            return login
        doc = await letter_or_404(document_id)
        data = await handlers.original(doc)
        try:
            png = await asyncio.to_thread(preview, data, number)
        except (IndexError, UnreadableFile, OSError, ValueError) as exc:
            raise NotFoundException("Diese Seite gibt es nicht.") from exc
        return Response(
            png,
            media_type="image/png",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
        )

    @post(f"{PREFIX}/briefe/{{document_id:str}}/zuordnen", include_in_schema=False)
    async def assign(request: Request[Any, Any, Any], document_id: FromPath[str]) -> Template | Redirect:
        staff = mailroom(request)
        if staff is None:
            return login
        form = await request.form()
        entered = {k: str(form.get(k, "")) for k in ("aktenzeichen", "document_type", "title")}
        try:
            await handlers.assign(document_id, staff_id=staff.staff_id, **entered)
        except LookupError as exc:
            raise NotFoundException("Diesen Brief gibt es nicht.") from exc
        except AssignmentRejected as rejected:
            return await letter_page(
                staff,
                await letter_or_404(document_id),
                400,
                errors=rejected.assignment.errors,
                form=entered,
            )
        return Redirect(f"{PREFIX}/briefe/{document_id}", status_code=303)

    @get(f"{PREFIX}/hochladen", include_in_schema=False)
    async def upload_form(request: Request[Any, Any, Any]) -> Template | Redirect:
        staff = mailroom(request)
        if staff is None:
            return login
        return page("upload.html", staff, error=None, max_mb=MAX_BYTES // (1024 * 1024))

    @post(f"{PREFIX}/hochladen", include_in_schema=False)
    async def upload(request: Request[Any, Any, Any]) -> Template | Redirect:
        staff = mailroom(request)
        if staff is None:
            return login
        form = await request.form()
        file = form.get("datei")
        error = None
        if not isinstance(file, UploadFile) or not file.filename:
            error = "Bitte wählen Sie die Datei des gescannten Briefs aus."
        else:
            data = await file.read(MAX_BYTES + 1)
            try:
                if len(data) > MAX_BYTES:
                    raise UnreadableFile(
                        f"Die Datei ist größer als {megabytes(MAX_BYTES)} MB. Bitte scannen Sie mit "
                        "geringerer Auflösung oder teilen Sie den Brief auf."
                    )
                doc_id, new = await handlers.take_letter(data, filename=file.filename, source="scan")
            except UnreadableFile as exc:
                error = exc.message
        if error is not None:
            return page("upload.html", staff, 400, error=error, max_mb=MAX_BYTES // (1024 * 1024))
        return Redirect(f"{PREFIX}/briefe/{doc_id}" + ("" if new else "?bereits=true"), status_code=303)

    @get(f"{PREFIX}/journal", include_in_schema=False)
    async def journal(request: Request[Any, Any, Any]) -> Template | Redirect:
        staff = current_staff(request)
        if staff is None:
            return login
        unit = None if staff.role in MAILROOM else staff.unit
        return page("journal.html", staff, rows=await handlers.journal(unit), unit=unit)

    return [
        *login_routes(handlers.kernel, PREFIX),
        home,
        triage,
        letter,
        reading_status,
        original,
        page_image,
        assign,
        upload_form,
        upload,
        journal,
    ]
