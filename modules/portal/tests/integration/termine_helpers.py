"""What the appointment tests share: a city directory with a test Bürgerbüro (open every
day, two counters), a portal on a real port with it, and a citizen who books over HTTP."""

from __future__ import annotations

import email
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rathaus.platform.kernel import Settings
from rathaus.platform.kernel.appointments import TZ
from rathaus.portal import PREFIX
from rathaus.portal.domain.appointments import solve

OFFICE = "testbuero"
CHALLENGE = re.compile(r'name="challenge" value="([^"]+)"')
MANAGE = re.compile(r"https?://\S+(/termine/verwalten/[A-Za-z0-9_-]+)")
TEST_OFFICE = """
[protection]
queries_per_minute = {queries}
bookings_per_hour = {bookings}
bookings_without_challenge_per_hour = {without}
challenge_bits = 8
max_extensions = 10

[[locations]]
id = "testbuero"
name = "Bürgerbüro Test"
unit = "KVR-II/11"
counters = 2
slot_minutes = 10
book_from_days = 1
book_until_days = 30
hold_minutes = {hold}
release_minutes = 30
max_open_per_service = 2
holidays_closed = false
address = {{ street = "Teststraße 1", postal_code = "80331", city = "München" }}

[locations.hours]
mo = ["07:00-19:00"]
di = ["07:00-19:00"]
mi = ["07:00-19:00"]
do = ["07:00-19:00"]
fr = ["07:00-19:00"]
sa = ["07:00-19:00"]
so = ["07:00-19:00"]

[[locations.services]]
service = "personalausweis"
minutes_per_person = 20
max_persons = 3

[[locations.services]]
service = "wohnsitzanmeldung"
minutes_per_person = 10
max_persons = 6
"""


def city_dir(
    tmp: Path, *, queries: int = 10_000, bookings: int = 10_000, without: int = 10_000, hold: int = 10
) -> Path:
    folder = tmp / "stadt"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "standorte.toml").write_text(
        TEST_OFFICE.format(queries=queries, bookings=bookings, without=without, hold=hold), encoding="utf-8"
    )
    return folder


def day_ahead(days: int = 2) -> date:
    return datetime.now(TZ).date() + timedelta(days=days)


def slot(days: int = 2, at: str = "10:00") -> str:
    return f"{day_ahead(days).isoformat()}T{at}"


def times_page(service: str = "personalausweis", days: int = 2, persons: int = 1) -> str:
    return f"{PREFIX}/termine/{service}/{OFFICE}/{day_ahead(days).isoformat()}?personen={persons}"


async def reserve(
    citizen: Any,
    start: str,
    *,
    service: str = "personalausweis",
    persons: int = 1,
    pow: bool = True,
    **extra: str,
) -> Any:
    """Reserve a slot as the time page's form does (with the challenge solved, as the
    browser's script does, unless ``pow`` is False: a browser without JavaScript)."""
    page = times_page(service, persons=persons, days=(date.fromisoformat(start[:10]) - day_ahead(0)).days)
    hidden = await citizen.hidden(page)
    text = (await citizen.http.get(page)).text
    found = CHALLENGE.search(text)
    data = {
        **hidden,
        "leistung": service,
        "standort": OFFICE,
        "personen": str(persons),
        "beginn": start,
        **extra,
    }
    if found and pow:
        data |= {"challenge": found.group(1), "nonce": solve(found.group(1), 8)}
    return await citizen.http.post(f"{PREFIX}/termine/reservieren", data=data)


async def book(citizen: Any, start: str, name: str = "Erika Mustermann", **kwargs: Any) -> Any:
    """Reserve and book; returns the answer to the booking (a redirect to the link page)."""
    r = await reserve(citizen, start, **kwargs)
    assert r.status_code == 303, r.text
    hold = r.headers["location"]
    return await citizen.post(hold, {"name": name, "email": citizen.email})


def calendars_in(message: Any) -> list[tuple[str, str]]:
    """The (filename, text) of every text/calendar part of a mail."""
    out = []
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            out.append((part.get_filename(), part.get_payload(decode=True).decode()))
    return out


def parse(raw: bytes | str) -> email.message.Message:
    return email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode())


def world_with_city(request: Any, settings: Settings, tmp_path: Path, **protection: int) -> Any:
    """The portal alone (``world_without_broker``) with the test Bürgerbüro and a mail sink."""
    settings.procedure_dirs = [city_dir(tmp_path, **protection)]
    request.getfixturevalue("mails")
    return request.getfixturevalue("world_without_broker")
