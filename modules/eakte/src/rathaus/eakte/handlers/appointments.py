"""Appointments booked in the portal, for the staff: a day view per location and the
check-in that lets a case waiting for the visit move on. Keyed by the location id of the
events (the names of the locations come with the appointment calendars)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import AppointmentCheckedIn
from rathaus.contracts.portal.v1 import AppointmentBooked, AppointmentCancelled
from rathaus.eakte.domain import SYSTEM, DecisionRefused, Staff, local_day
from rathaus.eakte.handlers.common import Base, now, record
from rathaus.eakte.store import termine, vorgaenge
from rathaus.platform.kernel import UnitOfWork

BOOKED, CANCELLED, CHECKED_IN = "gebucht", "storniert", "eingecheckt"
APPOINTMENT_STATUS_TEXT = {BOOKED: "Gebucht", CANCELLED: "Storniert", CHECKED_IN: "Eingecheckt"}


class AppointmentHandlers(Base):
    async def appointment_booked(self, event: AppointmentBooked, uow: UnitOfWork) -> None:
        """Kept for the day view; a cancellation that overtook the booking stays cancelled."""
        s = uow.session
        values = {
            "case_id": event.case_id,
            "location": event.location,
            "service_id": event.service_id,
            "reference": event.reference[:40],
            "name": event.name[:200],
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
            "day": local_day(event.starts_at).isoformat(),
            "persons": event.persons,
            "booked_at": event.booked_at,
        }
        found = await self._appointment(s, event.appointment_id)
        if found is None:
            await s.execute(
                termine.insert().values(appointment_id=event.appointment_id, status=BOOKED, **values)
            )
        else:
            await s.execute(
                termine.update().where(termine.c.appointment_id == event.appointment_id).values(**values)
            )
        if event.case_id:
            await record(
                s,
                SYSTEM,
                "termin_gebucht",
                event.case_id,
                {"termin": event.appointment_id, "standort": event.location, "beginn": event.starts_at},
            )

    async def appointment_cancelled(self, event: AppointmentCancelled, uow: UnitOfWork) -> None:
        s = uow.session
        found = await self._appointment(s, event.appointment_id)
        if found is None:
            await s.execute(
                termine.insert().values(
                    appointment_id=event.appointment_id,
                    case_id=event.case_id,
                    location=event.location,
                    status=CANCELLED,
                    cancelled_at=event.cancelled_at,
                )
            )
        elif found["status"] != CHECKED_IN:
            await s.execute(
                termine.update()
                .where(termine.c.appointment_id == event.appointment_id)
                .values(status=CANCELLED, cancelled_at=event.cancelled_at)
            )
        if event.case_id:
            await record(
                s,
                SYSTEM,
                "termin_storniert",
                event.case_id,
                {"termin": event.appointment_id, "grund": event.reason},
            )

    @staticmethod
    async def _appointment(s: Any, appointment_id: str) -> dict[str, Any] | None:
        row = (
            (await s.execute(sa.select(termine).where(termine.c.appointment_id == appointment_id)))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def locations(self) -> list[str]:
        async with self.kernel.db.read() as s:
            return sorted((await s.execute(sa.select(termine.c.location).distinct())).scalars())

    async def day_view(self, member: Staff, location: str, day: str) -> list[dict[str, Any]]:
        """The appointments of a location on a day, by time (cancelled ones too, marked)."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(termine, vorgaenge.c.aktenzeichen, vorgaenge.c.unit)
                        .outerjoin(vorgaenge, vorgaenge.c.case_id == termine.c.case_id)
                        .where(termine.c.location == location, termine.c.day == day)
                        .order_by(termine.c.starts_at, termine.c.reference)
                    )
                )
                .mappings()
                .all()
            )
        # a case link only where the member's unit may open the case
        return [{**dict(r), "linked": bool(r["aktenzeichen"]) and r["unit"] == member.unit} for r in rows]

    async def check_in(self, member: Staff, appointment_id: str) -> None:
        """The citizen is here: recorded, and AppointmentCheckedIn lets the case move on."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            found = await self._appointment(s, appointment_id)
            if found is None:
                raise DecisionRefused("Diesen Termin gibt es nicht.")
            if found["status"] == CANCELLED:
                raise DecisionRefused("Dieser Termin wurde storniert; ein Check-in ist nicht möglich.")
            if found["status"] == CHECKED_IN:
                raise DecisionRefused("Für diesen Termin ist bereits eingecheckt.")
            stamp = now()
            await s.execute(
                termine.update()
                .where(termine.c.appointment_id == appointment_id, termine.c.status == BOOKED)
                .values(status=CHECKED_IN, checked_in_at=stamp, checked_in_by=member.staff_id)
            )
            await record(
                s,
                member.username,
                "termin_eingecheckt",
                found["case_id"] or None,
                {"termin": appointment_id, "standort": found["location"]},
            )
            await uow.emit(
                AppointmentCheckedIn(
                    appointment_id=appointment_id,
                    case_id=found["case_id"],
                    location=found["location"],
                    checked_in_at=stamp,
                    checked_in_by=member.staff_id,
                ),
                subject=found["case_id"] or appointment_id,
            )

    @staticmethod
    async def appointments_of(s: Any, case_id: str) -> list[dict[str, Any]]:
        rows = (
            (
                await s.execute(
                    sa.select(termine).where(termine.c.case_id == case_id).order_by(termine.c.starts_at)
                )
            )
            .mappings()
            .all()
        )
        return [dict(r) for r in rows]
