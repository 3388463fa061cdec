"""Notification e-mails through SMTP: only that a document is waiting, never its content."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from rathaus.platform.kernel.settings import Settings

SUBJECT = "Neues Dokument in Ihrem Postkorb"


def notification(settings: Settings, to: str, aktenzeichen: str) -> EmailMessage:
    base = settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"
    message = EmailMessage()
    message["From"] = settings.smtp.sender
    message["To"] = to
    message["Subject"] = SUBJECT
    message.set_content(
        "Guten Tag,\n\n"
        "in Ihrem Postkorb im Bürgerportal liegt ein neues Dokument der Stadtverwaltung "
        f"(Aktenzeichen {aktenzeichen}).\n\n"
        f"Sie finden es nach der Anmeldung unter {base}/postkorb\n\n"
        "Aus Gründen des Datenschutzes enthält diese E-Mail keine Inhalte des Dokuments.\n\n"
        "Mit freundlichen Grüßen\nIhre Stadtverwaltung\n"
    )
    return message


async def send(settings: Settings, message: EmailMessage) -> None:
    smtp = settings.smtp
    await aiosmtplib.send(
        message,
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.user,
        password=smtp.password,
        start_tls=smtp.starttls,
        timeout=15,
    )
