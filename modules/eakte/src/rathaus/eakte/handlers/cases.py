"""Opening cases from applications of any service, filing documents, following the case's
status: the E-Akte's part of a case before and after its decision."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.eakte.v1 import CaseOpened, DocumentFiled
from rathaus.contracts.input.v1 import DocumentRouted
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.contracts.platform.v1 import DecisionOverdue
from rathaus.contracts.portal import v1, v2
from rathaus.eakte.domain import SYSTEM, akte_title, aktenzeichen
from rathaus.eakte.domain_gang import DocumentLocked, check_unlocked
from rathaus.eakte.handlers.bekanntgabe import provided
from rathaus.eakte.handlers.closed import arrived_after_close
from rathaus.eakte.handlers.common import Base, now, record
from rathaus.eakte.handlers.routes import locked_documents
from rathaus.eakte.store import documents, serials, vorgaenge
from rathaus.platform.kernel import UnitOfWork
from rathaus.platform.kernel.consumer import RetryLater
from rathaus.platform.kernel.db import dialect_insert
from rathaus.platform.kernel.procedures.pins import pin
from rathaus.platform.kernel.procedures.upcast import application as upcast_application


class CaseHandlers(Base):
    async def open_case_v1(self, event: v1.ApplicationSubmitted, uow: UnitOfWork) -> None:
        """A version-1 application: version 1 of its service applies."""
        await self.open_case(upcast_application(event, self.kernel.procedures.get(event.service_id, 1)), uow)

    async def open_case(self, event: v2.ApplicationSubmitted, uow: UnitOfWork) -> None:
        """An Akte and a Vorgang with its Aktenzeichen, under the procedure version the
        application was made with (a changed version raises ``ProcedureChanged``: the event
        is retried, then dead-lettered, and the operator sees why)."""
        s = uow.session
        if await self.case_row(s, event.case_id) is not None:
            return
        definition = self.kernel.procedures.pinned(
            event.service_id, event.service_version, event.procedure_digest
        )
        await pin(s, definition, event.case_id)
        proc = definition.procedure
        az = await self._next_aktenzeichen(uow, proc.aktenplan)
        party = msgspec.to_builtins(event.applicant)
        opened = now()
        await s.execute(
            vorgaenge.insert().values(
                case_id=event.case_id,
                aktenzeichen=az,
                aktenplan=proc.aktenplan,
                akte_titel=akte_title(definition.title, party),
                service_id=event.service_id,
                service_version=definition.version,
                procedure_digest=definition.digest,
                unit=proc.unit,
                status="eingegangen",
                applicant=party,
                data=dict(event.data),
                files={
                    a.field: {
                        "title": a.title,
                        "filename": a.blob.filename,
                        "document_type": a.document_type,
                        "sha256": a.blob.sha256,
                    }
                    for a in event.attachments
                },
                warnings=list(event.warnings),
                stadtbezirk=event.stadtbezirk[:80],
                evidence=msgspec.to_builtins(event.evidence),
                opened_at=opened,
                submitted_at=event.submitted_at,
            )
        )
        await record(
            s,
            SYSTEM,
            "vorgang_angelegt",
            event.case_id,
            {"aktenzeichen": az, "unit": proc.unit, "verfahren": definition.key, "digest": definition.digest},
        )
        await uow.emit(
            CaseOpened(
                case_id=event.case_id,
                aktenzeichen=az,
                service_id=event.service_id,
                unit=proc.unit,
                stadtbezirk=event.stadtbezirk,
                opened_at=opened,
                service_version=definition.version,
                submitted_at=event.submitted_at,
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

    async def _next_aktenzeichen(self, uow: UnitOfWork, plan: str) -> str:
        s = uow.session
        year = date.today().year
        # one statement that counts on: two cases opened at once on PostgreSQL (writers side
        # by side) would otherwise both read the same last number
        insert = dialect_insert(s)(serials).values(aktenplan=plan, year=year, last=1)
        serial = (
            await s.execute(
                insert.on_conflict_do_update(
                    index_elements=[serials.c.aktenplan, serials.c.year],
                    set_={"last": serials.c.last + 1},
                ).returning(serials.c.last)
            )
        ).scalar_one()
        return aktenzeichen(plan, year, serial)

    async def _file(self, uow: UnitOfWork, doc: dict[str, Any], az: str) -> None:
        filed = now()
        await uow.session.execute(
            documents.update().where(documents.c.pk == doc["pk"]).values(filed_at=filed)
        )
        await record(
            uow.session,
            SYSTEM,
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
        if versions:  # a new version waits while the document travels in a running route
            try:
                check_unlocked(values["document_id"], await locked_documents(s, values["case_id"]))
            except DocumentLocked as locked:
                raise RetryLater(str(locked)) from None
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
            if values["source"] != "postausgang":  # the case's own outgoing mail is expected
                await arrived_after_close(
                    s, values["case_id"], "dokument", {"document_id": values["document_id"]}
                )

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
        await self.set_status(uow, event.case_id, "zugestellt", {"bekanntgabe": event.bekanntgabe})
        await provided(uow.session, event)

    async def set_status(
        self, uow: UnitOfWork, case_id: str, status: str, details: dict[str, Any], **extra: Any
    ) -> None:
        result = await uow.session.execute(
            vorgaenge.update().where(vorgaenge.c.case_id == case_id).values(status=status, **extra)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise LookupError(f"case {case_id} is not opened yet")  # retried until it is
        await record(uow.session, SYSTEM, f"status_{status}", case_id, details)

    async def overdue(self, event: DecisionOverdue, uow: UnitOfWork) -> None:
        details = {"frist": event.due_at, "stufe": event.level}
        if await arrived_after_close(uow.session, event.case_id, "frist_ueberschritten", details):
            return  # a cancelled case is not escalated; its case worker sees the deadline
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
            uow.session, SYSTEM, action, event.case_id, {"frist": event.due_at, "stufe": event.level}
        )
