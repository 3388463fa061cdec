"""Online appointments through the portal's real HTTP app on a real nats-server: booking by
the plain pages (no JavaScript), the confirmation e-mail with its calendar file, the link
that cancels and rebooks, the events, the limits, and bad input refused in German."""

from __future__ import annotations

import asyncio
from email.header import decode_header, make_header
from typing import Any

import pytest
import sqlalchemy as sa

from modules.portal.tests.integration.termine_helpers import (
    MANAGE,
    OFFICE,
    book,
    calendars_in,
    reserve,
    slot,
    times_page,
    world_with_city,
)
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.outbox import outbox_table
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX
from rathaus.portal.domain.appointments import MSG_TAKEN
from rathaus.portal.store_appointments import appointment_seats, appointments


def subject(mail: Any) -> str:
    return str(make_header(decode_header(mail["Subject"])))


@pytest.fixture
def world(request: Any, settings: Any, tmp_path: Any) -> Any:
    return world_with_city(request, settings, tmp_path)


async def outbox_types(kernel: Kernel) -> list[str]:
    async with kernel.db.read() as s:
        rows = (
            (await s.execute(sa.select(outbox_table.c.topic).order_by(outbox_table.c.created_at)))
            .scalars()
            .all()
        )
    return [t for t in rows if ".appointment." in t]


async def test_book_by_plain_pages_then_cancel_by_the_link(world: Any, mails: Any) -> None:
    anna = await world.citizen()
    # service -> location -> day -> time, all plain links and forms
    r = await anna.http.get(f"{PREFIX}/termine")
    assert r.status_code == 200 and "Personalausweis beantragen" in r.text
    r = await anna.http.get(f"{PREFIX}/termine/personalausweis")
    assert "Bürgerbüro Test" in r.text and "Bürgerbüro Ruppertstraße" in r.text
    r = await anna.http.get(f"{PREFIX}/termine/personalausweis/{OFFICE}?personen=2")
    assert r.status_code == 200 and "Woche vom" in r.text
    r = await anna.http.get(times_page(persons=2))
    assert 'value="' + slot(at="10:00") + '"' in r.text and "(40 Minuten)" in r.text  # 2 persons × 20

    r = await reserve(anna, slot(at="10:00"), persons=2)
    assert r.status_code == 303, r.text
    hold = r.headers["location"]
    page = await anna.http.get(hold)
    assert "Ihr Termin ist reserviert" in page.text and "Reserviert bis" in page.text
    assert 'id="warnung" role="alert"' in page.text  # the live region of the WCAG 2.2.1 warning
    r = await anna.post(hold, {"name": "Anna Berger", "email": anna.email})
    assert r.status_code == 303 and "/termine/verwalten/" in r.headers["location"], r.text
    link = r.headers["location"].split("?")[0]
    page = await anna.http.get(r.headers["location"])
    assert "Ihr Termin ist gebucht" in page.text and "10:00 bis 10:40 Uhr" in page.text

    async def mailed() -> bool:
        return len(mails.to(anna.email)) == 1

    await eventually(mailed)
    confirmation = mails.to(anna.email)[0]
    assert subject(confirmation) == "Ihr Termin im Bürgerbüro ist gebucht"
    assert MANAGE.search(confirmation.get_payload()[0].get_payload(decode=True).decode()).group(1) == link
    ((name, text),) = calendars_in(confirmation)
    assert name == "termin.ics" and "METHOD:REQUEST" in text and "Teststraße 1\\, 80331 München" in text
    ics = (await anna.http.get(f"{link}/termin.ics")).text
    uid = next(line for line in ics.splitlines() if line.startswith("UID:"))

    r = await anna.post(f"{link}/absagen", {}, page=link)
    assert r.status_code == 303
    assert "Dieser Termin ist abgesagt" in (await anna.http.get(link)).text

    async def cancel_mailed() -> bool:
        return len(mails.to(anna.email)) == 2

    await eventually(cancel_mailed)
    cancelled = next(m for m in mails.to(anna.email) if subject(m).endswith("abgesagt"))
    ((name, text),) = calendars_in(cancelled)
    assert "METHOD:CANCEL" in text and uid in text and "SEQUENCE:1" in text
    assert await outbox_types(world.portal) == [
        "rathaus.portal.appointment.booked.v1",
        "rathaus.portal.appointment.cancelled.v1",
    ]


def offered(text: str, start: str) -> bool:
    return f'value="{start}"' in text


async def test_a_cancelled_slot_is_released_only_after_the_delay(world: Any) -> None:
    start = slot(days=3, at="12:00")
    first, second = await world.citizen(), await world.citizen()
    r1, r2 = await book(first, start), await book(second, start)
    assert r1.status_code == r2.status_code == 303
    assert not offered((await first.http.get(times_page(days=3))).text, start)  # two counters, both taken
    link = r1.headers["location"].split("?")[0]
    assert (await first.post(f"{link}/absagen", {}, page=link)).status_code == 303
    assert not offered((await first.http.get(times_page(days=3))).text, start)  # blocked for 30 minutes
    async with world.portal.db.read() as s:
        expiry = (
            await s.execute(
                sa.select(appointment_seats.c.expires_at)
                .join(appointments, appointments.c.appointment_id == appointment_seats.c.appointment_id)
                .where(appointments.c.status == "cancelled", appointment_seats.c.slot_start == start)
            )
        ).scalar_one()
    assert expiry is not None
    async with world.portal.db.session() as s:  # the release delay has passed
        await s.execute(
            appointment_seats.update()
            .where(appointment_seats.c.expires_at == expiry)
            .values(expires_at="2000-01-01T00:00:00.000000+00:00")
        )
    assert offered((await first.http.get(times_page(days=3))).text, start)
    third = await world.citizen()
    assert (await book(third, start)).status_code == 303  # takes the released seat


async def test_fifty_concurrent_bookers_on_one_slot_of_capacity_two(world: Any) -> None:
    citizens = [await world.citizen() for _ in range(50)]
    start = slot(at="11:00")
    answers = await asyncio.gather(*(reserve(c, start) for c in citizens))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(303) == 2 and codes.count(409) == 48, codes
    assert all(MSG_TAKEN in r.text for r in answers if r.status_code == 409)
    async with world.portal.db.read() as s:
        seats = (
            await s.execute(
                sa.select(sa.func.count()).where(
                    appointment_seats.c.location_id == OFFICE, appointment_seats.c.slot_start == start
                )
            )
        ).scalar_one()
    assert seats == 2
