"""Steps of the Geschäftsgang and the Mitzeichnung as one of them: the units a procedure
names co-sign in a route of their own when the case is up for decision (a procedure with
route templates leaves that to the clerk's Verfügung); an addressee answers a step, which
advances the route."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rathaus.eakte.domain import (
    COSIGNED,
    DECIDING_ROLES,
    SYSTEM,
    Cosignature,
    DecisionRefused,
    Staff,
    check_cosign,
)
from rathaus.eakte.domain_gang import (
    CURRENT,
    DONE,
    FUTURE,
    MITZEICHNUNG,
    OBJECTED,
    RUNNING,
    SCHLUSSZEICHNUNG,
    Step,
    Worker,
    check_answer,
)
from rathaus.eakte.handlers.closed import lifecycle_of
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.fees import FeeHandlers
from rathaus.eakte.handlers.locks import check_workable
from rathaus.eakte.handlers.routes import advance_route, as_step, create_route, routes_of, running_route
from rathaus.eakte.store import beteiligungen
from rathaus.eakte.store_gang import verfuegungen
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.procedures import Definition

ANSWER_ACTIONS = {
    "zur_kenntnis_genommen": "zur_kenntnis_genommen",
    COSIGNED: "mitgezeichnet",
    OBJECTED: "einwaende_erhoben",
    "schlussgezeichnet": "schlussgezeichnet",
    "zurueckgegeben": "zur_ueberarbeitung_zurueckgegeben",
    "bearbeitet": "schritt_bearbeitet",
}


def worker(member: Staff) -> Worker:
    return Worker(member.username, member.unit, member.role, member.acting_for)


class CosignHandlers(FeeHandlers):
    async def _ask_cosigners(self, uow: UnitOfWork, row: dict[str, Any], definition: Definition) -> None:
        s = uow.session
        asked = {r["unit"] for r in await self.cosignatures(s, row["case_id"])}
        units = [u for u in definition.procedure.decision.cosign if u != row["unit"] and u not in asked]
        if not units or await running_route(s, row["case_id"]) is not None:
            return
        await create_route(
            s,
            row["case_id"],
            [Step(1, MITZEICHNUNG, unit) for unit in units],
            actor=SYSTEM,
            title="Mitzeichnung nach dem Verfahren",
        )
        for unit in units:
            await record(s, SYSTEM, "mitzeichnung_angefordert", row["case_id"], {"unit": unit})

    async def route_blocks_decision(self, session: Any, row: dict[str, Any], definition: Definition) -> None:
        """A clerk's decision waits for every co-signing unit the procedure names, and is not
        the clerk's while a route with a Schlusszeichnung runs; raises DecisionRefused."""
        route = await running_route(session, row["case_id"])
        if route is not None:
            final = (
                await session.execute(
                    sa.select(beteiligungen.c.pk).where(
                        beteiligungen.c.verfuegung_id == route["verfuegung_id"],
                        beteiligungen.c.kind == SCHLUSSZEICHNUNG,
                    )
                )
            ).first()
            if final is not None:
                raise DecisionRefused(
                    "Der Vorgang ist im Geschäftsgang: Die Entscheidung ergeht mit der Schlusszeichnung."
                )
        asked = {r["unit"] for r in await self.cosignatures(session, row["case_id"])}
        missing = [u for u in definition.procedure.decision.cosign if u != row["unit"] and u not in asked]
        if missing:
            names = self.unit_names()
            raise DecisionRefused(
                f"Die Mitzeichnung durch {', '.join(names.get(u, u) for u in missing)} steht noch aus. "
                "Starten Sie den Geschäftsgang (Muster für Verfügung) auf dieser Seite."
            )

    async def cosign(self, member: Staff, case_id: str, action: str, note: str) -> None:
        """A co-signing unit co-signs (``mitgezeichnet``) or objects (``einwaende``, with a
        note); raises DecisionRefused with a message, PermissionError when not involved."""
        if member.role not in DECIDING_ROLES:
            raise DecisionRefused("Mitzeichnen können Sachbearbeitung oder Leitung.")
        async with self.kernel.transaction() as uow:
            s = uow.session
            mine = [
                r
                for r in await self.cosignatures(s, case_id)
                if r["unit"] == member.unit
                and (not r["person"] or r["person"] in (member.username, member.acting_for))
            ]
            if not mine:
                raise PermissionError(case_id)
            await check_workable(s, case_id, await lifecycle_of(s, case_id) or "")
            current = mine[-1]
            if current["state"] == FUTURE:
                raise DecisionRefused("Ihre Mitzeichnung ist noch nicht an der Reihe.")
            taken = await self.taken(s, case_id)
            check_cosign(
                action,
                note,
                Cosignature(current["unit"], current["status"], current["note"]),
                decided=taken is not None,
            )
            await self._answer(uow, member, current, action, note, decided=taken is not None)

    async def _answer(
        self,
        uow: UnitOfWork,
        member: Staff,
        row: dict[str, Any],
        action: str,
        note: str,
        *,
        decided: bool,
        attachment: str = "",
    ) -> dict[str, Any]:
        """Record a step's answer and advance its route; returns the route. Raises
        RouteRefused, PermissionError."""
        s = uow.session
        note = check_answer(as_step(row), worker(member), action, note, decided=decided)
        route = (
            (
                await s.execute(
                    sa.select(verfuegungen).where(verfuegungen.c.verfuegung_id == row["verfuegung_id"])
                )
            )
            .mappings()
            .one()
        )
        revising = row["state"] == DONE
        if route["status"] != RUNNING and not revising:
            raise DecisionRefused("Dieser Geschäftsgang ist bereits beendet.")
        await s.execute(
            beteiligungen.update()
            .where(beteiligungen.c.pk == row["pk"])
            .values(
                status=action,
                state=DONE,
                note=note,
                by=member.username,
                at=now(),
                attachment=attachment or row["attachment"],
            )
        )
        details: dict[str, Any] = {"unit": row["unit"], "schritt": row["number"], "vermerk": note}
        if attachment:
            details["stellungnahme"] = attachment
        await record(s, member.username, ANSWER_ACTIONS.get(action, action), row["case_id"], details)
        if route["status"] == RUNNING and row["state"] == CURRENT:
            await advance_route(s, dict(route), member.username)
        return dict(route)

    async def steps_of(self, session: Any, case_id: str) -> list[dict[str, Any]]:
        """Every route of the case with its steps, oldest first."""
        routes = await routes_of(session, case_id)
        rows = (
            (
                await session.execute(
                    sa.select(beteiligungen)
                    .where(beteiligungen.c.case_id == case_id)
                    .order_by(beteiligungen.c.step, beteiligungen.c.pk)
                )
            )
            .mappings()
            .all()
        )
        for route in routes:
            route["steps"] = [dict(r) for r in rows if r["verfuegung_id"] == route["verfuegung_id"]]
        return routes
