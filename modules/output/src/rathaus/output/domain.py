"""Rules of output management: the date of notice (Bekanntgabe)."""

from __future__ import annotations

from datetime import date, timedelta

import holidays

CITY = "Landeshauptstadt München"


def bekanntgabe(sent: date) -> date:
    """Art. 41 Abs. 2 BayVwVfG: an electronically delivered Bescheid counts as notified on the
    third day after it was sent; a Saturday, Sunday or Bavarian public holiday moves that
    day to the next working day."""
    day = sent + timedelta(days=3)
    bavaria = holidays.Germany(subdiv="BY", years=range(day.year, day.year + 2))
    while day.weekday() >= 5 or day in bavaria:
        day += timedelta(days=1)
    return day


def german_date(value: str | date) -> str:
    d = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return d.strftime("%d.%m.%Y")
