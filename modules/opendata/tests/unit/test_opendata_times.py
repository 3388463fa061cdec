"""Processing times: whole hours, percentiles, and when they are published."""

from __future__ import annotations

import pytest

from rathaus.opendata.domain.audit import findings
from rathaus.opendata.domain.disclosure import Table, suppress_together
from rathaus.opendata.domain.times import FEW, HIDDEN, days, hours_between, links, percentile, times

LV, MAX = "02 Ludwigsvorstadt-Isarvorstadt", "03 Maxvorstadt"


def test_whole_hours_from_submission_to_delivery() -> None:
    assert hours_between("2026-11-02T08:00:00+00:00", "2026-11-04T07:59:59+00:00") == 47
    assert hours_between("2026-11-02T08:00:00+00:00", "2026-11-04T08:00:00+00:00") == 48
    assert hours_between("2026-11-02T09:00:00+01:00", "2026-11-02T08:30:00") == 0  # naive = UTC
    assert hours_between("2026-11-02T08:00:00+00:00", "2026-11-02T07:59:00+00:00") == 0  # clocks apart
    with pytest.raises(ValueError, match="„gestern“ ist kein Zeitpunkt"):
        hours_between("gestern", "2026-11-02T08:00:00+00:00")


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)
    assert percentile([10, 20, 30, 40, 50], 0.9) == pytest.approx(46.0)  # 60 % of the way to the slowest
    assert percentile([7], 0.9) == 7.0 and percentile([1, 9], 1.0) == 9.0 and percentile([1, 9], 0) == 1.0
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1], 1.5)


def test_days_with_one_decimal() -> None:
    assert days(36) == 1.5 and days(0) == 0.0 and days(1.2) == 0.1 and days(2.4) == 0.1 and days(241) == 10.0
    assert days(percentile([0, 80, 300], 0.55)) == days(102) == 4.3  # exactly 4.25 days: half up


def dataset(granted: dict[tuple[str, str], int], refused: dict[tuple[str, str], int]) -> dict[str, Table]:
    cells = {*granted, *refused}
    rows = tuple(sorted({r for r, _ in cells}))
    cols = tuple(sorted({c for _, c in cells}))
    return {
        "antraege": Table(rows, cols, {c: granted.get(c, 0) + refused.get(c, 0) for c in cells}),
        "bewilligt": Table(rows, cols, granted),
        "abgelehnt": Table(rows, cols, refused),
    }


def test_percentiles_only_from_five_published_bescheide() -> None:
    t = dataset(
        {
            (MAX, "2026-09"): 3,
            (MAX, "2026-10"): 4,
            (LV, "2026-10"): 3,
            (MAX, "2026-11"): 3,
            (LV, "2026-11"): 3,
        }
        | {(MAX, "2026-12"): 4},
        {(MAX, "2026-09"): 3, (LV, "2026-10"): 0, (LV, "2026-11"): 3, (MAX, "2026-12"): 1},
    )
    published = suppress_together(t)
    hours = {
        "2026-09": [1, 2, 3, 4, 5, 6],
        "2026-10": [24, 48, 48, 72, 96, 120, 500],  # 7 Bescheide
        "2026-11": [10, 20, 30, 40, 50, 60, 70, 80, 90],  # 9
        "2026-12": [5, 6, 7, 8, 9],  # 5, but one of them is a single refusal: hidden
    }
    rows, total = times(published, hours)
    by_month = {r.monat: r for r in rows}
    assert by_month["2026-10"].bescheide == 7
    assert by_month["2026-10"].p50 == days(72) == 3.0 and by_month["2026-10"].p90 == days(272) == 11.3
    assert by_month["2026-11"].bescheide == 9 and by_month["2026-11"].p50 == days(50) == 2.1
    # December: the refusal (1) is hidden, so is the number of Bescheide, and no times; its
    # complement hides September the same way
    assert published["abgelehnt"].values[(None, "2026-12")] is None
    for month in ("2026-09", "2026-12"):
        assert by_month[month].bescheide is None and by_month[month].p50 is None
        assert by_month[month].reason == HIDDEN
    everything = [h for month in hours.values() for h in month]
    assert total.bescheide == 27 and total.p50 == days(percentile(everything, 0.5))
    assert findings(published, links(rows, total)) == []


def test_few_bescheide_no_percentiles() -> None:
    t = dataset({(MAX, "2026-11"): 4}, {(MAX, "2026-11"): 0})
    published = suppress_together(t)
    rows, total = times(published, {"2026-11": [3, 4, 5, 900]})
    assert rows[0].bescheide == 4 and rows[0].p50 is None and rows[0].p90 is None and rows[0].reason == FEW
    assert total == rows[0].__class__(None, 4, None, None, FEW)


def test_cases_without_a_known_duration_count_but_not_in_the_percentiles() -> None:
    t = dataset({(MAX, "2026-11"): 6}, {})
    rows, _ = times(suppress_together(t), {"2026-11": [1, 2, 3, 4]})  # two from before durations
    assert rows[0].bescheide == 6 and rows[0].reason == FEW


def test_months_without_bescheide_have_no_row() -> None:
    t = dataset({(MAX, "2026-11"): 3}, {})
    t["antraege"] = Table(t["antraege"].rows, ("2026-10", "2026-11"), {(MAX, "2026-10"): 3})
    for key in ("bewilligt", "abgelehnt"):
        t[key] = Table(t[key].rows, ("2026-10", "2026-11"), t[key].counts)
    rows, total = times(suppress_together(t), {"2026-11": [1, 2, 3]})
    assert [r.monat for r in rows] == ["2026-11"] and total.bescheide == 3
