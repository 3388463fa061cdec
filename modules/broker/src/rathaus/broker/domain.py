"""Rules of the data broker: who may receive which register data (once-only)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

# the directory's keys are the contract's (the portal keys its copy alike)
from rathaus.contracts.addresses import ADDRESS_UNKNOWN
from rathaus.contracts.addresses import house_key as house_key
from rathaus.contracts.addresses import normalise as normalise
from rathaus.contracts.addresses import street_key as street_key

ASSURANCE_ORDER = {"niedrig": 0, "substantiell": 1, "hoch": 2}
MIN_ASSURANCE = "substantiell"
REGISTERS = {"melderegister": "Melderegister", "fahrzeugregister": "Fahrzeugregister"}

# Every register attribute the broker can release, with the German words the citizen and
# the staff read about a release. Forms ask for them by key (the procedure's prefill
# source); the same table serves every service.
ATTRIBUTES: dict[str, str] = {
    "melderegister.vorname": "Vorname",
    "melderegister.familienname": "Familienname",
    "melderegister.geburtsdatum": "Geburtsdatum",
    "melderegister.strasse": "Anschrift (Straße)",
    "melderegister.hausnummer": "Anschrift (Hausnummer)",
    "melderegister.postleitzahl": "Anschrift (Postleitzahl)",
    "melderegister.ort": "Anschrift (Ort)",
    "melderegister.stadtbezirk": "Stadtbezirk",
    "melderegister.parkzone": "Parklizenzgebiet",
    "melderegister.einzugsdatum": "Einzugsdatum",
    "fahrzeugregister.kennzeichen": "Kennzeichen",
    "fahrzeugregister.hersteller": "Fahrzeughersteller",
    "fahrzeugregister.modell": "Fahrzeugmodell",
    "fahrzeugregister.halter_seit": "Halterin oder Halter seit",
}
# What a version 1 request for a whole register released: its answer is built from these.
REGISTER_V1_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "melderegister": (
        "melderegister.strasse",
        "melderegister.hausnummer",
        "melderegister.postleitzahl",
        "melderegister.ort",
        "melderegister.stadtbezirk",
        "melderegister.parkzone",
    ),
    "fahrzeugregister": (
        "fahrzeugregister.kennzeichen",
        "fahrzeugregister.hersteller",
        "fahrzeugregister.modell",
        "fahrzeugregister.halter_seit",
    ),
}

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
MSG_NOTHING_ASKED = "Es wurden keine Registerdaten angefragt."
MSG_UNKNOWN_REGISTER = "Das Register „{register}“ ist nicht angebunden."
MSG_UNKNOWN_ATTRIBUTE = "Die Angabe „{attribute}“ führt das {register} nicht."
MSG_ADDRESS_UNKNOWN = ADDRESS_UNKNOWN


def assurance_sufficient(level: str) -> bool:
    return ASSURANCE_ORDER.get(level, -1) >= ASSURANCE_ORDER[MIN_ASSURANCE]


def register_of(attribute: str) -> str:
    return attribute.partition(".")[0]


def requested(attributes: Iterable[str]) -> list[str]:
    """The attributes asked for, each once, in a stable order (as they are logged)."""
    return sorted({a.strip() for a in attributes if a.strip()})


def registers_of(attributes: Iterable[str]) -> list[str]:
    return sorted({register_of(a) for a in attributes})


def v1_attributes(registers: Iterable[str]) -> list[str]:
    """A version 1 request in attributes; an unknown register stays itself, to be refused."""
    return requested(a for r in registers for a in REGISTER_V1_ATTRIBUTES.get(r, (r,)))


def refusal(assurance_level: str, purpose: str, legal_basis: str, attributes: Sequence[str]) -> str | None:
    """The reason not to release anything, or None when the request may be answered."""
    if not purpose.strip() or not legal_basis.strip():
        return MSG_NO_PURPOSE
    if not attributes:
        return MSG_NOTHING_ASKED
    for attribute in attributes:
        register = register_of(attribute)
        if register not in REGISTERS:
            return MSG_UNKNOWN_REGISTER.format(register=register)
        if attribute not in ATTRIBUTES:
            return MSG_UNKNOWN_ATTRIBUTE.format(attribute=attribute, register=REGISTERS[register])
    if not assurance_sufficient(assurance_level):
        return MSG_ASSURANCE
    return None


def described(attributes: Iterable[str]) -> list[str]:
    """Attributes in German words, a line per register: "Melderegister: Vorname, Anschrift (Straße)".

    Registers and attributes in the order of the tables above; anything else (a refused request for
    an unknown one) as it was asked for.
    """
    asked = set(attributes)
    order = {a: i for i, a in enumerate(ATTRIBUTES)}
    lines = []
    rank = {r: i for i, r in enumerate(REGISTERS)}
    for register in sorted({register_of(a) for a in asked}, key=lambda r: (rank.get(r, len(rank)), r)):
        mine = sorted((a for a in asked if register_of(a) == register), key=lambda a: (order.get(a, 99), a))
        words = ", ".join(ATTRIBUTES.get(a, a) for a in mine)
        lines.append(f"{REGISTERS.get(register, register)}: {words}")
    return lines


def catalogue() -> list[tuple[str, list[str]]]:
    """The connected registers and what each can release, in German words."""
    return [
        (name, [label for a, label in ATTRIBUTES.items() if register_of(a) == register])
        for register, name in REGISTERS.items()
    ]


MOVED_IN_UNTIL = date(2025, 12, 31)


def moved_in(resident_id: int, birth_date: str) -> str:
    """A synthetic resident's Einzugsdatum: a day, fixed by id and birth date, between the
    18th birthday and the end of 2025 (or the 18th birthday itself, for the youngest).

    Migration broker_0004 fills the registers seeded before it with this: changing it
    changes what that migration writes.
    """
    born = date.fromisoformat(birth_date)
    adult = date(born.year + 18, born.month, 28 if (born.month, born.day) == (2, 29) else born.day)
    span = (MOVED_IN_UNTIL - adult).days
    if span <= 0:
        return adult.isoformat()
    digest = hashlib.sha256(f"{resident_id}|{birth_date}".encode()).digest()
    return (adult + timedelta(days=int.from_bytes(digest[:8], "big") % (span + 1))).isoformat()
