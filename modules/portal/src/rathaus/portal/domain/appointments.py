"""Rules of online appointments, plain Python: texts, the calendar file (ICS), the
proof-of-work challenge against bots, the booking number."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from rathaus.platform.kernel.appointments import TZ
from rathaus.portal.domain.accounts import EMAIL

MSG_TAKEN = "Dieser Termin ist leider nicht mehr frei. Bitte wählen Sie einen anderen."
MSG_NO_HOLD = "Diese Reservierung gibt es nicht (mehr). Bitte wählen Sie einen Termin."
MSG_HOLD_EXPIRED = (
    "Ihre Reservierung ist abgelaufen. Der Termin wurde wieder freigegeben; "
    "Sie können ihn erneut reservieren, wenn er noch frei ist."
)
MSG_TOO_MANY_EXTENSIONS = (
    "Die Reservierung kann nicht weiter verlängert werden. Bitte buchen Sie jetzt oder wählen Sie erneut."
)
MSG_NO_APPOINTMENT = "Diesen Termin gibt es nicht oder der Link ist ungültig."
MSG_PAST = "Dieser Termin liegt in der Vergangenheit und kann nicht mehr geändert werden."
MSG_CANCELLED = "Dieser Termin ist abgesagt."
MSG_LIMIT = "Sie haben für diese Leistung schon {n} offene Termine. Bitte sagen Sie erst einen ab, bevor Sie einen weiteren buchen."
MSG_RATE = "Zu viele Anfragen in kurzer Zeit. Bitte versuchen Sie es in {minutes} erneut."
MSG_RATE_NO_CHALLENGE = (
    "Zu viele Reservierungen ohne die automatische Sicherheitsprüfung. Bitte lassen Sie "
    "JavaScript zu, melden Sie sich an oder versuchen Sie es in {minutes} erneut."
)
MSG_NAME = "Bitte geben Sie Ihren Namen an (höchstens 100 Zeichen)."
MSG_EMAIL = "Bitte geben Sie eine gültige E-Mail-Adresse an; dorthin senden wir die Bestätigung."
MSG_BAD_SLOT = "Bitte wählen Sie eine der angebotenen Uhrzeiten."
MSG_NO_SERVICE = "Für diese Leistung können hier keine Termine gebucht werden."
MSG_NO_LOCATION = "Diesen Standort gibt es nicht oder er bietet diese Leistung nicht an."
MSG_NOT_YOUR_CASE = "Diesen Antrag gibt es nicht oder er gehört nicht zu Ihrem Konto."

STATUS_TEXT = {
    "held": "reserviert",
    "confirmed": "gebucht",
    "cancelled": "abgesagt",
}
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_reference() -> str:
    """The booking number the citizen shows at the counter, e.g. ``T-7KQ3MX``."""
    return "T-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A link token of 256 random bits and the hash that is stored of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def check_contact(name: str, email: str) -> dict[str, str]:
    errors = {}
    if not name.strip() or len(name) > 100:
        errors["name"] = MSG_NAME
    if not EMAIL.fullmatch(email.strip()) or len(email) > 200:
        errors["email"] = MSG_EMAIL
    return errors


def parse_start(text: str) -> datetime | None:
    """A slot start from a form ("2026-12-01T08:30", local time); None when malformed."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text or ""):
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=TZ)
    except ValueError:
        return None


def slot_key(moment: datetime) -> str:
    """How a slot start is stored and sent in forms: local time to the minute."""
    return moment.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def minutes_text(seconds: float) -> str:
    minutes = max(1, int(seconds + 59) // 60)
    return "einer Minute" if minutes == 1 else f"{minutes} Minuten"


DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip


def long_date(day: date) -> str:
    """'Dienstag, 1. Dezember 2026'."""
    return f"{DAYS[day.weekday()]}, {day.day}. {MONTHS[day.month - 1]} {day.year}"


def local(iso: str) -> datetime:
    """A stored slot start (local, to the minute) as an aware datetime."""
    return datetime.fromisoformat(iso).replace(tzinfo=TZ)


def when_text(starts_at: str, minutes: int) -> str:
    """'Dienstag, 1. Dezember 2026, 08:30 bis 09:10 Uhr'."""
    begin = local(starts_at)
    end = begin + timedelta(minutes=minutes)
    return f"{long_date(begin.date())}, {begin:%H:%M} bis {end:%H:%M} Uhr"


def weeks(days: list[date]) -> list[tuple[str, list[date]]]:
    """Days grouped by calendar week, with a heading each ("Woche vom 30.11. bis 6.12.2026")."""
    out: dict[date, list[date]] = {}
    for day in days:
        monday = day - timedelta(days=day.weekday())
        out.setdefault(monday, []).append(day)
    return [
        (f"Woche vom {m:%d.%m.} bis {m + timedelta(days=6):%d.%m.%Y} (KW {m.isocalendar().week})", ds)
        for m, ds in out.items()
    ]


# -- proof of work ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    text: str  # what the browser hashes with its nonce: "<expires>.<bits>.<salt>.<mac>"
    bits: int


def issue_challenge(key: bytes, bits: int, minutes: int, now: datetime | None = None) -> Challenge:
    """A server-signed puzzle: find a nonce so that SHA-256("<text>:<nonce>") starts with
    ``bits`` zero bits. Nothing is stored until it is used."""
    expires = int(((now or datetime.now(UTC)) + timedelta(minutes=minutes)).timestamp())
    body = f"{expires}.{bits}.{secrets.token_hex(8)}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]
    return Challenge(f"{body}.{mac}", bits)


def leading_zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def challenge_solved(key: bytes, text: str, nonce: str, min_bits: int, now: datetime | None = None) -> bool:
    """The challenge is ours (signature), not expired, asks at least ``min_bits`` and the nonce
    solves it. Whether it was used before is the database's question."""
    parts = text.split(".")
    if len(parts) != 4 or not nonce or len(nonce) > 40 or not all(p.isalnum() for p in parts):
        return False
    expires, bits, salt, mac = parts
    body = f"{expires}.{bits}.{salt}"
    expected = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(expected, mac) or not bits.isdigit() or not expires.isdigit():
        return False
    if int(expires) < (now or datetime.now(UTC)).timestamp() or int(bits) < min_bits:
        return False
    return leading_zero_bits(hashlib.sha256(f"{text}:{nonce}".encode()).digest()) >= int(bits)


def solve(text: str, bits: int) -> str:
    """What the browser does (Web Crypto), in Python: for tests and API clients."""
    n = 0
    while leading_zero_bits(hashlib.sha256(f"{text}:{n}".encode()).digest()) < bits:
        n += 1
    return str(n)


# -- the calendar file (RFC 5545) ---------------------------------------------------------------

VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
]


def ics_text(value: str) -> str:
    """An RFC 5545 TEXT value: backslash, semicolon, comma and newlines escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Lines longer than 75 octets are folded (CRLF and a space), never inside a UTF-8 character."""
    data = line.encode()
    out: list[str] = []
    start, limit = 0, 75  # the first line 75 octets, the others 74 after their leading space
    while len(data) - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # a continuation byte: back to where its character starts
            end -= 1
        out.append(data[start:end].decode())
        start, limit = end, 74
    out.append(data[start:].decode())
    return "\r\n ".join(out)


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    sequence: int
    method: str  # REQUEST | CANCEL
    summary: str
    description: str
    location: str
    starts_at: datetime  # aware
    minutes: int
    organizer: str  # an e-mail address
    attendee: str  # an e-mail address
    stamp: datetime


def ics(entry: CalendarEntry) -> bytes:
    """The appointment as an iCalendar object: METHOD:REQUEST when booked, METHOD:CANCEL
    (same UID, higher SEQUENCE) when cancelled; times in Europe/Berlin with its VTIMEZONE."""
    start = entry.starts_at.astimezone(TZ)
    end = start + timedelta(minutes=entry.minutes)
    cancel = entry.method == "CANCEL"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Rathaus//Terminvereinbarung//DE",
        "CALSCALE:GREGORIAN",
        f"METHOD:{entry.method}",
        *VTIMEZONE,
        "BEGIN:VEVENT",
        f"UID:{entry.uid}",
        f"SEQUENCE:{entry.sequence}",
        f"DTSTAMP:{entry.stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/Berlin:{end:%Y%m%dT%H%M%S}",
        f"SUMMARY:{ics_text(('Abgesagt: ' if cancel else '') + entry.summary)}",
        f"DESCRIPTION:{ics_text(entry.description)}",
        f"LOCATION:{ics_text(entry.location)}",
        f"ORGANIZER;CN={ics_text('Stadtverwaltung')}:mailto:{entry.organizer}",
        f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{entry.attendee}",
        f"STATUS:{'CANCELLED' if cancel else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()


def sender_address(sender: str) -> str:
    """The bare address of a sender like 'Stadtverwaltung <postkorb@rathaus.example>'."""
    found = re.search(r"<([^>]+)>", sender)
    return found.group(1) if found else sender.strip()
