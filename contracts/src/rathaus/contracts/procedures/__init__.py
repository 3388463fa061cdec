"""Procedures are data: each service (Leistung) declares its form, required evidence,
fee, responsible unit, file-plan code, deadlines, templates and delivery rules in a
TOML file here; one generic workflow and generic module code interpret it."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import msgspec

HERE = Path(__file__).parent
DATA = HERE / "leistungen"  # the built-in procedures, code lists, catalogue, units, file plan


class Field(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    label: str
    type: str = "text"  # text | date | email | select | checkbox
    required: bool = True
    pattern: str = ""  # a regular expression the whole value must match
    pattern_message: str = ""  # the German message when it does not
    help: str = ""
    options: list[str] = []
    autocomplete: str = ""  # HTML autocomplete token
    step: str = "antrag"  # the form page the field is on


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # e.g. "fahrzeugschein"
    label: str
    register: str = ""  # a register that can supply it on request (once-only), if any
    media_types: list[str] = msgspec.field(
        default_factory=lambda: ["application/pdf", "image/png", "image/jpeg"]
    )
    max_bytes: int = 10 * 1024 * 1024
    required: bool = True


class Deadlines(msgspec.Struct, frozen=True, kw_only=True):
    decision_seconds: int  # from "ready for decision" to the first reminder
    escalation_seconds: int  # from the reminder to the escalation


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    channel: str = "postkorb"
    notify_email: bool = True


class Procedure(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: int
    title: str
    lebenslage: str  # life situation the catalogue groups by
    summary: str
    keywords: list[str] = []
    online: bool = False  # can be applied for online here
    unit: str = ""  # responsible organisational unit
    aktenplan: str = ""  # file-plan code for its Akten
    fee_cents: int = 0
    legal_basis: str = ""
    purpose: str = ""  # the purpose register data is used for
    classify_keywords: list[str] = []  # words that mark a scanned letter as belonging here
    fields: list[Field] = []
    evidence: list[Evidence] = []
    deadlines: Deadlines | None = None
    templates: dict[str, str] = {}  # outcome -> template name
    delivery: Delivery = Delivery()
    permit_valid_days: int = 0


@cache
def all_procedures() -> dict[str, Procedure]:
    """Every procedure, by id."""
    out = {}
    for path in sorted(HERE.glob("*.toml")):
        procedure = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), Procedure)
        out[procedure.id] = procedure
    return out


def procedure(service_id: str) -> Procedure:
    try:
        return all_procedures()[service_id]
    except KeyError:
        raise KeyError(f"no procedure for service {service_id!r}") from None
