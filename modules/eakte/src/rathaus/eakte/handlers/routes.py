"""The stored side of the Geschäftsgang: a route (Verfügung) and its steps (rows of
``beteiligungen``), started, advanced and ended in the caller's transaction, each change in
the audit chain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.eakte.domain_gang import (
    CURRENT,
    FINISHED,
    FUTURE,
    RUNNING,
    SKIPPED,
    STEP_KINDS,
    STOPPED,
    Step,
    advance,
    finished,
    start,
)
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.store import beteiligungen
from rathaus.eakte.store_gang import verfuegungen


def as_step(row: dict[str, Any]) -> Step:
    return Step(
        number=row["number"],
        kind=row["kind"],
        unit=row["unit"],
        person=row["person"],
        role=row["role"],
        instruction=row["instruction"],
        due=row["due"],
        state=row["state"],
        answer=row["status"],
    )


async def route_rows(session: AsyncSession, verfuegung_id: str) -> list[dict[str, Any]]:
    rows = (
        (
            await session.execute(
                sa.select(beteiligungen)
                .where(beteiligungen.c.verfuegung_id == verfuegung_id)
                .order_by(beteiligungen.c.step, beteiligungen.c.pk)
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


async def routes_of(session: AsyncSession, case_id: str) -> list[dict[str, Any]]:
    rows = (
        (
            await session.execute(
                sa.select(verfuegungen)
                .where(verfuegungen.c.case_id == case_id)
                .order_by(verfuegungen.c.created_at)
            )
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


async def running_route(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    return next((r for r in await routes_of(session, case_id) if r["status"] == RUNNING), None)


async def locked_documents(session: AsyncSession, case_id: str) -> list[str]:
    """The document ids that travel in the case's running route."""
    route = await running_route(session, case_id)
    return list(route["documents"]) if route else []


def _step_audit(row: dict[str, Any] | Step) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {
        "schritt": get("number"),
        "art": STEP_KINDS.get(str(get("kind")), get("kind")),
        "unit": get("unit"),
        "person": get("person") or "",
    }


async def create_route(
    session: AsyncSession,
    case_id: str,
    steps: Sequence[Step],
    *,
    actor: str,
    title: str,
    template: str = "",
    outcome: str = "",
    reasons: str = "",
    documents: Sequence[str] = (),
) -> str:
    """A new route of the case with its first number's steps current; raises ValueError
    when the case already has a running route."""
    if await running_route(session, case_id) is not None:
        raise ValueError("Für diesen Vorgang läuft bereits ein Geschäftsgang.")
    route_id = str(uuid.uuid4())
    at = now()
    await session.execute(
        verfuegungen.insert().values(
            verfuegung_id=route_id,
            case_id=case_id,
            title=title[:200],
            template=template,
            status=RUNNING,
            outcome=outcome,
            reasons=reasons,
            documents=list(documents),
            created_by=actor,
            created_at=at,
        )
    )
    # the steps of all routes of a case are numbered on (one row per case, step, unit, kind)
    offset = (
        await session.execute(
            sa.select(sa.func.coalesce(sa.func.max(beteiligungen.c.step), 0)).where(
                beteiligungen.c.case_id == case_id
            )
        )
    ).scalar_one()
    await record(
        session,
        actor,
        "geschaeftsgang_gestartet",
        case_id,
        {
            "verfuegung": route_id,
            "titel": title,
            "vorlage": template,
            "entwurf": outcome,
            "dokumente": list(documents),
            "schritte": [_step_audit(s) for s in steps],
        },
    )
    for step in start(steps):
        await session.execute(
            beteiligungen.insert().values(
                case_id=case_id,
                step=offset + step.number,
                unit=step.unit,
                kind=step.kind,
                status=step.answer,
                requested_at=at,
                verfuegung_id=route_id,
                number=step.number,
                person=step.person,
                role=step.role,
                instruction=step.instruction,
                due=step.due,
                state=step.state,
                note="bereits mitgezeichnet" if step.state == SKIPPED else "",
            )
        )
        if step.state == CURRENT:
            await record(session, actor, "schritt_angefordert", case_id, _step_audit(step))
    return route_id


async def advance_route(session: AsyncSession, route: dict[str, Any], actor: str) -> bool:
    """The route's next number starts when its current one is through; True when the whole
    route is through (then it is closed and its documents are free again)."""
    rows = await route_rows(session, route["verfuegung_id"])
    steps = advance([as_step(r) for r in rows])
    for row, step in zip(rows, steps, strict=True):
        if row["state"] == FUTURE and step.state == CURRENT:
            await session.execute(
                beteiligungen.update()
                .where(beteiligungen.c.pk == row["pk"])
                .values(state=CURRENT, status=step.answer, requested_at=now())
            )
            await record(session, actor, "schritt_angefordert", route["case_id"], _step_audit(row))
    if not finished(steps):
        return False
    await end_route(session, route, FINISHED, actor)
    return True


async def end_route(
    session: AsyncSession, route: dict[str, Any], status: str, actor: str, note: str = ""
) -> None:
    """Close a route: finished, or returned (its open steps are skipped)."""
    if status == STOPPED:
        await session.execute(
            beteiligungen.update()
            .where(
                beteiligungen.c.verfuegung_id == route["verfuegung_id"],
                beteiligungen.c.state.in_([FUTURE, CURRENT]),
            )
            .values(state=SKIPPED)
        )
    await session.execute(
        verfuegungen.update()
        .where(verfuegungen.c.verfuegung_id == route["verfuegung_id"])
        .values(status=status, ended_at=now())
    )
    action = "geschaeftsgang_abgeschlossen" if status == FINISHED else "geschaeftsgang_zurueckgegeben"
    details: dict[str, Any] = {"verfuegung": route["verfuegung_id"]}
    if note:
        details["vermerk"] = note
    await record(session, actor, action, route["case_id"], details)
