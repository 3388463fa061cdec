"""Rules of input management: what a document is, where a letter goes, what a file may be.

Plain Python: no framework, no I/O. The procedures (services as data) are handed in,
so a new service with ``classify_keywords`` needs no change here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from rathaus.contracts.aktenzeichen import find as find_aktenzeichen


class Service(Protocol):
    """What a letter's suggestion needs to know of a procedure."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def classify_keywords(self) -> Sequence[str]: ...


# Namespace of the document ids: uuid5 of where a document came from and its SHA-256,
# so the same bytes arriving twice (a redelivered event, a file dropped again) are one document.
DOCUMENT_NAMESPACE = uuid.UUID("5b0f1c52-6a53-4d55-9a3e-2f6b1f0e7c01")
MAX_BYTES = 20 * 1024 * 1024  # a scanned letter: 300 dpi, many pages
MAX_PAGES = 30
MAX_TEXT = 400_000  # characters of text an event carries (NATS messages stay below 1 MB)
MEDIA_TYPES = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
}
LETTER = "schreiben"


@dataclass(frozen=True)
class DocumentType:
    label: str
    keywords: tuple[str, ...] = ()


# Order matters only on a tie: the more specific evidence first, the generic letter last.
DOCUMENT_TYPES: dict[str, DocumentType] = {
    "fahrzeugschein": DocumentType(
        "Zulassungsbescheinigung Teil I (Fahrzeugschein)",
        ("zulassungsbescheinigung", "fahrzeugschein"),
    ),
    "meldebescheinigung": DocumentType("Meldebescheinigung", ("meldebescheinigung",)),
    "personalausweis": DocumentType("Personalausweis", ("personalausweis", "identity card")),
    "reisepass": DocumentType("Reisepass", ("reisepass",)),
    "vollmacht": DocumentType("Vollmacht", ("vollmacht", "bevollmächtige")),
    "widerspruch": DocumentType(
        "Widerspruch", ("lege ich widerspruch", "widerspruch gegen", "widerspruch ein")
    ),
    "zahlungsnachweis": DocumentType(
        "Zahlungsnachweis", ("zahlungsbeleg", "überweisungsbeleg", "kontoauszug")
    ),
    "nachweis": DocumentType("Nachweis"),
    LETTER: DocumentType("Schreiben"),
}


def normalise(text: str) -> str:
    """Text for keyword rules: case-folded, words split at a line break joined, spaces collapsed."""
    joined = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", joined).casefold()


def _hits(text: str, keywords: Iterable[str]) -> int:
    return sum(text.count(k.casefold()) for k in keywords)


def type_label(document_type: str) -> str:
    known = DOCUMENT_TYPES.get(document_type)
    if known is not None:
        return known.label
    return document_type.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Classification:
    document_type: str
    verdict: Literal["bestätigt", "korrigiert", "übernommen"]  # what the text did to the hint

    @property
    def label(self) -> str:
        return type_label(self.document_type)


def classify(text: str, hint: str = "") -> Classification:
    """The document type by rules: the hint (an attachment's kind, or "schreiben" for a
    letter) stands when its keywords are in the text; another type whose keywords are
    there corrects it; with no keyword at all the hint is taken over."""
    hint = hint or LETTER
    norm = normalise(text)
    hits = {t: _hits(norm, d.keywords) for t, d in DOCUMENT_TYPES.items() if d.keywords}
    found = {t: n for t, n in hits.items() if n}
    if hint in found:
        return Classification(hint, "bestätigt")
    if found:
        best = max(found, key=lambda t: found[t])  # max keeps the first on a tie
        return Classification(best, "korrigiert")
    return Classification(hint, "übernommen")


@dataclass(frozen=True)
class Suggestion:
    service_id: str
    title: str
    unit: str
    score: int


def suggest(text: str, procedures: Mapping[str, Service]) -> Suggestion | None:
    """The service a letter most likely belongs to, by the procedures' ``classify_keywords``."""
    norm = normalise(text)
    best: Suggestion | None = None
    for proc in procedures.values():
        score = _hits(norm, proc.classify_keywords)
        if score and (best is None or score > best.score):
            best = Suggestion(proc.id, proc.title, proc.unit, score)
    return best


@dataclass(frozen=True)
class KnownCase:
    case_id: str
    aktenzeichen: str
    unit: str
    service_id: str


@dataclass(frozen=True)
class Route:
    """Where a letter goes: into a running case, waiting for a case not yet heard of, or triage."""

    kind: Literal["case", "waiting", "triage"]
    case: KnownCase | None = None
    aktenzeichen: tuple[str, ...] = ()  # every Aktenzeichen found in the text
    reason: str = ""


def route_letter(text: str, known: Mapping[str, KnownCase]) -> Route:
    """Route a letter by the Aktenzeichen in its text.

    One known case among them: into that case. Several different known cases: a person
    decides (triage). Only Aktenzeichen nobody has told us of yet: wait for their
    CaseOpened. None at all: triage."""
    found = tuple(find_aktenzeichen(text))
    cases = [known[az] for az in found if az in known]
    distinct = {c.case_id: c for c in cases}
    if len(distinct) == 1:
        return Route("case", cases[0], found)
    if len(distinct) > 1:
        return Route("triage", None, found, "Der Brief nennt mehrere laufende Vorgänge.")
    if found:
        return Route("waiting", None, found, "Der Vorgang zum Aktenzeichen ist noch nicht bekannt.")
    return Route("triage", None, found, "Im Brief wurde kein Aktenzeichen erkannt.")


def document_id(origin: str, sha256: str) -> str:
    """Deterministic id: ``origin`` is the case id of an online submission or "papier"."""
    return str(uuid.uuid5(DOCUMENT_NAMESPACE, f"{origin}:{sha256}"))


_BETREFF = re.compile(
    r"^[ \t]*(?:betreff|betrifft|betr\.)[ \t]*:?[ \t]*(\S.*)$", re.IGNORECASE | re.MULTILINE
)


def online_title(label: str, procedure_title: str) -> str:
    return f"{label} zum Antrag „{procedure_title}“"


def letter_title(text: str, label: str) -> str:
    """The Betreff of a letter: its own "Betreff:" line when it has one."""
    match = _BETREFF.search(text)
    if match:
        subject = re.sub(r"\s+", " ", match.group(1)).strip()
        if len(subject) > 120:
            subject = subject[:119].rstrip() + "…"
        return subject
    return f"{label} (Papierpost)"


EXAMPLE_AKTENZEICHEN = "523.11-2026-000042"
MAX_TITLE = 200


@dataclass(frozen=True)
class Assignment:
    """A person's assignment of a letter to a case, as entered; ``errors`` by field, German."""

    aktenzeichen: str
    document_type: str
    title: str
    errors: dict[str, str]


def validate_assignment(aktenzeichen: str, document_type: str, title: str) -> Assignment:
    errors: dict[str, str] = {}
    entered = aktenzeichen.strip()
    found = find_aktenzeichen(entered)
    canonical = found[0] if len(found) == 1 else entered
    if not entered:
        errors["aktenzeichen"] = "Bitte geben Sie das Aktenzeichen des Vorgangs ein."
    elif len(found) != 1 or len(entered) > 40:
        errors["aktenzeichen"] = (
            f"Das Aktenzeichen hat nicht das erwartete Format, zum Beispiel {EXAMPLE_AKTENZEICHEN}."
        )
    if document_type not in DOCUMENT_TYPES:
        errors["document_type"] = "Bitte wählen Sie eine Dokumentart aus der Liste."
    title = " ".join(title.split())
    if not title:
        errors["title"] = "Bitte geben Sie einen Betreff ein."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Der Betreff darf höchstens {MAX_TITLE} Zeichen lang sein."
    return Assignment(canonical, document_type, title, errors)


# -- files -----------------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The media type by magic bytes (never by file name), or None."""
    if data.startswith(b"%PDF-") or (b"%PDF-" in data[:1024]):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    return None


class UnreadableFile(ValueError):
    """A file input management does not take; the message is German and says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",")


def check_size(size: int, limit: int = MAX_BYTES) -> None:
    if size == 0:
        raise UnreadableFile("Die Datei ist leer.")
    if size > limit:
        raise UnreadableFile(
            f"Die Datei ist mit {megabytes(size)} MB zu groß. Angenommen werden höchstens "
            f"{limit // (1024 * 1024)} MB."
        )


def check_kind(data: bytes) -> str:
    """The media type of an acceptable file, or :class:`UnreadableFile`."""
    check_size(len(data))
    media_type = sniff(data)
    if media_type is None:
        raise UnreadableFile(
            "Die Datei ist kein PDF und kein Bild (PNG, JPEG oder TIFF). Geprüft wird der Inhalt, "
            "nicht die Dateiendung."
        )
    return media_type
