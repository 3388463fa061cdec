"""Rules of the E-Akte: Aktenzeichen, audit chain, decisions. Plain Python."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rathaus.contracts.aktenzeichen import format_aktenzeichen

ROLES = ("sachbearbeitung", "leitung", "poststelle")
OUTCOMES = {"granted": "Bewilligen", "refused": "Ablehnen"}
STATUS_TEXT = {
    "eingegangen": "Eingegangen",
    "in_pruefung": "In Prüfung",
    "zur_entscheidung": "Zur Entscheidung",
    "entschieden": "Entschieden",
    "zugestellt": "Zugestellt",
}
GENESIS = "0" * 64


class DecisionRefused(ValueError):
    """A decision that cannot be taken as asked; the message is for the clerk."""


@dataclass(frozen=True)
class Staff:
    staff_id: str
    username: str
    display_name: str
    role: str
    unit: str


def aktenzeichen(aktenplan: str, year: int, serial: int) -> str:
    return format_aktenzeichen(aktenplan, year, serial)


def audit_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The hash of an audit entry chains it to the one before: a changed entry breaks the chain."""
    body = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def verify_chain(entries: list[dict[str, Any]]) -> bool:
    prev = GENESIS
    for entry in entries:
        body = {k: v for k, v in entry.items() if k not in ("seq", "prev_hash", "hash")}
        if entry["prev_hash"] != prev or entry["hash"] != audit_hash(prev, body):
            return False
        prev = entry["hash"]
    return True


def validate_decision(outcome: str, reasons: str) -> str:
    """The reasons to record; raises DecisionRefused with a message for the form."""
    if outcome not in OUTCOMES:
        raise DecisionRefused("Bitte wählen Sie „Bewilligen“ oder „Ablehnen“.")
    reasons = reasons.strip()
    if outcome == "refused" and len(reasons) < 20:
        raise DecisionRefused("Eine Ablehnung braucht eine Begründung (mindestens 20 Zeichen).")
    return reasons or "Die Voraussetzungen für die Erteilung liegen vor."


def permit_facts(form: dict[str, str], today: date, valid_days: int, fee_cents: int) -> dict[str, str]:
    """What the Bescheid grants: vehicle, zone, validity, fee."""
    until = today + timedelta(days=valid_days) if valid_days else today
    return {
        "kennzeichen": form.get("kennzeichen", ""),
        "parkzone": form.get("parkzone", ""),
        "stadtbezirk": form.get("stadtbezirk", ""),
        "gueltig_ab": today.isoformat(),
        "gueltig_bis": until.isoformat(),
        "gebuehr": f"{fee_cents // 100},{fee_cents % 100:02d} EUR",
    }
