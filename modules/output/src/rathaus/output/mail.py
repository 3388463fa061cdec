"""Notification e-mails: only that a document is waiting, never its content."""

from __future__ import annotations

from email.message import EmailMessage

from rathaus.platform.kernel.mail import message, portal_url, send
from rathaus.platform.kernel.settings import Settings

SUBJECT = "Neues Dokument in Ihrem Postkorb"


def notification(settings: Settings, to: str, aktenzeichen: str) -> EmailMessage:
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


__all__ = ["SUBJECT", "notification", "send"]
