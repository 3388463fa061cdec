"""Use cases of the E-Akte: open cases, file documents, decide, authenticate staff."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts.common import Address, Person
from rathaus.contracts.eakte.rpc_v1 import StaffCredentials, StaffIdentity
from rathaus.contracts.eakte.v1 import CaseOpened, DecisionMade, DocumentFiled, Recipient
from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.platform.v1 import DecisionOverdue, RequestDecision
from rathaus.contracts.portal.v1 import ApplicationSubmitted
from rathaus.contracts.procedures import procedure
from rathaus.eakte.domain import (
    GENESIS,
    DecisionRefused,
    Staff,
    aktenzeichen,
    audit_hash,
    permit_facts,
    validate_decision,
    verify_chain,
)
from rathaus.eakte.store import audit, decisions, documents, serials, staff, units, vorgaenge
from rathaus.platform.kernel import Kernel, UnitOfWork

hasher = PasswordHasher()
_DUMMY_HASH = hasher.hash("no such user")


def now() -> str:
    return datetime.now(UTC).isoformat()


async def record(
    session: AsyncSession, actor: str, action: str, case_id: str | None, details: dict[str, Any]
) -> None:
    """Append to the hash-chained audit trail (the table refuses updates and deletes)."""
    last = (await session.execute(sa.select(audit.c.hash).order_by(audit.c.seq.desc()).limit(1))).scalar()
    prev = last or GENESIS
    entry = {"at": now(), "actor": actor, "action": action, "case_id": case_id, "details": details}
    await session.execute(audit.insert().values(**entry, prev_hash=prev, hash=audit_hash(prev, entry)))


class EAkte:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    # -- events -------------------------------------------------------------------------

    async def open_case(self, event: ApplicationSubmitted, uow: UnitOfWork) -> None:
        """An Akte and a Vorgang with its Aktenzeichen for a submitted application."""
        s = uow.session
        if (
            await s.execute(sa.select(vorgaenge.c.case_id).where(vorgaenge.c.case_id == event.case_id))
        ).first():
            return
        proc = procedure(event.service_id)
        year = date.today().year
        current = (
            await s.execute(
                sa.select(serials.c.last).where(serials.c.aktenplan == proc.aktenplan, serials.c.year == year)
            )
        ).scalar()
        serial = (current or 0) + 1
        if current is None:
            await s.execute(serials.insert().values(aktenplan=proc.aktenplan, year=year, last=serial))
        else:
            await s.execute(
                serials.update()
                .where(serials.c.aktenplan == proc.aktenplan, serials.c.year == year)
                .values(last=serial)
            )
        az = aktenzeichen(proc.aktenplan, year, serial)
        person = event.applicant.person
        opened = now()
        await s.execute(
            vorgaenge.insert().values(
                case_id=event.case_id,
                aktenzeichen=az,
                aktenplan=proc.aktenplan,
                akte_titel=f"{proc.title} – {person.family_name}, {person.given_name}",
                service_id=event.service_id,
                unit=proc.unit,
                status="eingegangen",
                applicant=msgspec.to_builtins(event.applicant),
                form=dict(event.form),
                evidence=msgspec.to_builtins(event.evidence),
                opened_at=opened,
                submitted_at=event.submitted_at,
            )
        )
        await record(s, "system", "vorgang_angelegt", event.case_id, {"aktenzeichen": az, "unit": proc.unit})
        await uow.emit(
            CaseOpened(
                case_id=event.case_id,
                aktenzeichen=az,
                service_id=event.service_id,
                unit=proc.unit,
                stadtbezirk=event.form.get("stadtbezirk", ""),
                opened_at=opened,
            ),
            subject=event.case_id,
        )
        pending = (
            (
                await s.execute(
                    sa.select(documents).where(
                        documents.c.case_id == event.case_id, documents.c.filed_at.is_(None)
                    )
                )
            )
            .mappings()
            .all()
        )
        for doc in pending:
            await self._file(uow, dict(doc), az)

    async def _file(self, uow: UnitOfWork, doc: dict[str, Any], az: str) -> None:
        filed = now()
        await uow.session.execute(
            documents.update().where(documents.c.pk == doc["pk"]).values(filed_at=filed)
        )
        await record(
            uow.session,
            "system",
            "dokument_abgelegt",
            doc["case_id"],
            {"document_id": doc["document_id"], "version": doc["version"], "sha256": doc["sha256"]},
        )
        await uow.emit(
            DocumentFiled(
                case_id=doc["case_id"],
                aktenzeichen=az,
                document_id=doc["document_id"],
                document_type=doc["document_type"],
                sha256=doc["sha256"],
                version=doc["version"],
                filed_at=filed,
            ),
            subject=doc["case_id"],
        )

    async def _store_document(self, uow: UnitOfWork, values: dict[str, Any]) -> None:
        s = uow.session
        versions = (
            await s.execute(
                sa.select(documents.c.version, documents.c.sha256)
                .where(documents.c.document_id == values["document_id"])
                .order_by(documents.c.version)
            )
        ).all()
        if any(sha == values["sha256"] for _, sha in versions):
            return  # the same content again: nothing new to file
        values["version"] = (versions[-1][0] + 1) if versions else 1
        inserted = await s.execute(documents.insert().values(**values))
        pk = inserted.inserted_primary_key[0]  # type: ignore[attr-defined]
        az = (
            await s.execute(
                sa.select(vorgaenge.c.aktenzeichen).where(vorgaenge.c.case_id == values["case_id"])
            )
        ).scalar()
        if az is not None:  # else it waits for its case to be opened
            await self._file(uow, {**values, "pk": pk}, az)

    async def file_document(self, event: DocumentRouted, uow: UnitOfWork) -> None:
        await self._store_document(
            uow,
            {
                "document_id": event.document_id,
                "case_id": event.case_id,
                "sha256": event.blob.sha256,
                "blob": msgspec.to_builtins(event.blob),
                "document_type": event.document_type,
                "title": event.title,
                "medium": event.medium,
                "source": event.source,
                "received_at": event.received_at,
                "text": event.text,
            },
        )

    async def file_bescheid(self, event: DecisionDelivered, uow: UnitOfWork) -> None:
        await self._store_document(
            uow,
            {
                "document_id": f"bescheid-{event.case_id}",
                "case_id": event.case_id,
                "sha256": event.document.sha256,
                "blob": msgspec.to_builtins(event.document),
                "document_type": "bescheid",
                "title": f"Bescheid ({'Bewilligung' if event.outcome == 'granted' else 'Ablehnung'})",
                "medium": "elektronisch",
                "source": "postausgang",
                "received_at": event.sent_at,
                "text": f"Bescheid zugestellt über {event.channel}, Bekanntgabe am {event.bekanntgabe}.",
            },
        )
        await self._status(uow, event.case_id, "zugestellt", {"bekanntgabe": event.bekanntgabe})

    async def _status(
        self, uow: UnitOfWork, case_id: str, status: str, details: dict[str, Any], **extra: Any
    ) -> None:
        result = await uow.session.execute(
            vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(status=status, **extra)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise LookupError(f"case {case_id} is not opened yet")  # retried until it is
        await record(uow.session, "system", f"status_{status}", case_id, details)

    async def request_decision(self, event: RequestDecision, uow: UnitOfWork) -> None:
        await self._status(
            uow, event.case_id, "zur_entscheidung", {"frist": event.due_at}, due_at=event.due_at
        )

    async def overdue(self, event: DecisionOverdue, uow: UnitOfWork) -> None:
        await uow.session.execute(
            vorgaenge.update()
            .where(vorgaenge.c.case_id == event.case_id)
            .values(
                overdue_level=sa.case(
                    (vorgaenge.c.overdue_level < event.level, event.level), else_=vorgaenge.c.overdue_level
                )
            )
        )
        action = "erinnerung" if event.level == 1 else "eskalation"
        await record(
            uow.session, "system", action, event.case_id, {"frist": event.due_at, "stufe": event.level}
        )

    # -- staff ------------------------------------------------------------------------------

    async def authenticate(self, credentials: StaffCredentials) -> StaffIdentity:
        async with self.kernel.db.session() as s:
            row = (
                (await s.execute(sa.select(staff).where(staff.c.username == credentials.username)))
                .mappings()
                .first()
            )
        stored = row["password_hash"] if row else _DUMMY_HASH
        ok: bool
        try:
            ok = bool(await asyncio.to_thread(hasher.verify, stored, credentials.password))
        except (VerificationError, InvalidHashError):
            ok = False
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
        async with self.kernel.db.session() as s:
            row = (await s.execute(sa.select(staff).where(staff.c.staff_id == staff_id))).mappings().first()
        if row is None:
            return None
        return Staff(row["staff_id"], row["username"], row["display_name"], row["role"], row["unit"])

    async def add_staff(
        self, *, username: str, password: str, display_name: str, role: str, unit: str
    ) -> str:
        if len(password) < 10:
            raise ValueError("Das Passwort muss mindestens 10 Zeichen lang sein.")
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
                    password_hash=await asyncio.to_thread(hasher.hash, password),
                    role=role,
                    unit=unit,
                )
            )
            await record(
                s, "system", "zugang_angelegt", None, {"username": username, "role": role, "unit": unit}
            )
        return staff_id

    # -- the workspace ------------------------------------------------------------------------

    async def inbox(self, member: Staff) -> list[dict[str, Any]]:
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(vorgaenge)
                        .where(vorgaenge.c.unit == member.unit)
                        .order_by(vorgaenge.c.opened_at.desc())
                    )
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    async def case(self, member: Staff, case_id: str) -> dict[str, Any] | None:
        """The case page's data, or None when this member's unit is not responsible."""
        async with self.kernel.db.session() as s:
            row = (
                (await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id)))
                .mappings()
                .first()
            )
            if row is None or row["unit"] != member.unit:
                return None
            docs = (
                (
                    await s.execute(
                        sa.select(documents)
                        .where(documents.c.case_id == case_id)
                        .order_by(documents.c.received_at, documents.c.version)
                    )
                )
                .mappings()
                .all()
            )
            decision = (
                (await s.execute(sa.select(decisions).where(decisions.c.case_id == case_id)))
                .mappings()
                .first()
            )
            trail = (
                (await s.execute(sa.select(audit).where(audit.c.case_id == case_id).order_by(audit.c.seq)))
                .mappings()
                .all()
            )
            await record(s, member.username, "vorgang_eingesehen", case_id, {})
        return {
            "case": dict(row),
            "documents": [dict(d) for d in docs],
            "decision": dict(decision) if decision else None,
            "audit": [dict(a) for a in trail],
        }

    async def document(self, member: Staff, case_id: str, pk: int) -> dict[str, Any] | None:
        async with self.kernel.db.session() as s:
            row = (
                (
                    await s.execute(
                        sa.select(documents, vorgaenge.c.unit)
                        .join(vorgaenge, vorgaenge.c.case_id == documents.c.case_id)
                        .where(documents.c.pk == pk, documents.c.case_id == case_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None or row["unit"] != member.unit:
                return None
            await record(
                s, member.username, "dokument_geoeffnet", case_id, {"document_id": row["document_id"]}
            )
        return dict(row)

    async def decide(self, member: Staff, case_id: str, outcome: str, reasons: str) -> None:
        """Record the decision and emit DecisionMade; raises DecisionRefused with a message."""
        reasons = validate_decision(outcome, reasons)
        if member.role not in ("sachbearbeitung", "leitung"):
            raise DecisionRefused("Entscheidungen treffen Sachbearbeitung oder Leitung.")
        async with self.kernel.transaction() as uow:
            s = uow.session
            row = (
                (await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id == case_id)))
                .mappings()
                .first()
            )
            if row is None or row["unit"] != member.unit:
                raise PermissionError(case_id)
            if (
                await s.execute(sa.select(decisions.c.case_id).where(decisions.c.case_id == case_id))
            ).first():
                raise DecisionRefused("Dieser Vorgang ist bereits entschieden.")
            proc = procedure(row["service_id"])
            decided = now()
            await s.execute(
                decisions.insert().values(
                    case_id=case_id,
                    outcome=outcome,
                    reasons=reasons,
                    decided_by=member.staff_id,
                    decided_at=decided,
                )
            )
            await s.execute(
                vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(status="entschieden")
            )
            await record(s, member.username, "entscheidung", case_id, {"outcome": outcome})
            applicant = row["applicant"]
            facts = permit_facts(
                row["form"],
                date.today(),
                proc.permit_valid_days if outcome == "granted" else 0,
                proc.fee_cents,
            )
            await uow.emit(
                DecisionMade(
                    case_id=case_id,
                    aktenzeichen=row["aktenzeichen"],
                    service_id=row["service_id"],
                    outcome=outcome,
                    reasons=reasons,
                    unit=row["unit"],
                    decided_by=member.staff_id,
                    decided_at=decided,
                    facts=facts,
                    recipient=Recipient(
                        person=msgspec.convert(applicant["person"], Person),
                        address=msgspec.convert(applicant["address"], Address),
                        email=applicant["email"],
                    ),
                ),
                subject=case_id,
            )

    async def verify_audit(self) -> bool:
        async with self.kernel.db.session() as s:
            rows = (await s.execute(sa.select(audit).order_by(audit.c.seq))).mappings().all()
        return verify_chain([dict(r) for r in rows])
