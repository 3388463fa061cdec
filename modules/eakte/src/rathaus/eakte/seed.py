"""The demo city's organisation from the procedure data: its units (einheiten.toml), its
file plan (aktenplan.toml), and demo accounts — for every unit that is responsible for a
procedure or co-signs one, a clerk (sachbearbeitung) and a lead (leitung); the mailroom
(poststelle); the records manager (registratur). Accounts are written to demo-zugaenge.txt (role, username, password, unit)."""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from pathlib import Path

from rathaus.eakte.handlers import EAkte
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.procedures import Procedures

MAILROOM = "POST"  # the unit of the Zentrale Poststelle, where paper mail is triaged
ROLE_NAMES = {"sachbearbeitung": "Sachbearbeitung", "leitung": "Leitung"}


def slug(text: str) -> str:
    """'Bürgerbüro' -> 'buergerbuero'; 'KVR-III/12' -> 'kvr-iii-12'."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def usernames(procedures: Procedures) -> dict[str, str]:
    """A readable login per unit that works on cases: the department's prefix of the unit
    code and the first word of the unit's subject, e.g. KVR-III/12 "Bewohnerparken" ->
    ``kvr-bewohnerparken``, SKA-2/21 "Steuern – Hundesteuer" -> ``ska-hundesteuer``. Two
    units that would share one get their code instead (``kvr-iii-12``)."""
    working: list[str] = []
    for definition in procedures.all():
        decision = definition.procedure.decision
        for unit in (definition.procedure.unit, *decision.cosign):
            if unit in procedures.units and unit != MAILROOM and unit not in working:
                working.append(unit)
    order = [code for code in procedures.units if code in working]  # as einheiten.toml lists them
    chosen: dict[str, str] = {}
    for code in order:
        subject = procedures.units[code].name.split(" – ")[-1]
        words = slug(subject).split("-")
        name = f"{slug(code.split('-')[0])}-{words[0]}" if words and words[0] else slug(code)
        chosen[code] = slug(code) if name in chosen.values() else name
    return chosen


async def seed(kernel: Kernel, eakte: EAkte) -> None:
    """Idempotent: units and plan entries new in the data are added, accounts only once."""
    await eakte.sync_organisation()
    procedures = kernel.procedures
    accounts: list[tuple[str, str, str, str]] = []  # username, display name, role, unit
    for code, base in usernames(procedures).items():
        unit = procedures.units[code]
        for role, title in ROLE_NAMES.items():
            username = base if role == "sachbearbeitung" else f"{base}-leitung"
            accounts.append((username, f"{title} {unit.name}", role, code))
    if MAILROOM in procedures.units:
        accounts.append(("poststelle", procedures.units[MAILROOM].name, "poststelle", MAILROOM))
    # the records manager (Aktenplan administration); the city's data has no unit of its own
    # for the Registratur, so it sits with the central mailroom (Zentrale Dienste)
    records_unit = MAILROOM if MAILROOM in procedures.units else next(iter(procedures.units), None)
    if records_unit:
        accounts.append(("registratur", "Registratur (Schriftgutverwaltung)", "registratur", records_unit))
    out = kernel.settings.data_dir / "demo-zugaenge.txt"
    for username, name, role, unit_code in accounts:
        if await eakte.has_staff(username):
            continue
        password = secrets.token_urlsafe(12)
        await eakte.add_staff(
            username=username, password=password, display_name=name, role=role, unit=unit_code
        )
        append_private(out, f"{role}\t{username}\t{password}\t{unit_code}\n")


def append_private(path: Path, line: str) -> None:
    """Append to a file only its owner can read (it holds passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(line)
    path.chmod(0o600)
