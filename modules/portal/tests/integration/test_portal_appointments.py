"""Online appointments through the portal's real HTTP app on a real nats-server: booking by
the plain pages (no JavaScript), the confirmation e-mail with its calendar file, the link
that cancels and rebooks, the events, the limits, and bad input refused in German."""

from __future__ import annotations

import asyncio
import uuid
from email.header import decode_header, make_header
from typing import Any

import pytest
import sqlalchemy as sa

from modules.portal.tests.integration.termine_helpers import (
    CHALLENGE,
    MANAGE,
    OFFICE,
    book,
    calendars_in,
    reserve,
    slot,
    times_page,
    world_with_city,
)
from rathaus.contracts.platform.v1 import AppointmentReminderDue
from rathaus.platform.kernel import Kernel, ModuleApp
from rathaus.platform.kernel.outbox import outbox_table
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX
from rathaus.portal.domain.appointments import (
    MSG_HOLD_EXPIRED,
    MSG_NO_APPOINTMENT,
    MSG_NO_HOLD,
    MSG_TAKEN,
    solve,
)
from rathaus.portal.store import accounts, applications
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


@pytest.fixture
def pg_world(request: Any, settings: Any, tmp_path: Any, postgres_url: str) -> Any:
    settings.databases = {"portal": postgres_url}
    return world_with_city(request, settings, tmp_path)


async def test_fifty_concurrent_bookers_on_postgresql(pg_world: Any) -> None:
    """The same on PostgreSQL (read committed, several connections): still exactly two, and a
    visit of two slots never takes one slot without the other."""
    world = pg_world
    citizens = [await world.citizen() for _ in range(50)]
    start = slot(at="11:00")
    # half book one person (20 min: 11:00, 11:10), half two (11:00 … 11:30): all need 11:00
    answers = await asyncio.gather(*(reserve(c, start, persons=1 + i % 2) for i, c in enumerate(citizens)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(303) == 2 and codes.count(409) == 48, codes
    assert all(MSG_TAKEN in r.text for r in answers if r.status_code == 409)
    async with world.portal.db.read() as s:
        per_slot = dict(
            (
                await s.execute(
                    sa.select(appointment_seats.c.slot_start, sa.func.count())
                    .where(appointment_seats.c.location_id == OFFICE)
                    .group_by(appointment_seats.c.slot_start)
                )
            ).all()
        )
        held = (await s.execute(sa.select(appointments.c.appointment_id, appointments.c.minutes))).all()
    assert per_slot[start] == 2 and max(per_slot.values()) <= 2
    assert sum(per_slot.values()) == sum(minutes // 10 for _, minutes in held)  # every seat of every hold
    # and booking the two holds works on PostgreSQL too
    winners = [c for c, r in zip(citizens, answers, strict=True) if r.status_code == 303]
    for citizen, r in zip(winners, [r for r in answers if r.status_code == 303], strict=True):
        done = await citizen.post(r.headers["location"], {"name": "Max Muster", "email": citizen.email})
        assert done.status_code == 303, done.text


async def test_bad_input_is_refused_in_german_never_a_500(world: Any) -> None:
    erika = await world.citizen()
    cases = [
        (slot(at="03:00"), 1, 422, "außerhalb der Öffnungszeiten"),  # before opening
        (slot(at="18:50"), 1, 422, "reichte über ihr Ende hinaus"),  # 20 minutes do not fit before 19:00
        (slot(at="10:05"), 1, 422, "Zu dieser Uhrzeit beginnt kein Termin"),  # off the grid
        # today, later than now (before 23:30 in Munich): not bookable any more; at 10:00 the
        # test failed after ten in the morning, when that time had passed ("Vergangenheit")
        (slot(days=0, at="23:30"), 1, 422, "frühestens"),
        (slot(days=-3, at="10:00"), 1, 422, "in der Vergangenheit"),
        (slot(days=31, at="10:00"), 1, 422, "höchstens 30 Tage im Voraus"),
        (slot(at="10:00"), 9, 422, "1 bis 3 Personen"),
        ("morgen um zehn", 1, 400, "angebotenen Uhrzeiten"),
    ]
    for start, persons, status, text in cases:
        hidden = await erika.hidden(times_page())
        r = await erika.http.post(
            f"{PREFIX}/termine/reservieren",
            data={
                **hidden,
                "leistung": "personalausweis",
                "standort": OFFICE,
                "personen": str(persons),
                "beginn": start,
            },
        )
        assert r.status_code == status and text in r.text, (start, persons, r.status_code, r.text[-800:])
    hidden = await erika.hidden(times_page())
    r = await erika.http.post(
        f"{PREFIX}/termine/reservieren",
        data={**hidden, "leistung": "personalausweis", "standort": "gibt-es-nicht", "beginn": slot()},
    )
    assert r.status_code == 404 and "Diesen Standort gibt es nicht" in r.text
    r = await erika.http.get(f"{PREFIX}/termine/hundesteuer")
    assert r.status_code == 404 and "keine Termine" in r.text
    r = await erika.http.get(f"{PREFIX}/termine/personalausweis/{OFFICE}/2026-13-45")
    assert r.status_code == 404 and "Dieses Datum gibt es nicht" in r.text
    # a forged or someone else's hold id, a wrong link
    r = await reserve(erika, slot(at="13:00"))
    hold = r.headers["location"]
    mallory = await world.citizen()
    r = await mallory.post(hold, {"name": "Mallory", "email": mallory.email}, page=times_page())
    assert r.status_code == 404 and MSG_NO_HOLD in r.text
    r = await erika.post(
        f"{PREFIX}/termine/reservierung/00000000-0000-0000-0000-000000000000",
        {"name": "E", "email": erika.email},
        page=times_page(),
    )
    assert r.status_code == 404 and MSG_NO_HOLD in r.text
    r = await erika.http.get(f"{PREFIX}/termine/verwalten/falscher-link-{'x' * 30}")
    assert r.status_code == 404 and MSG_NO_APPOINTMENT in r.text
    assert (await erika.http.get(f"{PREFIX}/termine/verwalten/{'y' * 43}/termin.ics")).status_code == 404
    # missing contact data: the hold is kept and the page says what is missing
    r = await erika.post(hold, {"name": "", "email": "keine-adresse"})
    assert (
        r.status_code == 400
        and "Bitte geben Sie Ihren Namen an" in r.text
        and "gültige E-Mail-Adresse" in r.text
    )


async def test_an_expired_hold_is_refused_and_offered_again(world: Any) -> None:
    erika = await world.citizen()
    start = slot(at="14:00")
    hold = (await reserve(erika, start)).headers["location"]
    for _ in range(10):  # extended ten times (WCAG 2.2.1) …
        r = await erika.post(f"{hold}/verlaengern", {}, page=hold, headers={"accept": "application/json"})
        assert r.status_code == 200 and "hold_until" in r.json()
    r = await erika.post(f"{hold}/verlaengern", {}, page=hold, headers={"accept": "application/json"})
    assert (
        r.status_code == 409 and "nicht weiter verlängert" in r.json()["detail"]
    )  # … the test city allows ten
    appointment_id = hold.rsplit("/", 1)[1]
    async with world.portal.db.session() as s:  # the hold runs out
        past = "2000-01-01T00:00:00.000000+00:00"
        await s.execute(
            appointments.update()
            .where(appointments.c.appointment_id == appointment_id)
            .values(hold_until=past)
        )
        await s.execute(
            appointment_seats.update()
            .where(appointment_seats.c.appointment_id == appointment_id)
            .values(expires_at=past)
        )
    r = await erika.post(hold, {"name": "Erika Mustermann", "email": erika.email})
    assert (
        r.status_code == 410 and MSG_HOLD_EXPIRED in r.text and "Diesen Termin erneut reservieren" in r.text
    )
    r = await erika.post(f"{hold}/erneut", {}, page=hold)
    assert r.status_code == 303
    r = await erika.post(r.headers["location"], {"name": "Erika Mustermann", "email": erika.email})
    assert r.status_code == 303 and "/termine/verwalten/" in r.headers["location"]
    # an expired hold whose slot someone else took in between is not offered again
    other, third = await world.citizen(), await world.citizen()
    hold = (await reserve(other, slot(at="15:00"))).headers["location"]
    async with world.portal.db.session() as s:
        appointment_id = hold.rsplit("/", 1)[1]
        await s.execute(
            appointments.update()
            .where(appointments.c.appointment_id == appointment_id)
            .values(hold_until=past)
        )
        await s.execute(
            appointment_seats.update()
            .where(appointment_seats.c.appointment_id == appointment_id)
            .values(expires_at=past)
        )
    assert (await book(third, slot(at="15:00"))).status_code == 303
    assert (await book(await world.citizen(), slot(at="15:00"))).status_code == 303  # took the expired seat
    r = await other.post(hold, {"name": "Otto", "email": other.email}, page=times_page())
    assert r.status_code == 410 and "inzwischen vergeben" in r.text


async def test_rebooking_books_the_new_slot_before_releasing_the_old(world: Any, mails: Any) -> None:
    erika = await world.citizen()
    r = await book(erika, slot(at="09:00"))
    old_link = r.headers["location"].split("?")[0]
    old_token = old_link.rsplit("/", 1)[1]
    # the new slot is full: the old appointment is kept
    for _ in range(2):
        assert (await book(await world.citizen(), slot(at="16:00"))).status_code == 303
    r = await reserve(erika, slot(at="16:00"), statt=old_token)
    assert r.status_code == 409 and MSG_TAKEN in r.text
    assert "Stand" in (page := (await erika.http.get(old_link)).text) and "gebucht" in page
    # a free one: booked first, then the old one is released
    r = await reserve(erika, slot(at="17:00"), statt=old_token)
    assert r.status_code == 303
    r = await erika.post(r.headers["location"], {"name": "Erika Mustermann", "email": erika.email})
    assert r.status_code == 303
    new_link = r.headers["location"].split("?")[0]
    assert "17:00 bis 17:20 Uhr" in (await erika.http.get(new_link)).text
    assert "wurde verschoben" in (await erika.http.get(old_link)).text
    topics = await outbox_types(world.portal)
    assert topics[-2:] == ["rathaus.portal.appointment.booked.v1", "rathaus.portal.appointment.cancelled.v1"]
    async with world.portal.db.read() as s:
        reasons = (
            (
                await s.execute(
                    sa.select(appointments.c.cancel_reason).where(appointments.c.status == "cancelled")
                )
            )
            .scalars()
            .all()
        )
    assert reasons == ["rebooked"]

    async def both_mailed() -> bool:
        return any(len(calendars_in(m)) == 2 for m in mails.to(erika.email))

    await eventually(both_mailed)
    mail = next(m for m in mails.to(erika.email) if len(calendars_in(m)) == 2)
    methods = sorted(text.split("METHOD:")[1].split("\r\n")[0] for _, text in calendars_in(mail))
    assert methods == ["CANCEL", "REQUEST"]


async def test_limits_per_account_and_service_and_the_reminder(world: Any, mails: Any) -> None:
    erika = await world.citizen()
    assert (await erika.register()).status_code == 303
    first = await book(erika, slot(at="08:00"))
    assert (await book(erika, slot(at="08:20"))).status_code == 303
    r = await reserve(erika, slot(at="08:40"))
    assert r.status_code == 409 and "schon 2 offene Termine" in r.text  # max_open_per_service = 2
    page = (await erika.http.get(f"{PREFIX}/konto/termine")).text
    assert "Meine Termine" in page and page.count("08:") >= 2
    # the reminder the day before: once, and never for a cancelled appointment
    link = first.headers["location"].split("?")[0]
    ids = (await erika.http.get(f"{PREFIX}/konto/termine")).text
    async with world.portal.db.read() as s:
        rows = (
            await s.execute(
                sa.select(appointments.c.appointment_id, appointments.c.starts_at).order_by(
                    appointments.c.starts_at
                )
            )
        ).all()
    assert all(r.appointment_id in ids for r in rows)
    assert (await erika.post(f"{link}/absagen", {}, page=link)).status_code == 303
    platform = Kernel("platform", world.settings)
    await platform.start(ModuleApp())
    try:
        for appointment_id, starts_at in rows * 2:  # each reminder comes twice
            async with platform.transaction() as uow:
                await uow.emit(
                    AppointmentReminderDue(appointment_id=appointment_id, starts_at=starts_at),
                    subject=appointment_id,
                )

        async def reminded() -> bool:
            return any("Erinnerung" in subject(m) for m in mails.to(erika.email))

        await eventually(reminded)

        async def all_handled() -> bool:
            return world.portal.consumer.handled >= 4

        await eventually(all_handled)
    finally:
        await platform.stop(ModuleApp())
    reminders = [m for m in mails.to(erika.email) if "Erinnerung" in subject(m)]
    assert len(reminders) == 1 and "08:20" in reminders[0].get_payload(decode=True).decode()


@pytest.fixture
def few_queries(request: Any, settings: Any, tmp_path: Any) -> Any:
    return world_with_city(request, settings, tmp_path, queries=3)


@pytest.fixture
def few_bookings(request: Any, settings: Any, tmp_path: Any) -> Any:
    return world_with_city(request, settings, tmp_path, bookings=2, without=1)


async def test_slot_queries_are_rate_limited_per_ip(few_queries: Any) -> None:
    world = few_queries
    erika, otto = await world.citizen(), await world.citizen()
    for who in (erika, otto, erika):  # the same address: one count
        assert (await who.http.get(times_page())).status_code == 200
    r = await otto.http.get(f"{PREFIX}/termine/personalausweis/{OFFICE}")
    assert r.status_code == 429 and "Zu viele Anfragen in kurzer Zeit" in r.text
    assert 0 < int(r.headers["retry-after"]) <= 61
    assert (await otto.http.get(f"{PREFIX}/termine")).status_code == 200  # choosing a service is no query


async def test_reservations_need_the_challenge_or_count_against_a_small_limit(few_bookings: Any) -> None:
    world = few_bookings
    erika = await world.citizen()
    # without JavaScript (no solved challenge): one reservation an hour from this address
    assert (await reserve(erika, slot(at="07:00"), pow=False)).status_code == 303
    r = await reserve(erika, slot(at="07:20"), pow=False)
    assert (
        r.status_code == 429
        and "ohne die automatische Sicherheitsprüfung" in r.text
        and "retry-after" in r.headers
    )
    # with the challenge solved (what the page's script does): the normal limit
    assert (await reserve(erika, slot(at="07:40"))).status_code == 303
    page = await erika.http.get(times_page())
    challenge = CHALLENGE.search(page.text).group(1)
    hidden = await erika.hidden(times_page())
    data = {**hidden, "leistung": "personalausweis", "standort": OFFICE, "beginn": slot(at="08:00"),
            "challenge": challenge, "nonce": solve(challenge, 8)}  # fmt: skip
    assert (await erika.http.post(f"{PREFIX}/termine/reservieren", data=data)).status_code == 303
    # the same solution again is no solution: it counts without, and that limit is used up
    r = await erika.http.post(f"{PREFIX}/termine/reservieren", data={**data, "beginn": slot(at="08:20")})
    assert r.status_code == 429 and "ohne die automatische Sicherheitsprüfung" in r.text
    r = await reserve(erika, slot(at="08:40"))  # a fresh one: over the normal limit of two
    assert r.status_code == 429 and "Zu viele Anfragen" in r.text


async def test_an_application_that_needs_a_visit_offers_booking_and_carries_the_case(world: Any) -> None:
    erika = await world.citizen()
    assert (await erika.register()).status_code == 303
    case_id = str(uuid.uuid4())
    async with world.portal.db.session() as s:
        account_id = (
            await s.execute(sa.select(accounts.c.account_id).where(accounts.c.email == erika.email))
        ).scalar_one()
        await s.execute(
            applications.insert().values(
                case_id=case_id,
                account_id=account_id,
                service_id="wohnsitzanmeldung",
                status="eingegangen",
                submitted_at="2026-11-01T10:00:00+00:00",
                service_version=1,
            )
        )
    page = (await erika.http.get(f"{PREFIX}/antraege/{case_id}?eingegangen=1")).text
    assert "Termin buchen" in page
    assert "Termin buchen" in (await erika.http.get(f"{PREFIX}/antraege")).text
    r = await erika.http.get(f"{PREFIX}/termine?fall={case_id}")
    assert r.status_code == 303 and f"fall={case_id}" in r.headers["location"]
    r = await reserve(erika, slot(at="10:00"), service="wohnsitzanmeldung", persons=3, fall=case_id)
    assert r.status_code == 303, r.text
    r = await erika.post(r.headers["location"], {"name": "Erika Mustermann", "email": erika.email})
    assert r.status_code == 303
    async with world.portal.db.read() as s:
        row = (
            (await s.execute(sa.select(appointments).where(appointments.c.case_id == case_id)))
            .mappings()
            .one()
        )
    assert row["status"] == "confirmed" and row["minutes"] == 30 and row["account_id"] == account_id  # 3 × 10
    page = (await erika.http.get(f"{PREFIX}/antraege/{case_id}")).text
    assert "10:00 bis 10:30 Uhr" in page and "Termin buchen" not in page
    # someone else's case cannot be named
    otto = await world.citizen()
    assert (await otto.register()).status_code == 303
    r = await otto.http.get(f"{PREFIX}/termine/wohnsitzanmeldung?fall={case_id}")
    assert r.status_code == 403 and "gehört nicht zu Ihrem Konto" in r.text
