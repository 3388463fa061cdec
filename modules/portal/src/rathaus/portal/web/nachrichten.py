"""The Postkorb's threads: a case's messages both ways, the reply with attachments, the archive.

A thread that is not the visitor's answers 404 whether it exists or not: nothing leaks."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rathaus.portal import PREFIX
from rathaus.portal.domain import Account
from rathaus.portal.domain.postkorb import FROM_AUTHORITY, FROM_CITIZEN, OTHER, ReplyFile
from rathaus.portal.handlers import Portal, ReplyRefused, ThreadNotFound
from rathaus.portal.web.common import Pages

MSG_NOT_FOUND = "Diese Nachrichten gibt es nicht oder sie gehören nicht zu Ihrem Konto."
MSG_FILES_AGAIN = "Bitte wählen Sie die Dateien erneut aus; Ihr Text ist erhalten."


def open_request(thread: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest Nachforderung not answered yet in the thread."""
    answered = {m["in_reply_to"] for m in thread if m["direction"] == FROM_CITIZEN}
    asking = [m for m in thread if m["direction"] == FROM_AUTHORITY and m["requested"]]
    return next((m for m in reversed(asking) if m["message_id"] not in answered), None)


async def thread_context(portal: Portal, account: Account, case_id: str, **form: Any) -> dict[str, Any]:
    """What a thread and its reply form show (raises ThreadNotFound)."""
    thread = await portal.thread(account, case_id)
    asking = open_request(thread)
    last = next((m for m in reversed(thread) if m["direction"] == FROM_AUTHORITY), None)
    return {
        "thread": thread,
        "asking": asking,
        "in_reply_to": (asking or last or {}).get("message_id", ""),
        "can_answer": await portal.answerable(account, case_id),
        "reply_id": str(uuid.uuid4()),
        "reply_errors": {},
        "reply_text": "",
        **form,
    }


def routes(pages: Pages) -> list[HTTPRouteHandler]:
    portal = pages.portal
    titles = {d.id: d.title for d in portal.kernel.procedures.all()}

    async def page_of(
        request: Request[Any, Any, Any], case_id: str, status: int = 200, **form: Any
    ) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        app = await portal.application(visitor.account, case_id)
        if app is None:
            raise NotFoundException(MSG_NOT_FOUND)
        try:
            context = await thread_context(portal, visitor.account, case_id, **form)
        except ThreadNotFound:
            raise NotFoundException(MSG_NOT_FOUND) from None
        visitor = await pages.visitor(request)  # the unread count after reading
        return pages.render(
            "nachrichten.html",
            visitor,
            status_code=status,
            nav="postkorb",
            app=app,
            title=titles.get(app["service_id"], app["service_id"]),
            **context,
        )

    @get(f"{PREFIX}/postkorb/vorgang/{{case_id:str}}", include_in_schema=False)
    async def thread(
        request: Request[Any, Any, Any], case_id: FromPath[str], gesendet: FromQuery[str] = ""
    ) -> Template:
        return await page_of(request, case_id, gesendet=bool(gesendet))

    @get(f"{PREFIX}/postkorb/archiv", include_in_schema=False)
    async def archive(request: Request[Any, Any, Any]) -> Template:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        threads = await portal.threads_of(visitor.account, archived=True)
        return pages.render(
            "nachrichten_archiv.html", visitor, nav="postkorb", threads=threads, titles=titles
        )

    @post(f"{PREFIX}/postkorb/vorgang/{{case_id:str}}/archiv", include_in_schema=False)
    async def archive_thread(request: Request[Any, Any, Any], case_id: FromPath[str]) -> Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        form = await request.form()
        archived = form.get("archivieren") != "nein"
        try:
            await portal.archive_thread(visitor.account, case_id, archived)
        except ThreadNotFound:
            raise NotFoundException(MSG_NOT_FOUND) from None
        return Redirect(f"{PREFIX}/postkorb" + ("?archiviert=1" if archived else ""), status_code=303)

    @post(f"{PREFIX}/postkorb/vorgang/{{case_id:str}}/antwort", include_in_schema=False)
    async def answer(request: Request[Any, Any, Any], case_id: FromPath[str]) -> Template | Redirect:
        visitor = await pages.citizen(request)
        assert visitor.account is not None
        form = await request.form()
        text = str(form.get("text", ""))
        in_reply_to = str(form.get("in_reply_to", ""))
        try:
            requested = await asked_for(visitor.account, case_id, in_reply_to)
        except ThreadNotFound:
            raise NotFoundException(MSG_NOT_FOUND) from None
        files: list[ReplyFile] = []
        for index, wanted in enumerate(requested):
            upload = form.get(f"datei-{index}")
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read()
                files.append(
                    ReplyFile(
                        f"datei-{index}", wanted["document_type"], wanted["title"], upload.filename, data
                    )
                )
        for upload in form.getall("weitere", []):
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read()
                files.append(ReplyFile("weitere", OTHER, "Weitere Unterlage", upload.filename, data))
        back = form.get("zurueck") == "antrag"
        try:
            await portal.reply(
                visitor.account,
                case_id,
                reply_id=str(form.get("reply_id", "")),
                in_reply_to=in_reply_to,
                text=text,
                files=files,
            )
        except ThreadNotFound:
            raise NotFoundException(MSG_NOT_FOUND) from None
        except ReplyRefused as refused:
            errors = dict(refused.reply.errors)
            if files and "text" not in errors:
                errors.setdefault("hinweis", MSG_FILES_AGAIN)
            return await page_of(
                request,
                case_id,
                status=400,
                reply_errors=errors,
                reply_text=text,
                reply_id=str(form.get("reply_id", "")),
            )
        target = f"{PREFIX}/antraege/{case_id}" if back else f"{PREFIX}/postkorb/vorgang/{case_id}"
        return Redirect(f"{target}?gesendet=1#nachrichten", status_code=303)

    async def asked_for(account: Account, case_id: str, in_reply_to: str) -> list[dict[str, str]]:
        thread = await portal.thread(account, case_id, mark_read=False)
        found = next(
            (m for m in thread if m["message_id"] == in_reply_to and m["direction"] == FROM_AUTHORITY), None
        )
        return list(found["requested"]) if found else []

    return [thread, archive, archive_thread, answer]
