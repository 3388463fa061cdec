from datetime import date

import pytest

from rathaus.output.domain import bekanntgabe


@pytest.mark.parametrize(
    ("sent", "notice"),
    [
        (date(2026, 11, 16), date(2026, 11, 19)),  # Monday -> Thursday
        (date(2026, 11, 19), date(2026, 11, 23)),  # Thursday -> Sunday -> Monday
        (date(2026, 11, 20), date(2026, 11, 23)),  # Friday -> Monday
        (date(2026, 10, 29), date(2026, 11, 2)),  # -> 1 Nov, Allerheiligen and a Sunday -> Monday
        (date(2026, 12, 22), date(2026, 12, 28)),  # -> 25 Dec, then 26 Dec and a Sunday -> Monday 28
        (date(2026, 12, 29), date(2027, 1, 4)),  # -> 1 Jan 2027 (Friday) -> Monday
        (date(2027, 1, 3), date(2027, 1, 7)),  # -> 6 Jan, Heilige Drei Könige -> 7 Jan
        (date(2027, 3, 26), date(2027, 3, 30)),  # -> Easter Monday 29 Mar 2027 -> Tuesday
        (date(2027, 8, 12), date(2027, 8, 16)),  # -> 15 Aug (Mariä Himmelfahrt, Sunday) -> Monday
        (date(2027, 5, 24), date(2027, 5, 28)),  # -> Fronleichnam 27 May 2027 -> Friday
    ],
)
def test_third_day_moved_past_weekends_and_bavarian_holidays(sent: date, notice: date) -> None:
    assert bekanntgabe(sent) == notice
