"""The decision deadline that rests while documents are requested: pause and resume
arithmetic of the case workflow's clock, and the Nachforderung's deadline in seconds."""

from __future__ import annotations

from rathaus.platform.orchestration.bridge import request_seconds
from rathaus.platform.orchestration.deadlines import RestingClock

DAY = 86400.0


def test_without_a_rest_a_deadline_falls_due_after_its_running_time() -> None:
    clock = RestingClock()
    assert clock.due(14 * DAY) is None  # not started
    clock.start(1000.0)
    assert clock.due(14 * DAY) == 1000.0 + 14 * DAY


def test_a_rest_moves_every_deadline_by_its_length() -> None:
    clock = RestingClock()
    clock.start(0.0)
    assert clock.rest(3 * DAY) and clock.resting
    assert clock.due(14 * DAY) is None  # resting: no deadline falls due
    assert not clock.rest(4 * DAY)  # one rest at a time
    assert clock.resume(10 * DAY) and not clock.resting
    assert clock.due(14 * DAY) == 21 * DAY  # 14 days running time + 7 days rested
    assert clock.due(21 * DAY) == 28 * DAY
    assert not clock.resume(11 * DAY)  # not resting: nothing changes
    clock.rest(12 * DAY)
    clock.resume(12.5 * DAY)
    assert clock.due(14 * DAY) == 21.5 * DAY  # rests add up


def test_a_rest_begun_before_the_start_counts_from_the_start() -> None:
    clock = RestingClock()
    clock.rest(5.0)  # documents requested before the decision was asked for
    clock.start(10.0)
    assert clock.due(100.0) is None
    clock.resume(30.0)
    assert clock.due(100.0) == 130.0  # 20 s rested after the start, not 25
    early = RestingClock()
    early.rest(1.0)
    early.resume(2.0)  # over before the start: nothing to add
    early.start(10.0)
    assert early.due(100.0) == 110.0


def test_the_nachforderung_runs_to_the_end_of_its_day_in_munich() -> None:
    # requested 1 December 2026, 10:00 UTC (11:00 in Munich), due 15 December: to 23:59:59 there
    seconds = request_seconds("2026-12-01T10:00:00+00:00", "2026-12-15")
    assert seconds == 14 * DAY + 12 * 3600 + 59 * 60 + 59
    # in summer Munich is UTC+2
    assert request_seconds("2026-07-01T21:00:00+00:00", "2026-07-01") == 59 * 60 + 59
    assert request_seconds("2026-12-20T10:00:00+00:00", "2026-12-15") == 1.0  # past: at once
