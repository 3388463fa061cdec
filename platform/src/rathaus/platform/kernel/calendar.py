"""The city's calendar: Bavarian public holidays, for deadlines and working days."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays


@cache
def _bavaria(year: int) -> holidays.HolidayBase:
    return holidays.Germany(subdiv="BY", years=[year])


def is_holiday(day: date) -> bool:
    """A public holiday in Bavaria (Munich: with Mariä Himmelfahrt)."""
    return day in _bavaria(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)
