"""Rules of citizens' accounts: registration, the login lock, where to go after the login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rathaus.contracts.common import Person
from rathaus.platform.kernel.procedures.engine import clean
from rathaus.portal.domain.catalogue import BERLIN

ASSURANCE_ORDER = ("niedrig", "substantiell", "hoch")
MIN_PASSWORD = 10
MAX_FAILURES = 5  # failed logins in a row before the login is locked
LOCK_MINUTES = 15
MSG_PASSWORD_TOO_LONG = "Das Passwort darf höchstens 1024 Zeichen lang sein."  # noqa: S105 - a message
MSG_PASSWORDS_DIFFER = "Die beiden Passwörter stimmen nicht überein."
MSG_LOGIN_FAILED = "E-Mail-Adresse oder Passwort ist falsch."


@dataclass(frozen=True)
class Account:
    """A citizen's account as the pages see it (never the password hash)."""

    account_id: str
    email: str
    given_name: str
    family_name: str
    birth_date: str
    assurance_level: str

    @property
    def person(self) -> Person:
        return Person(given_name=self.given_name, family_name=self.family_name, birth_date=self.birth_date)

    @property
    def verified(self) -> bool:
        """Was the identity checked (online ID or Bürgerbüro)? Only then may register data be used."""
        return self.assurance_level in ("substantiell", "hoch")


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
REGISTRATION_LABELS = {
    "given_name": "Vorname",
    "family_name": "Familienname",
    "birth_date": "Geburtsdatum",
    "email": "E-Mail",
}


def validate_registration(data: dict[str, str], today: date | None = None) -> dict[str, str]:
    """Field name -> message for the registration form."""
    errors: dict[str, str] = {}
    for name, label in REGISTRATION_LABELS.items():
        value = clean(data.get(name, ""))
        if not value:
            errors[name] = f"Bitte geben Sie „{label}“ an."
        elif len(value) > 200:
            errors[name] = f"„{label}“ darf höchstens 200 Zeichen lang sein."
    born = clean(data.get("birth_date", ""))
    if "birth_date" not in errors:
        try:
            day = date.fromisoformat(born)
        except ValueError:
            errors["birth_date"] = "Bitte geben Sie „Geburtsdatum“ als Datum an (TT.MM.JJJJ)."
        else:
            if day > (today or date.today()):
                errors["birth_date"] = "„Geburtsdatum“ darf nicht in der Zukunft liegen."
            elif day.year < 1900:
                errors["birth_date"] = "Bitte prüfen Sie „Geburtsdatum“: das Jahr muss nach 1900 liegen."
    if "email" not in errors and not EMAIL.fullmatch(clean(data.get("email", ""))):
        errors["email"] = "Bitte geben Sie eine gültige E-Mail-Adresse an."
    password, repeat = data.get("password", ""), data.get("password_repeat", "")
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein."
    elif len(password) > 1024:
        errors["password"] = MSG_PASSWORD_TOO_LONG
    elif password != repeat:
        errors["password_repeat"] = MSG_PASSWORDS_DIFFER
    return errors


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to go after the login: only a path on this site, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 33 for ch in target):
        return default
    return target


def lock_after_failure(failures: int, now: datetime) -> datetime | None:
    """After ``MAX_FAILURES`` failed logins in a row the login stays locked for a while."""
    return now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None


def lock_message(until: datetime) -> str:
    return (
        "Zu viele fehlgeschlagene Anmeldeversuche. Aus Sicherheitsgründen ist die Anmeldung mit "
        f"dieser E-Mail-Adresse bis {until.astimezone(BERLIN).strftime('%H:%M')} Uhr gesperrt."
    )
