"""The Bekanntgabe rules as a table of dates: each row is one Bescheid, its channel, when it
was provided (posted, sent), when it was first retrieved, and the day of notice the law gives.

Calendar used (Bavaria): 2026-11-01 Allerheiligen (Sunday), 2026-12-25/26 Christmas (Fri/Sat),
2027-01-01 Neujahr (Friday), 2027-01-06 Heilige Drei Könige (Wednesday), 2027-03-26
Karfreitag, 2027-03-29 Ostermontag, 2027-05-27 Fronleichnam (Thursday), 2027-08-15 Mariä
Himmelfahrt (Sunday), 2026-10-03 Tag der Deutschen Einheit (Saturday).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rathaus.output.bekanntgabe import (
    AKTE,
    EMAIL,
    POST,
    POSTKORB,
    RULES,
    appeal_period_end,
    determine,
    rule_of,
)

D = date


@pytest.mark.parametrize(
    ("channel", "provided", "retrieved", "notice", "by_retrieval"),
    [
        # -- Postkorb, never retrieved: the third day, moved past weekends and holidays
        (POSTKORB, D(2026, 11, 16), None, D(2026, 11, 19), False),  # Monday -> Thursday
        (POSTKORB, D(2026, 11, 18), None, D(2026, 11, 23), False),  # -> Saturday -> Monday
        (POSTKORB, D(2026, 11, 19), None, D(2026, 11, 23), False),  # -> Sunday -> Monday
        (POSTKORB, D(2026, 11, 20), None, D(2026, 11, 23), False),  # Friday -> Monday
        (POSTKORB, D(2026, 10, 29), None, D(2026, 11, 2), False),  # -> 1 Nov (Allerheiligen, Sunday)
        (POSTKORB, D(2026, 9, 30), None, D(2026, 10, 5), False),  # -> 3 Oct (Saturday, holiday)
        (POSTKORB, D(2026, 12, 22), None, D(2026, 12, 28), False),  # -> 25 Dec, 26 Dec, Sunday
        (POSTKORB, D(2026, 12, 29), None, D(2027, 1, 4), False),  # -> Neujahr (Friday) -> Monday
        (POSTKORB, D(2027, 1, 3), None, D(2027, 1, 7), False),  # -> Heilige Drei Könige
        (POSTKORB, D(2027, 3, 23), None, D(2027, 3, 30), False),  # -> Karfreitag, Easter, Ostermontag
        (POSTKORB, D(2027, 3, 26), None, D(2027, 3, 30), False),  # -> Ostermontag -> Tuesday
        (POSTKORB, D(2027, 5, 24), None, D(2027, 5, 28), False),  # -> Fronleichnam -> Friday
        (POSTKORB, D(2027, 8, 12), None, D(2027, 8, 16), False),  # -> 15 Aug (Sunday) -> Monday
        # -- Postkorb, retrieved: the first retrieval counts when it is earlier
        (POSTKORB, D(2026, 11, 16), D(2026, 11, 16), D(2026, 11, 16), True),  # the same day
        (POSTKORB, D(2026, 11, 16), D(2026, 11, 17), D(2026, 11, 17), True),  # the next day
        (POSTKORB, D(2026, 11, 16), D(2026, 11, 19), D(2026, 11, 19), False),  # on the third day
        (POSTKORB, D(2026, 11, 16), D(2026, 11, 24), D(2026, 11, 19), False),  # after it: no change
        (POSTKORB, D(2026, 11, 19), D(2026, 11, 21), D(2026, 11, 21), True),  # a Saturday stays
        (POSTKORB, D(2026, 11, 19), D(2026, 11, 22), D(2026, 11, 22), True),  # Sunday < moved Monday
        (POSTKORB, D(2026, 12, 22), D(2026, 12, 25), D(2026, 12, 25), True),  # on Christmas Day
        (POSTKORB, D(2026, 12, 22), D(2026, 12, 28), D(2026, 12, 28), False),  # the moved day itself
        # -- a letter by post: the fourth day after posting (since 2025)
        (POST, D(2026, 11, 16), None, D(2026, 11, 20), False),  # Monday -> Friday
        (POST, D(2026, 11, 17), None, D(2026, 11, 23), False),  # -> Saturday -> Monday
        (POST, D(2026, 10, 28), None, D(2026, 11, 2), False),  # -> 1 Nov (Sunday) -> Monday
        (POST, D(2026, 12, 21), None, D(2026, 12, 28), False),  # -> 25 Dec -> ... -> Monday
        (POST, D(2027, 3, 22), None, D(2027, 3, 30), False),  # -> Karfreitag ... Ostermontag
        (POST, D(2026, 11, 16), D(2026, 11, 17), D(2026, 11, 20), False),  # no retrieval rule
        # -- an e-mail: the fourth day after sending
        (EMAIL, D(2026, 11, 16), None, D(2026, 11, 20), False),
        (EMAIL, D(2026, 12, 28), None, D(2027, 1, 4), False),  # -> Neujahr (Friday) -> Monday
        # -- filed only: not notified at all
        (AKTE, D(2026, 11, 16), None, None, False),
        (AKTE, D(2026, 11, 16), D(2026, 11, 17), None, False),
    ],
)
def test_the_day_of_notice(
    channel: str, provided: date, retrieved: date | None, notice: date | None, by_retrieval: bool
) -> None:
    result = determine(channel, provided, retrieved)
    assert (result.day, result.by_retrieval) == (notice, by_retrieval)
    assert result.legal_basis == RULES[channel].legal_basis


@pytest.mark.parametrize(
    ("provided", "retrieved", "notice"),
    [
        # 23:30 UTC on the 19th is 00:30 on the 20th in Munich: provided on Friday -> Monday 23rd
        ("2026-11-19T23:30:00+00:00", None, D(2026, 11, 23)),
        # 22:30 UTC on the 19th is 23:30 on the 19th (Thursday): third day Sunday -> Monday 23rd
        ("2026-11-19T22:30:00+00:00", None, D(2026, 11, 23)),
        # provided Monday 22:59 in Munich (21:59 UTC): Thursday; retrieved 23:10 in Munich = Monday
        ("2026-11-16T21:59:00+00:00", "2026-11-16T22:10:00+00:00", D(2026, 11, 16)),
        # retrieved at 00:10 in Munich on Tuesday (23:10 UTC on Monday): Tuesday
        ("2026-11-16T21:59:00+00:00", "2026-11-16T23:10:00+00:00", D(2026, 11, 17)),
        # summer time (UTC+2, since 28 March 2027): 22:30 UTC on 31 March is 00:30 on Thursday
        # 1 April in Munich: third day Sunday 4 April -> Monday 5 April
        ("2027-03-31T22:30:00+00:00", None, D(2027, 4, 5)),
        # the same in winter time (UTC+1): 22:30 UTC on 17 Nov is 23:30 on Tuesday 17th -> Friday
        ("2026-11-17T22:30:00+00:00", None, D(2026, 11, 20)),
    ],
)
def test_moments_count_by_munichs_day(provided: str, retrieved: str | None, notice: date) -> None:
    assert determine(POSTKORB, provided, retrieved).day == notice


def test_mariae_himmelfahrt_on_a_weekday_moves_the_day() -> None:
    # provided Saturday 12 Aug 2028: third day Tuesday 15 Aug (Mariä Himmelfahrt) -> Wednesday
    assert determine(POSTKORB, D(2028, 8, 12)).day == D(2028, 8, 16)


def test_aware_datetimes_are_munichs_day_too() -> None:
    late = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)  # 00:30 on Friday 20th in Munich
    assert determine(POSTKORB, late).day == D(2026, 11, 23)
    assert determine(POSTKORB, late, datetime(2026, 11, 20, 7, 0, tzinfo=UTC)).day == D(2026, 11, 20)


def test_a_retrieval_stamped_before_the_provision_never_dates_it_earlier() -> None:
    assert determine(POSTKORB, D(2026, 11, 16), D(2026, 11, 15)).day == D(2026, 11, 16)


def test_every_rule_states_its_legal_basis_and_letter_text() -> None:
    assert RULES[POSTKORB].legal_basis.startswith("§ 9 Abs. 1 Satz 4 OZG")
    assert "§ 41 Abs. 2 Satz 1 VwVfG" in RULES[POST].legal_basis
    assert "§ 41 Abs. 2 Satz 2 VwVfG" in RULES[EMAIL].legal_basis
    for rule in RULES.values():
        assert rule.legal_basis and rule.letter and rule.label
    with pytest.raises(ValueError, match="fax"):
        rule_of("fax")


@pytest.mark.parametrize(
    ("notified", "ends"),
    [
        (D(2026, 11, 19), D(2026, 12, 21)),  # Saturday 19 Dec -> Monday 21 Dec
        (D(2026, 11, 17), D(2026, 12, 17)),  # Thursday: as it is
        (D(2026, 11, 25), D(2026, 12, 28)),  # 25 Dec (Christmas, Friday), 26, 27 -> Monday 28
        (D(2026, 12, 1), D(2027, 1, 4)),  # 1 Jan (Neujahr, Friday) -> Monday 4 Jan
        (D(2027, 1, 31), D(2027, 3, 1)),  # no 31 Feb: 28 Feb 2027 (Sunday) -> Monday 1 Mar
        (D(2028, 1, 31), D(2028, 2, 29)),  # leap year: Tuesday 29 Feb
        (D(2027, 2, 26), D(2027, 3, 30)),  # Karfreitag 26 Mar, Easter weekend, Ostermontag -> Tuesday
        (D(2026, 12, 6), D(2027, 1, 7)),  # 6 Jan (Heilige Drei Könige) -> 7 Jan
    ],
)
def test_the_one_month_appeal_period_ends(notified: date, ends: date) -> None:
    assert appeal_period_end(notified) == ends
