"""A file's lifecycle on the case page: zdA verfügen (with day, Bewertungsvorschlag and end
of retention), reopening by the Leitung, Stornierung of a case opened by mistake,
Umschreiben to another Aktenplan entry with the history of Aktenzeichen, and the mark of
something that arrived after the case was closed. Everything in the audit chain."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.eakte.domain import (
    AUSSONDERUNGSART_TEXT,
    DECIDING_ROLES,
    LIFECYCLE_CANCELLED,
    LIFECYCLE_OPEN,
    LIFECYCLE_TEXT,
    LIFECYCLE_ZDA,
    Staff,
    effective_records,
    retention_end,
)
from rathaus.eakte.handlers.cases import CaseHandlers
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.records import (
    LEITUNG,
    REOPENABLE,
    ZDA_STATUSES,
    LifecycleRefused,
    check_reopen,
    check_storno,
    check_umschreiben,
    check_zda,
    retention_end_text,
    retention_text,
    usable,
)
from rathaus.eakte.store import aktenplan, aktenzeichen_historie, decisions, vorgaenge
from rathaus.platform.kernel.calendar import munich_day


def today() -> date:
    return munich_day(now())


async def plan_rows(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """The file plan as the records rules read it: code -> row."""
    rows = (await session.execute(sa.select(aktenplan))).mappings().all()
    return {r["code"]: dict(r) for r in rows}


async def changed_once(session: AsyncSession, statement: Any) -> None:
    """Run an update guarded by the state it was checked against; when someone else changed
    the case in the meantime, nothing is changed and the person is told."""
    result = await session.execute(statement)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LifecycleRefused("Der Vorgang wurde gerade geändert. Bitte laden Sie die Seite neu.")


class LifecycleHandlers(CaseHandlers):
    async def _lifecycle_case(self, session: AsyncSession, member: Staff, case_id: str) -> dict[str, Any]:
        row = await self.case_row(session, case_id)
        if row is None or row["unit"] != member.unit or (member.acting_for and row["persoenlich"]):
            raise PermissionError(case_id)  # a deputy never works a case marked personal
        return row

    async def close_case(self, member: Staff, case_id: str, day: str = "", bewertung: str = "") -> None:
        """zdA verfügen; raises LifecycleRefused, PermissionError (not the member's unit's case)."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = await self._lifecycle_case(s, member, case_id)
            decided_at = (
                await s.execute(sa.select(decisions.c.decided_at).where(decisions.c.case_id == case_id))
            ).scalar()
            fields = effective_records(await plan_rows(s), row["aktenplan"])
            closing = check_zda(
                role=member.role,
                status=row["status"],
                lifecycle=row["lifecycle"],
                day_text=day,
                today=today(),
                decided_day=munich_day(decided_at) if decided_at else None,
                aussonderungsart=fields.aussonderungsart,
                aufbewahrung=fields.aufbewahrung,
                chosen=bewertung,
            )
            end = closing.aufbewahrungsende.isoformat() if closing.aufbewahrungsende else None
            await changed_once(
                s,
                vorgaenge.update()
                .where(vorgaenge.c.case_id == case_id, vorgaenge.c.lifecycle == LIFECYCLE_OPEN)
                .values(
                    lifecycle=LIFECYCLE_ZDA,
                    zda_at=closing.day.isoformat(),
                    bewertungsvorschlag=closing.bewertungsvorschlag,
                    aufbewahrungsende=end,
                    abschluss_vermerk="",
                    eingang_nach_abschluss=None,
                ),
            )
            await record(
                s,
                member.username,
                "zda_verfuegt",
                case_id,
                {
                    "zda": closing.day.isoformat(),
                    "aktenplan": row["aktenplan"],
                    "aussonderungsart": fields.aussonderungsart,
                    "bewertungsvorschlag": closing.bewertungsvorschlag,
                    "aufbewahrung": fields.aufbewahrung,
                    "aufbewahrungsende": end or "unbefristet",
                },
            )

    async def reopen_case(self, member: Staff, case_id: str, reason: str) -> None:
        """zdA (or a Stornierung) aufheben: Leitung only, with a reason; retention cleared."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = await self._lifecycle_case(s, member, case_id)
            reason = check_reopen(role=member.role, lifecycle=row["lifecycle"], reason=reason)
            await changed_once(
                s,
                vorgaenge.update()
                .where(vorgaenge.c.case_id == case_id, vorgaenge.c.lifecycle == row["lifecycle"])
                .values(
                    lifecycle=LIFECYCLE_OPEN,
                    zda_at=None,
                    bewertungsvorschlag=None,
                    aufbewahrungsende=None,
                    abschluss_vermerk="",
                    eingang_nach_abschluss=None,
                ),
            )
            await record(
                s,
                member.username,
                "zda_aufgehoben" if row["lifecycle"] == LIFECYCLE_ZDA else "stornierung_aufgehoben",
                case_id,
                {
                    "grund": reason,
                    "bisher": row["lifecycle"],
                    "zda": row["zda_at"],
                    "bewertungsvorschlag": row["bewertungsvorschlag"],
                    "aufbewahrungsende": row["aufbewahrungsende"],
                },
            )

    async def cancel_case(self, member: Staff, case_id: str, reason: str) -> None:
        """Stornierung of a case opened by mistake: it stays visible with its documents,
        closed, proposed for destruction (V) after the plan's retention counted from the
        Stornierung; it is never offered to the archive (lifecycle "storniert", not "zda")."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = await self._lifecycle_case(s, member, case_id)
            decided = (
                await s.execute(sa.select(decisions.c.case_id).where(decisions.c.case_id == case_id))
            ).first() is not None
            reason = check_storno(
                role=member.role,
                status=row["status"],
                lifecycle=row["lifecycle"],
                decided=decided,
                reason=reason,
            )
            day = today()
            fields = effective_records(await plan_rows(s), row["aktenplan"])
            end = retention_end(day, fields.aufbewahrung)
            await changed_once(
                s,
                vorgaenge.update()
                .where(vorgaenge.c.case_id == case_id, vorgaenge.c.lifecycle == LIFECYCLE_OPEN)
                .values(
                    lifecycle=LIFECYCLE_CANCELLED,
                    zda_at=day.isoformat(),
                    bewertungsvorschlag="V",
                    aufbewahrungsende=end.isoformat() if end else None,
                    abschluss_vermerk=reason,
                    eingang_nach_abschluss=None,
                ),
            )
            await record(
                s,
                member.username,
                "storniert",
                case_id,
                {
                    "grund": reason,
                    "am": day.isoformat(),
                    "aufbewahrungsende": end.isoformat() if end else "unbefristet",
                },
            )

    async def reassign_case(self, member: Staff, case_id: str, target: str, reason: str) -> str:
        """Umschreiben: the case moves to another Aktenplan entry and gets a new Aktenzeichen
        (the next serial under that entry); the old one is kept in the history and still
        finds the case. Returns the new Aktenzeichen."""
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = await self._lifecycle_case(s, member, case_id)
            target = target.strip()
            unit = check_umschreiben(
                role=member.role,
                lifecycle=row["lifecycle"],
                case_unit=row["unit"],
                current=row["aktenplan"],
                target=target,
                plan=await plan_rows(s),
                today=today(),
                reason=reason,
            )
            new = await self._next_aktenzeichen(uow, target)
            at = now()
            await changed_once(
                s,
                vorgaenge.update()
                .where(
                    vorgaenge.c.case_id == case_id,
                    vorgaenge.c.aktenzeichen == row["aktenzeichen"],
                    vorgaenge.c.lifecycle == LIFECYCLE_OPEN,
                )
                .values(aktenzeichen=new, aktenplan=target, unit=unit),
            )
            await s.execute(
                aktenzeichen_historie.insert().values(
                    case_id=case_id,
                    old=row["aktenzeichen"],
                    new=new,
                    old_aktenplan=row["aktenplan"],
                    new_aktenplan=target,
                    old_unit=row["unit"],
                    new_unit=unit,
                    at=at,
                    by=member.username,
                    reason=reason.strip(),
                )
            )
            await record(
                s,
                member.username,
                "umgeschrieben",
                case_id,
                {
                    "alt": row["aktenzeichen"],
                    "neu": new,
                    "aktenplan": target,
                    "unit": unit,
                    "grund": reason.strip(),
                },
            )
        return new

    async def acknowledge_arrival(self, member: Staff, case_id: str) -> None:
        """The case worker has seen what arrived after the case was closed."""
        if member.role not in DECIDING_ROLES:
            raise LifecycleRefused("Das erledigen Sachbearbeitung oder Leitung.")
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = await self._lifecycle_case(s, member, case_id)
            if not row["eingang_nach_abschluss"]:
                return
            await s.execute(
                vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(eingang_nach_abschluss=None)
            )
            await record(
                s,
                member.username,
                "eingang_nach_abschluss_gesehen",
                case_id,
                {"seit": row["eingang_nach_abschluss"]},
            )

    async def find_aktenzeichen(self, az: str) -> str | None:
        """The case of an Aktenzeichen, current or former (after an Umschreibung)."""
        az = az.strip()
        async with self.kernel.db.read() as s:
            found = (
                await s.execute(sa.select(vorgaenge.c.case_id).where(vorgaenge.c.aktenzeichen == az))
            ).scalar()
            if found is None:
                found = (
                    await s.execute(
                        sa.select(aktenzeichen_historie.c.case_id)
                        .where(aktenzeichen_historie.c.old == az)
                        .order_by(aktenzeichen_historie.c.pk.desc())
                        .limit(1)
                    )
                ).scalar()
        return str(found) if found else None

    async def lifecycle_view(self, member: Staff, row: dict[str, Any]) -> dict[str, Any]:
        """What the case page shows of the file's lifecycle and which actions it offers."""
        async with self.kernel.db.read() as s:
            plan = await plan_rows(s)
            history = (
                (
                    await s.execute(
                        sa.select(aktenzeichen_historie)
                        .where(aktenzeichen_historie.c.case_id == row["case_id"])
                        .order_by(aktenzeichen_historie.c.pk)
                    )
                )
                .mappings()
                .all()
            )
            decided_at = (
                await s.execute(
                    sa.select(decisions.c.decided_at).where(decisions.c.case_id == row["case_id"])
                )
            ).scalar()
        day = today()
        fields = effective_records(plan, row["aktenplan"])
        entry = plan.get(row["aktenplan"], {})
        responsible = row["unit"] == member.unit
        worker = responsible and member.role in DECIDING_ROLES
        state = row["lifecycle"]
        targets = [
            {"code": code, "title": r["title"], "unit": r["unit"]}
            for code, r in sorted(plan.items())
            if r.get("unit")
            and code != row["aktenplan"]
            and usable(plan, code, day)
            and (r["unit"] == row["unit"] or member.role == LEITUNG)
        ]
        return {
            "lc": {
                "state": state,
                "state_text": LIFECYCLE_TEXT.get(state, state),
                "entry_title": entry.get("title", ""),
                "art": fields.aussonderungsart,
                "art_text": AUSSONDERUNGSART_TEXT.get(fields.aussonderungsart, ""),
                "retention": retention_text(fields.aufbewahrung),
                "proposal": row["bewertungsvorschlag"] or "",
                "proposal_text": AUSSONDERUNGSART_TEXT.get(row["bewertungsvorschlag"] or "", ""),
                "end_text": retention_end_text(row["aufbewahrungsende"]),
                "history": [dict(h) for h in history],
                "arrival": row["eingang_nach_abschluss"] or "",
                "can_close": worker and state == LIFECYCLE_OPEN and row["status"] in ZDA_STATUSES,
                "can_cancel": worker and state == LIFECYCLE_OPEN and decided_at is None,
                "can_reopen": responsible and member.role == LEITUNG and state in REOPENABLE,
                "can_reassign": worker and state == LIFECYCLE_OPEN and bool(targets),
                "can_acknowledge": worker and bool(row["eingang_nach_abschluss"]),
                "choose_art": fields.aussonderungsart == "B",
                "today": day.isoformat(),
                "earliest": munich_day(decided_at).isoformat() if decided_at else "",
                "targets": targets,
            }
        }
