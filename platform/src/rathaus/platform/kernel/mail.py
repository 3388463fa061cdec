"""E-mail through SMTP, for every module that writes to people (notifications, invitations).

Without a configured ``smtp.host``, ``rathaus up`` runs a local SMTP server that keeps what
it is sent in a Maildir under the data directory.
"""

from __future__ import annotations

import email.encoders
import email.policy
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import formataddr, parseaddr

import aiosmtplib

from rathaus.platform.kernel.settings import Settings

# The message is built with the standard library's compat32 MIME classes, not EmailMessage:
# the modern policy parses every header it is given into a structured object, and composing
# a booking confirmation with its calendar file took 1.9 ms that way against 0.46 ms here,
# on the hot path of an appointment booking (BENCHMARKS.md, 2026-12-01). What goes out is
# the same MIME: UTF-8 text quoted-printable, non-ASCII headers as encoded words (RFC 2047),
# attachments in base64.
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = QP
_UTF8.body_encoding = QP
SMTP_COMPAT32 = email.policy.compat32.clone(linesep="\r\n")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str  # "text/calendar", "application/pdf"
    params: dict[str, str] = field(default_factory=dict)  # of the Content-Type: {"method": "REQUEST"}


def _header(value: str) -> str:
    """ASCII words as they are; from the first other one on, encoded words (as the modern
    policy writes them: "Einladung: =?utf-8?q?f=C3=BCr…?=")."""
    if value.isascii():
        return value
    words = value.split(" ")
    first = next(i for i, word in enumerate(words) if not word.isascii())
    head = " ".join(words[:first])
    encoded = Header(" ".join(words[first:]), _UTF8, header_name="Subject", continuation_ws=" ").encode()
    return f"{head} {encoded}" if head else encoded


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), "utf-8") if name else address


def message(
    settings: Settings, to: str, subject: str, body: str, attachments: Sequence[Attachment] = ()
) -> Message:
    """A plain-text message from the city's sender address, with ``attachments``."""
    text = MIMENonMultipart("text", "plain", charset="utf-8")
    text.set_payload(body, _UTF8)
    out: Message = text
    if attachments:
        # a boundary of our own: the generator's would compile a regular expression for each
        # new one to search the text for it; "=_" cannot occur in quoted-printable or base64
        # parts, which all of ours are
        out = MIMEMultipart(boundary=f"=_{secrets.token_hex(16)}")
        out.attach(text)
        for attachment in attachments:
            maintype, subtype = attachment.mimetype.split("/", 1)
            part = MIMENonMultipart(maintype, subtype)
            for name, value in attachment.params.items():
                part.set_param(name, value)
            part.set_payload(attachment.content)
            email.encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            out.attach(part)
    out["From"] = _address(settings.smtp.sender)
    out["To"] = _address(to)
    out["Subject"] = _header(subject)
    return out


def as_smtp_bytes(mail: Message) -> bytes:
    """The message as it goes over SMTP (CRLF line ends), in its own policy."""
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def portal_url(settings: Settings) -> str:
    """The URL citizens reach the portal at (for links in e-mails)."""
    return settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"


async def send(settings: Settings, mail: Message) -> None:
    """Send one message; raises when the server cannot be reached (callers retry later)."""
    smtp = settings.smtp
    if smtp.host is None:
        raise ConnectionError("no SMTP server configured")
    await aiosmtplib.send(
        mail,
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.user,
        password=smtp.password,
        start_tls=smtp.starttls,
        timeout=15,
    )
