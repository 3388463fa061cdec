"""Rules of organisation accounts (Unternehmenskonten): their data, roles, invitations."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

ROLES = {"admin": "Administration", "member": "Mitglied"}
# the legal forms a business in the portal can have (a short list; "Sonstige" for the rest)
LEGAL_FORMS = (
    "Einzelunternehmen",
    "eingetragener Kaufmann (e. K.)",
    "GbR",
    "OHG",
    "KG",
    "GmbH",
    "UG (haftungsbeschränkt)",
    "GmbH & Co. KG",
    "AG",
    "eG",
    "e. V.",
    "Sonstige",
)
# Handelsregister A/B, Genossenschafts-, Partnerschafts-, Vereins-, Gesellschaftsregister
REGISTER_KINDS = ("HRA", "HRB", "GnR", "PR", "VR", "GsR")
REGISTER_NUMBER = re.compile(r"(HRA|HRB|GnR|PR|VR|GsR) [1-9][0-9]{0,5}( [A-Z]{1,2})?")
POSTAL_CODE = re.compile(r"[0-9]{5}")
HOUSE_NUMBER = re.compile(r"[0-9]{1,4} ?[a-zA-Z]?( ?[-/] ?[0-9]{1,4} ?[a-zA-Z]?)?")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
INVITATION_DAYS = 7
FIELDS = ("name", "legal_form", "register_number", "street", "house_number", "postal_code", "city")
LABELS = {
    "name": "Name des Unternehmens",
    "legal_form": "Rechtsform",
    "register_number": "Registernummer",
    "street": "Straße",
    "house_number": "Hausnummer",
    "postal_code": "Postleitzahl",
    "city": "Ort",
}
MAX_LENGTH = {"name": 200, "street": 120, "city": 80}

MSG_LAST_ADMIN = (
    "Das geht nicht: Ein Unternehmenskonto braucht mindestens eine Person mit der Rolle "
    "„Administration“. Geben Sie zuerst einem anderen Mitglied diese Rolle."
)
MSG_ALREADY_MEMBER = "Die Person mit dieser E-Mail-Adresse ist bereits Mitglied dieses Unternehmenskontos."
MSG_ALREADY_INVITED = (
    "An diese E-Mail-Adresse ist schon eine Einladung unterwegs. Sie können sie unten erneut senden."
)
MSG_BAD_EMAIL = "Bitte geben Sie eine gültige E-Mail-Adresse an."
MSG_BAD_ROLE = "Bitte wählen Sie eine Rolle: Administration oder Mitglied."


@dataclass(frozen=True)
class Membership:
    """An organisation an account belongs to, and the account's role in it."""

    organisation_id: str
    name: str
    role: str  # "admin" | "member"

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def role_name(self) -> str:
        return ROLES[self.role]


def clean(value: str) -> str:
    """A typed value as stored: no control characters, no surrounding or doubled spaces."""
    kept = "".join(
        " " if ch.isspace() else ch for ch in value if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(kept.split())


def normalise_register_number(value: str) -> str:
    """ "hrb123456" and "HRB  123456" become "HRB 123456"; anything else stays as typed."""
    text = clean(value)
    found = re.fullmatch(r"([A-Za-z]{2,3}) ?([0-9]+)( ?[A-Za-z]{1,2})?", text)
    kind = {k.upper(): k for k in REGISTER_KINDS}.get(found[1].upper()) if found else None
    if found is None or kind is None:
        return text
    suffix = f" {found[3].strip().upper()}" if found[3] else ""
    return f"{kind} {found[2]}{suffix}"


def validate_organisation(data: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the cleaned values, field name -> German message) of the organisation's data form."""
    values = {name: clean(data.get(name, "")) for name in FIELDS}
    values["register_number"] = normalise_register_number(values["register_number"])
    errors: dict[str, str] = {}
    for name in FIELDS:
        if not values[name]:
            if name == "legal_form":
                errors[name] = "Bitte wählen Sie eine Rechtsform aus."
            elif name != "register_number":
                errors[name] = f"Bitte geben Sie „{LABELS[name]}“ an."
        elif len(values[name]) > MAX_LENGTH.get(name, 40):
            errors[name] = f"„{LABELS[name]}“ darf höchstens {MAX_LENGTH.get(name, 40)} Zeichen lang sein."
    if "legal_form" not in errors and values["legal_form"] not in LEGAL_FORMS:
        errors["legal_form"] = "Bitte wählen Sie eine Rechtsform aus der Liste."
    if values["register_number"] and not REGISTER_NUMBER.fullmatch(values["register_number"]):
        errors["register_number"] = (
            "Bitte geben Sie die Registernummer mit Registerart und Nummer an, zum Beispiel „HRB 123456“ "
            "(Registerarten: HRA, HRB, GnR, PR, VR, GsR)."
        )
    if "house_number" not in errors and not HOUSE_NUMBER.fullmatch(values["house_number"]):
        errors["house_number"] = "Bitte geben Sie eine Hausnummer wie „12“, „12a“ oder „12-14“ an."
    if "postal_code" not in errors and not POSTAL_CODE.fullmatch(values["postal_code"]):
        errors["postal_code"] = "Die Postleitzahl hat fünf Ziffern, zum Beispiel „80331“."
    return values, errors


def validate_invitation(email: str, role: str) -> tuple[str, dict[str, str]]:
    """(the address in lower case, field name -> German message) of an invitation."""
    address = email.strip().lower()
    errors: dict[str, str] = {}
    if not EMAIL.fullmatch(address) or len(address) > 200:
        errors["email"] = MSG_BAD_EMAIL
    if role not in ROLES:
        errors["role"] = MSG_BAD_ROLE
    return address, errors


def invitation_expires(sent: datetime) -> datetime:
    return sent + timedelta(days=INVITATION_DAYS)


def invitation_state(status: str, expires_at: str, moment: datetime) -> str:
    """What an invitation is now: "offen", "abgelaufen" or how it ended."""
    if status == "offen" and datetime.fromisoformat(expires_at) <= moment:
        return "abgelaufen"
    return status


# what the audit log's actions are called on the organisation's page
AUDIT_TEXT = {
    "angelegt": "Unternehmenskonto angelegt",
    "daten_geaendert": "Daten geändert",
    "eingeladen": "Einladung verschickt",
    "einladung_erneut": "Einladung erneut gesendet",
    "einladung_zurueckgezogen": "Einladung zurückgezogen",
    "einladung_angenommen": "Einladung angenommen",
    "einladung_abgelehnt": "Einladung abgelehnt",
    "rolle_geaendert": "Rolle geändert",
    "mitglied_entfernt": "Mitglied entfernt",
    "ausgetreten": "Mitgliedschaft beendet",
    "identitaet_verknuepft": "Mit einer Anmeldung als Organisation verknüpft",
    "beigetreten_ueber_identitaet": "Mitglied durch Anmeldung als Organisation",
}
