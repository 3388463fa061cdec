"""The Aktenplan's administration by the records manager (role registratur): the plan as a
tree with own and inherited records fields, new entries, renaming, records fields,
stilllegen and reaktivieren, and deleting an entry nobody uses. Every change in the audit
chain. Entries from the procedure data are added on every start but never overwritten:
what the records manager changed here stays."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.eakte.domain import AUSSONDERUNGSART_TEXT, RECORDS_MANAGER, Staff, effective_records
from rathaus.eakte.handlers.common import Base, now, record
from rathaus.eakte.handlers.lifecycle import plan_rows, today
from rathaus.eakte.records import (
    LifecycleRefused,
    check_new_entry,
    check_records_fields,
    check_title,
    deletion_blockers,
    retention_text,
    valid_on,
)
from rathaus.eakte.store import aktenplan, aktenzeichen_historie, units, vorgaenge

FIELDS = ("aussonderungsart", "aufbewahrung", "gueltig_ab", "gueltig_bis")


class PlanRefused(ValueError):
    """Entered values that cannot be taken; ``errors`` by field, in German."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _require(member: Staff) -> None:
    if member.role != RECORDS_MANAGER:
        raise PermissionError("registratur")


def _fields(form: dict[str, str]) -> dict[str, str | None]:
    """Records fields from a form: empty = inherited (null)."""
    values = {name: (form.get(name) or "").strip() for name in FIELDS}
    values["aussonderungsart"] = (values["aussonderungsart"] or "").upper()
    errors = check_records_fields(
        values["aussonderungsart"] or "",
        values["aufbewahrung"] or "",
        values["gueltig_ab"] or "",
        values["gueltig_bis"] or "",
    )
    if errors:
        raise PlanRefused(errors)
    return {k: (v or None) for k, v in values.items()}


class AktenplanHandlers(Base):
    def _filing_procedures(self) -> dict[str, list[str]]:
        """Aktenplan code -> titles of the current procedures that open new cases under it."""
        named: dict[str, list[str]] = {}
        for definition in self.kernel.procedures.online():
            named.setdefault(definition.procedure.aktenplan, []).append(definition.title)
        return named

    async def plan_tree(self, member: Staff) -> list[dict[str, Any]]:
        """Every entry in tree order, with depth, own and effective records fields, its use."""
        _require(member)
        async with self.kernel.db.read() as s:
            plan = await plan_rows(s)
            counts: dict[str, int] = {
                code: int(n)
                for code, n in (
                    await s.execute(
                        sa.select(vorgaenge.c.aktenplan, sa.func.count()).group_by(vorgaenge.c.aktenplan)
                    )
                ).all()
            }
            unit_names: dict[str, str] = {
                code: name for code, name in (await s.execute(sa.select(units.c.code, units.c.name))).all()
            }
        children: dict[str | None, list[str]] = {}
        for code, row in plan.items():
            parent = row["parent"] if row["parent"] in plan else None
            children.setdefault(parent, []).append(code)
        filing = self._filing_procedures()
        day = today()
        ordered: list[dict[str, Any]] = []

        def walk(parent: str | None, depth: int, active_above: bool) -> None:
            for code in sorted(children.get(parent, [])):
                row = plan[code]
                fields = effective_records(plan, code)
                active = bool(row["aktiv"]) and active_above
                ordered.append(
                    {
                        **row,
                        "depth": depth,
                        "effective_art": fields.aussonderungsart,
                        "effective_art_text": AUSSONDERUNGSART_TEXT[fields.aussonderungsart],
                        "effective_retention": retention_text(fields.aufbewahrung),
                        "usable": active and valid_on(row, day),
                        "inactive_above": bool(row["aktiv"]) and not active_above,
                        "cases": counts.get(code, 0),
                        "procedures": filing.get(code, []),
                        "unit_name": unit_names.get(row["unit"], ""),
                        "children": sorted(children.get(code, [])),
                    }
                )
                walk(code, depth + 1, active)

        walk(None, 1, True)
        return ordered

    async def unit_choices(self) -> dict[str, str]:
        async with self.kernel.db.read() as s:
            rows = (await s.execute(sa.select(units.c.code, units.c.name).order_by(units.c.code))).all()
        return {code: name for code, name in rows}

    async def add_entry(self, member: Staff, form: dict[str, str]) -> str:
        """A new entry; raises PlanRefused (errors by field). Returns its code."""
        _require(member)
        code, parent = (form.get("code") or "").strip(), (form.get("parent") or "").strip()
        title, unit = (form.get("title") or "").strip(), (form.get("unit") or "").strip()
        async with self.kernel.transaction() as uow:
            s = uow.session
            plan = await plan_rows(s)
            known = set((await s.execute(sa.select(units.c.code))).scalars())
            errors = check_new_entry(code=code, parent=parent, title=title, unit=unit, plan=plan, units=known)
            try:
                fields = _fields(form)
            except PlanRefused as refused:
                errors |= refused.errors
            if errors:
                raise PlanRefused(errors)
            await s.execute(
                aktenplan.insert().values(
                    code=code,
                    title=title,
                    parent=parent or None,
                    unit=unit or None,
                    aktiv=True,
                    verwaltet_am=now(),
                    **fields,
                )
            )
            await record(
                s,
                member.username,
                "aktenplan_eintrag_angelegt",
                None,
                {"code": code, "titel": title, "parent": parent, "unit": unit, **fields},
            )
        return code

    async def _entry(self, s: AsyncSession, code: str) -> dict[str, Any]:
        row = (await s.execute(sa.select(aktenplan).where(aktenplan.c.code == code))).mappings().first()
        if row is None:
            raise LookupError(code)
        return dict(row)

    async def entry(self, member: Staff, code: str) -> dict[str, Any] | None:
        return next((e for e in await self.plan_tree(member) if e["code"] == code), None)

    async def update_entry(self, member: Staff, code: str, form: dict[str, str]) -> None:
        """Rename an entry and set its records fields; raises PlanRefused, LookupError."""
        _require(member)
        try:
            title = check_title(form.get("title") or "")
        except LifecycleRefused as refused:
            raise PlanRefused({"title": str(refused)}) from None
        fields = _fields(form)
        async with self.kernel.transaction() as uow:
            s = uow.session
            before = await self._entry(s, code)
            changes = {
                k: {"alt": before[k], "neu": v}
                for k, v in {"title": title, **fields}.items()
                if (before[k] or None) != (v or None)
            }
            if not changes:
                return
            await s.execute(
                aktenplan.update()
                .where(aktenplan.c.code == code)
                .values(title=title, verwaltet_am=now(), **fields)
            )
            await record(
                s,
                member.username,
                "aktenplan_eintrag_geaendert",
                None,
                {"code": code, "aenderungen": changes},
            )

    async def set_active(self, member: Staff, code: str, active: bool) -> None:
        """Stilllegen (no new Akten under the entry and those below; existing ones stay) or
        reaktivieren; raises LifecycleRefused, LookupError."""
        _require(member)
        async with self.kernel.transaction() as uow:
            s = uow.session
            before = await self._entry(s, code)
            if bool(before["aktiv"]) == active:
                return
            plan = await plan_rows(s)
            if not active:
                below = _subtree(plan, code)
                filing = {c: t for c, t in self._filing_procedures().items() if c in below}
                if filing:
                    names = ", ".join(f"„{t}“ ({c})" for c, ts in sorted(filing.items()) for t in ts)
                    raise LifecycleRefused(
                        f"Die Verfahren {names} legen neue Vorgänge unter diesem Eintrag an. Stilllegen "
                        "geht erst, wenn die Verfahrensdaten auf einen anderen Eintrag verweisen."
                    )
            elif before["parent"] and before["parent"] in plan and not plan[before["parent"]]["aktiv"]:
                raise LifecycleRefused(
                    f"Der übergeordnete Eintrag {before['parent']} ist stillgelegt; reaktivieren Sie ihn zuerst."
                )
            await s.execute(
                aktenplan.update().where(aktenplan.c.code == code).values(aktiv=active, verwaltet_am=now())
            )
            await record(
                s,
                member.username,
                "aktenplan_eintrag_reaktiviert" if active else "aktenplan_eintrag_stillgelegt",
                None,
                {"code": code},
            )

    async def deletion_check(self, member: Staff, code: str) -> list[str]:
        _require(member)
        async with self.kernel.db.read() as s:
            return await self._blockers(s, code)

    async def _blockers(self, s: AsyncSession, code: str) -> list[str]:
        plan = await plan_rows(s)
        if code not in plan:
            raise LookupError(code)
        cases = (
            await s.execute(sa.select(sa.func.count()).where(vorgaenge.c.aktenplan == code))
        ).scalar() or 0
        former = (
            await s.execute(
                sa.select(sa.func.count(sa.distinct(aktenzeichen_historie.c.case_id))).where(
                    aktenzeichen_historie.c.old_aktenplan == code
                )
            )
        ).scalar() or 0
        return deletion_blockers(
            code=code,
            children=sorted(c for c, r in plan.items() if r["parent"] == code),
            cases=int(cases),
            former=int(former),
            procedures=self._filing_procedures().get(code, []),
            in_data=code in self.kernel.procedures.plan,
        )

    async def delete_entry(self, member: Staff, code: str) -> None:
        """Delete an entry nobody uses (added here by mistake); raises LifecycleRefused."""
        _require(member)
        async with self.kernel.transaction() as uow:
            s = uow.session
            blockers = await self._blockers(s, code)
            if blockers:
                raise LifecycleRefused(
                    "Der Eintrag wird verwendet und kann nicht gelöscht werden: " + " ".join(blockers)
                )
            before = await self._entry(s, code)
            await s.execute(aktenplan.delete().where(aktenplan.c.code == code))
            await record(
                s,
                member.username,
                "aktenplan_eintrag_geloescht",
                None,
                {k: before[k] for k in ("code", "title", "parent", "unit", *FIELDS)},
            )


def _subtree(plan: dict[str, dict[str, Any]], code: str) -> set[str]:
    found = {code}
    changed = True
    while changed:
        changed = False
        for c, row in plan.items():
            if c not in found and row["parent"] in found:
                found.add(c)
                changed = True
    return found
