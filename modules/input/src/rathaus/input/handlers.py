"""Use cases of input management: take documents in, read them, route them, let staff assign.

Reading (OCR) takes seconds, so it never runs inside a transaction: taking a document in
only records it ("neu"); the reader loop reads it outside any transaction (the result is
kept by SHA-256), then routes it in one short transaction that also emits DocumentRouted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

import msgspec
import sqlalchemy as sa

from rathaus.contracts.aktenzeichen import find as find_aktenzeichen
from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.input.v1 import DocumentRouted, ReplyRouted, RoutedDocument
from rathaus.contracts.portal import v1 as portal_v1
from rathaus.contracts.portal.v1 import ReplySubmitted
from rathaus.contracts.portal.v2 import ApplicationSubmitted
from rathaus.input import store
from rathaus.input.domain import (
    LETTER,
    MAX_TEXT,
    Assignment,
    KnownCase,
    UnreadableFile,
    classify,
    document_id,
    letter_title,
    online_title,
    route_letter,
    suggest,
    type_label,
    validate_assignment,
)
from rathaus.input.reading import Reading, check_file, read
from rathaus.input.store import cases, documents, readings, replies
from rathaus.platform.kernel import Kernel, UnitOfWork
from rathaus.platform.kernel.db import dialect_insert
from rathaus.platform.kernel.procedures import Definition
from rathaus.platform.kernel.procedures.upcast import application as upcast_application
from rathaus.platform.kernel.telemetry import case_context, current_traceparent

log = logging.getLogger("rathaus.input")
BATCH = 10
ROUND_SECONDS = 30.0  # a round also runs without a wake-up: retries, and letters left waiting


def now() -> str:
    return datetime.now(UTC).isoformat()


def failure(exc: BaseException) -> str:
    """An exception for the log: its type and where it happened, never its message, which
    may quote a letter's text (SQL parameters, say)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(f"{PurePath(f.filename).name}:{f.lineno}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where}" if where else type(exc).__name__


def label_of(definition: Definition, field: str, given: str) -> str:
    """An upload's label: the form's label of its field (an upcast version-1 event names only the field)."""
    return definition.node(field).element.label if field in definition.nodes else given


class AssignmentRejected(Exception):
    def __init__(self, assignment: Assignment) -> None:
        super().__init__("assignment rejected")
        self.assignment = assignment


class Input:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.wakeup = asyncio.Event()
        self.rounds = 0

    def _wake_after_commit(self, uow: UnitOfWork) -> None:
        sa.event.listen(uow.session.sync_session, "after_commit", lambda _s: self.wakeup.set(), once=True)

    # -- events ---------------------------------------------------------------------------

    async def on_application_v1(self, event: portal_v1.ApplicationSubmitted, uow: UnitOfWork) -> None:
        await self.on_application(
            upcast_application(event, self.kernel.procedures.get(event.service_id, 1)), uow
        )

    async def on_application(self, event: ApplicationSubmitted, uow: UnitOfWork) -> None:
        """Record each attachment of an online application, to be read and routed."""
        # an unknown or changed procedure version raises: retried, then dead-lettered
        definition = self.kernel.procedures.pinned(
            event.service_id, event.service_version, event.procedure_digest
        )
        s = uow.session
        # one statement: CaseOpened may be handled at the same moment (on PostgreSQL, side by side)
        await s.execute(
            dialect_insert(s)(cases)
            .values(case_id=event.case_id, unit=definition.procedure.unit, service_id=event.service_id)
            .on_conflict_do_nothing(index_elements=[cases.c.case_id])
        )
        new = 0
        for attachment in event.attachments:
            doc_id = document_id(event.case_id, attachment.blob.sha256)
            if await store.document(s, doc_id) is not None:
                continue  # the same bytes twice in one application: one document
            await s.execute(
                documents.insert().values(
                    document_id=doc_id,
                    medium="online",
                    source="portal",
                    status="neu",
                    sha256=attachment.blob.sha256,
                    blob=msgspec.to_builtins(attachment.blob),
                    media_type=attachment.blob.media_type,
                    hint=attachment.document_type,
                    title=label_of(definition, attachment.field, attachment.title)[:200],
                    case_id=event.case_id,
                    service_id=event.service_id,
                    received_at=event.submitted_at,
                    traceparent=current_traceparent(),
                )
            )
            new += 1
        if new:
            self._wake_after_commit(uow)
        log.info("application %s: %d attachment(s) to read", event.case_id, new)

    async def on_case_opened(self, event: CaseOpened, uow: UnitOfWork) -> None:
        """Remember the running case; route the letters that were waiting for it."""
        s = uow.session
        values = {
            "aktenzeichen": event.aktenzeichen,
            "unit": event.unit,
            "service_id": event.service_id,
            "opened_at": event.opened_at,
        }
        # one statement: the application may be recorded at the same moment (PostgreSQL)
        await s.execute(
            dialect_insert(s)(cases)
            .values(case_id=event.case_id, **values)
            .on_conflict_do_update(index_elements=[cases.c.case_id], set_=values)
        )
        case = KnownCase(event.case_id, event.aktenzeichen, event.unit, event.service_id)
        routed = 0
        for doc in await self._waiting(uow):
            if event.aktenzeichen in (doc["aktenzeichen_found"] or []):
                routed += await self._route(uow, doc, case, routed_by="system")
        if routed:
            log.info("case %s opened: %d waiting letter(s) routed", event.case_id, routed)

    # -- replies from the Postkorb ----------------------------------------------------------

    async def on_reply(self, event: ReplySubmitted, uow: UnitOfWork) -> None:
        """Record a reply and its attachments, to be read; a reply without attachments is
        routed at once. The case must be known (else retried until CaseOpened arrives)."""
        s = uow.session
        if (
            await s.execute(sa.select(replies.c.reply_id).where(replies.c.reply_id == event.reply_id))
        ).first():
            return
        case = (await s.execute(sa.select(cases).where(cases.c.case_id == event.case_id))).first()
        if case is None:
            raise LookupError(f"case {event.case_id} not known yet")
        await s.execute(
            replies.insert().values(
                reply_id=event.reply_id,
                case_id=event.case_id,
                in_reply_to=event.in_reply_to,
                text=event.text,
                status="neu",
                received_at=event.submitted_at,
            )
        )
        new = 0
        for attachment in event.attachments:
            doc_id = document_id(f"antwort:{event.reply_id}", attachment.blob.sha256)
            if await store.document(s, doc_id) is not None:
                continue  # the same bytes twice in one reply: one document
            await s.execute(
                documents.insert().values(
                    document_id=doc_id,
                    medium="online",
                    source="postkorb",
                    status="neu",
                    sha256=attachment.blob.sha256,
                    blob=msgspec.to_builtins(attachment.blob),
                    media_type=attachment.blob.media_type,
                    hint=attachment.document_type,
                    title=attachment.title[:200],
                    case_id=event.case_id,
                    service_id=case.service_id,
                    received_at=event.submitted_at,
                    traceparent=current_traceparent(),
                    reply_id=event.reply_id,
                )
            )
            new += 1
        if new:
            self._wake_after_commit(uow)
        else:
            await self._complete_reply(uow, event.reply_id)
        log.info("reply %s to case %s: %d attachment(s) to read", event.reply_id, event.case_id, new)

    async def _read_reply_document(self, uow: UnitOfWork, doc: dict[str, Any]) -> int:
        """An attachment of a reply is read: classified by its text (the requested document
        it answers unless the text shows otherwise); the reply goes on once all are read."""
        kind = classify(doc["text"], doc["hint"])
        label = doc["title"] if kind.document_type == doc["hint"] else kind.label
        doc.update(document_type=kind.document_type, title=f"Nachgereicht: {label}"[:200])
        await self._save(uow, doc, status="gelesen")
        await self._complete_reply(uow, doc["reply_id"])
        return 1

    async def _complete_reply(self, uow: UnitOfWork, reply_id: str) -> None:
        s = uow.session
        reply = (await s.execute(sa.select(replies).where(replies.c.reply_id == reply_id))).mappings().first()
        if reply is None or reply["status"] != "neu":
            return
        docs = [
            dict(d)
            for d in (
                await s.execute(
                    sa.select(documents)
                    .where(documents.c.reply_id == reply_id)
                    .order_by(documents.c.document_id)
                )
            ).mappings()
        ]
        if any(d["status"] == "neu" for d in docs):
            return  # the others are still being read
        case = (await s.execute(sa.select(cases).where(cases.c.case_id == reply["case_id"]))).one()
        routed_at = now()
        await s.execute(
            replies.update()
            .where(replies.c.reply_id == reply_id)
            .values(status="zugeordnet", routed_at=routed_at)
        )
        for d in docs:
            await s.execute(
                documents.update()
                .where(documents.c.document_id == d["document_id"])
                .values(
                    status="zugeordnet",
                    aktenzeichen=case.aktenzeichen,
                    unit=case.unit,
                    routed_at=routed_at,
                    routed_by="system",
                )
            )
        share = MAX_TEXT // (len(docs) + 1)  # the event as a whole stays below NATS's message size
        with case_context(reply["case_id"]):
            await uow.emit(
                ReplyRouted(
                    case_id=reply["case_id"],
                    reply_id=reply_id,
                    in_reply_to=reply["in_reply_to"],
                    unit=case.unit,
                    text=reply["text"][:share],
                    documents=[
                        RoutedDocument(
                            document_id=d["document_id"],
                            document_type=d["document_type"] or d["hint"],
                            title=d["title"] or type_label(d["hint"]),
                            blob=msgspec.convert(d["blob"], BlobRef),
                            text=(d["text"] or "")[:share],
                            ocr_confidence=d["ocr_confidence"],
                        )
                        for d in docs
                    ],
                    received_at=reply["received_at"],
                ),
                subject=reply["case_id"],
            )
        log.info("reply %s routed to case %s with %d document(s)", reply_id, reply["case_id"], len(docs))

    # -- taking letters in -------------------------------------------------------------------

    async def take_letter(self, data: bytes, *, filename: str, source: str) -> tuple[str, bool]:
        """Take a scanned letter in: checked by content, stored, recorded to be read.

        Returns its document id and whether it is new (the same bytes are one letter).
        Raises :class:`UnreadableFile` with a German reason."""
        media_type, pages = await asyncio.to_thread(check_file, data)
        name = PurePath(filename.replace("\\", "/")).name[-120:]
        ref = await self.kernel.blobs.put("input", data, media_type=media_type, filename=name)
        doc_id = document_id("papier", ref.sha256)
        async with self.kernel.transaction() as uow:
            if await store.document(uow.session, doc_id) is not None:
                return doc_id, False
            await uow.session.execute(
                documents.insert().values(
                    document_id=doc_id,
                    medium="papier",
                    source=source,
                    status="neu",
                    sha256=ref.sha256,
                    blob=msgspec.to_builtins(ref),
                    media_type=media_type,
                    pages=pages,
                    received_at=now(),
                )
            )
        self.wakeup.set()
        log.info("letter %s taken in from %s", doc_id, source)
        return doc_id, True

    # -- reading and routing ----------------------------------------------------------------

    async def _reading(self, sha256: str, blob: dict[str, Any]) -> Reading:
        async with self.kernel.db.session() as s:
            cached = (await s.execute(sa.select(readings).where(readings.c.sha256 == sha256))).first()
        if cached is not None:
            return Reading(cached.text, cached.confidence, cached.method, cached.pages)
        data = await self.kernel.blobs.get(msgspec.convert(blob, BlobRef))
        reading = await asyncio.to_thread(read, data)
        async with self.kernel.db.session() as s:
            if not (await s.execute(sa.select(readings.c.sha256).where(readings.c.sha256 == sha256))).first():
                await s.execute(readings.insert().values(sha256=sha256, read_at=now(), **asdict(reading)))
        return reading

    async def read_pending(self) -> int:
        """One round: read and route up to a batch of new documents; returns how many."""
        async with self.kernel.db.session() as s:
            rows = (
                await s.execute(
                    sa.select(documents.c.document_id, documents.c.sha256, documents.c.blob)
                    .where(documents.c.status == "neu")
                    .order_by(documents.c.read_failures, documents.c.received_at)
                    .limit(BATCH)
                )
            ).all()
        done = 0
        for row in rows:
            try:
                reading = await self._reading(row.sha256, row.blob)
                done += await self._file_reading(row.document_id, reading)
            except Exception as exc:  # e.g. the object store is away: the next round tries again
                log.warning("document %s could not be read or routed yet: %s", row.document_id, failure(exc))
                async with self.kernel.db.session() as s:
                    await s.execute(
                        documents.update()
                        .where(documents.c.document_id == row.document_id)
                        .values(read_failures=documents.c.read_failures + 1)
                    )
        return done

    async def _file_reading(self, doc_id: str, reading: Reading) -> int:
        async with self.kernel.transaction() as uow:
            doc = await store.document(uow.session, doc_id)
            if doc is None or doc["status"] != "neu":
                return 0  # another replica was quicker
            doc.update(
                text=reading.text,
                ocr_confidence=reading.confidence,
                read_method=reading.method,
                pages=reading.pages,
            )
            if doc.get("reply_id"):
                return await self._read_reply_document(uow, doc)
            if doc["medium"] == "online":
                return await self._route_online(uow, doc)
            return await self._route_letter(uow, doc)

    async def _route_online(self, uow: UnitOfWork, doc: dict[str, Any]) -> int:
        kind = classify(doc["text"], doc["hint"])
        # the form's label of the upload, unless the text showed it is something else
        label = doc["title"] if doc.get("title") and kind.document_type == doc["hint"] else kind.label
        case_row = (
            await uow.session.execute(
                sa.select(cases.c.aktenzeichen, cases.c.unit).where(cases.c.case_id == doc["case_id"])
            )
        ).one()
        versions = self.kernel.procedures.versions(doc["service_id"])
        title = versions[-1].title if versions else doc["service_id"]
        doc.update(document_type=kind.document_type, title=online_title(label, title))
        case = KnownCase(doc["case_id"], case_row.aktenzeichen or "", case_row.unit, doc["service_id"])
        log.info(
            "document %s: %s (%s), read by %s",
            doc["document_id"],
            kind.document_type,
            kind.verdict,
            doc["read_method"],
        )
        return await self._route(uow, doc, case, routed_by="system")

    async def _route_letter(self, uow: UnitOfWork, doc: dict[str, Any]) -> int:
        text = doc["text"]
        kind = classify(text, LETTER)
        route = route_letter(text, await store.cases_by_aktenzeichen(uow.session, find_aktenzeichen(text)))
        suggestion = suggest(text, {d.id: d.procedure for d in self.kernel.procedures.online()})
        doc.update(
            document_type=kind.document_type,
            title=letter_title(text, kind.label),
            aktenzeichen_found=list(route.aktenzeichen),
            note=route.reason or None,
            suggestion=asdict(suggestion) if suggestion else None,
        )
        if route.kind == "case" and route.case is not None:
            return await self._route(uow, doc, route.case, routed_by="system")
        await self._save(uow, doc, status="wartend" if route.kind == "waiting" else "triage")
        log.info(
            "letter %s: %s (%d Aktenzeichen found)", doc["document_id"], route.kind, len(route.aktenzeichen)
        )
        return 1

    async def _save(self, uow: UnitOfWork, doc: dict[str, Any], **changes: Any) -> int:
        values = {**{k: v for k, v in doc.items() if k not in ("document_id", "status")}, **changes}
        result = await uow.session.execute(
            documents.update()
            .where(documents.c.document_id == doc["document_id"], documents.c.status != "zugeordnet")
            .values(**values)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _route(self, uow: UnitOfWork, doc: dict[str, Any], case: KnownCase, *, routed_by: str) -> int:
        """Emit DocumentRouted into ``case``, once per document however often asked."""
        routed_at = now()
        changed = await self._save(
            uow,
            doc,
            status="zugeordnet",
            case_id=case.case_id,
            aktenzeichen=case.aktenzeichen or None,
            unit=case.unit,
            routed_at=routed_at,
            routed_by=routed_by,
            note=None,
        )
        if not changed:
            return 0
        parent = {"traceparent": doc["traceparent"]} if doc.get("traceparent") else None
        with (
            case_context(case.case_id, parent=parent),
            self.kernel.tracer.start_as_current_span(
                "input route document", attributes={"rathaus.document_id": doc["document_id"]}
            ),
        ):
            await uow.emit(
                DocumentRouted(
                    document_id=doc["document_id"],
                    case_id=case.case_id,
                    unit=case.unit,
                    document_type=doc["document_type"] or LETTER,
                    title=doc["title"] or type_label(doc["document_type"] or LETTER),
                    medium=doc["medium"],
                    source=doc["source"],
                    blob=msgspec.convert(doc["blob"], BlobRef),
                    text=(doc["text"] or "")[:MAX_TEXT],
                    ocr_confidence=doc["ocr_confidence"],
                    received_at=doc["received_at"],
                ),
                subject=case.case_id,
            )
        log.info(
            "document %s routed to case %s by %s",
            doc["document_id"],
            case.case_id,
            "rule" if routed_by == "system" else "staff",
        )
        return 1

    async def _waiting(self, uow: UnitOfWork) -> list[dict[str, Any]]:
        rows = (
            await uow.session.execute(sa.select(documents).where(documents.c.status == "wartend"))
        ).mappings()
        return [dict(r) for r in rows]

    async def recheck_waiting(self) -> int:
        """Route waiting letters whose case is known by now (a CaseOpened that slipped
        past a letter being routed at the same moment, on a database without SQLite's lock)."""
        routed = 0
        async with self.kernel.transaction() as uow:
            for doc in await self._waiting(uow):
                known = await store.cases_by_aktenzeichen(uow.session, doc["aktenzeichen_found"] or [])
                route = route_letter("\n".join(doc["aktenzeichen_found"] or []), known)
                if route.kind == "case" and route.case is not None:
                    routed += await self._route(uow, doc, route.case, routed_by="system")
        return routed

    async def read_loop(self) -> None:
        """Read and route new documents whenever woken, and every half minute anyway."""
        while True:
            self.wakeup.clear()  # before the round, so a document arriving during it is not missed
            try:
                done = await self.read_pending()
                await self.recheck_waiting()
                self.rounds += 1
                if done >= BATCH:
                    continue
            except Exception as exc:
                log.error("reading round failed: %s", failure(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=ROUND_SECONDS)

    # -- staff ----------------------------------------------------------------------------

    async def assign(
        self, doc_id: str, *, aktenzeichen: str, document_type: str, title: str, staff_id: str
    ) -> KnownCase:
        """A person assigns a letter to a running case by its Aktenzeichen.

        Raises :class:`AssignmentRejected` (German messages by field) or LookupError."""
        entered = validate_assignment(aktenzeichen, document_type, title)
        async with self.kernel.transaction() as uow:
            doc = await store.document(uow.session, doc_id)
            if doc is None or doc["medium"] != "papier":
                raise LookupError(doc_id)
            errors = dict(entered.errors)
            if doc["status"] == "zugeordnet":
                errors = {
                    "aktenzeichen": f"Der Brief ist bereits dem Vorgang {doc['aktenzeichen']} zugeordnet."
                }
            elif doc["status"] == "neu":
                errors = {
                    "aktenzeichen": "Der Brief wird noch gelesen. Bitte versuchen Sie es gleich noch einmal."
                }
            case = None
            if not errors:
                case = (await store.cases_by_aktenzeichen(uow.session, [entered.aktenzeichen])).get(
                    entered.aktenzeichen
                )
                if case is None:
                    errors["aktenzeichen"] = (
                        f"Zum Aktenzeichen {entered.aktenzeichen} ist kein laufender Vorgang bekannt. "
                        "Bitte prüfen Sie die Eingabe."
                    )
            if errors or case is None:
                raise AssignmentRejected(
                    Assignment(entered.aktenzeichen, document_type, entered.title, errors)
                )
            doc.update(document_type=entered.document_type, title=entered.title)
            await self._route(uow, doc, case, routed_by=staff_id)
        return case

    async def triage(self) -> list[dict[str, Any]]:
        async with self.kernel.db.session() as s:
            rows = (
                await s.execute(
                    sa.select(documents)
                    .where(documents.c.medium == "papier", documents.c.status != "zugeordnet")
                    .order_by(documents.c.received_at)
                )
            ).mappings()
            return [dict(r) for r in rows]

    async def letter(self, doc_id: str) -> dict[str, Any] | None:
        async with self.kernel.db.session() as s:
            return await store.document(s, doc_id)

    async def original(self, doc: dict[str, Any]) -> bytes:
        return await self.kernel.blobs.get(msgspec.convert(doc["blob"], BlobRef))

    async def aktenzeichen_of(self, service_id: str | None, limit: int = 50) -> list[str]:
        """Aktenzeichen of running cases, newest first (of one service when given): the
        assignment field offers them."""
        query = sa.select(cases.c.aktenzeichen).where(cases.c.aktenzeichen.is_not(None))
        if service_id:
            query = query.where(cases.c.service_id == service_id)
        async with self.kernel.db.session() as s:
            rows = (await s.execute(query.order_by(cases.c.opened_at.desc()).limit(limit))).scalars()
            return [str(r) for r in rows]

    async def journal(self, unit: str | None, limit: int = 100) -> list[dict[str, Any]]:
        """Recently routed documents (never their text); of one unit when given."""
        query = (
            sa.select(
                documents.c.document_id,
                documents.c.medium,
                documents.c.source,
                documents.c.document_type,
                sa.func.coalesce(documents.c.aktenzeichen, cases.c.aktenzeichen).label("aktenzeichen"),
                documents.c.case_id,
                documents.c.unit,
                documents.c.received_at,
                documents.c.routed_at,
                documents.c.routed_by,
            )
            .select_from(documents.outerjoin(cases, cases.c.case_id == documents.c.case_id))
            .where(documents.c.status == "zugeordnet")
        )
        if unit is not None:
            query = query.where(documents.c.unit == unit)
        async with self.kernel.db.session() as s:
            rows = (await s.execute(query.order_by(documents.c.routed_at.desc()).limit(limit))).mappings()
            return [dict(r) for r in rows]


__all__ = ["AssignmentRejected", "Input", "UnreadableFile"]
