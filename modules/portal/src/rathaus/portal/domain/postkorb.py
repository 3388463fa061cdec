"""Rules of the Postkorb's threads: who may answer when, what a reply may carry. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from rathaus.portal.domain.forms import check_file, safe_filename

FROM_AUTHORITY, FROM_CITIZEN = "behoerde", "buerger"
REPLY_MEDIA = ("application/pdf", "image/png", "image/jpeg")  # as a form's file field by default
REPLY_MAX_BYTES = 10 * 1024 * 1024
MAX_REPLY = 10_000  # characters
MAX_ATTACHMENTS = 10
OTHER = "nachreichung"  # the document type of an attachment that answers no requested document
CLOSED = ("zugestellt",)  # the case's statuses after which the thread only shows what was
MSG_CLOSED = "Der Vorgang ist abgeschlossen. Bitte wenden Sie sich bei Fragen an die zuständige Stelle."
MSG_EMPTY = "Bitte schreiben Sie eine Antwort oder fügen Sie eine Datei an."
MSG_TOO_LONG = f"Ihre Antwort darf höchstens {MAX_REPLY} Zeichen lang sein."
MSG_TOO_MANY = f"Bitte fügen Sie höchstens {MAX_ATTACHMENTS} Dateien an."


@dataclass(frozen=True)
class ReplyFile:
    slot: str  # the form field it came from (the error's key)
    document_type: str
    title: str  # what it answers, e.g. the requested document's name
    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    file: ReplyFile
    media_type: str
    filename: str


@dataclass(frozen=True)
class Reply:
    text: str
    files: list[CheckedFile] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def answerable(case_status: str) -> bool:
    """A thread can be answered while its case runs."""
    return case_status not in CLOSED


def check_reply(text: str, files: list[ReplyFile], case_status: str) -> Reply:
    """The citizen's reply, checked as an application's uploads are (size, type by content,
    a PDF or image that opens); German messages by form field, nothing kept of a bad file."""
    text = text.replace("\r\n", "\n").strip()
    errors: dict[str, str] = {}
    checked: list[CheckedFile] = []
    if not answerable(case_status):
        return Reply(text, [], {"text": MSG_CLOSED})
    if len(text) > MAX_REPLY:
        errors["text"] = MSG_TOO_LONG
    if len(files) > MAX_ATTACHMENTS:
        errors["weitere"] = MSG_TOO_MANY
    for f in files[:MAX_ATTACHMENTS]:
        message, media = check_file(f.data, REPLY_MEDIA, REPLY_MAX_BYTES)
        if message:
            errors.setdefault(f.slot, f"{f.filename or f.title}: {message}")
        else:
            checked.append(CheckedFile(f, media, safe_filename(f.filename)))
    if not text and not files:
        errors["text"] = MSG_EMPTY
    return Reply(text, checked, errors)


def due_text(deadline: str, today: date) -> str:
    """How the thread names a Nachforderung's deadline."""
    if not deadline:
        return ""
    day = date.fromisoformat(deadline)
    left = (day - today).days
    shown = day.strftime("%d.%m.%Y")
    if left < 0:
        return f"Frist abgelaufen am {shown}"
    if left == 0:
        return f"Frist endet heute ({shown})"
    return f"Frist bis {shown} (noch {left} Tag{'e' if left != 1 else ''})"
