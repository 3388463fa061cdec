"""Keeps the search index in step with the E-Akte's own store.

The change feed is the audit trail: every write of the E-Akte that changes what search
shows (a case opened, a document filed, a status changed, a unit asked to co-sign, and
whatever later use cases record) appends an audit row with the case id in the same
transaction. The index remembers the last audit sequence number it has caught up to (its
watermark, stored beside the index); a pass reads the rows after it, re-indexes the cases
they name from the store, commits the index, then moves the watermark. A crash between a
database write and the index update therefore only delays the entry: the next start
catches up from the watermark. Re-indexing a case replaces all its entries, so repeating
a pass is harmless.

The audit chain serialises its writers (each row hashes the one before), so sequence
numbers are committed in order and the watermark never skips a row that commits later.

A pass is woken by every commit on the E-Akte's database (SQLAlchemy's engine event) and
at the latest every ``POLL_SECONDS`` (writes by another process, e.g. a second replica on
PostgreSQL). The CPU work runs in a worker thread; one task is the only writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from rathaus.eakte.domain import STATUS_TEXT, party_name
from rathaus.eakte.search.engine import Entry, Results, SearchIndex
from rathaus.eakte.search.query import Plan
from rathaus.eakte.store import aktenplan, audit, beteiligungen, documents, vorgaenge
from rathaus.eakte.store_abgabe import datenschutz
from rathaus.platform.kernel import Kernel

log = logging.getLogger("rathaus.eakte.suche")

READ_ONLY_ACTIONS = frozenset({"vorgang_eingesehen", "dokument_geoeffnet"})
AUDIT_BATCH = 2000  # audit rows per pass
CASE_BATCH = 200  # cases per read and per commit while rebuilding
POLL_SECONDS = 5.0
MIN_INTERVAL = 0.2  # between passes under load: several writes make one commit


def index_path(kernel: Kernel) -> Path:
    """The index is a process's own read model of the store (one writer per index): a
    second replica on the same data dir keeps its own (``suche-1``), built from the store."""
    suffix = "" if kernel.replica == "0" else f"-{kernel.replica}"
    return kernel.settings.data_dir / "eakte" / f"suche{suffix}"


def names(party: dict[str, Any]) -> str:
    """Every name of an applicant: the person and the organisation."""
    person = party.get("person") or {}
    organisation = party.get("organisation") or {}
    found = [person.get("given_name"), person.get("family_name"), organisation.get("name")]
    return " ".join(str(n) for n in found if n) or party_name(party)


def entries_of(
    case: dict[str, Any], docs: list[dict[str, Any]], units: Iterable[str], plan_titles: dict[str, str]
) -> list[Entry]:
    """The entries of one case: the Vorgang itself and the newest version of each document."""
    year = (case.get("opened_at") or "")[:4]
    status = case["status"]
    plan_title = plan_titles.get(case["aktenplan"], "")
    visible = sorted({case["unit"], *units})
    applicant = names(case.get("applicant") or {})
    meta = " ".join(
        [
            case["aktenzeichen"],
            case["akte_titel"],
            applicant,
            case["aktenplan"],
            plan_title,
            STATUS_TEXT.get(status, status),
            year,
        ]
    )
    common = {
        "case_id": case["case_id"],
        "units": visible,
        "aktenplan": case["aktenplan"],
        "year": year,
        "status": status,
        "aktenzeichen": case["aktenzeichen"],
        "akte_titel": case["akte_titel"],
    }
    out = [
        Entry(
            key=f"vorgang:{case['case_id']}",
            kind="vorgang",
            title=case["akte_titel"],
            body=f"{case['akte_titel']}. {applicant}. {plan_title}",
            meta=meta,
            date=(case.get("opened_at") or "")[:10],
            **common,
        )
    ]
    newest: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc["document_id"] not in newest or doc["version"] > newest[doc["document_id"]]["version"]:
            newest[doc["document_id"]] = doc
    for doc in newest.values():
        out.append(
            Entry(
                key=f"dok:{doc['pk']}",
                kind="dokument",
                title=doc["title"],
                body=doc["text"] or "",
                meta=f"{meta} {doc['document_type']}",
                document_type=doc["document_type"],
                date=(doc.get("received_at") or "")[:10],
                pk=int(doc["pk"]),
                **common,
            )
        )
    return out


class IndexBusy(RuntimeError):
    """Another process holds the index's writer; the message is German."""


class SearchIndexer:
    """The E-Akte's search index: opened (and rebuilt when missing) at start, caught up
    from the audit trail, searched off the event loop."""

    def __init__(self, kernel: Kernel, path: Path | None = None) -> None:
        self.kernel = kernel
        self.path = path or index_path(kernel)
        self.index: SearchIndex | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one writer
        self._listening = False
        self._ready = False
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the index and start keeping it up to date; a missing index (or one of an
        older schema) is rebuilt from the store in the background, searchable meanwhile."""
        self.index = await asyncio.to_thread(SearchIndex, self.path)
        loop = asyncio.get_running_loop()

        def committed(_conn: Any) -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self._committed = committed
        event.listen(self.kernel.db.engine.sync_engine, "commit", committed)
        self._listening = True
        self._task = asyncio.create_task(self._run(), name="eakte-suche-indexer")

    @property
    def ready(self) -> bool:
        """Whether the index has caught up once since it was opened (or rebuilt)."""
        return self._ready

    async def stop(self) -> None:
        if self._listening:
            event.remove(self.kernel.db.engine.sync_engine, "commit", self._committed)
            self._listening = False
        # no cancellation: a write in its worker thread would go on beside the closing; the
        # task ends after its current batch (an unfinished rebuild is simply not committed)
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.index is not None:
            async with self._lock:
                await asyncio.to_thread(self.index.close)

    async def _run(self) -> None:
        assert self.index is not None
        if self.index.rebuilt:
            log.info("search index missing or of an older schema: rebuilding from the store")
            try:
                await self.rebuild()
            except Exception:  # catching up from watermark 0 replays the whole audit trail
                log.exception("search index: rebuilding failed")
        while not self._stopping:
            try:
                await self.catch_up()
                self._ready = True
            except Exception:  # the next pass tries again; the watermark did not move
                log.exception("search index: catching up failed")
            await asyncio.sleep(MIN_INTERVAL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()

    # -- keeping up ---------------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Index what the audit trail recorded after the watermark; returns the cases done."""
        assert self.index is not None
        done = 0
        async with self._lock:
            while True:
                async with self.kernel.db.read() as s:
                    rows = (
                        await s.execute(
                            sa.select(audit.c.seq, audit.c.action, audit.c.case_id)
                            .where(audit.c.seq > self.index.watermark)
                            .order_by(audit.c.seq)
                            .limit(AUDIT_BATCH)
                        )
                    ).all()
                if not rows or self._stopping:
                    return done
                cases = sorted({r.case_id for r in rows if r.case_id and r.action not in READ_ONLY_ACTIONS})
                entries = await self._entries(cases) if cases else []
                last = rows[-1].seq
                await asyncio.to_thread(self.index.apply, cases, entries, last)
                done += len(cases)

    async def rebuild(self) -> int:
        """Build the index anew from the store (cases in batches); returns the entries."""
        assert self.index is not None
        index = self.index
        async with self._lock:
            async with self.kernel.db.read() as s:
                # changes after this point are caught up from the audit trail afterwards
                start = (await s.execute(sa.select(sa.func.max(audit.c.seq)))).scalar() or 0
            await asyncio.to_thread(index.clear)
            after, total = "", 0
            while True:
                async with self.kernel.db.read() as s:
                    batch = (
                        (
                            await s.execute(
                                sa.select(vorgaenge.c.case_id)
                                .where(vorgaenge.c.case_id > after)
                                .order_by(vorgaenge.c.case_id)
                                .limit(CASE_BATCH)
                            )
                        )
                        .scalars()
                        .all()
                    )
                if self._stopping:
                    return total  # not committed: the next start catches up from watermark 0
                if not batch:
                    break
                entries = await self._entries(list(batch))
                total += await asyncio.to_thread(index.add, entries)
                after = batch[-1]
            await asyncio.to_thread(index.commit, start)
        return total

    async def reset(self) -> int:
        """Delete the index directory and build it again from the store (``rathaus eakte
        reindex``); raises IndexBusy while another process writes the index."""
        async with self._lock:
            if self.index is None:
                self.index = await asyncio.to_thread(SearchIndex, self.path)
            index = self.index
            try:
                await asyncio.to_thread(lambda: index.writer)  # the writer's lock, or LockBusy
            except ValueError as busy:
                raise IndexBusy(
                    "Der Suchindex wird gerade von einem laufenden Rathaus geschrieben. "
                    "Beenden Sie es oder löschen Sie das Verzeichnis des Index: "
                    "beim nächsten Start wird er neu aufgebaut."
                ) from busy
            await asyncio.to_thread(index.close)
            await asyncio.to_thread(shutil.rmtree, self.path, True)
            self.index = await asyncio.to_thread(SearchIndex, self.path)
            self._ready = False
        total = await self.rebuild()
        await self.catch_up()
        self._ready = True
        return total

    async def close(self) -> None:
        if self.index is not None:
            async with self._lock:
                await asyncio.to_thread(self.index.close)

    async def _entries(self, case_ids: list[str]) -> list[Entry]:
        async with self.kernel.db.read() as s:
            cases = (
                await s.execute(sa.select(vorgaenge).where(vorgaenge.c.case_id.in_(case_ids)))
            ).mappings()
            found = {c["case_id"]: dict(c) for c in cases}
            # restricted (Art. 18 DSGVO, an erasure request waiting for the end of retention) or
            # erased: not processed any more, so not found either
            held = await s.execute(
                sa.select(datenschutz.c.case_id).where(
                    datenschutz.c.case_id.in_(list(found)), datenschutz.c.state != ""
                )
            )
            for case_id in held.scalars():
                found.pop(case_id, None)
            docs: dict[str, list[dict[str, Any]]] = defaultdict(list)
            rows = await s.execute(
                sa.select(
                    documents.c.pk,
                    documents.c.document_id,
                    documents.c.version,
                    documents.c.case_id,
                    documents.c.document_type,
                    documents.c.title,
                    documents.c.received_at,
                    documents.c.text,
                ).where(documents.c.case_id.in_(list(found)))
            )
            for d in rows.mappings():
                docs[d["case_id"]].append(dict(d))
            units: dict[str, set[str]] = defaultdict(set)
            for case_id, unit in await s.execute(
                sa.select(beteiligungen.c.case_id, beteiligungen.c.unit).where(
                    beteiligungen.c.case_id.in_(list(found))
                )
            ):
                units[case_id].add(unit)
            titles: dict[str, str] = {
                r.code: r.title for r in await s.execute(sa.select(aktenplan.c.code, aktenplan.c.title))
            }
        out: list[Entry] = []
        for case_id, case in found.items():
            out += entries_of(case, docs[case_id], units[case_id], titles)
        return out

    # -- searching ----------------------------------------------------------------------------

    async def search(
        self, plan: Plan, unit: str, filters: dict[str, str], *, limit: int = 20, offset: int = 0
    ) -> Results:
        assert self.index is not None
        return await asyncio.to_thread(self.index.search, plan, unit, filters, limit=limit, offset=offset)
