"""The catalogue and what pages show of it: search, Lebenslagen, statuses, dates, money."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from rathaus.contracts.procedures import Procedure

STATUS_ORDER = ("eingegangen", "in_pruefung", "zur_entscheidung", "entschieden", "zugestellt")
STATUS_TEXT = {
    "eingegangen": "Eingegangen",
    "in_pruefung": "In Prüfung",
    "zur_entscheidung": "Zur Entscheidung",
    "entschieden": "Entschieden",
    "zugestellt": "Zugestellt – Bescheid im Postkorb",
}
BERLIN = ZoneInfo("Europe/Berlin")
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


def search(procedures: list[Procedure], query: str) -> list[Procedure]:
    """The procedures whose title, summary, Lebenslage or keywords contain every word."""
    words = [w for w in query.casefold().split() if w]
    if not words:
        return procedures

    def text(p: Procedure) -> str:
        return " ".join([p.title, p.summary, p.lebenslage, *p.keywords]).casefold()

    return [p for p in procedures if all(w in text(p) for w in words)]


def by_lebenslage(procedures: Iterable[Procedure]) -> list[tuple[str, list[Procedure]]]:
    groups: dict[str, list[Procedure]] = {}
    for p in procedures:
        groups.setdefault(p.lebenslage, []).append(p)
    return [(k, sorted(v, key=lambda p: p.title)) for k, v in sorted(groups.items())]


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
