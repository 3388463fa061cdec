"""E-mail through SMTP, for every module that writes to people (notifications, invitations).

Without a configured ``smtp.host``, ``rathaus up`` runs a local SMTP server that keeps what
it is sent in a Maildir under the data directory.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from rathaus.platform.kernel.settings import Settings


def message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from the city's sender address."""
    out = EmailMessage()
    out["From"] = settings.smtp.sender
    out["To"] = to
    out["Subject"] = subject
    out.set_content(body)
    return out


def portal_url(settings: Settings) -> str:
    """The URL citizens reach the portal at (for links in e-mails)."""
    return settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"


async def send(settings: Settings, mail: EmailMessage) -> None:
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
