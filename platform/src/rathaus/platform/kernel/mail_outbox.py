"""E-mails written in a module's transaction and sent afterwards, with retries.

A page that books, invites or notifies commits the e-mail with its own change
(:meth:`MailOutbox.queue` inside the same session) and answers at once; the kernel sends
it in the background, again with a growing pause while the mail server is away, and
marks it failed for good only when the server refuses the recipient or the content. So
no e-mail is lost when the server is down at that moment, and the request does not pay
for building MIME parts and a round trip to the server (about a tenth of an appointment
booking's time, BENCHMARKS.md 2026-11-30).

Once sent (or refused for good) the message itself is dropped from the table: it may hold
a personal link (a manage-your-appointment token) that must not outlive its delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
import uuid
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import aiosmtplib
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.platform.kernel.db import Database
from rathaus.platform.kernel.mail import SMTP_COMPAT32, as_smtp_bytes, send
from rathaus.platform.kernel.settings import Settings

log = logging.getLogger("rathaus.mail")

mail_outbox = sa.Table(
    "rathaus_mail_outbox",
    sa.MetaData(),
    sa.Column("mail_id", sa.String(36), primary_key=True),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("ref", sa.String(64), nullable=False),
    sa.Column("message", sa.LargeBinary(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_at", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("settled_at", sa.String(40), nullable=True),
    sa.Column("error", sa.String(100), nullable=True),
)

LEASE = timedelta(minutes=2)  # a claimed mail is tried again after this if its sender died
RETRY_BASE = 30.0  # seconds before the first retry; doubled each time
BACKOFF_MAX = 900.0  # at most this long between attempts while the mail server is away
IDLE_POLL = 30.0  # seconds between looks at the table when nobody wakes the sender
BATCH = 20


def permanent(error: BaseException) -> bool:
    """The mail server refused this message for good (5xx for the recipient or the content,
    e.g. an unknown address): trying again cannot help. Anything else (no connection, a
    timeout, a 4xx, a refused login or sender, which an operator can fix) may pass later."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(500 <= r.code < 600 for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return 500 <= error.code < 600
    return False


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class MailOutbox:
    """One module's queue of e-mails in its own database."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False

    async def queue(self, session: AsyncSession, mail: Message, *, purpose: str, ref: str) -> str:
        """Add ``mail`` in the caller's transaction; it goes out after that commits."""
        mail_id = str(uuid.uuid4())
        now = _stamp(datetime.now(UTC))
        await session.execute(
            mail_outbox.insert().values(
                mail_id=mail_id,
                purpose=purpose,
                ref=ref,
                message=as_smtp_bytes(mail),
                status="pending",
                attempts=0,
                next_at=now,
                created_at=now,
            )
        )
        event.listen(session.sync_session, "after_commit", lambda _s: self._wake.set(), once=True)
        return mail_id

    async def sent(self, ref: str, purpose: str | None = None) -> bool:
        """Has a mail about ``ref`` (of that purpose) gone out?"""
        query = sa.select(mail_outbox.c.mail_id).where(
            mail_outbox.c.ref == ref, mail_outbox.c.status == "sent"
        )
        if purpose is not None:
            query = query.where(mail_outbox.c.purpose == purpose)
        async with self.db.read() as s:
            return (await s.execute(query.limit(1))).first() is not None

    async def backlog(self) -> dict[str, int]:
        """Mails waiting and mails refused for good, for /health."""
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    sa.select(mail_outbox.c.status, sa.func.count())
                    .where(mail_outbox.c.status.in_(("pending", "sending", "failed")))
                    .group_by(mail_outbox.c.status)
                )
            ).all()
        counts: dict[str, int] = {status: count for status, count in rows}
        return {
            "waiting": counts.get("pending", 0) + counts.get("sending", 0),
            "failed": counts.get("failed", 0),
        }

    async def send_due(self) -> int:
        """Send what is due now; returns how many went out."""
        now = datetime.now(UTC)
        async with self.db.read() as s:
            due = (
                (
                    await s.execute(
                        sa.select(mail_outbox.c.mail_id)
                        .where(
                            mail_outbox.c.status.in_(("pending", "sending")),
                            mail_outbox.c.next_at <= _stamp(now),
                        )
                        .order_by(mail_outbox.c.next_at)
                        .limit(BATCH)
                    )
                )
                .scalars()
                .all()
            )
        sent = 0
        for mail_id in due:
            row = await self._claim(mail_id)
            if row is not None:
                sent += await self._send_one(row)
        return sent

    async def _claim(self, mail_id: str) -> Any:
        now = datetime.now(UTC)
        async with self.db.session() as s:
            claimed = await s.execute(
                mail_outbox.update()
                .where(
                    mail_outbox.c.mail_id == mail_id,
                    mail_outbox.c.status.in_(("pending", "sending")),
                    mail_outbox.c.next_at <= _stamp(now),
                )
                .values(status="sending", next_at=_stamp(now + LEASE))
            )
            if not getattr(claimed, "rowcount", 0):
                return None  # another sender (a replica) took it
            return (
                (await s.execute(sa.select(mail_outbox).where(mail_outbox.c.mail_id == mail_id)))
                .mappings()
                .one()
            )

    async def _send_one(self, row: Any) -> int:
        attempts = row["attempts"] + 1
        values: dict[str, Any] = {"attempts": attempts}
        now = datetime.now(UTC)
        try:
            mail = email.message_from_bytes(row["message"], policy=SMTP_COMPAT32)  # as stored
            await send(self.settings, mail)
        except Exception as exc:
            values["error"] = type(exc).__name__
            if permanent(exc):
                values.update(status="failed", message=None, settled_at=_stamp(now))
                log.error(
                    "the mail server refused an e-mail (%s) for good: %s", row["purpose"], type(exc).__name__
                )
            else:
                wait = min(RETRY_BASE * 2 ** (attempts - 1), BACKOFF_MAX)
                values.update(status="pending", next_at=_stamp(now + timedelta(seconds=wait)))
                log.warning("an e-mail (%s) could not be sent yet: %s", row["purpose"], type(exc).__name__)
        else:
            values.update(status="sent", message=None, settled_at=_stamp(now), error=None)
        async with self.db.session() as s:
            await s.execute(
                mail_outbox.update().where(mail_outbox.c.mail_id == row["mail_id"]).values(**values)
            )
        return 1 if values["status"] == "sent" else 0

    async def _pause(self) -> float:
        async with self.db.read() as s:
            first = (
                await s.execute(
                    sa.select(sa.func.min(mail_outbox.c.next_at)).where(
                        mail_outbox.c.status.in_(("pending", "sending"))
                    )
                )
            ).scalar()
        if first is None:
            return IDLE_POLL
        return max(0.0, min(IDLE_POLL, (datetime.fromisoformat(first) - datetime.now(UTC)).total_seconds()))

    async def run(self) -> None:
        """Send until :meth:`stop`; woken by every commit that queued a mail."""
        while not self._stopping:
            self._wake.clear()  # before the round, so a mail queued during it is not missed
            pause = IDLE_POLL
            try:
                await self.send_due()
                pause = await self._pause()
            except Exception:
                log.exception("sending queued e-mails failed; trying again")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
