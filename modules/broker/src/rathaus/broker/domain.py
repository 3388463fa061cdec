"""Rules of the data broker: who may receive which register data (once-only)."""

from __future__ import annotations

import unicodedata

ASSURANCE_ORDER = {"niedrig": 0, "substantiell": 1, "hoch": 2}
MIN_ASSURANCE = "substantiell"
REGISTERS = ("melderegister", "fahrzeugregister")

MSG_ASSURANCE = (
    "Registerdaten können nur mit einem Konto abgerufen werden, dessen Identität mit dem "
    "Vertrauensniveau „substantiell“ geprüft wurde – zum Beispiel mit der Online-Ausweisfunktion "
    "oder im Bürgerbüro. Bitte füllen Sie das Formular selbst aus."
)
MSG_NO_MATCH = (
    "Zu Ihren Angaben wurde kein eindeutiger Eintrag mit Hauptwohnsitz im Melderegister gefunden. "
    "Bitte füllen Sie das Formular selbst aus."
)
MSG_NO_PURPOSE = "Ohne Zweck und Rechtsgrundlage werden keine Registerdaten übermittelt."
MSG_UNKNOWN_REGISTER = "Dieses Register ist nicht angebunden."


def normalise(value: str) -> str:
    """Compare names the way a register clerk would: case, accents and spaces aside."""
    folded = unicodedata.normalize("NFKC", value).casefold().strip()
    return " ".join(folded.split())


def street_key(street: str) -> str:
    """A street as the directory files it: "Zenettistr. " and "zenettistraße" are one street."""
    key = normalise(street).replace("-", " ")
    for short in ("str.", "str"):
        if key.endswith(short):
            key = key.removesuffix(short) + "straße"
    return key.replace("strasse", "straße").replace(" ", "")


def house_key(house_number: str) -> str:
    return normalise(house_number).replace(" ", "")


MSG_ADDRESS_UNKNOWN = (
    "Diese Anschrift steht nicht im Straßenverzeichnis der Stadt. Bitte prüfen Sie Straße, "
    "Hausnummer und Postleitzahl."
)


def assurance_sufficient(level: str) -> bool:
    return ASSURANCE_ORDER.get(level, -1) >= ASSURANCE_ORDER[MIN_ASSURANCE]


def refusal(assurance_level: str, purpose: str, legal_basis: str, registers: list[str]) -> str | None:
    """The reason not to release anything, or None when the request may be answered."""
    if not purpose.strip() or not legal_basis.strip():
        return MSG_NO_PURPOSE
    if not registers or any(r not in REGISTERS for r in registers):
        return MSG_UNKNOWN_REGISTER
    if not assurance_sufficient(assurance_level):
        return MSG_ASSURANCE
    return None
