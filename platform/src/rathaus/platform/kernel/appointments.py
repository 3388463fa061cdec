"""Appointment calendars as data: the Bürgerbüros, their opening hours, the services each
offers and how long a visit takes, what can be booked when, and the limits against bots.

The built-in locations of the demo city are ``rathaus.contracts.procedures``'s
``termine/standorte.toml``; each directory of the setting ``procedure_dirs`` may hold a
``standorte.toml`` too (its locations are added; its ``[protection]`` replaces the one
before). Anything wrong is reported in German with the file and the place, all problems at
once, as for the procedure files.

Times are local (Europe/Berlin). A location's day is a grid of slots of ``slot_minutes``
from the start of each opening range; a visit of ``persons`` takes ``persons ×
minutes_per_person`` and occupies every slot it covers (one seat of ``counters`` in each).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from rathaus.contracts.procedures import DATA as BUILTIN_PROCEDURES
from rathaus.platform.kernel.calendar import is_holiday
from rathaus.platform.kernel.procedures.loader import german
from rathaus.platform.kernel.procedures.registry import Procedures

TZ = ZoneInfo("Europe/Berlin")
FILE = "standorte.toml"
BUILTIN = BUILTIN_PROCEDURES.parent / "termine"
WEEKDAYS = ("mo", "di", "mi", "do", "fr", "sa", "so")
WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
RANGE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
LOCATION_ID = re.compile(r"[a-z][a-z0-9-]{1,62}")


class Address(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    street: str  # with the house number
    postal_code: str
    city: str

    def __str__(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}"


class DayException(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A day that differs from the weekly hours: closed, or open with other hours."""

    date: str  # JJJJ-MM-TT
    closed: bool = False
    hours: list[str] = []  # "09:00-12:00"; only when not closed
    reason: str = ""  # shown to citizens, e.g. "Betriebsversammlung"


class LocationService(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A service a location offers: how long one person's visit takes, how many may come."""

    service: str  # an online service's id (procedures) or an offline one (katalog.toml)
    minutes_per_person: int  # a multiple of the location's slot_minutes
    max_persons: int = 5


class Location(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Bürgerbüro: where it is, when it is open, what it offers, how much at once."""

    id: str
    name: str
    address: Address
    unit: str  # the organisational unit (einheiten.toml)
    hours: dict[str, list[str]]  # weekday (mo … so) -> ranges "07:30-12:00"
    services: list[LocationService]
    exceptions: list[DayException] = []
    holidays_closed: bool = True  # closed on Bavarian public holidays
    counters: int = 1  # parallel capacity of every slot
    slot_minutes: int = 10
    book_from_days: int = 1  # bookable from today + this many days …
    book_until_days: int = 60  # … up to today + this many days
    hold_minutes: int = 10  # a reserved slot is held this long before it must be confirmed
    release_minutes: int = 30  # a cancelled slot is free again only after this (appointment trading)
    max_open_per_service: int = 2  # open appointments per account (or e-mail address) and service

    def offer(self, service_id: str) -> LocationService | None:
        return next((s for s in self.services if s.service == service_id), None)

    def opening(self, day: date) -> list[tuple[time, time]]:
        """The opening ranges of a day; [] when closed (weekday, holiday, exception)."""
        special = next((e for e in self.exceptions if e.date == day.isoformat()), None)
        if special is not None:
            return [] if special.closed else [_range(r) for r in special.hours]
        if self.holidays_closed and is_holiday(day):
            return []
        return [_range(r) for r in self.hours.get(WEEKDAYS[day.weekday()], [])]

    def closed_reason(self, day: date) -> str:
        special = next((e for e in self.exceptions if e.date == day.isoformat()), None)
        if special is not None and special.closed:
            return special.reason or "geschlossen"
        if self.holidays_closed and is_holiday(day):
            return "Feiertag"
        return ""

    def window(self, now: datetime) -> tuple[date, date]:
        """The first and the last day that can be booked at ``now``."""
        today = now.astimezone(TZ).date()
        return today + timedelta(days=self.book_from_days), today + timedelta(days=self.book_until_days)

    def minutes(self, service_id: str, persons: int) -> int:
        """How long a visit of ``persons`` for this service takes (persons × duration)."""
        offer = self.offer(service_id)
        return persons * (offer.minutes_per_person if offer else self.slot_minutes)

    def starts(self, service_id: str, day: date, persons: int) -> list[datetime]:
        """Every start on the grid of the day where the whole visit fits into one opening range."""
        length = timedelta(minutes=self.minutes(service_id, persons))
        step = timedelta(minutes=self.slot_minutes)
        out = []
        for begin, end in self.opening(day):
            at = datetime.combine(day, begin, TZ)
            close = datetime.combine(day, end, TZ)
            while at + length <= close:
                out.append(at)
                at += step
        return out

    def seats(self, start: datetime, minutes: int) -> list[datetime]:
        """The slots a visit from ``start`` covers (each needs one of ``counters`` seats)."""
        return [start + timedelta(minutes=k * self.slot_minutes) for k in range(minutes // self.slot_minutes)]

    def refusal(self, service_id: str, start: datetime, persons: int, now: datetime) -> str | None:
        """Why this visit cannot be booked (German), or None when the calendar allows it.
        Whether a seat is still free is the database's question, not this one."""
        offer = self.offer(service_id)
        if offer is None:
            return f"Diese Leistung wird im {self.name} nicht angeboten."
        if not 1 <= persons <= offer.max_persons:
            return f"Sie können für 1 bis {offer.max_persons} Personen buchen."
        start = start.astimezone(TZ)
        if start <= now:
            return "Dieser Termin liegt in der Vergangenheit. Bitte wählen Sie einen anderen."
        first, last = self.window(now)
        if start.date() < first:
            return f"Termine können frühestens für den {first:%d.%m.%Y} gebucht werden."
        if start.date() > last:
            return f"Termine können höchstens {self.book_until_days} Tage im Voraus gebucht werden."
        if not self.opening(start.date()):
            return f"Am {start:%d.%m.%Y} ist der Standort geschlossen ({self.closed_reason(start.date()) or 'keine Öffnungszeit'})."
        if start not in self.starts(service_id, start.date(), persons):
            return (
                "Zu dieser Uhrzeit beginnt kein Termin: Er läge außerhalb der Öffnungszeiten "
                "oder reichte über ihr Ende hinaus. Bitte wählen Sie eine angebotene Uhrzeit."
            )
        return None


class Protection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The limits against bots (per account and per IP address, shared by all replicas)."""

    queries_per_minute: int = 60  # free-slot queries
    bookings_per_hour: int = 10  # reservations (holds), with a solved challenge
    bookings_without_challenge_per_hour: int = 3  # reservations without one (no JavaScript)
    challenge_bits: int = 16  # leading zero bits of SHA-256 the browser must find
    challenge_minutes: int = 10  # how long a challenge may be used
    max_extensions: int = 20  # how often a hold may be extended (WCAG 2.2.1: at least 10)


class CalendarFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    locations: list[Location] = []
    protection: Protection | None = None


class CalendarProblems(Exception):
    """Problems in the appointment files; ``str()`` is the German report, a line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _range(text: str) -> tuple[time, time]:
    found = RANGE.fullmatch(text)
    assert found is not None  # checked when loading
    return time(int(found[1]), int(found[2])), time(int(found[3]), int(found[4]))


class Calendars:
    """Every location of the city, read and checked once per process."""

    def __init__(
        self,
        locations: Iterable[Location],
        protection: Protection | None = None,
        titles: dict[str, str] | None = None,
    ) -> None:
        self.locations: dict[str, Location] = {loc.id: loc for loc in locations}
        self.protection = protection or Protection()
        self.titles = titles or {}  # service id -> its title in the catalogue

    def location(self, location_id: str) -> Location | None:
        return self.locations.get(location_id)

    def for_service(self, service_id: str) -> list[Location]:
        """The locations that offer a service, by name."""
        return sorted((x for x in self.locations.values() if x.offer(service_id)), key=lambda x: x.name)

    def services(self) -> list[str]:
        """Every service some location offers, by title."""
        ids = {s.service for x in self.locations.values() for s in x.services}
        return sorted(ids, key=lambda i: self.titles.get(i, i))

    def title(self, service_id: str) -> str:
        return self.titles.get(service_id, service_id)

    @classmethod
    def load(cls, procedures: Procedures, extra: Iterable[Path] = (), builtin: bool = True) -> Calendars:
        """Read and check every ``standorte.toml``; raises ``CalendarProblems``."""
        files = ([BUILTIN / FILE] if builtin else []) + [Path(p) / FILE for p in extra]
        titles = {o.id: o.title for o in procedures.catalogue()}
        titles.update({d.id: d.procedure.title for d in procedures.all() if d.id not in titles})
        locations: list[Location] = []
        protection: Protection | None = None
        problems: list[str] = []
        for path in files:
            if not path.is_file():
                continue
            where = f"{path.parent.name}/{path.name}"
            try:
                data = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), CalendarFile)
            except tomllib.TOMLDecodeError as error:
                problems.append(f"{where}: Die Datei ist kein gültiges TOML ({error}).")
                continue
            except msgspec.ValidationError as error:
                problems.append(f"{where}: {german(error)}")
                continue
            for i, loc in enumerate(data.locations):
                problems += [
                    f"{where}, locations[{i}] ({loc.id}): {p}"
                    for p in _check(loc, titles, procedures, {x.id for x in locations})
                ]
                locations.append(loc)
            protection = data.protection or protection
        if protection is not None and protection.max_extensions < 10:
            problems.append(
                "protection.max_extensions: Eine Reservierung muss mindestens 10-mal verlängert werden können (WCAG 2.2.1)."
            )
        if problems:
            raise CalendarProblems(problems)
        return cls(locations, protection, titles)


def _check(loc: Location, titles: dict[str, str], procedures: Procedures, seen: set[str]) -> list[str]:
    out = []
    if not LOCATION_ID.fullmatch(loc.id):
        out.append(f"„{loc.id}“ ist keine gültige Kennung (Kleinbuchstaben, Ziffern, Bindestrich).")
    if loc.id in seen:
        out.append(f"Den Standort „{loc.id}“ gibt es schon.")
    if procedures.units and loc.unit not in procedures.units:
        out.append(f"Die Organisationseinheit „{loc.unit}“ steht nicht in einheiten.toml.")
    for name, value in (
        ("counters", loc.counters),
        ("slot_minutes", loc.slot_minutes),
        ("hold_minutes", loc.hold_minutes),
        ("max_open_per_service", loc.max_open_per_service),
    ):
        if value < 1:
            out.append(f"{name}: Die Angabe muss mindestens 1 sein.")
    if loc.release_minutes < 0:
        out.append("release_minutes: Die Angabe darf nicht negativ sein.")
    if not 0 <= loc.book_from_days <= loc.book_until_days:
        out.append("book_from_days, book_until_days: Das buchbare Zeitfenster ist leer.")
    for day, ranges in loc.hours.items():
        if day not in WEEKDAYS:
            out.append(f"hours.{day}: Wochentage heißen {', '.join(WEEKDAYS)}.")
        out += [f"hours.{day}: {p}" for p in _ranges(ranges, loc.slot_minutes)]
    for j, special in enumerate(loc.exceptions):
        try:
            date.fromisoformat(special.date)
        except ValueError:
            out.append(f"exceptions[{j}]: „{special.date}“ ist kein Datum (JJJJ-MM-TT).")
        if special.closed and special.hours:
            out.append(f"exceptions[{j}]: Ein geschlossener Tag hat keine Öffnungszeiten.")
        out += [f"exceptions[{j}].hours: {p}" for p in _ranges(special.hours, loc.slot_minutes)]
    if not loc.services:
        out.append("services: Ein Standort braucht mindestens eine Leistung.")
    for j, offer in enumerate(loc.services):
        if offer.service not in titles:
            out.append(
                f"services[{j}]: Die Leistung „{offer.service}“ gibt es weder als Verfahren noch in katalog.toml."
            )
        if offer.minutes_per_person < loc.slot_minutes or offer.minutes_per_person % loc.slot_minutes:
            out.append(
                f"services[{j}]: minutes_per_person muss ein Vielfaches von slot_minutes ({loc.slot_minutes}) sein."
            )
        if offer.max_persons < 1:
            out.append(f"services[{j}]: max_persons muss mindestens 1 sein.")
    return out


def _ranges(ranges: list[str], slot: int) -> list[str]:
    out = []
    for text in ranges:
        found = RANGE.fullmatch(text)
        if found is None:
            out.append(f"„{text}“ ist keine Zeitspanne (SS:MM-SS:MM).")
            continue
        begin, end = _range(text)
        if begin >= end:
            out.append(f"„{text}“: Das Ende muss nach dem Beginn liegen.")
        elif slot > 0 and ((end.hour - begin.hour) * 60 + end.minute - begin.minute) % slot:
            out.append(f"„{text}“: Die Dauer ist kein Vielfaches von slot_minutes ({slot}).")
    return out


_cache: dict[tuple[int, tuple[str, ...], bool], Calendars] = {}


def load_calendars(procedures: Procedures, extra: Iterable[Path] = (), builtin: bool = True) -> Calendars:
    """The locations of these directories, read once per process (modules share them)."""
    key = (id(procedures), tuple(str(Path(p).resolve()) for p in extra), builtin)
    if key not in _cache:
        _cache[key] = Calendars.load(procedures, extra, builtin)
    return _cache[key]


__all__ = [
    "TZ",
    "Address",
    "CalendarProblems",
    "Calendars",
    "DayException",
    "Location",
    "LocationService",
    "Protection",
    "load_calendars",
]
