"""Co-signing (Mitzeichnung): the units a procedure names are asked when the case is up
for decision, and answer by co-signing or objecting. Kept as Beteiligungen with a step
and a kind, so that a Geschäftsgang with routes can grow from it."""

from __future__ import annotations

from typing import Any

from rathaus.eakte.domain import (
    COSIGNED,
    DECIDING_ROLES,
    MITZEICHNUNG,
    PENDING,
    SYSTEM,
    Cosignature,
    DecisionRefused,
    Staff,
    check_cosign,
)
from rathaus.eakte.handlers.closed import lifecycle_of
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.fees import FeeHandlers
from rathaus.eakte.handlers.locks import case_lock
from rathaus.eakte.records import check_writable
from rathaus.eakte.store import beteiligungen
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.procedures import Definition

COSIGN_STEP = 1  # every co-signing unit at once; a Geschäftsgang numbers its steps


class CosignHandlers(FeeHandlers):
    async def _ask_cosigners(self, uow: UnitOfWork, row: dict[str, Any], definition: Definition) -> None:
        s = uow.session
        asked = {r["unit"] for r in await self.cosignatures(s, row["case_id"])}
        for unit in definition.procedure.decision.cosign:
            if unit == row["unit"] or unit in asked:
                continue
            await s.execute(
                beteiligungen.insert().values(
                    case_id=row["case_id"],
                    step=COSIGN_STEP,
                    unit=unit,
                    kind=MITZEICHNUNG,
                    status=PENDING,
                    note="",
                    requested_at=now(),
                )
            )
            asked.add(unit)
            await record(s, SYSTEM, "mitzeichnung_angefordert", row["case_id"], {"unit": unit})

    async def cosign(self, member: Staff, case_id: str, action: str, note: str) -> None:
        """A co-signing unit co-signs (``mitgezeichnet``) or objects (``einwaende``, with a
        note); raises DecisionRefused with a message, PermissionError when not involved."""
        if member.role not in DECIDING_ROLES:
            raise DecisionRefused("Mitzeichnen können Sachbearbeitung oder Leitung.")
        async with self.kernel.transaction() as uow:
            s = uow.session
            mine = [r for r in await self.cosignatures(s, case_id) if r["unit"] == member.unit]
            if not mine:
                raise PermissionError(case_id)
            if locked := await case_lock(s, case_id):
                raise DecisionRefused(locked)
            current = mine[-1]
            check_writable(await lifecycle_of(s, case_id) or "")
            taken = await self.taken(s, case_id)
            note = check_cosign(
                action,
                note,
                Cosignature(current["unit"], current["status"], current["note"]),
                decided=taken is not None,
            )
            await s.execute(
                beteiligungen.update()
                .where(beteiligungen.c.pk == current["pk"])
                .values(status=action, note=note, by=member.username, at=now())
            )
            await record(
                s,
                member.username,
                "mitgezeichnet" if action == COSIGNED else "einwaende_erhoben",
                case_id,
                {"unit": member.unit, "vermerk": note},
            )
