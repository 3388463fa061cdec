"""Appointments for the staff: booked and cancelled in the portal (events in any order),
a day view per location, the check-in that emits AppointmentCheckedIn, the case page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.portal.v1 import AppointmentBooked, AppointmentCancelled
from rathaus.eakte import PREFIX
from rathaus.eakte.store import termine
from rathaus.platform.testing import eventually

DAY = "2026-12-03"


def booked(case_id: str, location: str, hour: int, name: str) -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id=str(uuid.uuid4()),
        reference=f"T-{hour:02d}{uuid.uuid4().hex[:4].upper()}",
        case_id=case_id,
        service_id="halteverbotszone",
        location=location,
        starts_at=f"{DAY}T{hour:02d}:00:00+01:00",
        ends_at=f"{DAY}T{hour:02d}:15:00+01:00",
        persons=1,
        name=name,
        booked_at="2026-11-24T10:00:00+00:00",
    )


async def kept(office: Any, appointment_id: str, status: str) -> None:
    async def there() -> bool:
        async with office.eakte.db.read() as s:
            found = await s.execute(
                sa.select(termine.c.status).where(termine.c.appointment_id == appointment_id)
            )
            return found.scalar() == status

    await eventually(there, timeout=30)


async def test_the_day_view_and_the_check_in(office: Any, clerk_of: Callable[..., Any]) -> None:
    case_id = await office.submit("halteverbotszone", {})
    az = (await office.wait_for("case.opened.v1", case_id))["aktenzeichen"]
    location = f"bb-{uuid.uuid4().hex[:6]}"
    visit = booked(case_id, location, 9, "Erika Mustermann")
    walk_in = booked("", location, 8, "Max Huber")
    gone = booked("", location, 10, "Anna Berger")
    await office.emit(office.portal, visit, case_id)
    await office.emit(office.portal, walk_in, walk_in.appointment_id)
    # the cancellation overtakes its booking: it stays cancelled
    cancel = AppointmentCancelled(
        appointment_id=gone.appointment_id,
        case_id="",
        location=location,
        reason="citizen",
        cancelled_at=visit.booked_at,
    )
    await office.emit(office.portal, cancel, gone.appointment_id)
    await kept(office, gone.appointment_id, "storniert")
    await office.emit(office.portal, gone, gone.appointment_id)
    await kept(office, visit.appointment_id, "gebucht")
    await kept(office, walk_in.appointment_id, "gebucht")

    async def gone_booked_seen() -> bool:
        async with office.eakte.db.read() as s:
            found = await s.execute(
                sa.select(termine.c.name).where(termine.c.appointment_id == gone.appointment_id)
            )
            return found.scalar() == "Anna Berger"

    await eventually(gone_booked_seen, timeout=30)
    await kept(office, gone.appointment_id, "storniert")

    clerk = await clerk_of("KVR-III/11")
    view = f"{PREFIX}/termine?standort={location}&tag={DAY}"
    page = (await clerk.http.get(view)).text
    assert page.index("Max Huber") < page.index("Erika Mustermann") < page.index("Anna Berger")  # by time
    assert f'href="{PREFIX}/vorgaenge/{case_id}">{az}</a>' in page and visit.reference in page
    assert "Storniert" in page and "08:00–08:15" in page
    other = await clerk_of("KVR-III/12")  # another unit sees the day, not a link into the case
    assert f'href="{PREFIX}/vorgaenge/{case_id}"' not in (await other.http.get(view)).text

    check_in = f"{PREFIX}/termine/{visit.appointment_id}/eingecheckt"
    await clerk.post(check_in, {"standort": location, "tag": DAY}, page=view)
    checked = await office.wait_for("appointment.checked-in.v1", case_id)
    assert checked["appointment_id"] == visit.appointment_id and checked["location"] == location
    again = await clerk.post(check_in, {"standort": location, "tag": DAY}, page=view)
    assert "bereits eingecheckt" in again.text
    refused = await clerk.post(
        f"{PREFIX}/termine/{gone.appointment_id}/eingecheckt", {"standort": location, "tag": DAY}, page=view
    )
    assert "storniert" in refused.text
    case_page = (await clerk.http.get(f"{PREFIX}/vorgaenge/{case_id}")).text
    assert f"Standort {location}" in case_page and "Eingecheckt" in case_page
    bad = await clerk.http.get(f"{PREFIX}/termine", params={"standort": location, "tag": "morgen"})
    assert bad.status_code == 200 and "Bitte geben Sie den Tag als Datum an." in bad.text
    anonymous = await clerk.http.__class__(base_url=str(clerk.http.base_url)).get(view)
    assert anonymous.status_code in (302, 303, 307) or "anmelden" in str(
        anonymous.headers.get("location", "")
    )
