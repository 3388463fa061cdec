"""The city's calendar: Bavarian public holidays, for deadlines and working days."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays
from holidays.constants import CATHOLIC, PUBLIC


@cache
def _bavaria(year: int) -> holidays.HolidayBase:
    # Bavaria's statutory holidays plus Mariä Himmelfahrt (15 August), a public holiday in
    # Munich and every Bavarian municipality with a mainly Catholic population (the
    # library files it under the CATHOLIC category, not PUBLIC)
    return holidays.Germany(subdiv="BY", years=[year], categories=(PUBLIC, CATHOLIC))


def is_holiday(day: date) -> bool:
    """A public holiday in Bavaria (Munich: with Mariä Himmelfahrt)."""
    return day in _bavaria(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def munich_day(iso: str) -> date:
    """The day in Munich of an ISO timestamp (a date alone, or a time without a zone: its date)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if len(iso) <= 10:
        return date.fromisoformat(iso)
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(ZoneInfo("Europe/Berlin")).date()
