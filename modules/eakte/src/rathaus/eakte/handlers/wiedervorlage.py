"""Wiedervorlage (a follow-up date with a note: a Temporal timer brings the case back into the
inbox of whoever set it) and Vertretung (a deputy works an absent colleague's inbox for a
period, never their personal cases)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import WiedervorlageCancelled, WiedervorlageSet
from rathaus.contracts.platform.v1 import WiedervorlageDue
from rathaus.eakte.domain import SYSTEM, Staff
from rathaus.eakte.domain_gang import RouteRefused, check_vertretung, check_wiedervorlage
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.workspace import WorkspaceQueries
from rathaus.eakte.store import staff, vorgaenge
from rathaus.eakte.store_gang import vertretungen, wiedervorlagen
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.calendar import munich_day

PLANNED, DUE, DONE, LIFTED = "geplant", "faellig", "erledigt", "aufgehoben"
WIEDERVORLAGE_TEXT = {PLANNED: "geplant", DUE: "fällig", DONE: "erledigt", LIFTED: "aufgehoben"}


def today() -> date:
    return munich_day(now())


def people(member: Staff) -> list[str]:
    return [p for p in (member.username, member.acting_for) if p]


class WiedervorlageHandlers(WorkspaceQueries):
    # -- Wiedervorlage ------------------------------------------------------------------------

    async def set_wiedervorlage(self, member: Staff, case_id: str, day: str, note: str) -> str:
        """Set a follow-up on a case the member may see; raises RouteRefused, PermissionError."""
        when, note = check_wiedervorlage(day, note, today=today())
        async with self.kernel.transaction() as uow:
            s = uow.session
            if await self._access(s, member, await self.case_row(s, case_id)) is None:
                raise PermissionError(case_id)
            follow_up = str(uuid.uuid4())
            at = now()
            await s.execute(
                wiedervorlagen.insert().values(
                    wiedervorlage_id=follow_up,
                    case_id=case_id,
                    owner=member.acting_for or member.username,
                    day=when.isoformat(),
                    note=note,
                    status=PLANNED,
                    created_at=at,
                )
            )
            await record(
                s,
                member.username,
                "wiedervorlage_gesetzt",
                case_id,
                {"tag": when.isoformat(), "vermerk": note},
            )
            await uow.emit(
                WiedervorlageSet(
                    wiedervorlage_id=follow_up, case_id=case_id, day=when.isoformat(), set_at=at
                ),
                subject=case_id,
            )
        return follow_up

    async def close_wiedervorlage(self, member: Staff, case_id: str, wiedervorlage_id: str) -> None:
        """Lift a planned follow-up (its timer is cancelled) or mark a due one done."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = (
                (
                    await s.execute(
                        sa.select(wiedervorlagen).where(
                            wiedervorlagen.c.wiedervorlage_id == wiedervorlage_id,
                            wiedervorlagen.c.case_id == case_id,
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None or row["owner"] not in people(member):
                raise PermissionError(case_id)
            if row["status"] not in (PLANNED, DUE):
                raise RouteRefused("Diese Wiedervorlage ist bereits erledigt oder aufgehoben.")
            status = LIFTED if row["status"] == PLANNED else DONE
            await s.execute(
                wiedervorlagen.update()
                .where(wiedervorlagen.c.wiedervorlage_id == wiedervorlage_id)
                .values(status=status, closed_at=now())
            )
            action = "wiedervorlage_aufgehoben" if status == LIFTED else "wiedervorlage_erledigt"
            await record(s, member.username, action, case_id, {"tag": row["day"]})
            if status == LIFTED:
                await uow.emit(
                    WiedervorlageCancelled(
                        wiedervorlage_id=wiedervorlage_id, case_id=case_id, cancelled_at=now()
                    ),
                    subject=case_id,
                )

    async def wiedervorlage_due(self, event: WiedervorlageDue, uow: UnitOfWork) -> None:
        """The follow-up's day has come: back into its owner's inbox (a lifted one stays lifted)."""
        s = uow.session
        result = await s.execute(
            wiedervorlagen.update()
            .where(
                wiedervorlagen.c.wiedervorlage_id == event.wiedervorlage_id,
                wiedervorlagen.c.status == PLANNED,
            )
            .values(status=DUE, due_at=now())
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await record(s, SYSTEM, "wiedervorlage_faellig", event.case_id, {"tag": event.day})

    async def wiedervorlagen_due(self, member: Staff) -> list[dict[str, Any]]:
        """The member's (and the absent colleague's) follow-ups that are due."""
        query = (
            sa.select(wiedervorlagen, vorgaenge.c.aktenzeichen, vorgaenge.c.akte_titel)
            .join(vorgaenge, vorgaenge.c.case_id == wiedervorlagen.c.case_id)
            .where(wiedervorlagen.c.owner.in_(people(member)), wiedervorlagen.c.status == DUE)
            .order_by(wiedervorlagen.c.day)
        )
        if member.acting_for:
            query = query.where(vorgaenge.c.persoenlich.is_(False))
        async with self.kernel.db.read() as s:
            return [dict(r) for r in (await s.execute(query)).mappings().all()]

    async def case_wiedervorlagen(self, member: Staff, case_id: str) -> list[dict[str, Any]]:
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(wiedervorlagen)
                        .where(
                            wiedervorlagen.c.case_id == case_id, wiedervorlagen.c.owner.in_(people(member))
                        )
                        .order_by(wiedervorlagen.c.day)
                    )
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    # -- Vertretung ---------------------------------------------------------------------------

    async def name_deputy(self, member: Staff, deputy: str, begin: str, end: str) -> None:
        """An absent member names a deputy for a period; raises RouteRefused."""
        if member.acting_for:
            raise RouteRefused("In Vertretung können Sie keine Vertretung benennen.")
        first, last = check_vertretung(member.username, deputy, begin, end, today=today())
        async with self.kernel.transaction() as uow:
            s = uow.session
            if (
                await s.execute(sa.select(staff.c.staff_id).where(staff.c.username == deputy))
            ).first() is None:
                raise RouteRefused(f"Die Person „{deputy}“ gibt es nicht.")
            await s.execute(
                vertretungen.insert().values(
                    absent=member.username,
                    deputy=deputy,
                    begin=first.isoformat(),
                    end=last.isoformat(),
                    created_at=now(),
                )
            )
            await record(
                s,
                member.username,
                "vertretung_benannt",
                None,
                {"vertretung": deputy, "von": first.isoformat(), "bis": last.isoformat()},
            )

    async def revoke_deputy(self, member: Staff, pk: int) -> None:
        async with self.kernel.transaction() as uow:
            s = uow.session
            result = await s.execute(
                vertretungen.update()
                .where(
                    vertretungen.c.pk == pk,
                    vertretungen.c.absent == member.username,
                    vertretungen.c.revoked_at.is_(None),
                )
                .values(revoked_at=now())
            )
            if not result.rowcount or member.acting_for:  # type: ignore[attr-defined]
                raise PermissionError(str(pk))
            await record(s, member.username, "vertretung_beendet", None, {"vertretung": pk})

    async def deputies(self, member: Staff) -> dict[str, Any]:
        """Who deputises for the member, whom the member deputises for today, and colleagues."""
        day = today().isoformat()
        names = sa.select(staff.c.username, staff.c.display_name, staff.c.unit)
        async with self.kernel.db.read() as s:
            colleagues = {r["username"]: dict(r) for r in (await s.execute(names)).mappings().all()}
            mine = (
                (
                    await s.execute(
                        sa.select(vertretungen)
                        .where(
                            vertretungen.c.absent == member.username,
                            vertretungen.c.revoked_at.is_(None),
                            vertretungen.c.end >= day,
                        )
                        .order_by(vertretungen.c.begin)
                    )
                )
                .mappings()
                .all()
            )
            theirs = (
                (
                    await s.execute(
                        sa.select(vertretungen)
                        .where(
                            vertretungen.c.deputy == member.username,
                            vertretungen.c.revoked_at.is_(None),
                            vertretungen.c.begin <= day,
                            vertretungen.c.end >= day,
                        )
                        .order_by(vertretungen.c.absent)
                    )
                )
                .mappings()
                .all()
            )
        return {
            "my_deputies": [
                {**r, "name": colleagues.get(r["deputy"], {}).get("display_name", "")} for r in mine
            ],
            "i_deputise": [{**r, **colleagues.get(r["absent"], {})} for r in theirs],
            "colleagues": sorted(
                (c for c in colleagues.values() if c["username"] != member.username),
                key=lambda c: (c["unit"], c["display_name"]),
            ),
        }

    async def acting_member(self, member: Staff, absent: str) -> Staff | None:
        """The member acting for an absent colleague today (with the colleague's unit), or
        None when no Vertretung holds."""
        day = today().isoformat()
        async with self.kernel.db.read() as s:
            held = (
                await s.execute(
                    sa.select(vertretungen.c.pk).where(
                        vertretungen.c.deputy == member.username,
                        vertretungen.c.absent == absent,
                        vertretungen.c.revoked_at.is_(None),
                        vertretungen.c.begin <= day,
                        vertretungen.c.end >= day,
                    )
                )
            ).first()
            other = (
                (
                    await s.execute(
                        sa.select(staff.c.unit, staff.c.display_name).where(staff.c.username == absent)
                    )
                )
                .mappings()
                .first()
            )
        if held is None or other is None:
            return None
        return Staff(
            member.staff_id,
            member.username,
            f"{member.display_name} in Vertretung für {other['display_name']}",
            member.role,
            other["unit"],
            acting_for=absent,
        )
