"""Aussonderung with the archive over xdomea 3.0.0: when retention ends, the files due are
offered (0501) or, appraised in advance by the file plan, handed over at once (0503); the
archive's answers (0502 appraisal, 0504/0507 receipts, 0506 import confirmation) are read
from the transfer directory or endpoint, validated against the XSDs and applied.

Every message is staged under ``<data_dir>/aussonderung/ausgang`` in the transaction that
decides it and put into the transfer afterwards (again after a crash), so a message is
never lost nor decided twice. Destroying (documents and personal data removed, a tombstone
kept, a row in the deletion log and the audit chain) happens only for objects the archive
declined (V), and only when the exchange closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts.common import BlobRef
from rathaus.contracts.platform.v1 import AussonderungDue
from rathaus.eakte import aussonderung_regeln as rules
from rathaus.eakte.domain import SYSTEM, effective_records
from rathaus.eakte.handlers.common import Base, now, record
from rathaus.eakte.handlers.datenschutz import record_erasure, restricted
from rathaus.eakte.store import (
    aktenplan,
    beteiligungen,
    decisions,
    documents,
    nachrichten,
    termine,
    vorgaenge,
)
from rathaus.eakte.store_aussonderung import (
    aussonderung_nachrichten,
    aussonderung_objekte,
    aussonderungen,
    loeschprotokoll,
)
from rathaus.eakte.xdomea import aussonderung as msg
from rathaus.eakte.xdomea.kopf import Party, filename, new_prozess_id, pack, parse_filename, unpack
from rathaus.eakte.xdomea.schema import XdomeaInvalid, validate
from rathaus.eakte.xdomea.transport import DirectoryTransport, HttpTransport, TransferUnavailable, Transport
from rathaus.platform.kernel import UnitOfWork

log = logging.getLogger("rathaus.eakte.aussonderung")
NAMESPACE = uuid.UUID("5d6f1c0e-6a8b-4d55-9c3e-61727368697a")
DESTROYED_TITLE = "(vernichtet)"
ARCHIVED_TITLE = "(an das Archiv abgegeben)"


class Refused(ValueError):
    """An incoming message that cannot be applied; the text is German."""


@dataclass
class Outgoing:
    prozess_id: str
    code: str
    package: bytes


def sgo_id(case_id: str) -> str:
    """The xdomea ID of a Vorgang: stable, so a file offered again is the same object."""
    return str(uuid.uuid5(NAMESPACE, f"vorgang:{case_id}"))


def doc_sgo_id(case_id: str, document_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"dokument:{case_id}/{document_id}"))


def _safe(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return cleaned[-80:] or "dokument"


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class AussonderungHandlers(Base):
    _archive_task: asyncio.Task[None] | None = None
    _archive_wake: asyncio.Event | None = None

    # -- configuration -------------------------------------------------------------------------

    @property
    def archive(self) -> Any:
        return self.kernel.settings.archive

    def own_party(self) -> Party:
        return Party(self.archive.behoerde_code, self.archive.behoerde_name)

    def archive_party(self) -> Party:
        return Party(self.archive.code, self.archive.name)

    def staging(self) -> Path:
        return self.kernel.settings.data_dir / "aussonderung" / "ausgang"

    def transport(self) -> Transport:
        settings = self.archive
        if settings.url:
            auth = (settings.user, settings.password) if settings.user else None
            keep = self.kernel.settings.data_dir / "aussonderung" / "eingang"
            return HttpTransport(settings.url, keep, auth)
        outbox, inbox = settings.transfer(self.kernel.settings.data_dir)
        return DirectoryTransport(outbox, inbox)

    # -- the loop that exchanges messages with the archive ------------------------------------

    async def start_archive_loop(self) -> None:
        self._archive_wake = asyncio.Event()
        await self.sweep_staging()
        await self.sweep_destroyed_blobs()
        self._archive_task = asyncio.create_task(self._archive_loop(), name="eakte-aussonderung")

    async def stop_archive_loop(self) -> None:
        task = self._archive_task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._archive_task = None

    def wake_archive_loop(self) -> None:
        if self._archive_wake is not None:
            self._archive_wake.set()

    async def _archive_loop(self) -> None:
        wake = self._archive_wake
        assert wake is not None
        while True:
            try:
                await self.exchange_with_archive()
            except TransferUnavailable as exc:
                log.warning("Archiv nicht erreichbar, neuer Versuch später: %s", exc)
            except Exception:
                log.exception("Aussonderung: Austausch mit dem Archiv fehlgeschlagen")
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=max(self.archive.poll_seconds, 0.05))

    async def exchange_with_archive(self) -> int:
        """Send what is staged, then apply what the archive sent; returns the count read."""
        await self.flush_outgoing()
        transport = self.transport()
        names = await transport.incoming()
        for name in names:
            await self.receive(transport, name)
        if names:
            await self.flush_outgoing()  # the answers decided just now (0503, 0505)
        return len(names)

    # -- starting a run --------------------------------------------------------------------------

    async def aussonderung_due(self, event: AussonderungDue, uow: UnitOfWork) -> None:
        """The schedule (or ``rathaus aussonderung``) says it is time: offer the files due."""
        if event.archive and event.archive != self.archive.code:
            log.error(
                "Aussonderung an Archiv %r angefordert, konfiguriert ist %r: nichts angeboten",
                event.archive,
                self.archive.code,
            )
            return
        verfahren = event.verfahren or self.archive.verfahren
        if verfahren not in rules.VERFAHREN:
            log.error("Aussonderung: unbekanntes Verfahren %r: nichts angeboten", verfahren)
            return
        today = _day(event.day) or datetime.now(UTC).date()
        await self.start_runs(uow.session, today, verfahren, event.trigger or "zeitplan")
        self.wake_archive_loop()

    async def start_aussonderung(
        self, today: date, verfahren: str = "", trigger: str = "befehl"
    ) -> list[str]:
        """Start the runs now (tests, tools); the messages go out on the loop's next turn."""
        async with self.kernel.transaction() as uow:
            started = await self.start_runs(uow.session, today, verfahren or self.archive.verfahren, trigger)
        self.wake_archive_loop()
        return started

    async def start_runs(self, s: AsyncSession, today: date, verfahren: str, trigger: str) -> list[str]:
        """One run per way (two-step for files the plan marks A, four-step for the others)
        with the files whose retention ended before ``today`` and that are in no running
        exchange. Returns the ProzessIDs started."""
        busy = sa.select(aussonderung_objekte.c.case_id).where(aussonderung_objekte.c.state.in_(rules.ACTIVE))
        rows = (
            (
                await s.execute(
                    sa.select(vorgaenge)
                    .where(
                        vorgaenge.c.lifecycle == "zda",
                        vorgaenge.c.aufbewahrungsende < today.isoformat(),
                        vorgaenge.c.case_id.not_in(busy),
                    )
                    .order_by(vorgaenge.c.aufbewahrungsende, vorgaenge.c.aktenzeichen)
                )
            )
            .mappings()
            .all()
        )
        plan = {r["code"]: dict(r) for r in (await s.execute(sa.select(aktenplan))).mappings().all()}
        groups: dict[str, list[tuple[dict[str, Any], str]]] = {rules.VIERSTUFIG: [], rules.ZWEISTUFIG: []}
        for row in rows:
            if not rules.is_due(row["lifecycle"], row["aufbewahrungsende"], today):
                continue
            art = effective_records(plan, row["aktenplan"]).aussonderungsart
            chosen = rules.way(art, verfahren)
            if chosen is not None:
                groups[chosen].append((dict(row), art))
        started: list[str] = []
        for way, members in groups.items():
            if members:
                started.append(await self._start_run(s, way, members, plan, trigger))
        return started

    async def _start_run(
        self,
        s: AsyncSession,
        way: str,
        members: list[tuple[dict[str, Any], str]],
        plan: dict[str, dict[str, Any]],
        trigger: str,
    ) -> str:
        pid = new_prozess_id()
        at = now()
        two_step = way == rules.ZWEISTUFIG
        await s.execute(
            aussonderungen.insert().values(
                prozess_id=pid,
                archiv=self.archive.code,
                verfahren=way,
                state=rules.UEBERGEBEN if two_step else rules.ANGEBOTEN,
                ausloeser=trigger,
                created_at=at,
                angeboten_at=None if two_step else at,
                uebergeben_at=at if two_step else None,
            )
        )
        objects: list[msg.FileObject] = []
        files: dict[str, bytes] = {}
        for row, art in members:
            vorschlag = row["bewertungsvorschlag"] or art
            await s.execute(
                aussonderung_objekte.insert().values(
                    prozess_id=pid,
                    case_id=row["case_id"],
                    sgo_id=sgo_id(row["case_id"]),
                    aktenzeichen=row["aktenzeichen"],
                    aussonderungsart=art,
                    vorschlag=vorschlag,
                    bewertung="A" if two_step else None,
                    bewertung_quelle="katalog" if two_step else None,
                    state=rules.OBJ_UEBERGEBEN if two_step else rules.OBJ_ANGEBOTEN,
                )
            )
            obj, docs = await self._file_object(s, row, art, vorschlag, plan, with_files=two_step)
            objects.append(obj)
            files.update(docs)
        header = msg.header(
            pid, "0503" if two_step else "0501", self.own_party(), self.archive_party(), datetime.now(UTC)
        )
        xml = msg.aussonderung(header, objects) if two_step else msg.anbieteverzeichnis(header, objects)
        await self._stage(s, Outgoing(pid, header.code, await self._package(pid, header.code, xml, files)))
        await record(
            s,
            SYSTEM,
            "aussonderung_gestartet",
            None,
            {
                "prozess_id": pid,
                "archiv": self.archive.code,
                "verfahren": way,
                "ausloeser": trigger,
                "aktenzeichen": [row["aktenzeichen"] for row, _ in members],
            },
        )
        log.info("Aussonderung %s (%s) gestartet: %d Vorgänge", pid, way, len(members))
        return pid

    async def _file_object(
        self,
        s: AsyncSession,
        row: dict[str, Any],
        art: str,
        vorschlag: str,
        plan: dict[str, dict[str, Any]],
        *,
        with_files: bool,
    ) -> tuple[msg.FileObject, dict[str, bytes]]:
        docs = (
            (
                await s.execute(
                    sa.select(documents)
                    .where(documents.c.case_id == row["case_id"], documents.c.filed_at.is_not(None))
                    .order_by(documents.c.document_id, documents.c.version)
                )
            )
            .mappings()
            .all()
        )
        latest: dict[str, dict[str, Any]] = {}
        for version in docs:
            latest[version["document_id"]] = dict(version)  # the newest version wins (ordered)
        files: dict[str, bytes] = {}
        documents_: list[msg.Document] = []
        for doc in latest.values():
            ref = msgspec.convert(doc["blob"], BlobRef)
            doc_id = doc_sgo_id(row["case_id"], doc["document_id"])
            member = ""
            if with_files:
                member = f"{doc_id}_{_safe(ref.filename or doc['document_type'])}"
                files[member] = await self.kernel.blobs.get(ref)
            documents_.append(
                msg.Document(
                    sgo_id=doc_id,
                    title=doc["title"],
                    kind=doc["document_type"],
                    received=_day(doc["received_at"]),
                    media_type=ref.media_type,
                    member=member,
                    original_name=ref.filename,
                )
            )
        try:
            typ = self.definition(row).title
        except Exception:  # a procedure version no longer loadable still names its service
            typ = row["service_id"]
        obj = msg.FileObject(
            sgo_id=sgo_id(row["case_id"]),
            aktenzeichen=row["aktenzeichen"],
            betreff=row["akte_titel"],
            aktenplan=row["aktenplan"],
            typ=typ,
            aussonderungsart=art,
            bewertungsvorschlag=vorschlag,
            aufbewahrung=effective_records(plan, row["aktenplan"]).aufbewahrung,
            aufbewahrungsende=_day(row["aufbewahrungsende"]),
            opened=_day(row["opened_at"]) or date.today(),
            zda=_day(row["zda_at"]),
            documents=tuple(documents_),
        )
        return obj, files

    async def _package(self, pid: str, code: str, xml: bytes, files: dict[str, bytes] | None = None) -> bytes:
        """Validated against the XSDs, then zipped with its files (both off the loop)."""
        try:
            await asyncio.to_thread(validate, xml)
        except XdomeaInvalid:
            log.error(
                "Aussonderung %s: eigene Nachricht %s ist nicht gültig und wird nicht gesendet", pid, code
            )
            raise
        return await asyncio.to_thread(pack, filename(pid, code), xml, files)

    async def _stage(self, s: AsyncSession, out: Outgoing) -> None:
        name = filename(out.prozess_id, out.code)
        folder = self.staging()

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(out.package)

        await asyncio.to_thread(write)
        await s.execute(
            aussonderung_nachrichten.insert().values(
                prozess_id=out.prozess_id,
                code=out.code,
                richtung="aus",
                dateiname=name,
                state="bereit",
                at=now(),
            )
        )

    async def flush_outgoing(self) -> int:
        """Put every staged message into the transfer (a resend after a crash is harmless:
        same name, same content)."""
        async with self.kernel.transaction() as uow:
            ready = (
                (
                    await uow.session.execute(
                        sa.select(aussonderung_nachrichten.c.pk, aussonderung_nachrichten.c.dateiname)
                        .where(aussonderung_nachrichten.c.state == "bereit")
                        .order_by(aussonderung_nachrichten.c.pk)
                    )
                )
                .mappings()
                .all()
            )
        if not ready:
            return 0
        transport = self.transport()
        for row in ready:
            package = await asyncio.to_thread((self.staging() / row["dateiname"]).read_bytes)
            await transport.send(row["dateiname"], package)
            async with self.kernel.transaction() as uow:
                await uow.session.execute(
                    aussonderung_nachrichten.update()
                    .where(aussonderung_nachrichten.c.pk == row["pk"])
                    .values(state="gesendet", at=now())
                )
            # the staged copy goes: a 0503 holds documents that are to leave the E-Akte
            await asyncio.to_thread((self.staging() / row["dateiname"]).unlink, True)
            log.info("Aussonderung: %s an das Archiv gesendet", row["dateiname"])
        return len(ready)

    async def sweep_staging(self) -> int:
        """Remove staged packages that are not waiting to be sent (sent before a crash, or
        decided in a transaction that did not commit)."""
        async with self.kernel.transaction() as uow:
            waiting = set(
                (
                    await uow.session.execute(
                        sa.select(aussonderung_nachrichten.c.dateiname).where(
                            aussonderung_nachrichten.c.state == "bereit"
                        )
                    )
                )
                .scalars()
                .all()
            )
        folder = self.staging()

        def sweep() -> int:
            if not folder.is_dir():
                return 0
            stale = [p for p in folder.iterdir() if p.is_file() and p.name not in waiting]
            for path in stale:
                path.unlink(missing_ok=True)
            return len(stale)

        return await asyncio.to_thread(sweep)

    # -- receiving ---------------------------------------------------------------------------------

    async def receive(self, transport: Transport, name: str) -> bool:
        """Apply one package from the archive; an invalid or unexpected one is refused with a
        logged German reason, moved aside, and changes nothing."""
        package = await transport.read(name)
        parsed = parse_filename(name)
        pid = parsed[0] if parsed else ""
        async with self.kernel.transaction() as uow:
            seen = (
                await uow.session.execute(
                    sa.select(aussonderung_nachrichten.c.state).where(
                        aussonderung_nachrichten.c.richtung == "ein",
                        aussonderung_nachrichten.c.dateiname == name,
                        aussonderung_nachrichten.c.state == "verarbeitet",
                    )
                )
            ).first()
        if seen is not None:  # applied before a crash; only the move was missing
            await transport.done(name, True, package)
            return True
        try:
            if parsed is None:
                raise Refused("Der Dateiname folgt nicht dem Muster {ProzessID}_{Nachrichtentyp}.xdomea.")
            try:
                xml, _files = await asyncio.to_thread(unpack, package)
            except ValueError as exc:
                raise Refused(str(exc)) from None
            try:
                await asyncio.to_thread(validate, xml)
            except XdomeaInvalid as exc:
                raise Refused(str(exc)) from None
            message = msg.parse(xml)
            if (message.prozess_id, message.code) != parsed:
                raise Refused("ProzessID oder Nachrichtentyp im Kopf passen nicht zum Dateinamen.")
            if message.code not in ("0502", "0504", "0506", "0507"):
                raise Refused(f"Nachricht {message.code} kommt nicht vom Archiv.")
            async with self.kernel.transaction() as uow:
                await self._apply(uow.session, message)
                await uow.session.execute(
                    aussonderung_nachrichten.insert().values(
                        prozess_id=message.prozess_id,
                        code=message.code,
                        richtung="ein",
                        dateiname=name,
                        state="verarbeitet",
                        at=now(),
                    )
                )
        except Refused as refused:
            log.error("Aussonderung: Nachricht %s des Archivs abgelehnt: %s", name, refused)
            async with self.kernel.transaction() as uow:
                await uow.session.execute(
                    aussonderung_nachrichten.insert().values(
                        prozess_id=pid,
                        code=parsed[1] if parsed else "",
                        richtung="ein",
                        dateiname=name[:200],
                        state="abgelehnt",
                        at=now(),
                        fehler=str(refused),
                    )
                )
            await transport.done(name, False, package)
            return False
        await transport.done(name, True, package)
        await self.sweep_destroyed_blobs(message.prozess_id)
        return True

    async def _run(self, s: AsyncSession, pid: str) -> dict[str, Any]:
        row = (
            (await s.execute(sa.select(aussonderungen).where(aussonderungen.c.prozess_id == pid)))
            .mappings()
            .first()
        )
        if row is None:
            raise Refused("Zu dieser ProzessID gibt es keine Aussonderung.")
        if row["archiv"] != self.archive.code:
            raise Refused("Die Aussonderung gehört zu einem anderen Archiv.")
        return dict(row)

    async def _objects(self, s: AsyncSession, pid: str) -> list[dict[str, Any]]:
        rows = (
            (
                await s.execute(
                    sa.select(aussonderung_objekte)
                    .where(aussonderung_objekte.c.prozess_id == pid)
                    .order_by(aussonderung_objekte.c.pk)
                )
            )
            .mappings()
            .all()
        )
        return [dict(r) for r in rows]

    async def _apply(self, s: AsyncSession, message: msg.Message) -> None:
        run = await self._run(s, message.prozess_id)
        if message.sender != self.archive.code:
            raise Refused("Der Absender ist nicht das Archiv dieser Aussonderung.")
        if message.code in ("0504", "0507"):
            await record(
                s,
                SYSTEM,
                "aussonderung_empfang_bestaetigt",
                None,
                {"prozess_id": run["prozess_id"], "nachricht": message.code},
            )
            return
        if message.code == "0502":
            await self._appraised(s, run, message)
        else:
            await self._confirmed(s, run, message)

    async def _appraised(self, s: AsyncSession, run: dict[str, Any], message: msg.Message) -> None:
        """0502: A goes to the archive (0503), V waits for the end of the exchange, anything
        not appraised stays."""
        if run["verfahren"] != rules.VIERSTUFIG or run["state"] != rules.ANGEBOTEN:
            raise Refused("Ein Bewertungsverzeichnis wird für diese Aussonderung nicht (mehr) erwartet.")
        objects = {o["sgo_id"]: o for o in await self._objects(s, run["prozess_id"])}
        verdicts: dict[str, str] = {}
        for item in message.appraisals:
            if item.sgo_id not in objects:
                raise Refused("Das Bewertungsverzeichnis nennt ein Objekt, das nicht angeboten wurde.")
            verdicts[item.sgo_id] = item.art
        pid = run["prozess_id"]
        at = now()
        for sid, obj in objects.items():
            art = verdicts.get(sid)
            state = rules.after_appraisal(art)
            await s.execute(
                aussonderung_objekte.update()
                .where(aussonderung_objekte.c.pk == obj["pk"])
                .values(
                    state=state,
                    bewertung=art if art in ("A", "V") else None,
                    bewertung_quelle="archiv" if art in ("A", "V") else None,
                )
            )
            obj["state"], obj["bewertung"] = state, art if art in ("A", "V") else None
        await record(
            s,
            SYSTEM,
            "aussonderung_bewertet",
            None,
            {
                "prozess_id": pid,
                "A": sorted(o["aktenzeichen"] for o in objects.values() if o["state"] == rules.ZU_UEBERGEBEN),
                "V": sorted(o["aktenzeichen"] for o in objects.values() if o["state"] == rules.ZU_VERNICHTEN),
                "unbewertet": sorted(
                    o["aktenzeichen"] for o in objects.values() if o["state"] == rules.UNBEWERTET
                ),
            },
        )
        if message.receipt_wanted:
            header = msg.header(pid, "0505", self.own_party(), self.archive_party(), datetime.now(UTC))
            await self._stage(s, Outgoing(pid, "0505", await self._package(pid, "0505", msg.receipt(header))))
        taken = [o for o in objects.values() if o["state"] == rules.ZU_UEBERGEBEN]
        if not taken:  # the archive takes nothing: its 0502 closes the exchange
            await s.execute(
                aussonderungen.update()
                .where(aussonderungen.c.prozess_id == pid)
                .values(bewertet_at=at, state=rules.ABGESCHLOSSEN, abgeschlossen_at=at)
            )
            await self._destroy_declined(s, pid, list(objects.values()), "0502 Bewertungsverzeichnis: V")
            return
        plan = {r["code"]: dict(r) for r in (await s.execute(sa.select(aktenplan))).mappings().all()}
        file_objects: list[msg.FileObject] = []
        files: dict[str, bytes] = {}
        for obj in taken:
            row = await self.case_row(s, obj["case_id"])
            if row is None:
                raise Refused("Ein angebotener Vorgang fehlt in der E-Akte.")
            fo, docs = await self._file_object(
                s, row, obj["aussonderungsart"], obj["vorschlag"], plan, with_files=True
            )
            file_objects.append(fo)
            files.update(docs)
            await s.execute(
                aussonderung_objekte.update()
                .where(aussonderung_objekte.c.pk == obj["pk"])
                .values(state=rules.OBJ_UEBERGEBEN)
            )
        header = msg.header(pid, "0503", self.own_party(), self.archive_party(), datetime.now(UTC))
        xml = msg.aussonderung(header, file_objects)
        await self._stage(s, Outgoing(pid, "0503", await self._package(pid, "0503", xml, files)))
        await s.execute(
            aussonderungen.update()
            .where(aussonderungen.c.prozess_id == pid)
            .values(bewertet_at=at, uebergeben_at=at, state=rules.UEBERGEBEN)
        )

    async def _confirmed(self, s: AsyncSession, run: dict[str, Any], message: msg.Message) -> None:
        """0506: imported objects are out of the E-Akte (ausgesondert, with the archive's
        id); failed or unmentioned ones stay; then the declined (V) ones are destroyed."""
        if run["state"] != rules.UEBERGEBEN:
            raise Refused("Eine Importbestätigung wird für diese Aussonderung nicht (mehr) erwartet.")
        pid = run["prozess_id"]
        objects = await self._objects(s, pid)
        by_id = {o["sgo_id"]: o for o in objects}
        results: dict[str, msg.ImportResult] = {}
        for item in message.results:
            known = by_id.get(item.sgo_id)
            if known is None or known["state"] != rules.OBJ_UEBERGEBEN:
                raise Refused("Die Importbestätigung nennt ein Objekt, das nicht übergeben wurde.")
            results[item.sgo_id] = item
        at = now()
        for obj in objects:
            if obj["state"] != rules.OBJ_UEBERGEBEN:
                continue
            result = results.get(obj["sgo_id"])
            state = rules.after_import(obj["state"], result.ok if result else False)
            if state == rules.AUSGESONDERT and result is not None:
                kennung = result.archivkennung
                await s.execute(
                    aussonderung_objekte.update()
                    .where(aussonderung_objekte.c.pk == obj["pk"])
                    .values(state=state, archivkennung=kennung, erledigt_at=at)
                )
                await self._purge(
                    s, obj["case_id"], pid, "ausgesondert", "0506 Importbestätigung: übernommen", kennung
                )
            else:
                reason = (
                    "; ".join(result.errors) if result and result.errors else "keine Rückmeldung des Archivs"
                )
                await s.execute(
                    aussonderung_objekte.update()
                    .where(aussonderung_objekte.c.pk == obj["pk"])
                    .values(state=state, fehlermeldung=reason[:2000])
                )
        await s.execute(
            aussonderungen.update()
            .where(aussonderungen.c.prozess_id == pid)
            .values(bestaetigt_at=at, state=rules.ABGESCHLOSSEN, abgeschlossen_at=at)
        )
        await self._destroy_declined(
            s, pid, objects, "0502 Bewertungsverzeichnis: V (vollzogen nach 0506 Importbestätigung)"
        )

    async def _destroy_declined(
        self, s: AsyncSession, pid: str, objects: list[dict[str, Any]], decision: str
    ) -> None:
        at = now()
        for obj in objects:
            if not rules.may_destroy(obj["state"], obj["bewertung"], run_closing=True):
                continue
            await s.execute(
                aussonderung_objekte.update()
                .where(aussonderung_objekte.c.pk == obj["pk"])
                .values(state=rules.VERNICHTET, erledigt_at=at)
            )
            await self._purge(s, obj["case_id"], pid, "vernichtet", decision, "")

    async def _purge(
        self, s: AsyncSession, case_id: str, pid: str, ergebnis: str, decision: str, archivkennung: str
    ) -> None:
        """Documents and personal data out, the Vorgang kept as a tombstone, the deletion
        logged (the blobs go right after the commit: ``sweep_destroyed_blobs``)."""
        row = await self.case_row(s, case_id)
        if row is None:
            return
        docs = (
            (
                await s.execute(
                    sa.select(
                        documents.c.document_id,
                        documents.c.version,
                        documents.c.sha256,
                        documents.c.document_type,
                        documents.c.blob,
                    )
                    .where(documents.c.case_id == case_id)
                    .order_by(documents.c.document_id, documents.c.version)
                )
            )
            .mappings()
            .all()
        )
        listed = [
            {
                "document_id": d["document_id"],
                "version": d["version"],
                "sha256": d["sha256"],
                "document_type": d["document_type"],
                "key": (d["blob"] or {}).get("key", ""),
            }
            for d in docs
        ]
        entry = {
            "case_id": case_id,
            "aktenzeichen": row["aktenzeichen"],
            "aktenplan": row["aktenplan"],
            "service_id": row["service_id"],
            "dokumente": listed,
            "ergebnis": ergebnis,
            "entscheidung": decision,
            "prozess_id": pid,
            "archivkennung": archivkennung,
        }
        await s.execute(loeschprotokoll.insert().values(at=now(), actor=SYSTEM, **entry))
        await record(
            s,
            SYSTEM,
            "vorgang_vernichtet" if ergebnis == "vernichtet" else "vorgang_ausgesondert",
            case_id,
            {k: v for k, v in entry.items() if k != "case_id"},
        )
        if await restricted(s, case_id):  # an erasure request waited for this (Art. 17 DSGVO)
            await record_erasure(s, case_id, SYSTEM, f"{decision} (ProzessID {pid})")
        for table in (documents, nachrichten, decisions, beteiligungen, termine):
            await s.execute(table.delete().where(table.c.case_id == case_id))
        await s.execute(
            vorgaenge.update()
            .where(vorgaenge.c.case_id == case_id)
            .values(
                lifecycle=ergebnis,
                akte_titel=DESTROYED_TITLE if ergebnis == "vernichtet" else ARCHIVED_TITLE,
                applicant={},
                data={},
                files={},
                warnings=[],
                evidence={},
                stadtbezirk="",
            )
        )

    async def sweep_destroyed_blobs(self, pid: str | None = None) -> int:
        """Remove the stored bytes of every document in the deletion log (of one run, or all)
        that no document still filed shares; after a crash the next start finishes it."""
        async with self.kernel.transaction() as uow:
            query = sa.select(loeschprotokoll.c.dokumente)
            if pid is not None:
                query = query.where(loeschprotokoll.c.prozess_id == pid)
            logged = (await uow.session.execute(query)).scalars().all()
            keys: dict[str, str] = {}
            for docs in logged:
                for doc in docs or []:
                    if doc.get("key"):
                        keys[doc["key"]] = doc["sha256"]
            if not keys:
                return 0
            live = set(
                (
                    await uow.session.execute(
                        sa.select(documents.c.sha256).where(documents.c.sha256.in_(set(keys.values())))
                    )
                )
                .scalars()
                .all()
            )
        removed = 0
        for key, sha in keys.items():
            if sha not in live:
                await self.kernel.blobs.delete(key)
                removed += 1
        return removed

    # -- the records manager's view --------------------------------------------------------------

    async def aussonderung_overview(self) -> dict[str, Any]:
        async with self.kernel.transaction() as uow:
            s = uow.session
            runs = [
                dict(r)
                for r in (
                    await s.execute(
                        sa.select(aussonderungen).order_by(aussonderungen.c.created_at.desc()).limit(50)
                    )
                )
                .mappings()
                .all()
            ]
            pids = [r["prozess_id"] for r in runs]
            objects = [
                dict(r)
                for r in (
                    await s.execute(
                        sa.select(aussonderung_objekte)
                        .where(aussonderung_objekte.c.prozess_id.in_(pids))
                        .order_by(aussonderung_objekte.c.pk)
                    )
                )
                .mappings()
                .all()
            ]
            messages = [
                dict(r)
                for r in (
                    await s.execute(
                        sa.select(aussonderung_nachrichten)
                        .where(aussonderung_nachrichten.c.prozess_id.in_(pids))
                        .order_by(aussonderung_nachrichten.c.pk)
                    )
                )
                .mappings()
                .all()
            ]
            refused = [
                dict(r)
                for r in (
                    await s.execute(
                        sa.select(aussonderung_nachrichten)
                        .where(aussonderung_nachrichten.c.state == "abgelehnt")
                        .order_by(aussonderung_nachrichten.c.pk.desc())
                        .limit(20)
                    )
                )
                .mappings()
                .all()
            ]
            deletions = [
                dict(r)
                for r in (
                    await s.execute(
                        sa.select(loeschprotokoll).order_by(loeschprotokoll.c.seq.desc()).limit(100)
                    )
                )
                .mappings()
                .all()
            ]
        for run in runs:
            run["objekte"] = [o for o in objects if o["prozess_id"] == run["prozess_id"]]
            run["nachrichten"] = [m for m in messages if m["prozess_id"] == run["prozess_id"]]
        latest: dict[str, dict[str, Any]] = {}
        for obj in objects:  # ordered: a file offered again shows its newest state
            latest[obj["case_id"]] = obj
        attention = [o for o in latest.values() if o["state"] in rules.ATTENTION]
        return {"runs": runs, "attention": attention, "refused": refused, "deletions": deletions}
