"""The legal date of notice (Bekanntgabe) of a Bescheid, per delivery channel: the rules as
data, each with the legal basis staff are shown, and one function that applies them.

Which days move. A day of notice the law only presumes (the "third/fourth day after")
that falls on a Saturday, Sunday or public holiday at the recipient's place (Bavaria) moves
to the next working day, as the end of a period does under § 31 Abs. 3 Satz 1 VwVfG /
Art. 31 Abs. 3 Satz 1 BayVwVfG (Sonntag, gesetzlicher Feiertag, Sonnabend). The finance
courts apply the same to the presumed day of notice (BFH, 14.10.2003, IX R 68/98, to § 108
Abs. 3 AO), and AO practice does so for the fourth day since 2025. Some administrative
courts and commentators hold that § 31 Abs. 3 does not apply to the presumption at all; we
follow the wider reading, which never dates a Bescheid earlier than a court would (a later
date only lengthens the citizen's periods). Which days move is data per rule (``moves``):
dropping "samstag" there is the one change if the city's legal office decides otherwise.

An actual first retrieval is a fact, not a presumption: its day is never moved.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rathaus.platform.kernel.calendar import is_holiday, munich_day

POSTKORB, POST, EMAIL, AKTE = "postkorb", "post", "email", "akte"
SATURDAY, SUNDAY, HOLIDAY = "samstag", "sonntag", "feiertag"
MOVES_ALL = frozenset({SATURDAY, SUNDAY, HOLIDAY})
MOVE_BASIS = (
    "Fällt der Tag auf einen Samstag, Sonntag oder gesetzlichen Feiertag in Bayern, gilt der "
    "nächste Werktag (§ 31 Abs. 3 Satz 1 VwVfG / Art. 31 Abs. 3 Satz 1 BayVwVfG entsprechend; "
    "BFH, Urteil vom 14.10.2003, IX R 68/98)."
)


@dataclass(frozen=True)
class Rule:
    """How one channel's Bescheid becomes notified."""

    channel: str
    label: str  # German, for staff
    days_after: int | None  # the presumed day: this many days after ``counted_from``; None: none
    counted_from: str  # German: what the days are counted from
    first_retrieval_counts: bool  # an earlier first retrieval is the day of notice
    moves: frozenset[str]  # which kinds of day move a presumed day to the next working day
    legal_basis: str  # shown to staff with the date
    letter: str  # the sentence in the Bescheid itself

    def presumed(self, start: date) -> date | None:
        """The presumed day of notice for a Bescheid provided/posted/sent on ``start``."""
        if self.days_after is None:
            return None
        day = start + timedelta(days=self.days_after)
        while self._moves(day):
            day += timedelta(days=1)
        return day

    def _moves(self, day: date) -> bool:
        return (
            (SATURDAY in self.moves and day.weekday() == 5)
            or (SUNDAY in self.moves and day.weekday() == 6)
            or (HOLIDAY in self.moves and is_holiday(day))
        )


RULES: dict[str, Rule] = {
    POSTKORB: Rule(
        channel=POSTKORB,
        label="Postkorb (Bereitstellung zum Abruf)",
        days_after=3,
        counted_from="Bereitstellung zum Abruf im Postkorb",
        first_retrieval_counts=True,
        moves=MOVES_ALL,
        legal_basis=(
            "§ 9 Abs. 1 Satz 4 OZG (in der Fassung vom 19.07.2024, in Kraft seit 24.07.2024): "
            "am dritten Tag nach der Bereitstellung zum Abruf, am Tag des ersten Abrufs, wenn "
            "dieser früher liegt. " + MOVE_BASIS
        ),
        letter=(
            "Es gilt am dritten Tag nach der Bereitstellung in Ihrem Postkorb als bekannt gegeben, "
            "oder am Tag, an dem Sie es zum ersten Mal abrufen, wenn das früher ist (§ 9 Abs. 1 OZG). "
            "Fällt der dritte Tag auf einen Samstag, Sonntag oder Feiertag, gilt der nächste Werktag."
        ),
    ),
    POST: Rule(
        channel=POST,
        label="Brief (Post)",
        days_after=4,
        counted_from="Aufgabe zur Post",
        first_retrieval_counts=False,
        moves=MOVES_ALL,
        legal_basis=(
            "§ 41 Abs. 2 Satz 1 VwVfG / Art. 41 Abs. 2 Satz 1 BayVwVfG (vierter Tag seit "
            "01.01.2025): am vierten Tag nach der Aufgabe zur Post, außer der Brief ist nicht "
            "oder später zugegangen. " + MOVE_BASIS
        ),
        letter=(
            "Es gilt am vierten Tag nach der Aufgabe zur Post als bekannt gegeben (Art. 41 Abs. 2 "
            "BayVwVfG). Fällt dieser Tag auf einen Samstag, Sonntag oder Feiertag, gilt der nächste Werktag."
        ),
    ),
    EMAIL: Rule(
        channel=EMAIL,
        label="E-Mail (elektronische Übermittlung)",
        days_after=4,
        counted_from="Absendung der E-Mail",
        first_retrieval_counts=False,
        moves=MOVES_ALL,
        legal_basis=(
            "§ 41 Abs. 2 Satz 2 VwVfG / Art. 41 Abs. 2 Satz 2 BayVwVfG (vierter Tag seit "
            "01.01.2025): am vierten Tag nach der Absendung, außer die E-Mail ist nicht oder "
            "später zugegangen. " + MOVE_BASIS
        ),
        letter=(
            "Es gilt am vierten Tag nach der Absendung an Ihre E-Mail-Adresse als bekannt gegeben "
            "(Art. 41 Abs. 2 BayVwVfG). Fällt dieser Tag auf einen Samstag, Sonntag oder Feiertag, "
            "gilt der nächste Werktag."
        ),
    ),
    AKTE: Rule(
        channel=AKTE,
        label="nur zur Akte (nicht übermittelt)",
        days_after=None,
        counted_from="",
        first_retrieval_counts=False,
        moves=frozenset(),
        legal_basis=(
            "Nicht übermittelt, daher nicht bekannt gegeben (Art. 41 Abs. 1, Art. 43 Abs. 1 "
            "BayVwVfG); bekannt gegeben erst mit der Aushändigung."
        ),
        letter=(
            "Es wurde nicht übermittelt, weil keine Anschrift für eine elektronische Übermittlung "
            "vorliegt. Sie erhalten es auf Nachfrage unter Angabe des Aktenzeichens; bekannt gegeben "
            "ist es mit der Aushändigung."
        ),
    ),
}


@dataclass(frozen=True)
class Notice:
    """The day of notice of one Bescheid, how it came about, and on which basis."""

    channel: str
    day: date | None  # None: not notified (filed only)
    presumed: date | None  # the day the presumption gives, whether or not a retrieval came first
    by_retrieval: bool  # the day is the day of the first retrieval
    legal_basis: str

    @property
    def iso(self) -> str:
        return self.day.isoformat() if self.day else ""


def _day(moment: date | datetime | str) -> date:
    """Munich's day of a moment (an aware datetime or ISO text); a date stays as it is."""
    if isinstance(moment, datetime):
        return munich_day(moment.isoformat())
    if isinstance(moment, date):
        return moment
    return munich_day(moment)


def rule_of(channel: str) -> Rule:
    try:
        return RULES[channel]
    except KeyError:
        raise ValueError(f"no Bekanntgabe rule for channel {channel!r}") from None


def determine(
    channel: str, provided: date | datetime | str, retrieved: date | datetime | str | None = None
) -> Notice:
    """The day of notice of a Bescheid provided (posted, sent) at ``provided`` on
    ``channel``, first retrieved at ``retrieved`` if it was; moments count by Munich's day."""
    rule = rule_of(channel)
    presumed = rule.presumed(_day(provided))
    day, by_retrieval = presumed, False
    if retrieved is not None and rule.first_retrieval_counts:
        fetched = max(_day(retrieved), _day(provided))  # a skewed clock never dates it earlier
        if presumed is None or fetched < presumed:
            day, by_retrieval = fetched, True
    return Notice(
        channel=channel, day=day, presumed=presumed, by_retrieval=by_retrieval, legal_basis=rule.legal_basis
    )


# -- what counts from the day of notice -------------------------------------------------------

APPEAL_BASIS = (
    "Ein Monat ab Bekanntgabe (Widerspruch § 70 Abs. 1 VwGO, Klage § 74 Abs. 1 VwGO); das Ende "
    "nach § 57 Abs. 2 VwGO, § 222 Abs. 1 ZPO, §§ 187 Abs. 1, 188 Abs. 2 und 3 BGB; fällt es auf "
    "einen Samstag, Sonntag oder gesetzlichen Feiertag, endet die Frist am nächsten Werktag "
    "(§ 222 Abs. 2 ZPO). Nur mit ordnungsgemäßer Rechtsbehelfsbelehrung (§ 58 VwGO)."
)


def appeal_period_end(notified: date) -> date:
    """The last day of the one-month period for a Widerspruch or a Klage against a Bescheid
    notified on ``notified``: the day of the next month with the same number (or that
    month's last day), moved past a Saturday, Sunday or Bavarian public holiday."""
    year, month = (notified.year + 1, 1) if notified.month == 12 else (notified.year, notified.month + 1)
    end = date(year, month, min(notified.day, calendar.monthrange(year, month)[1]))
    while end.weekday() >= 5 or is_holiday(end):
        end += timedelta(days=1)
    return end
