"""Processing times: from an application's submission to the delivery of its Bescheid.

A case keeps its duration in whole hours (elapsed time rounded down), nothing finer:
the published figures are days with one decimal (steps of 2.4 hours), so an hour's
truncation moves a figure by at most 0.04 days, and the exact minute of submission or
delivery, which could tie a number to one known case, is never stored once the duration
is known.

Per month of delivery the table shows the number of Bescheide (grants + refusals, the
column totals of the two count tables: published only where both are, so it adds nothing
the count tables hide), the median (p50) and the 90th percentile (p90) in days. A
percentile is published only when that number is published and at least
``MIN_FOR_PERCENTILES``. Of n cases, p90 lies at rank 1 + 0.9·(n − 1): of two cases 90 % of
the way to the slower one, of three 80 %, of four 70 % of the way from the second slowest
to the slowest; below five cases p90 is in effect the slowest case's own duration, and the
median of three is exactly one case's. From five on it mixes at least two cases (60/40) and
moves less with any single one.

Percentiles: linear interpolation between the closest ranks (Hyndman & Fan type 7, the
default of numpy and R, Excel's PERCENTIL.INKL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from rathaus.opendata.domain.audit import Link
from rathaus.opendata.domain.disclosure import Published

MIN_FOR_PERCENTILES = 5
GRANTED, REFUSED = "bewilligt", "abgelehnt"  # the count tables whose column totals add up
HIDDEN = "Anzahl gesperrt"
FEW = f"weniger als {MIN_FOR_PERCENTILES} Bescheide"


def moment(iso: str, what: str) -> datetime:
    """An ISO timestamp (UTC if naive); a clear error for anything else."""
    try:
        value = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: „{iso}“ ist kein Zeitpunkt nach ISO 8601.") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def hours_between(start: str, end: str) -> int:
    """Whole hours from ``start`` to ``end``; 0 if ``end`` lies before (clocks of two
    modules a little apart)."""
    seconds = (moment(end, "Zustellung") - moment(start, "Eingang")).total_seconds()
    return max(0, int(seconds // 3600))


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-quantile (0 ≤ p ≤ 1) by linear interpolation between closest ranks, in
    exact arithmetic (0.9 · 9 is 8.1, not 8.0999…, so rounding halves up stays stable)."""
    if not values:
        raise ValueError("no values")
    share = Fraction(str(p))
    if not 0 <= share <= 1:
        raise ValueError(f"p must lie in [0, 1], not {p}")
    xs = [Fraction(str(v)) for v in sorted(values)]
    h = (len(xs) - 1) * share
    low = int(h)
    if low + 1 >= len(xs):
        return float(xs[-1])
    return float(xs[low] + (h - low) * (xs[low + 1] - xs[low]))


def days(hours: float) -> float:
    """Hours as days with one decimal, halves rounded up."""
    return float((Decimal(str(hours)) / 24).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class TimesRow:
    monat: str | None  # None: all months
    bescheide: int | None  # None = suppressed
    p50: float | None  # days; None = not published (see ``reason``)
    p90: float | None
    reason: str  # "" when the percentiles are published, else why not


def _row(monat: str | None, n: int | None, hours: Sequence[int]) -> TimesRow:
    if n is None:
        return TimesRow(monat, None, None, None, HIDDEN)
    # cases from before durations were kept count in n, not in the percentiles
    if n < MIN_FOR_PERCENTILES or len(hours) < MIN_FOR_PERCENTILES:
        return TimesRow(monat, n, None, None, FEW)
    return TimesRow(monat, n, days(percentile(hours, 0.5)), days(percentile(hours, 0.9)), "")


def _sum(tables: Mapping[str, Published], col: str | None) -> int | None:
    a, b = tables[GRANTED].values[(None, col)], tables[REFUSED].values[(None, col)]
    return None if a is None or b is None else a + b


def times(
    tables: Mapping[str, Published], durations: Mapping[str, Sequence[int]]
) -> tuple[tuple[TimesRow, ...], TimesRow]:
    """One row per month with at least one Bescheid, and the row over all months; from the
    count tables as published and the hours per month of delivery."""
    cols = tables[GRANTED].cols
    rows = tuple(
        _row(c, _sum(tables, c), durations.get(c, ()))
        for c in cols
        if _sum(tables, c) != 0  # a month with Bescheide; a hidden number is at least 1
    )
    everything = [h for c in cols for h in durations.get(c, ())]
    return rows, _row(None, _sum(tables, None), everything)


def links(rows: Sequence[TimesRow], total: TimesRow) -> list[Link]:
    """The published numbers of Bescheide as sums over the count tables, for the auditor."""
    return [
        Link(
            f"Bescheide {row.monat or 'insgesamt'}",
            row.bescheide,
            ((GRANTED, (None, row.monat)), (REFUSED, (None, row.monat))),
        )
        for row in (*rows, total)
    ]
