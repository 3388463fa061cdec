"""The demo city's organisation: units, file plan, one staff account per unit."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import aktenplan, units
from rathaus.platform.kernel import Kernel

UNITS = {
    "KVR-III/12": "Kreisverwaltungsreferat, Straßenverkehr – Bewohnerparken",
    "KVR-II/11": "Kreisverwaltungsreferat, Bürgerbüro – Meldewesen",
    "SKA-2/21": "Stadtkämmerei, Steuern – Hundesteuer",
    "POST": "Zentrale Poststelle",
}
# code, title, parent, responsible unit
AKTENPLAN = [
    ("1", "Allgemeine Verwaltung", None, None),
    ("10", "Bürgerdienste", "1", None),
    ("102", "Meldewesen", "10", None),
    ("102.21", "Meldebescheinigungen", "102", "KVR-II/11"),
    ("5", "Sicherheit und Ordnung", None, None),
    ("52", "Straßenverkehr", "5", None),
    ("523", "Parken", "52", None),
    ("523.11", "Bewohnerparken", "523", "KVR-III/12"),
    ("9", "Finanzen", None, None),
    ("94", "Steuern", "9", None),
    ("941", "Örtliche Aufwandsteuern", "94", None),
    ("941.30", "Hundesteuer", "941", "SKA-2/21"),
]
# username, display name, role, unit
STAFF = [
    ("kvr-bewohnerparken", "Sachbearbeitung Bewohnerparken", "sachbearbeitung", "KVR-III/12"),
    ("kvr-bewohnerparken-leitung", "Leitung Bewohnerparken", "leitung", "KVR-III/12"),
    ("kvr-buergerbuero", "Sachbearbeitung Bürgerbüro", "sachbearbeitung", "KVR-II/11"),
    ("ska-hundesteuer", "Sachbearbeitung Hundesteuer", "sachbearbeitung", "SKA-2/21"),
    ("poststelle", "Zentrale Poststelle", "poststelle", "POST"),
]


async def seed(kernel: Kernel, eakte: EAkte) -> None:
    async with kernel.db.session() as s:
        if (await s.execute(sa.select(sa.func.count()).select_from(units))).scalar_one():
            return
        await s.execute(units.insert(), [{"code": c, "name": n} for c, n in UNITS.items()])
        await s.execute(
            aktenplan.insert(), [{"code": c, "title": t, "parent": p, "unit": u} for c, t, p, u in AKTENPLAN]
        )
    accounts = kernel.settings.data_dir / "demo-zugaenge.txt"
    for username, name, role, unit in STAFF:
        password = secrets.token_urlsafe(12)
        await eakte.add_staff(username=username, password=password, display_name=name, role=role, unit=unit)
        with accounts.open("a", encoding="utf-8") as out:
            out.write(f"{role}\t{username}\t{password}\t{unit}\n")
    accounts.chmod(0o600)
