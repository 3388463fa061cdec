"""The catalogue and what pages show of it: search (``search.py``), Lebenslagen, statuses,
dates, money."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from rathaus.platform.kernel.procedures import Offer
from rathaus.portal.domain.search import FOLD
from rathaus.portal.domain.search import search as search  # the catalogue's search, re-exported

STATUS_ORDER = ("eingegangen", "in_pruefung", "zur_entscheidung", "entschieden", "zugestellt")
STATUS_TEXT = {
    "eingegangen": "Eingegangen",
    "in_pruefung": "In Prüfung",
    "zur_entscheidung": "Zur Entscheidung",
    "entschieden": "Entschieden",
    "zugestellt": "Zugestellt – Bescheid im Postkorb",
}
BERLIN = ZoneInfo("Europe/Berlin")
ASSURANCE_TEXT = {
    "niedrig": "Vertrauensniveau „niedrig“: ein Konto im Bürgerportal genügt.",
    "substantiell": (
        "Vertrauensniveau „substantiell“: Ihre Identität muss geprüft sein – mit der "
        "Online-Ausweisfunktion oder persönlich im Bürgerbüro mit Personalausweis oder Reisepass."
    ),
    "hoch": "Vertrauensniveau „hoch“: Sie weisen sich mit der Online-Ausweisfunktion Ihres Ausweises aus.",
}
APPLICANT_TEXT = {
    "person": "Privatpersonen",
    "organisation": "Unternehmen und Organisationen (eine Person handelt für sie)",
    "anonymous": "auch ohne Konto, ohne Anmeldung",
}
UNIT_DEPARTMENTS = {
    "KVR": "Kreisverwaltungsreferat",
    "SKA": "Stadtkämmerei",
}


def later_status(current: str | None, new: str) -> bool:
    """True when ``new`` comes after ``current``: an older status never overwrites a newer one."""
    if new not in STATUS_ORDER:
        return False  # a status this portal does not know (a newer platform): keep what we show
    if current not in STATUS_ORDER:
        return True
    return STATUS_ORDER.index(new) > STATUS_ORDER.index(current)


@dataclass(frozen=True)
class Group:
    """A Lebenslage of the catalogue and its services: online ones first, then by title."""

    name: str
    slug: str  # the anchor of its heading
    offers: tuple[Offer, ...]

    @property
    def online(self) -> int:
        return sum(1 for o in self.offers if o.online)


def collation(text: str) -> str:
    """A German sort key: case and umlauts do not count ("Ämter" sorts with "Amter")."""
    return text.casefold().translate(FOLD)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", collation(text)).strip("-")


def by_lebenslage(offers: Iterable[Offer]) -> list[Group]:
    """The catalogue by Lebenslage; a service in several Lebenslagen is listed in each."""
    groups: dict[str, list[Offer]] = {}
    for offer in offers:
        for lebenslage in offer.lebenslagen or ("Weitere Leistungen",):
            groups.setdefault(lebenslage, []).append(offer)
    return [
        Group(
            name, slug(name), tuple(sorted(members, key=lambda o: (not o.online, collation(o.title), o.id)))
        )
        for name, members in sorted(groups.items(), key=lambda item: collation(item[0]))
    ]


def assurance_text(level: str) -> str:
    return ASSURANCE_TEXT.get(level, f"Vertrauensniveau „{level}“.")


def applicants_text(kinds: Iterable[str]) -> list[str]:
    return [APPLICANT_TEXT.get(kind, kind) for kind in kinds]


def euro(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d} €" if cents else "gebührenfrei"


def format_date(iso: str | None) -> str:
    """'2026-11-23' (or a datetime) as '23.11.2026'."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return day.strftime("%d.%m.%Y")


def format_datetime(iso: str | None) -> str:
    """An ISO datetime as local time in the city: '23.11.2026, 14:05 Uhr'."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")


def unit_name(code: str) -> str:
    """'KVR-III/12' as 'Kreisverwaltungsreferat (KVR-III/12)'."""
    department = UNIT_DEPARTMENTS.get(code.split("-", 1)[0])
    return f"{department} ({code})" if department else code
