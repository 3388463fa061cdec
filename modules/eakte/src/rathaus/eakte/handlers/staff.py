"""Staff accounts: login (also for other modules, over NATS), lookup, creation; and the
organisation they belong to (units and file plan, from the procedure data)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rathaus.contracts.eakte.rpc_v1 import StaffCredentials, StaffIdentity
from rathaus.eakte.domain import ROLES, SYSTEM, Staff
from rathaus.eakte.handlers.common import Base, record
from rathaus.eakte.store import aktenplan, staff, units
from rathaus.platform.kernel.passwords import hash_password, verify_password
from rathaus.platform.kernel.procedures.model import PlanEntry


class StaffHandlers(Base):
    async def authenticate(self, credentials: StaffCredentials) -> StaffIdentity:
        async with self.kernel.db.session() as s:
            row = (
                (await s.execute(sa.select(staff).where(staff.c.username == credentials.username)))
                .mappings()
                .first()
            )
        ok = await verify_password(row["password_hash"] if row else None, credentials.password)
        if not ok or row is None:
            return StaffIdentity(ok=False)
        return StaffIdentity(
            ok=True,
            staff_id=row["staff_id"],
            display_name=row["display_name"],
            role=row["role"],
            unit=row["unit"],
        )

    async def staff_member(self, staff_id: str) -> Staff | None:
        async with self.kernel.db.read() as s:
            row = (await s.execute(sa.select(staff).where(staff.c.staff_id == staff_id))).mappings().first()
        if row is None:
            return None
        return Staff(row["staff_id"], row["username"], row["display_name"], row["role"], row["unit"])

    async def has_staff(self, username: str) -> bool:
        async with self.kernel.db.read() as s:
            found = (await s.execute(sa.select(staff.c.staff_id).where(staff.c.username == username))).first()
        return found is not None

    async def add_staff(
        self, *, username: str, password: str, display_name: str, role: str, unit: str
    ) -> str:
        if len(password) < 10:
            raise ValueError("Das Passwort muss mindestens 10 Zeichen lang sein.")
        if role not in ROLES:
            raise ValueError(f"Die Rolle {role} gibt es nicht (möglich: {', '.join(ROLES)}).")
        async with self.kernel.db.session() as s:
            if not (await s.execute(sa.select(units.c.code).where(units.c.code == unit))).first():
                raise ValueError(f"Die Organisationseinheit {unit} gibt es nicht.")
            if (await s.execute(sa.select(staff.c.staff_id).where(staff.c.username == username))).first():
                raise ValueError(f"Den Benutzernamen {username} gibt es schon.")
            staff_id = str(uuid.uuid4())
            await s.execute(
                staff.insert().values(
                    staff_id=staff_id,
                    username=username,
                    display_name=display_name,
                    password_hash=await hash_password(password),
                    role=role,
                    unit=unit,
                )
            )
            await record(
                s, SYSTEM, "zugang_angelegt", None, {"username": username, "role": role, "unit": unit}
            )
        return staff_id

    async def sync_organisation(self) -> list[str]:
        """Add the units and file-plan entries of the procedure data that the database does
        not know yet (never removes one: Akten refer to them). Returns the codes added."""
        for attempt in range(2):
            try:
                return await self._sync_organisation()
            except IntegrityError:  # another replica added the same rows at the same moment
                if attempt:
                    raise
        return []

    async def _sync_organisation(self) -> list[str]:
        data = self.kernel.procedures
        added: list[str] = []
        async with self.kernel.db.session() as s:
            known = set((await s.execute(sa.select(units.c.code))).scalars())
            new_units = [u for code, u in data.units.items() if code not in known]
            if new_units:
                await s.execute(units.insert(), [{"code": u.code, "name": u.name[:200]} for u in new_units])
                known |= {u.code for u in new_units}
                added += [u.code for u in new_units]
            planned = set((await s.execute(sa.select(aktenplan.c.code))).scalars())
            new_entries = [e for code, e in data.plan.items() if code not in planned]
            if new_entries:
                await s.execute(
                    aktenplan.insert(),
                    [
                        {
                            "code": e.code,
                            "title": e.title[:200],
                            "parent": e.parent or None,
                            "unit": e.unit if e.unit in known else None,
                            **records_fields(e),
                        }
                        for e in new_entries
                    ],
                )
                added += [e.code for e in new_entries]
            # records fields new in the data fill entries that have none yet (never overwrite
            # what the records manager set on the administration page)
            unset = (
                await s.execute(
                    sa.select(aktenplan.c.code).where(
                        aktenplan.c.aussonderungsart.is_(None),
                        aktenplan.c.aufbewahrung.is_(None),
                        aktenplan.c.verwaltet_am.is_(None),
                    )
                )
            ).scalars()
            for code in unset:
                entry = data.plan.get(code)
                if entry and (entry.aussonderungsart or entry.aufbewahrung):
                    await s.execute(
                        aktenplan.update().where(aktenplan.c.code == code).values(**records_fields(entry))
                    )
            if added:
                await record(s, SYSTEM, "organisation_ergaenzt", None, {"neu": added})
        return added


def records_fields(entry: PlanEntry) -> dict[str, str | None]:
    """The records fields of a file-plan entry of the data, as columns (null = inherited)."""
    return {
        "aussonderungsart": entry.aussonderungsart or None,
        "aufbewahrung": entry.aufbewahrung or None,
        "gueltig_ab": entry.gueltig_ab or None,
        "gueltig_bis": entry.gueltig_bis or None,
    }
