"""The E-Akte's side of the two-way Postkorb: staff write to the applicant (free text or a
template, optionally a Nachforderung with a deadline), the applicant's reply is filed, the
case's thread is shown; every message both ways is a Dokument of the case."""

from __future__ import annotations

import tomllib
import uuid
from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import DocumentsRequested, MessageSent, ReplyFiled, RequestedDocument
from rathaus.contracts.input.v1 import ReplyRouted
from rathaus.contracts.platform.v1 import DecisionDeadlineChanged, DocumentsOverdue
from rathaus.contracts.procedures import DATA
from rathaus.eakte.domain import (
    DECIDING_ROLES,
    FROM_APPLICANT,
    LIFECYCLE_OPEN,
    REQUEST_ANSWERED,
    REQUEST_LAPSED,
    REQUEST_OPEN,
    REQUEST_REMINDED,
    REQUEST_STATUS_TEXT,
    SYSTEM,
    TO_APPLICANT,
    Draft,
    MessageCatalogue,
    Staff,
    check_message,
    default_deadline,
    fill_template,
)
from rathaus.eakte.handlers.cases import CaseHandlers
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.locks import case_lock
from rathaus.eakte.records import closed_message
from rathaus.eakte.store import nachrichten, vorgaenge
from rathaus.platform.kernel import Kernel, UnitOfWork
from rathaus.platform.kernel.calendar import is_working_day
from rathaus.platform.kernel.procedures import ProcedureChanged

CATALOGUE_FILE = DATA.parent / "nachrichten.toml"
MESSAGE_TYPE = "nachricht"  # the document type of a message filed in the E-Akte
CLOSED = ("zugestellt",)
MSG_NO_ACCOUNT = (
    "Die antragstellende Person hat kein Servicekonto: Nachrichten erreichen sie nicht über den "
    "Postkorb. Bitte schreiben Sie ihr per Post oder E-Mail."
)


class MessageRefused(ValueError):
    """The message form has errors (``draft.errors`` by field, German); nothing was sent."""

    def __init__(self, draft: Draft) -> None:
        super().__init__(sorted(draft.errors))
        self.draft = draft


def load_catalogue() -> MessageCatalogue:
    return MessageCatalogue.parse(tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8")))


class PostkorbHandlers(CaseHandlers):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.catalogue = load_catalogue()

    # -- staff write ----------------------------------------------------------------------

    def requestable(self, row: dict[str, Any]) -> dict[str, str]:
        """The documents a Nachforderung may name: the form's file fields, by document type."""
        try:
            definition = self.definition(row)
        except ProcedureChanged:
            return {}
        return {(n.element.document_type or n.name): n.element.label for n in definition.file_fields()}

    def message_form(self, row: dict[str, Any]) -> dict[str, Any]:
        """What the case page's message form offers: templates, documents, a deadline."""
        days, grace = self.catalogue.days(row["service_id"])
        proposed = default_deadline(date.today(), days, is_working_day)
        return {
            "templates": list(self.catalogue.templates.values()),
            "requestable": self.requestable(row),
            "proposed_deadline": proposed.isoformat(),
            "deadline_days": days,
            "grace_days": grace,
        }

    def from_template(self, row: dict[str, Any], template_id: str, requested: list[str]) -> dict[str, str]:
        """A template filled in for the case (the form shows it to edit before sending)."""
        template = self.catalogue.templates.get(template_id)
        if template is None:
            return {}
        days, _ = self.catalogue.days(row["service_id"])
        deadline = default_deadline(date.today(), days, is_working_day) if template.request else None
        text = fill_template(
            template, aktenzeichen=row["aktenzeichen"], deadline=deadline, requested=requested
        )
        return {"subject": template.subject, "text": text, "template": template.id}

    async def send_message(self, member: Staff, case_id: str, form: dict[str, Any]) -> str:
        """Write to the applicant in the case's thread; a Nachforderung when documents are
        named. Filed as a Dokument, audited, MessageSent (and DocumentsRequested) emitted.
        Raises PermissionError (not the member's unit's case) or MessageRefused."""
        async with self.kernel.db.read() as s:
            row = await self.case_row(s, case_id)
            locked = await case_lock(s, case_id)
        if row is None or row["unit"] != member.unit:
            raise PermissionError(case_id)
        requestable = self.requestable(row)
        draft = check_message(
            subject=str(form.get("subject", "")),
            text=str(form.get("text", "")),
            template=str(form.get("template", "")),
            fields=[str(f) for f in form.get("documents", [])],
            others=str(form.get("others", "")),
            deadline=str(form.get("deadline", "")),
            file_fields=requestable,
            catalogue=self.catalogue,
            today=date.today(),
        )
        errors = dict(draft.errors)
        if member.role not in DECIDING_ROLES:
            errors["text"] = "Nachrichten an Antragsteller/innen schreiben Sachbearbeitung oder Leitung."
        if locked:
            errors["text"] = locked
        if not (row["applicant"] or {}).get("account_id"):
            errors["text"] = MSG_NO_ACCOUNT
        if row["lifecycle"] != LIFECYCLE_OPEN:
            errors["text"] = closed_message(row["lifecycle"])
        elif row["status"] in CLOSED:
            errors["text"] = "Der Vorgang ist abgeschlossen; es kann keine Nachricht mehr gesendet werden."
        message_id = str(uuid.uuid4())
        sent_at = now()
        body = f"Betreff: {draft.subject}\n\n{draft.text}\n"
        ref = (
            None
            if errors
            else await self.kernel.blobs.put(
                "eakte",
                body.encode(),
                media_type="text/plain; charset=utf-8",
                filename=f"nachricht-{message_id}.txt",
            )
        )
        async with self.kernel.transaction() as uow:
            s = uow.session
            if draft.requested and not errors:
                if await self.taken(s, case_id) is not None:
                    errors["documents"] = (
                        "Der Vorgang ist entschieden; Unterlagen können nicht mehr angefordert werden."
                    )
                elif await self._open_request(s, case_id) is not None:
                    errors["documents"] = (
                        "Es ist bereits eine Nachforderung offen. Bitte warten Sie deren Antwort ab."
                    )
            if errors or ref is None:
                raise MessageRefused(Draft(**{**draft.__dict__, "errors": errors}))
            document_id = f"{MESSAGE_TYPE}-{message_id}"
            requested = [{"document_type": t, "title": title} for t, title in draft.requested]
            await s.execute(
                nachrichten.insert().values(
                    message_id=message_id,
                    case_id=case_id,
                    direction=TO_APPLICANT,
                    subject=draft.subject,
                    text=draft.text,
                    template=draft.template,
                    requested=requested,
                    deadline=draft.deadline.isoformat() if draft.deadline else "",
                    request_status=REQUEST_OPEN if requested else "",
                    documents=[document_id],
                    author=member.username,
                    at=sent_at,
                )
            )
            await self._store_document(
                uow,
                {
                    "document_id": document_id,
                    "case_id": case_id,
                    "sha256": ref.sha256,
                    "blob": msgspec.to_builtins(ref),
                    "document_type": MESSAGE_TYPE,
                    "title": f"Nachricht an Antragsteller/in: {draft.subject}"[:300],
                    "medium": "elektronisch",
                    "source": "postausgang",
                    "received_at": sent_at,
                    "text": body,
                },
            )
            details: dict[str, Any] = {"nachricht": message_id, "vorlage": draft.template}
            if requested:
                details |= {
                    "nachforderung": len(requested),
                    "frist": draft.deadline.isoformat() if draft.deadline else "",
                }
            await record(s, member.username, "nachricht_gesendet", case_id, details)
            await uow.emit(
                MessageSent(
                    case_id=case_id,
                    message_id=message_id,
                    aktenzeichen=row["aktenzeichen"],
                    subject=draft.subject,
                    text=draft.text,
                    template=draft.template,
                    requested=[RequestedDocument(**r) for r in requested],
                    deadline=draft.deadline.isoformat() if draft.deadline else "",
                    unit=row["unit"],
                    sent_by=member.staff_id,
                    sent_at=sent_at,
                ),
                subject=case_id,
            )
            if requested and draft.deadline is not None:
                _, grace = self.catalogue.days(row["service_id"])
                await uow.emit(
                    DocumentsRequested(
                        case_id=case_id,
                        request_id=message_id,
                        service_id=row["service_id"],
                        unit=row["unit"],
                        count=len(requested),
                        deadline=draft.deadline.isoformat(),
                        grace_days=float(grace),
                        requested_at=sent_at,
                    ),
                    subject=case_id,
                )
        return message_id

    @staticmethod
    async def _open_request(s: Any, case_id: str) -> dict[str, Any] | None:
        row = (
            (
                await s.execute(
                    sa.select(nachrichten).where(
                        nachrichten.c.case_id == case_id,
                        nachrichten.c.request_status.in_((REQUEST_OPEN, REQUEST_REMINDED)),
                    )
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    # -- the applicant's reply, through input management ---------------------------------

    async def file_reply(self, event: ReplyRouted, uow: UnitOfWork) -> None:
        """File the reply's text and attachments, record which Nachforderung it answers."""
        s = uow.session
        if (
            await s.execute(
                sa.select(nachrichten.c.message_id).where(nachrichten.c.message_id == event.reply_id)
            )
        ).first():
            return
        row = await self.case_row(s, event.case_id)
        if row is None:
            raise LookupError(f"case {event.case_id} is not opened yet")  # retried until it is
        body = f"Antwort der antragstellenden Person\n\n{event.text}\n"
        ref = await self.kernel.blobs.put(
            "eakte",
            body.encode(),
            media_type="text/plain; charset=utf-8",
            filename=f"antwort-{event.reply_id}.txt",
        )
        reply_doc = f"{MESSAGE_TYPE}-{event.reply_id}"
        await self._store_document(
            uow,
            {
                "document_id": reply_doc,
                "case_id": event.case_id,
                "sha256": ref.sha256,
                "blob": msgspec.to_builtins(ref),
                "document_type": MESSAGE_TYPE,
                "title": "Antwort der antragstellenden Person (Postkorb)",
                "medium": "online",
                "source": "postkorb",
                "received_at": event.received_at,
                "text": body,
            },
        )
        for doc in event.documents:
            await self._store_document(
                uow,
                {
                    "document_id": doc.document_id,
                    "case_id": event.case_id,
                    "sha256": doc.blob.sha256,
                    "blob": msgspec.to_builtins(doc.blob),
                    "document_type": doc.document_type,
                    "title": doc.title,
                    "medium": "online",
                    "source": "postkorb",
                    "received_at": event.received_at,
                    "text": doc.text,
                },
            )
        request = None
        if event.in_reply_to:
            found = (
                (await s.execute(sa.select(nachrichten).where(nachrichten.c.message_id == event.in_reply_to)))
                .mappings()
                .first()
            )
            request = (
                dict(found) if found and found["case_id"] == event.case_id and found["requested"] else None
            )
        filed = now()
        await s.execute(
            nachrichten.insert().values(
                message_id=event.reply_id,
                case_id=event.case_id,
                direction=FROM_APPLICANT,
                subject="Antwort",
                text=event.text,
                requested=[],
                in_reply_to=event.in_reply_to,
                documents=[reply_doc, *(d.document_id for d in event.documents)],
                author="antragsteller",
                at=event.received_at,
            )
        )
        asked = len(request["requested"]) if request else 0
        if request is not None and request["request_status"] in (REQUEST_OPEN, REQUEST_REMINDED):
            await s.execute(
                nachrichten.update()
                .where(nachrichten.c.message_id == request["message_id"])
                .values(request_status=REQUEST_ANSWERED, answered_at=filed)
            )
        await record(
            s,
            SYSTEM,
            "antwort_abgelegt",
            event.case_id,
            {"antwort": event.reply_id, "nachforderung": event.in_reply_to, "anlagen": len(event.documents)},
        )
        await uow.emit(
            ReplyFiled(
                case_id=event.case_id,
                reply_id=event.reply_id,
                request_id=request["message_id"] if request else "",
                documents_filed=len(event.documents),
                requested=asked,
                complete=len(event.documents) >= asked,
                filed_at=filed,
                received_at=event.received_at,
            ),
            subject=event.case_id,
        )

    # -- the workflow's deadlines -----------------------------------------------------------

    async def documents_overdue(self, event: DocumentsOverdue, uow: UnitOfWork) -> None:
        status = REQUEST_REMINDED if event.level == 1 else REQUEST_LAPSED
        await uow.session.execute(
            nachrichten.update()
            .where(
                nachrichten.c.message_id == event.request_id,
                nachrichten.c.request_status.in_((REQUEST_OPEN, REQUEST_REMINDED)),
            )
            .values(request_status=status)
        )
        action = "nachforderung_erinnert" if event.level == 1 else "nachforderung_nach_aktenlage"
        await record(
            uow.session, SYSTEM, action, event.case_id, {"frist": event.deadline, "stufe": event.level}
        )

    async def deadline_changed(self, event: DecisionDeadlineChanged, uow: UnitOfWork) -> None:
        values: dict[str, Any] = {"frist_ruht": event.paused}
        if event.due_at:
            values["due_at"] = event.due_at
        await uow.session.execute(
            vorgaenge.update().where(vorgaenge.c.case_id == event.case_id).values(**values)
        )
        action = "frist_ruht" if event.paused else "frist_laeuft"
        await record(uow.session, SYSTEM, action, event.case_id, {"frist": event.due_at})

    # -- the case page ---------------------------------------------------------------------------

    @staticmethod
    async def thread(s: Any, case_id: str) -> list[dict[str, Any]]:
        """The case's messages both ways, oldest first, with the request's state in German."""
        rows = (
            (
                await s.execute(
                    sa.select(nachrichten).where(nachrichten.c.case_id == case_id).order_by(nachrichten.c.at)
                )
            )
            .mappings()
            .all()
        )
        return [
            {
                **dict(r),
                "request_text": REQUEST_STATUS_TEXT.get(r["request_status"], ""),
                "deadline_day": date.fromisoformat(r["deadline"]) if r["deadline"] else None,
            }
            for r in rows
        ]
