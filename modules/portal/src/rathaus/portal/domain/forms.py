"""Rules of the application form: steps, validation, uploads checked by content, evidence
that register data can replace, addresses."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any

from rathaus.contracts.procedures import Evidence, Field, Procedure

REGISTER_NAMES = {"melderegister": "Melderegister", "fahrzeugregister": "Fahrzeugregister"}
STEP_TITLES = {
    "person": "Angaben zur Person",
    "fahrzeug": "Angaben zum Fahrzeug",
    "nachweise": "Nachweise",
    "zusammenfassung": "Zusammenfassung",
    "antrag": "Angaben",
}
ADDRESS_FIELDS = ("street", "house_number", "postal_code")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
MEDIA_NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


def steps(proc: Procedure) -> list[str]:
    """The form's pages: field groups in order of first appearance, then evidence and summary."""
    out: list[str] = []
    for f in proc.fields:
        if f.step not in out:
            out.append(f.step)
    return [*out, *(["nachweise"] if proc.evidence else []), "zusammenfassung"]


def registers_of(proc: Procedure) -> list[str]:
    """The registers that may fill in this form: always the residents' register, then the evidence's."""
    return list(dict.fromkeys(["melderegister", *[e.register for e in proc.evidence if e.register]]))


def fields_of(proc: Procedure, step: str) -> list[Field]:
    return [f for f in proc.fields if f.step == step]


def clean(value: str) -> str:
    """What is stored of a typed value: no surrounding or doubled spaces, no control characters."""
    value = "".join(
        " " if ch.isspace() else ch for ch in value if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(value.split())


def validate_field(field: Field, value: str, today: date | None = None) -> str | None:
    """The German message for a wrong value, or None."""
    value = value.strip()
    if not value:
        return f"Bitte geben Sie „{field.label}“ an." if field.required else None
    if len(value) > 200:
        return f"„{field.label}“ darf höchstens 200 Zeichen lang sein."
    if field.type == "date":
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return f"Bitte geben Sie „{field.label}“ als Datum an (TT.MM.JJJJ)."
        if day > (today or date.today()):
            return f"„{field.label}“ darf nicht in der Zukunft liegen."
        if day.year < 1900:
            return f"Bitte prüfen Sie „{field.label}“: das Jahr muss nach 1900 liegen."
    if field.type == "email" and not EMAIL.fullmatch(value):
        return "Bitte geben Sie eine gültige E-Mail-Adresse an."
    if field.type == "select" and field.options and value not in field.options:
        return f"Bitte wählen Sie bei „{field.label}“ eine der Möglichkeiten."
    if field.pattern and not re.fullmatch(field.pattern, value):
        return field.pattern_message or f"Bitte prüfen Sie „{field.label}“."
    return None


def validate_step(fields: list[Field], values: dict[str, str], today: date | None = None) -> dict[str, str]:
    """Field name -> message, for every wrong field of one step."""
    errors = {}
    for f in fields:
        message = validate_field(f, values.get(f.name, ""), today)
        if message:
            errors[f.name] = message
    return errors


def check_upload(evidence: Evidence, data: bytes, filename: str) -> tuple[str | None, str]:
    """(message, media type): the type is taken from the content, never from the name."""
    allowed = ", ".join(MEDIA_NAMES.get(m, m) for m in evidence.media_types)
    if not data:
        return "Die Datei ist leer.", ""
    if len(data) > evidence.max_bytes:
        return f"Die Datei ist zu groß (höchstens {evidence.max_bytes // (1024 * 1024)} MB).", ""
    media = next((m for m, sigs in SIGNATURES.items() if any(data.startswith(s) for s in sigs)), "")
    if media not in evidence.media_types:
        return f"Diese Datei ist keine erlaubte Datei. Erlaubt sind: {allowed}.", ""
    try:
        if media == "application/pdf":
            import pypdfium2

            document = pypdfium2.PdfDocument(data)
            try:
                if len(document) == 0:
                    return "Die PDF-Datei enthält keine Seite.", ""
                document[0].get_size()
            finally:
                document.close()
        else:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # verify() does not decode; a truncated image fails here
    except Exception:
        return "Die Datei ist beschädigt oder kann nicht geöffnet werden.", ""
    return None, media


def missing_evidence(
    proc: Procedure, values: dict[str, str], attachments: list[dict[str, Any]], uses: list[dict[str, Any]]
) -> list[Evidence]:
    """Required evidence that is neither uploaded nor proven by confirmed register data."""
    attached = {a["kind"] for a in attachments}
    return [
        e
        for e in proc.evidence
        if e.required and e.kind not in attached and not supplied_by_register(e, values, uses)
    ]


def incomplete(proc: Procedure, draft: dict[str, Any], today: date | None = None) -> list[tuple[str, str]]:
    """(step, message) for everything that keeps the application from being submitted."""
    out: list[tuple[str, str]] = []
    for step in steps(proc):
        errors = validate_step(fields_of(proc, step), draft["values"], today)
        out.extend((step, message) for message in errors.values())
    for e in missing_evidence(proc, draft["values"], draft["attachments"], draft["evidence"]):
        out.append(("nachweise", f"Bitte laden Sie „{e.label}“ hoch."))
    return out


def safe_filename(filename: str) -> str:
    """The name to keep of an uploaded file: its last path part, printable, at most 120 characters."""
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name.strip()[:120] or "datei"


def supplied_by_register(evidence: Evidence, values: dict[str, str], uses: list[dict[str, Any]]) -> bool:
    """Does confirmed register data already prove what this evidence would?

    The vehicle register proves that the citizen holds a vehicle; a registration certificate
    is then only needed for a vehicle the register did not name.
    """
    if not evidence.register:
        return False
    for use in uses:
        if evidence.register not in use.get("registers", []):
            continue
        if evidence.register == "fahrzeugregister":
            plate = plate_key(values.get("kennzeichen", ""))
            if plate and plate in {plate_key(p) for p in use.get("vehicles", [])}:
                return True
        else:
            return True
    return False


def plate_key(plate: str) -> str:
    return "".join(plate.upper().split())


def address_key(values: dict[str, Any]) -> tuple[str, ...]:
    """An address as a comparison key: "Zenettistr." and "zenettistraße" are the same street."""
    street = unicodedata.normalize("NFKC", str(values.get("street", ""))).casefold()
    street = street.replace("strasse", "straße").replace("str.", "straße").replace(" ", "").replace("-", "")
    return (
        street,
        str(values.get("house_number", "")).casefold().replace(" ", ""),
        str(values.get("postal_code", "")).strip(),
    )


def register_button(registers: Iterable[str]) -> str:
    """The label of the button that asks the registers, e.g. 'Melde- und Fahrzeugregister'."""
    names = [REGISTER_NAMES.get(r, r) for r in registers]
    if len(names) == 2 and all(n.endswith("register") for n in names):
        names = [names[0].removesuffix("register") + "-", names[1]]
        return f"Daten aus dem {names[0]} und {names[1]} abrufen"
    return f"Daten aus dem {' und '.join(names)} abrufen"
