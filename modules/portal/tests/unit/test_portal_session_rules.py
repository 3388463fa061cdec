"""Session timeouts per assurance level (BundID's defaults): a table of level × minutes since
the login × minutes since the last request → still on, or ended and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rathaus.platform.kernel.settings import SessionSettings, SessionTimeouts
from rathaus.portal.domain.sessions import (
    AMR_PASSKEY,
    AMR_PASSWORD,
    EXPIRED_TEXT,
    Login,
    method_text,
    read_login,
    timeouts_for,
    warn_before,
    without_login,
)

LOGIN_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
DEFAULTS = SessionSettings()

# level, minutes from the login to the last request, minutes from the login to now, expected
TABLE = [
    # hoch: 30 min absolute, 5 min idle
    ("hoch", 0, 4, None),
    ("hoch", 0, 5, "inaktiv"),
    ("hoch", 20, 24.9, None),
    ("hoch", 20, 25, "inaktiv"),
    ("hoch", 28, 29.9, None),
    ("hoch", 29, 30, "absolut"),  # active a minute ago: the absolute limit still ends it
    ("hoch", 0, 31, "absolut"),  # both passed: the absolute one is named
    # substantiell: 2 h absolute, 30 min idle
    ("substantiell", 0, 29, None),
    ("substantiell", 0, 30, "inaktiv"),
    ("substantiell", 100, 119, None),
    ("substantiell", 110, 120, "absolut"),
    # niedrig (basis): 12 h absolute, 60 min idle
    ("niedrig", 0, 59, None),
    ("niedrig", 0, 60, "inaktiv"),
    ("niedrig", 600, 659, None),
    ("niedrig", 700, 719, None),
    ("niedrig", 700, 720, "absolut"),
    # an unknown level gets the strictest timeouts (hoch's)
    ("unbekannt", 0, 5, "inaktiv"),
]


def login(level: str, seen_minutes: float) -> Login:
    return Login("a1", level, AMR_PASSWORD, LOGIN_AT, LOGIN_AT + timedelta(minutes=seen_minutes))


@pytest.mark.parametrize(("level", "seen", "now", "expected"), TABLE)
def test_timeouts_per_level(level: str, seen: float, now: float, expected: str | None) -> None:
    timeouts = timeouts_for(DEFAULTS, level)
    assert login(level, seen).expiry(timeouts, LOGIN_AT + timedelta(minutes=now)) == expected


@pytest.mark.parametrize(
    ("level", "absolute", "idle"),
    [("hoch", 30, 5), ("substantiell", 120, 30), ("niedrig", 720, 60)],
)
def test_the_defaults_are_bundids(level: str, absolute: int, idle: int) -> None:
    timeouts = timeouts_for(DEFAULTS, level)
    assert (timeouts.absolute_seconds, timeouts.idle_seconds) == (absolute * 60, idle * 60)
    assert DEFAULTS.longest() == 12 * 3600


def test_activity_moves_only_the_idle_end() -> None:
    timeouts = timeouts_for(DEFAULTS, "hoch")
    first = login("hoch", 0)
    later = first.touched(LOGIN_AT + timedelta(minutes=4))
    assert later.idle_ends(timeouts) == LOGIN_AT + timedelta(minutes=9)
    assert later.absolute_ends(timeouts) == first.absolute_ends(timeouts)
    assert later.extendable(timeouts)
    # near the absolute end, activity no longer helps: the session cannot be extended
    late = first.touched(LOGIN_AT + timedelta(minutes=26))
    assert late.ends(timeouts) == LOGIN_AT + timedelta(minutes=30)
    assert not late.extendable(timeouts)


def test_the_warning_comes_two_minutes_before_or_at_half_a_short_idle_time() -> None:
    assert warn_before(DEFAULTS, timeouts_for(DEFAULTS, "hoch")) == 120
    short = SessionSettings(hoch=SessionTimeouts(absolute_seconds=60, idle_seconds=10))
    assert warn_before(short, short.hoch) == 5


def test_the_cookie_round_trip_and_old_cookies() -> None:
    now = LOGIN_AT + timedelta(minutes=3)
    stored = Login("a1", "substantiell", AMR_PASSKEY, LOGIN_AT, now).cookie()
    back = read_login(stored, "niedrig", now + timedelta(minutes=1))
    assert back == Login("a1", "substantiell", AMR_PASSKEY, LOGIN_AT, now)
    # a cookie from before the timeouts: a login now, at the account's level
    old = read_login({"account_id": "a1"}, "hoch", now)
    assert old == Login("a1", "hoch", (), now, now)
    assert read_login({}, "hoch", now) is None
    assert read_login({"account_id": 7}, "hoch", now) is None
    # the login ends, an anonymous draft's key stays
    assert without_login({**stored, "anon_id": "x"}) == {"anon_id": "x"}


def test_what_the_pages_say() -> None:
    assert method_text(AMR_PASSWORD) == "Passwort"
    assert "zwei Faktoren" in method_text(AMR_PASSKEY)
    assert method_text(()) == "unbekannt"
    assert all("Antragsentwürfe bleiben erhalten" in text for text in EXPIRED_TEXT.values())
