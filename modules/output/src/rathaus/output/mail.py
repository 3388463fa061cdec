"""E-mails of output management: the notification that a document waits in the Postkorb
(never its content), and the Bescheid itself for recipients without a Postkorb; sent from
the bescheide table, each at most once, retried while the mail server is away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import aiosmtplib
import msgspec
import sqlalchemy as sa

from rathaus.contracts.common import BlobRef
from rathaus.output.domain import CITY, EMAIL
from rathaus.output.store import bescheide
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.mail import Attachment, message, portal_url, send
from rathaus.platform.kernel.settings import Settings

log = logging.getLogger("rathaus.output")

MAIL_LEASE = timedelta(minutes=2)  # a claimed mail is tried again after this if its sender died
MAIL_RETRY_BASE = 30.0  # seconds before the first retry; doubled each time
MAIL_BACKOFF_MAX = 900.0  # at most this long between attempts while the mail server is away
MAIL_POLL_SECONDS = 30.0  # a mail round at least this often (more often when a delivery wakes it)
SUBJECT = "Neues Dokument in Ihrem Postkorb"
BESCHEID_SUBJECT = "Ihr Bescheid, Aktenzeichen {aktenzeichen}"


def notification(settings: Settings, to: str, aktenzeichen: str) -> Message:
    return message(
        settings,
        to,
        SUBJECT,
        "Guten Tag,\n\n"
        "in Ihrem Postkorb im Bürgerportal liegt ein neues Dokument der Stadtverwaltung "
        f"(Aktenzeichen {aktenzeichen}).\n\n"
        f"Sie finden es nach der Anmeldung unter {portal_url(settings)}/postkorb\n\n"
        "Aus Gründen des Datenschutzes enthält diese E-Mail keine Inhalte des Dokuments.\n\n"
        "Mit freundlichen Grüßen\nIhre Stadtverwaltung\n",
    )


def bescheid_mail(settings: Settings, to: str, aktenzeichen: str, pdf: bytes) -> Message:
    """The sealed PDF as an attachment; the text repeats nothing of its content."""
    return message(
        settings,
        to,
        BESCHEID_SUBJECT.format(aktenzeichen=aktenzeichen),
        "Guten Tag,\n\n"
        f"im Anhang erhalten Sie den Bescheid der {CITY} zu Ihrem Antrag "
        f"(Aktenzeichen {aktenzeichen}).\n\n"
        "Der Bescheid ist ein PDF-Dokument mit dem elektronischen Siegel der Stadt; "
        "er ist ohne Unterschrift gültig. Bitte bewahren Sie ihn auf.\n\n"
        "Bitte antworten Sie nicht auf diese E-Mail. Wie Sie gegen den Bescheid vorgehen "
        "können, steht in seiner Rechtsbehelfsbelehrung.\n\n"
        "Mit freundlichen Grüßen\nIhre Stadtverwaltung\n",
        [Attachment(f"Bescheid-{aktenzeichen}.pdf", pdf, "application/pdf")],
    )


def permanent(error: BaseException) -> bool:
    """The mail server refused this message for good (5xx for the recipient or the content,
    e.g. an unknown address): trying again cannot help. Anything else (no connection, a
    timeout, a 4xx, a refused login or sender, which an operator can fix) may pass later."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(500 <= r.code < 600 for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return 500 <= error.code < 600
    return False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Mailer:
    """Sends what the bescheide table marks ``pending``; ``wake`` starts a round at once."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.wakeup = asyncio.Event()

    def wake(self) -> None:
        self.wakeup.set()

    async def send_pending_mails(self) -> int:
        """Send the e-mails not yet sent: the notification of a Postkorb delivery, or the
        Bescheid itself. Each is claimed first, so two replicas never both send it; one that
        fails because the server is away is tried again later. Returns how many went out."""
        if self.kernel.settings.smtp.host is None:
            return 0
        now = _now()
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(
                            bescheide.c.case_id,
                            bescheide.c.mail_to,
                            bescheide.c.aktenzeichen,
                            bescheide.c.channel,
                            bescheide.c.document,
                            bescheide.c.mail_attempts,
                        ).where(
                            bescheide.c.mail_status.in_(("pending", "sending")),
                            sa.or_(bescheide.c.mail_next_at.is_(None), bescheide.c.mail_next_at <= now),
                        )
                    )
                )
                .mappings()
                .all()
            )
        sent = 0
        for row in rows:
            if await self._claim(row["case_id"]):
                sent += await self._send_one(row)
        return sent

    async def _claim(self, case_id: str) -> bool:
        now = datetime.now(UTC)
        async with self.kernel.db.session() as s:
            claimed = await s.execute(
                bescheide.update()
                .where(
                    bescheide.c.case_id == case_id,
                    bescheide.c.mail_status.in_(("pending", "sending")),
                    sa.or_(bescheide.c.mail_next_at.is_(None), bescheide.c.mail_next_at <= _now()),
                )
                .values(
                    mail_status="sending", mail_next_at=(now + MAIL_LEASE).isoformat(timespec="microseconds")
                )
            )
        return bool(getattr(claimed, "rowcount", 0))

    async def _send_one(self, row: Any) -> int:
        settings = self.kernel.settings
        status, attempts = "sent", row["mail_attempts"] + 1
        next_at: str | None = None
        try:
            if row["channel"] == EMAIL:
                pdf = await self.kernel.blobs.get(msgspec.convert(row["document"], BlobRef))
                mail = bescheid_mail(settings, row["mail_to"], row["aktenzeichen"], pdf)
            else:
                mail = notification(settings, row["mail_to"], row["aktenzeichen"])
            await send(settings, mail)
        except Exception as exc:
            if permanent(exc):
                status = "failed"
                log.error("the mail server refused the e-mail of a delivery for good: %s", type(exc).__name__)
            else:  # the mail server may be down: try again later
                status = "pending"
                wait = min(MAIL_RETRY_BASE * 2 ** (attempts - 1), MAIL_BACKOFF_MAX)
                next_at = (datetime.now(UTC) + timedelta(seconds=wait)).isoformat(timespec="microseconds")
                log.warning("the e-mail of a delivery could not be sent yet: %s", type(exc).__name__)
        async with self.kernel.db.session() as s:
            await s.execute(
                bescheide.update()
                .where(bescheide.c.case_id == row["case_id"])
                .values(mail_status=status, mail_attempts=attempts, mail_next_at=next_at)
            )
        return 1 if status == "sent" else 0

    async def mail_loop(self) -> None:
        while True:
            self.wakeup.clear()  # before the round, so a delivery during it is not missed
            try:
                await self.send_pending_mails()
            except Exception:
                log.exception("mail round failed")
            with contextlib.suppress(TimeoutError):  # retries are due without a wake-up
                await asyncio.wait_for(self.wakeup.wait(), timeout=MAIL_POLL_SECONDS)
