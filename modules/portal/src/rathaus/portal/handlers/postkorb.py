"""The two-way Postkorb: the authority's messages arrive in the case's thread (with an e-mail
notice that says only that there is one), the citizen reads, archives and answers with text
and attachments; the answer goes to input management as ReplySubmitted.

A thread is visible exactly as its application is (the account's own, or its organisations'):
anyone else learns nothing, not even that it exists."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rathaus.contracts.eakte.v1 import MessageSent, ReplyFiled
from rathaus.contracts.platform.v1 import DocumentsOverdue
from rathaus.contracts.portal.v1 import ReplyAttachment, ReplySubmitted
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.mail import message, portal_url, send
from rathaus.portal.domain import Account
from rathaus.portal.domain.postkorb import (
    FROM_AUTHORITY,
    FROM_CITIZEN,
    Reply,
    ReplyFile,
    answerable,
    check_reply,
    due_text,
)
from rathaus.portal.handlers.base import Base, now
from rathaus.portal.handlers.organisations import visible_to
from rathaus.portal.store import accounts, applications
from rathaus.portal.store_postkorb import nachrichten

log = logging.getLogger("rathaus.portal")
NOTICE_SUBJECT = "Neue Nachricht in Ihrem Postkorb"
REMINDER_SUBJECT = "Erinnerung: Unterlagen für Ihren Antrag"


class ThreadNotFound(LookupError):
    """No such thread for this account (it may exist for someone else: say nothing)."""


class ReplyRefused(ValueError):
    def __init__(self, reply: Reply) -> None:
        super().__init__(sorted(reply.errors))
        self.reply = reply


class Messages(Base):
    # -- what arrives ------------------------------------------------------------------------

    async def on_message_sent(self, event: MessageSent, uow: UnitOfWork) -> None:
        """Put the authority's message in the thread of the case, once; notify by e-mail."""
        s = uow.session
        app = (
            (await s.execute(sa.select(applications).where(applications.c.case_id == event.case_id)))
            .mappings()
            .first()
        )
        if app is None:
            return  # not applied for in this portal
        if (
            await s.execute(
                sa.select(nachrichten.c.message_id).where(nachrichten.c.message_id == event.message_id)
            )
        ).first():
            return
        await s.execute(
            nachrichten.insert().values(
                message_id=event.message_id,
                case_id=event.case_id,
                account_id=app["account_id"],
                organisation_id=app["organisation_id"],
                direction=FROM_AUTHORITY,
                subject=event.subject[:300],
                text=event.text,
                requested=[{"document_type": r.document_type, "title": r.title} for r in event.requested],
                deadline=event.deadline,
                attachments=[],
                at=event.sent_at,
                read=False,
                archived=False,
            )
        )
        body = (
            "Guten Tag,\n\nin Ihrem Postkorb liegt eine neue Nachricht der Landeshauptstadt München "
            f"zu Ihrem Antrag mit dem Aktenzeichen {event.aktenzeichen}.\n\n"
            f"Sie lesen sie nach der Anmeldung unter {portal_url(self.kernel.settings)}/postkorb\n\n"
            "Aus Gründen des Datenschutzes steht der Inhalt nicht in dieser E-Mail.\n"
        )
        if await self._notify(s, app["account_id"], NOTICE_SUBJECT, body):
            await s.execute(
                nachrichten.update().where(nachrichten.c.message_id == event.message_id).values(notified=True)
            )

    async def on_documents_overdue(self, event: DocumentsOverdue, uow: UnitOfWork) -> None:
        """The deadline of a Nachforderung passed: remind the applicant once (level 1)."""
        if event.level != 1:
            return
        s = uow.session
        row = (
            (await s.execute(sa.select(nachrichten).where(nachrichten.c.message_id == event.request_id)))
            .mappings()
            .first()
        )
        if row is None or row["reminded"]:
            return
        aktenzeichen = (
            await s.execute(
                sa.select(applications.c.aktenzeichen).where(applications.c.case_id == event.case_id)
            )
        ).scalar()
        body = (
            "Guten Tag,\n\ndie Frist für die angeforderten Unterlagen zu Ihrem Antrag "
            f"{aktenzeichen or ''} ist abgelaufen. Bitte laden Sie sie bald in Ihrem Postkorb hoch: "
            f"{portal_url(self.kernel.settings)}/antraege/{event.case_id}#nachrichten\n\n"
            "Gehen sie nicht ein, entscheiden wir nach Aktenlage.\n"
        )
        await self._notify(s, row["account_id"], REMINDER_SUBJECT, body)
        await s.execute(
            nachrichten.update().where(nachrichten.c.message_id == event.request_id).values(reminded=True)
        )

    async def on_reply_filed(self, event: ReplyFiled, uow: UnitOfWork) -> None:
        """The E-Akte filed the citizen's reply: the thread shows it as received."""
        await uow.session.execute(
            nachrichten.update().where(nachrichten.c.message_id == event.reply_id).values(state="abgelegt")
        )

    async def _notify(self, s: Any, account_id: str, subject: str, body: str) -> bool:
        """E-mail the account; raises when the server is away (the event comes again)."""
        if self.kernel.settings.smtp.host is None:
            log.warning("no SMTP server configured: Postkorb notice not sent")
            return False
        email = (
            await s.execute(sa.select(accounts.c.email).where(accounts.c.account_id == account_id))
        ).scalar()
        if not email:
            return False
        await send(self.kernel.settings, message(self.kernel.settings, email, subject, body))
        return True

    # -- what the citizen sees ---------------------------------------------------------------

    async def threads_of(self, account: Account, *, archived: bool = False) -> list[dict[str, Any]]:
        """One entry per case with messages: its newest message, unread count, open request."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(nachrichten, applications.c.aktenzeichen, applications.c.service_id)
                        .join(applications, applications.c.case_id == nachrichten.c.case_id)
                        .where(visible_to(nachrichten, account.account_id))
                        .order_by(nachrichten.c.at)
                    )
                )
                .mappings()
                .all()
            )
        threads: dict[str, dict[str, Any]] = {}
        today = date.today()
        for r in rows:
            t = threads.setdefault(
                r["case_id"],
                {
                    "case_id": r["case_id"],
                    "aktenzeichen": r["aktenzeichen"],
                    "service_id": r["service_id"],
                    "unread": 0,
                    "count": 0,
                    "archived": True,
                    "due": "",
                },
            )
            t["count"] += 1
            t["unread"] += 0 if r["read"] else 1
            t["archived"] = t["archived"] and r["archived"]
            t["last"] = dict(r)
            if r["direction"] == FROM_AUTHORITY and r["requested"]:
                t["due"] = due_text(r["deadline"], today)
        shown = [t for t in threads.values() if t["archived"] == archived]
        return sorted(shown, key=lambda t: t["last"]["at"], reverse=True)

    async def thread(self, account: Account, case_id: str, *, mark_read: bool = True) -> list[dict[str, Any]]:
        """The case's messages, oldest first, marked read as they are shown; raises
        ThreadNotFound unless the application is this account's or its organisations'."""
        async with self.kernel.db.session() as s:
            visible = (
                await s.execute(
                    sa.select(applications.c.case_id).where(
                        applications.c.case_id == case_id, visible_to(applications, account.account_id)
                    )
                )
            ).first()
            if visible is None:
                raise ThreadNotFound(case_id)
            rows = (
                (
                    await s.execute(
                        sa.select(nachrichten)
                        .where(nachrichten.c.case_id == case_id)
                        .order_by(nachrichten.c.at)
                    )
                )
                .mappings()
                .all()
            )
            unread = [r["message_id"] for r in rows if not r["read"]]
            if mark_read and unread:
                await s.execute(
                    nachrichten.update().where(nachrichten.c.message_id.in_(unread)).values(read=True)
                )
        today = date.today()
        return [
            {**dict(r), "due": due_text(r["deadline"], today), "new": r["message_id"] in unread} for r in rows
        ]

    async def archive_thread(self, account: Account, case_id: str, archived: bool = True) -> None:
        """Archive (or bring back) a thread: nothing is deleted."""
        async with self.kernel.db.session() as s:
            result = await s.execute(
                nachrichten.update()
                .where(nachrichten.c.case_id == case_id, visible_to(nachrichten, account.account_id))
                .values(archived=archived)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise ThreadNotFound(case_id)

    # -- the citizen answers -------------------------------------------------------------------

    async def reply(
        self,
        account: Account,
        case_id: str,
        *,
        reply_id: str,
        in_reply_to: str,
        text: str,
        files: list[ReplyFile],
    ) -> bool:
        """Answer in the case's thread; the attachments checked as an application's are.
        Returns False when this reply id was sent before (a double click: nothing new).
        Raises ThreadNotFound or ReplyRefused (German messages by field)."""
        try:
            reply_id = str(uuid.UUID(reply_id))
        except ValueError:
            reply_id = str(uuid.uuid4())
        async with self.kernel.db.read() as s:
            app = (
                (
                    await s.execute(
                        sa.select(applications).where(
                            applications.c.case_id == case_id, visible_to(applications, account.account_id)
                        )
                    )
                )
                .mappings()
                .first()
            )
            if app is None:
                raise ThreadNotFound(case_id)
            before = (
                await s.execute(sa.select(nachrichten.c.case_id).where(nachrichten.c.message_id == reply_id))
            ).scalar()
            if before is not None:
                if before != case_id:
                    raise ThreadNotFound(case_id)
                return False
            asked = None
            if in_reply_to:
                asked = (
                    await s.execute(
                        sa.select(nachrichten.c.message_id).where(
                            nachrichten.c.message_id == in_reply_to,
                            nachrichten.c.case_id == case_id,
                            nachrichten.c.direction == FROM_AUTHORITY,
                        )
                    )
                ).scalar()
        checked = await asyncio.to_thread(check_reply, text, files, app["status"])  # decodes: off the loop
        if checked.errors:
            raise ReplyRefused(checked)
        stored = []
        for f in checked.files:
            ref = await self.kernel.blobs.put(
                "portal", f.file.data, media_type=f.media_type, filename=f.filename
            )
            stored.append((f, ref))
        at = now()
        try:
            async with self.kernel.transaction() as uow:
                await uow.session.execute(
                    nachrichten.insert().values(
                        message_id=reply_id,
                        case_id=case_id,
                        account_id=account.account_id,
                        organisation_id=app["organisation_id"],
                        direction=FROM_CITIZEN,
                        subject="Ihre Antwort",
                        text=checked.text,
                        requested=[],
                        in_reply_to=asked or "",
                        attachments=[
                            {
                                "title": f.file.title,
                                "filename": f.filename,
                                "size": ref.size,
                                "media_type": ref.media_type,
                            }
                            for f, ref in stored
                        ],
                        state="gesendet",
                        at=at,
                        read=True,
                        archived=False,
                    )
                )
                await uow.emit(
                    ReplySubmitted(
                        case_id=case_id,
                        reply_id=reply_id,
                        in_reply_to=asked or "",
                        account_id=account.account_id,
                        text=checked.text,
                        attachments=[
                            ReplyAttachment(document_type=f.file.document_type, title=f.file.title, blob=ref)
                            for f, ref in stored
                        ],
                        submitted_at=at,
                    ),
                    subject=case_id,
                )
        except IntegrityError:
            return False  # the other click of a double click was first
        log.info("reply %s to case %s with %d attachment(s)", reply_id, case_id, len(stored))
        return True

    async def answerable(self, account: Account, case_id: str) -> bool:
        async with self.kernel.db.read() as s:
            status = (
                await s.execute(
                    sa.select(applications.c.status).where(
                        applications.c.case_id == case_id, visible_to(applications, account.account_id)
                    )
                )
            ).scalar()
        return status is not None and answerable(status)
