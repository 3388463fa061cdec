"""What every use case of the E-Akte needs: the clock, the audit trail, a case and its
procedure version, the decision and the co-signatures recorded for it."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.eakte.domain import GENESIS, MITZEICHNUNG, PENDING, Cosignature, Taken, audit_hash
from rathaus.eakte.store import audit, beteiligungen, decisions, vorgaenge
from rathaus.platform.kernel import Kernel
from rathaus.platform.kernel.db import one_appender
from rathaus.platform.kernel.procedures import Definition

# who the acting member of staff deputises for (Vertretung): set by the workspace for the
# request of a deputy, so that every audit entry of their actions names the absent colleague
ACTING_FOR: ContextVar[tuple[str, str]] = ContextVar("acting_for", default=("", ""))  # (deputy, absent)


def now() -> str:
    return datetime.now(UTC).isoformat()


async def record(
    session: AsyncSession, actor: str, action: str, case_id: str | None, details: dict[str, Any]
) -> None:
    """Append to the hash-chained audit trail (the table refuses updates and deletes)."""
    await one_appender(session, audit.name)  # the chain's last entry must stay the last
    last = (await session.execute(sa.select(audit.c.hash).order_by(audit.c.seq.desc()).limit(1))).scalar()
    prev = last or GENESIS
    deputy, absent = ACTING_FOR.get()
    if absent and actor == deputy:
        details = {**details, "in_vertretung_fuer": absent}
    entry = {"at": now(), "actor": actor, "action": action, "case_id": case_id, "details": details}
    await session.execute(audit.insert().values(**entry, prev_hash=prev, hash=audit_hash(prev, entry)))


class Base:
    """The kernel and the queries the use cases share."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def definition(self, row: dict[str, Any]) -> Definition:
        """The procedure version the case was opened with; raises ``ProcedureChanged``."""
        return self.kernel.procedures.pinned(
            row["service_id"], row["service_version"], row["procedure_digest"]
        )

    def unit_names(self) -> dict[str, str]:
        return {code: f"{unit.name} ({code})" for code, unit in self.kernel.procedures.units.items()}

    @staticmethod
    async def case_row(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
        row = (
            (await session.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id)))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    @staticmethod
    async def taken(session: AsyncSession, case_id: str) -> Taken | None:
        row = (
            (await session.execute(sa.select(decisions).where(decisions.c.case_id == case_id)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Taken(row["outcome"], row["mode"], row["decided_at"], row["reasons"])

    @staticmethod
    async def cosignatures(session: AsyncSession, case_id: str) -> list[dict[str, Any]]:
        """The Mitzeichnung of each co-signing unit: its latest step that is not skipped
        (a unit asked again in a later route answers there)."""
        rows = (
            (
                await session.execute(
                    sa.select(beteiligungen)
                    .where(beteiligungen.c.case_id == case_id, beteiligungen.c.kind == MITZEICHNUNG)
                    .order_by(beteiligungen.c.step, beteiligungen.c.pk)
                )
            )
            .mappings()
            .all()
        )
        latest: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r["state"] != "skipped":
                latest.pop(r["unit"], None)
                latest[r["unit"]] = dict(r)
        return list(latest.values())

    @staticmethod
    def as_cosignatures(rows: list[dict[str, Any]]) -> list[Cosignature]:
        """A step that waits for its turn counts as requested."""
        return [Cosignature(r["unit"], r["status"] or PENDING, r["note"]) for r in rows]
