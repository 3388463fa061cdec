"""The calendar file (RFC 5545) parsed back by a strict reader, the proof-of-work challenge,
and the texts of appointments."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rathaus.platform.kernel.appointments import TZ
from rathaus.portal.domain.appointments import (
    CalendarEntry,
    challenge_solved,
    ics,
    issue_challenge,
    leading_zero_bits,
    solve,
    weeks,
    when_text,
)

KEY = b"k" * 32


def read_ics(raw: bytes) -> list[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    """A strict reader: CRLF line ends, physical lines of at most 75 octets, folding undone,
    components balanced; returns (component, [(name, params, value)]) in order."""
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    physical = raw[:-2].split(b"\r\n")
    assert all(len(line) <= 75 for line in physical), max(physical, key=len)
    logical: list[str] = []
    for line in physical:
        if line.startswith(b" "):
            logical[-1] += line[1:].decode()  # never cut inside a UTF-8 character
        else:
            logical.append(line.decode())
    stack: list[str] = []
    out: list[tuple[str, list[tuple[str, dict[str, str], str]]]] = []
    for line in logical:
        found = re.fullmatch(r"([A-Z-]+)((?:;[A-Z-]+=[^;:]+)*):(.*)", line)
        assert found, line
        name, params, value = found[1], found[2], found[3]
        if name == "BEGIN":
            stack.append(value)
            out.append((value, []))
        elif name == "END":
            assert stack.pop() == value
        else:
            parsed = dict(p.split("=", 1) for p in params.split(";")[1:])
            out[-1][1].append((name, parsed, value))
            # a TEXT value's specials are escaped
            if name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
                assert not re.search(r"(?<!\\)[;,]", value), line
    assert not stack
    return out


def unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")


def entry(method: str = "REQUEST", sequence: int = 0) -> CalendarEntry:
    return CalendarEntry(
        uid="0b6d-4c2e@termine.rathaus",
        sequence=sequence,
        method=method,
        summary="Termin: Personalausweis beantragen",
        description="Buchungsnummer T-ABC234; bitte Unterlagen mitbringen, Lichtbild – biometrisch, äöü " * 2,
        location="Bürgerbüro Ruppertstraße, Ruppertstraße 19, 80337 München",
        starts_at=datetime(2026, 3, 29, 8, 30, tzinfo=TZ),  # the day summer time begins
        minutes=40,
        organizer="postkorb@rathaus.example",
        attendee="eine-sehr-lange-adresse-fuer-das-falten-der-zeilen@beispiel-stadtverwaltung.example",
        stamp=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )


def test_the_calendar_file_reads_back() -> None:
    parsed = read_ics(ics(entry()))
    names = [c for c, _ in parsed]
    assert names == ["VCALENDAR", "VTIMEZONE", "DAYLIGHT", "STANDARD", "VEVENT"]
    calendar = {n: v for n, _, v in parsed[0][1]}
    assert calendar["VERSION"] == "2.0" and calendar["METHOD"] == "REQUEST" and calendar["PRODID"]
    assert dict((n, v) for n, _, v in parsed[1][1])["TZID"] == "Europe/Berlin"
    event = {n: (p, v) for n, p, v in parsed[4][1]}
    assert event["UID"][1] == "0b6d-4c2e@termine.rathaus" and event["SEQUENCE"][1] == "0"
    params, start = event["DTSTART"]
    assert params == {"TZID": "Europe/Berlin"}
    begin = datetime.strptime(start, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(params["TZID"]))
    assert begin.astimezone(UTC) == datetime(2026, 3, 29, 6, 30, tzinfo=UTC)  # CEST, +02:00
    end = datetime.strptime(event["DTEND"][1], "%Y%m%dT%H%M%S").replace(tzinfo=TZ)
    assert end - begin == timedelta(minutes=40)
    assert unescape(event["LOCATION"][1]) == "Bürgerbüro Ruppertstraße, Ruppertstraße 19, 80337 München"
    assert unescape(event["DESCRIPTION"][1]) == entry().description
    assert event["ATTENDEE"][1] == f"mailto:{entry().attendee}"
    assert event["DTSTAMP"][1] == "20260301T120000Z" and event["STATUS"][1] == "CONFIRMED"


def test_a_cancellation_has_the_same_uid_and_a_higher_sequence() -> None:
    parsed = read_ics(ics(entry("CANCEL", 1)))
    assert {n: v for n, _, v in parsed[0][1]}["METHOD"] == "CANCEL"
    event = {n: v for n, _, v in parsed[4][1]}
    assert event["UID"] == "0b6d-4c2e@termine.rathaus" and event["SEQUENCE"] == "1"
    assert event["STATUS"] == "CANCELLED" and event["SUMMARY"].startswith("Abgesagt: ")


def test_proof_of_work() -> None:
    challenge = issue_challenge(KEY, 8, 10)
    nonce = solve(challenge.text, 8)
    assert challenge_solved(KEY, challenge.text, nonce, 8)
    wrong = next(
        str(n)
        for n in range(1000)
        if leading_zero_bits(hashlib.sha256(f"{challenge.text}:{n}".encode()).digest()) < 8
    )
    assert not challenge_solved(KEY, challenge.text, wrong, 8)
    assert not challenge_solved(b"x" * 32, challenge.text, nonce, 8)  # not ours
    expires, _bits, salt, mac = challenge.text.split(".")
    assert not challenge_solved(KEY, f"{expires}.2.{salt}.{mac}", nonce, 8)  # easier: signature breaks
    assert not challenge_solved(KEY, challenge.text, nonce, 12)  # asks less than the server wants
    old = issue_challenge(KEY, 8, 10, now=datetime.now(UTC) - timedelta(minutes=11))
    assert not challenge_solved(KEY, old.text, solve(old.text, 8), 8)  # expired
    assert not challenge_solved(KEY, "kaputt", "1", 8) and not challenge_solved(KEY, challenge.text, "", 8)
    assert leading_zero_bits(bytes([0, 0, 0b00010000])) == 19


def test_texts() -> None:
    assert when_text("2026-12-01T08:30", 40) == "Dienstag, 1. Dezember 2026, 08:30 bis 09:10 Uhr"
    days = [datetime(2026, 11, 30).date() + timedelta(days=i) for i in (0, 1, 7)]
    grouped = weeks(days)
    assert [t for t, _ in grouped] == [
        "Woche vom 30.11. bis 06.12.2026 (KW 49)",
        "Woche vom 07.12. bis 13.12.2026 (KW 50)",
    ]
