"""Abgabe: a Vorgang with its documents and metadata handed to another authority over
xdomea 3.0.0 (0401 Abgabe → 0403 EmpfangBestaetigen, 0402 ImportBestaetigen), through a
transfer directory per partner authority (settings ``abgabe.partners``).

Sending: the responsible unit starts it; the case is locked at once and marked "abgegeben"
(read-only, with partner and date) only when the partner's 0402 confirms the import.
Receiving: a valid 0401 is answered with 0403, then imported as a new Vorgang in the unit
the local Aktenplan names for its file-plan entry (else the partner's configured unit), and
answered with 0402 carrying the new Aktenzeichen. An invalid message is rejected with a
logged reason and moved aside to ``<inbox>/fehlerhaft`` with a ``.fehler.txt`` beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened, DocumentFiled
from rathaus.eakte.domain import DECIDING_ROLES, LIFECYCLE_HANDED_OVER, SYSTEM, DecisionRefused, Staff
from rathaus.eakte.handlers.cases import CaseHandlers
from rathaus.eakte.handlers.common import now, record
from rathaus.eakte.handlers.locks import (
    FAILED,
    HANDED_OVER,
    IMPORTED,
    IN,
    OUT,
    RECEIVED,
    REJECTED,
    RUNNING,
    SENT,
    case_lock,
)
from rathaus.eakte.store import aktenplan, decisions, documents, units, vorgaenge
from rathaus.eakte.store_abgabe import abgaben
from rathaus.eakte.xdomea import abgabe as messages
from rathaus.eakte.xdomea.common import (
    Behoerde,
    Dokument,
    Kopf,
    Version,
    Vorgang,
    XdomeaInvalid,
    fields_json,
    member_name,
    object_id,
    unpack,
)
from rathaus.platform.kernel.blobs import BlobIntegrityError
from rathaus.platform.kernel.settings import PartnerAuthority

log = logging.getLogger("rathaus.eakte.abgabe")

STATUS_TEXT = {
    SENT: "Gesendet, Empfang nicht bestätigt",
    RECEIVED: "Empfangen, Import nicht bestätigt",
    HANDED_OVER: "Abgegeben",
    FAILED: "Nicht übernommen",
    IMPORTED: "Übernommen",
    REJECTED: "Abgewiesen",
}
DONE, BAD, WORKING = "verarbeitet", "fehlerhaft", "in-arbeit"
HTTP_TIMEOUT = 30.0
FILENAME_HEADER = "X-Xdomea-Dateiname"
CONTAINER_NAME = re.compile(r"[0-9a-fA-F-]{36}_Abgabe\.[A-Za-z]+\.040[1-3]\.xdomea")
# the fields of the Vorgang's extension this system writes and reads back
CASE_FIELDS = ("service_id", "service_version", "procedure_digest", "submitted_at", "stadtbezirk")
JSON_FIELDS = ("applicant", "data", "files", "warnings", "evidence")


class AbgabeRefused(ValueError):
    """An Abgabe that cannot be started, or an incoming one that cannot be imported; the
    message is German, for the clerk or the partner's 0402."""


@dataclass
class Inbound:
    """One message read from a partner's transfer directory."""

    partner: PartnerAuthority
    path: Path


def _write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write under a temporary name, then rename: the partner never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f".{name}.partial"
    partial.write_bytes(data)
    os.replace(partial, target)
    return target


def _claim(path: Path) -> Path | None:
    """Take a message into ``in-arbeit/`` (an atomic rename): of several readers of the same
    inbox, one gets it; None for the others."""
    folder = path.parent / WORKING
    folder.mkdir(exist_ok=True)
    try:
        os.replace(path, folder / path.name)
    except FileNotFoundError:
        return None
    return folder / path.name


def _requeue(inbox: Path) -> int:
    """Messages left in ``in-arbeit/`` by a stopped process go back into the inbox."""
    folder = inbox / WORKING
    if not folder.is_dir():
        return 0
    left = [p for p in folder.glob("*.xdomea") if not (inbox / p.name).exists()]
    for path in left:
        os.replace(path, inbox / path.name)
    return len(left)


def _move_aside(path: Path, target_dir: Path, note: str = "") -> Path:
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}-{uuid.uuid4().hex[:8]}{path.suffix}"
    os.replace(path, target)
    if note:
        (target_dir / f"{target.name}.fehler.txt").write_text(note + "\n", encoding="utf-8")
    return target


def _waiting(inbox: Path) -> list[Path]:
    """The complete messages in an inbox, oldest first (partial writes start with a dot)."""
    if not inbox.is_dir():
        return []
    return sorted(inbox.glob("[!.]*.xdomea"), key=lambda f: f.stat().st_mtime)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


class AbgabeHandlers(CaseHandlers):
    # -- configuration ----------------------------------------------------------------------

    def partners(self) -> dict[str, PartnerAuthority]:
        return {p.code: p for p in self.kernel.settings.abgabe.partners}

    def ourselves(self, unit: str = "") -> Behoerde:
        cfg = self.kernel.settings.abgabe
        return Behoerde(cfg.authority_code, cfg.authority_name, unit)

    # -- sending ----------------------------------------------------------------------------

    async def start_abgabe(self, member: Staff, case_id: str, partner_code: str) -> str:
        """Hand a Vorgang to a partner authority: build and validate the 0401, write it to the
        partner's transfer directory, lock the case. Returns the ProzessID; raises
        ``AbgabeRefused`` (German) or ``PermissionError``."""
        if member.role not in DECIDING_ROLES:
            raise AbgabeRefused("Einen Vorgang abgeben können Sachbearbeitung oder Leitung.")
        partner = self.partners().get(partner_code)
        if partner is None:
            raise AbgabeRefused("Bitte wählen Sie die Behörde, an die der Vorgang abgegeben wird.")
        async with self.kernel.db.read() as s:
            row = await self.case_row(s, case_id)
            if row is None or row["unit"] != member.unit:
                raise PermissionError(case_id)
            locked = await case_lock(s, case_id)
            if locked:
                raise AbgabeRefused(locked)
            obj = await self._as_vorgang(s, row)
        prozess_id = str(uuid.uuid4())
        head = Kopf(
            prozess_id=prozess_id,
            nachrichtentyp="0401",
            absender=self.ourselves(member.unit),
            empfaenger=Behoerde(partner.code, partner.name),
            erstellt=datetime.now(UTC),
            instanz=self.kernel.settings.abgabe.authority_code,
            hinweis=f"Abgabe des Vorgangs {row['aktenzeichen']}",
        )
        try:
            name, container = await asyncio.to_thread(messages.build_abgabe, head, [obj])
        except XdomeaInvalid as invalid:  # our own message: a bug or a missing schema
            log.error("0401 for case %s not valid, not sent: %s", case_id, invalid)
            raise AbgabeRefused(f"Die Abgabenachricht konnte nicht erstellt werden: {invalid}") from None
        at = now()
        async with self.kernel.db.session() as s:
            if locked := await case_lock(s, case_id):  # someone else was quicker
                raise AbgabeRefused(locked)
            await s.execute(
                abgaben.insert().values(
                    prozess_id=prozess_id,
                    direction=OUT,
                    case_id=case_id,
                    partner=partner.code,
                    partner_name=partner.name,
                    status=SENT,
                    object_id=obj.id,
                    aktenzeichen=row["aktenzeichen"],
                    message=name,
                    started_by=member.username,
                    started_at=at,
                    updated_at=at,
                )
            )
            await record(
                s,
                member.username,
                "abgabe_gesendet",
                case_id,
                {
                    "prozess_id": prozess_id,
                    "partner": partner.code,
                    "nachricht": name,
                    "dokumente": len(obj.dokumente),
                },
            )
        try:
            await self._send(partner, (name, container))
        except (OSError, httpx.HTTPError) as problem:
            log.error(
                "Abgabe %s of case %s not delivered to %s: %s", prozess_id, case_id, partner.code, problem
            )
            reason = (
                f"Die Nachricht konnte {partner.name} nicht zugestellt werden ({type(problem).__name__})."
            )
            async with self.kernel.db.session() as s:
                await s.execute(
                    abgaben.update()
                    .where(abgaben.c.prozess_id == prozess_id, abgaben.c.direction == OUT)
                    .values(status=FAILED, error=reason, updated_at=now())
                )
                await record(
                    s, member.username, "abgabe_nicht_zugestellt", case_id, {"prozess_id": prozess_id}
                )
            raise AbgabeRefused(reason + " Der Vorgang bleibt hier in Bearbeitung.") from None
        log.info("Abgabe %s of case %s sent to %s", prozess_id, case_id, partner.code)
        return prozess_id

    async def _as_vorgang(self, s: AsyncSession, row: dict[str, Any]) -> Vorgang:
        """The case as an xdomea Vorgang with every document version and its bytes."""
        docs = (
            (
                await s.execute(
                    sa.select(documents)
                    .where(documents.c.case_id == row["case_id"])
                    .order_by(documents.c.document_id, documents.c.version)
                )
            )
            .mappings()
            .all()
        )
        plan = (
            await s.execute(sa.select(aktenplan.c.title).where(aktenplan.c.code == row["aktenplan"]))
        ).scalar()
        decision = (
            (await s.execute(sa.select(decisions).where(decisions.c.case_id == row["case_id"])))
            .mappings()
            .first()
        )
        by_id: dict[str, Dokument] = {}
        for doc in docs:
            ref = msgspec.convert(doc["blob"], BlobRef)
            try:
                data = await self.kernel.blobs.get(ref)  # checked against its hash
            except (BlobIntegrityError, FileNotFoundError):
                raise AbgabeRefused(
                    f"Das Dokument „{doc['title']}“ (Version {doc['version']}) ist im Speicher nicht "
                    "unverändert vorhanden; der Vorgang wird so nicht abgegeben (siehe rathaus audit verify)."
                ) from None
            xid = object_id("dokument", row["case_id"], doc["document_id"])
            entry = by_id.setdefault(
                doc["document_id"],
                Dokument(
                    id=xid,
                    betreff=doc["title"],
                    typ=doc["document_type"],
                    posteingang=_day(doc["received_at"]),
                    felder={"document_id": doc["document_id"], "quelle": doc["source"]},
                ),
            )
            nummer = str(doc["version"])
            entry.versionen.append(
                Version(
                    nummer=nummer,
                    dateiname=member_name(xid, nummer, ref.filename or f"{doc['document_id']}.bin"),
                    original=ref.filename,
                    erstellt=datetime.fromisoformat(doc["filed_at"]) if doc["filed_at"] else None,
                    data=data,
                )
            )
            entry.felder[f"sha256-v{nummer}"] = doc["sha256"]
            entry.felder[f"medientyp-v{nummer}"] = ref.media_type
            entry.felder[f"text-v{nummer}"] = doc["text"]
        felder = {k: str(row[k]) for k in CASE_FIELDS}
        felder.update({k: fields_json(row[k]) for k in JSON_FIELDS})
        felder["case_id"] = row["case_id"]
        felder["akte_titel"] = row["akte_titel"]
        if decision is not None:
            felder["entscheidung"] = fields_json(
                {k: decision[k] for k in ("outcome", "reasons", "decided_at", "mode")}
            )
        return Vorgang(
            id=object_id("vorgang", row["case_id"]),
            betreff=row["akte_titel"],
            kennzeichen=row["aktenzeichen"],
            aktenplan=row["aktenplan"],
            aktenplan_titel=plan or "",
            federfuehrung=row["unit"],
            beginn=_day(row["opened_at"]),
            dokumente=list(by_id.values()),
            felder=felder,
        )

    # -- the transfer directories -----------------------------------------------------------

    async def poll_transfer(self) -> int:
        """Read every message waiting in the partners' inboxes, oldest first; each ends in
        ``verarbeitet/`` or, rejected, in ``fehlerhaft/``. Returns how many were read."""
        waiting: list[Inbound] = []
        for partner in self.partners().values():
            found = await asyncio.to_thread(_waiting, partner.inbox)
            waiting += [Inbound(partner, path) for path in found]
        for item in waiting:
            await self._receive(item)
        return len(waiting)

    async def _receive(self, item: Inbound) -> None:
        name = item.path.name
        claimed = await asyncio.to_thread(_claim, item.path)
        if claimed is None:
            return  # another replica reads it
        item = Inbound(item.partner, claimed)
        try:
            data = await asyncio.to_thread(item.path.read_bytes)
            container = await asyncio.to_thread(unpack, name, data)
            message = messages.read(container)
            if message.kopf.absender.code != item.partner.code:
                raise XdomeaInvalid(
                    f"Der Absender {message.kopf.absender.code!r} ist nicht die Behörde dieses "
                    f"Übergabeverzeichnisses ({item.partner.code})."
                )
            if isinstance(message, messages.Abgabe):
                await self._import(item.partner, message, name)
            elif isinstance(message, messages.EmpfangBestaetigung):
                await self._received(item.partner, message)
            else:
                await self._abgabe_confirmed(item.partner, message)
        except (XdomeaInvalid, AbgabeRefused) as problem:
            await self._reject(item, str(problem))
            return
        except Exception:  # e.g. the database away: back into the inbox, read again later
            await asyncio.to_thread(os.replace, item.path, item.partner.inbox / name)
            raise
        await asyncio.to_thread(_move_aside, item.path, item.partner.inbox / DONE)

    async def _reject(self, item: Inbound, reason: str) -> None:
        """A message that cannot be processed: logged, recorded, moved aside, never lost."""
        name = item.path.name
        moved = await asyncio.to_thread(_move_aside, item.path, item.partner.inbox / BAD, reason)
        log.error(
            "xdomea message %s from %s rejected and moved to %s (reason in %s.fehler.txt)",
            name,
            item.partner.code,
            moved.parent,
            moved.name,
        )
        prozess = name.split("_", 1)[0]
        at = now()
        async with self.kernel.db.session() as s:
            key = prozess if _is_uuid(prozess) else f"datei-{uuid.uuid4()}"
            exists = (
                await s.execute(
                    sa.select(abgaben.c.prozess_id).where(
                        abgaben.c.prozess_id == key, abgaben.c.direction == IN, abgaben.c.object_id == ""
                    )
                )
            ).first()
            values = {
                "partner": item.partner.code,
                "partner_name": item.partner.name,
                "status": REJECTED,
                "message": name,
                "error": reason[:2000],
                "updated_at": at,
            }
            if exists:
                await s.execute(
                    abgaben.update()
                    .where(abgaben.c.prozess_id == key, abgaben.c.direction == IN, abgaben.c.object_id == "")
                    .values(**values)
                )
            else:
                await s.execute(
                    abgaben.insert().values(prozess_id=key, direction=IN, started_at=at, **values)
                )
            await record(
                s,
                SYSTEM,
                "abgabe_nachricht_abgewiesen",
                None,
                {"partner": item.partner.code, "nachricht": name},
            )

    async def _send(self, partner: PartnerAuthority, built: tuple[str, bytes]) -> str:
        """Deliver a container: POST to the partner's endpoint when it has one, else write
        it to the outbox directory. Raises ``OSError`` or ``httpx.HTTPError``."""
        name, data = built
        if partner.url:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
                response = await client.post(
                    partner.url,
                    content=data,
                    headers={
                        "Content-Type": "application/zip",
                        "Authorization": f"Bearer {partner.token or ''}",
                        FILENAME_HEADER: name,
                    },
                )
                response.raise_for_status()
        else:
            await asyncio.to_thread(_write_atomically, partner.outbox, name, data)
        return name

    async def accept_posted(self, partner_code: str, token: str, name: str, data: bytes) -> None:
        """A container a partner POSTed to our endpoint: into its inbox, read like any other.
        Raises ``PermissionError`` (unknown partner, wrong token) or ``AbgabeRefused``."""
        partner = self.partners().get(partner_code)
        if partner is None or not partner.token or not hmac.compare_digest(token, partner.token):
            raise PermissionError(partner_code)
        if not CONTAINER_NAME.fullmatch(name):
            raise AbgabeRefused("Der Dateiname muss {ProzessID}_{Nachrichtentyp}.xdomea lauten.")
        if not data:
            raise AbgabeRefused("Die Nachricht ist leer.")
        await asyncio.to_thread(_write_atomically, partner.inbox, name, data)
        log.info("xdomea message %s from %s received over HTTP", name, partner.code)

    # -- receiving an Abgabe ----------------------------------------------------------------

    async def _import(self, partner: PartnerAuthority, message: messages.Abgabe, name: str) -> None:
        prozess = message.kopf.prozess_id
        async with self.kernel.db.read() as s:
            # imported before (the message is read again when its 0402 could not be written)
            done = {
                r.object_id: (r.case_id, r.aktenzeichen)
                for r in await s.execute(
                    sa.select(abgaben.c.object_id, abgaben.c.case_id, abgaben.c.aktenzeichen).where(
                        abgaben.c.prozess_id == prozess,
                        abgaben.c.direction == IN,
                        abgaben.c.status == IMPORTED,
                    )
                )
            }

        def head(hinweis: str = "", felder: dict[str, str] | None = None) -> Kopf:
            return Kopf(
                prozess_id=prozess,
                nachrichtentyp="",
                absender=self.ourselves(),
                empfaenger=message.kopf.absender,
                erstellt=datetime.now(UTC),
                instanz=self.kernel.settings.abgabe.authority_code,
                hinweis=hinweis,
                felder=felder or {},
            )

        # the receipt first (0403), then the import and its confirmation (0402)
        await self._send(partner, await asyncio.to_thread(messages.build_empfang_bestaetigung, head()))
        results: list[messages.Ergebnis] = []
        imported: list[tuple[str, str]] = []
        for obj in message.objekte:
            if obj.id in done:
                imported.append(done[obj.id])
                results.append(messages.Ergebnis(obj.id, True))
                continue
            if not isinstance(obj, Vorgang):
                results.append(
                    messages.Ergebnis(
                        obj.id, False, ["Übernommen werden Vorgänge; dieses Objekt ist keiner."]
                    )
                )
                continue
            try:
                case_id, az = await self._import_vorgang(partner, prozess, obj, message.files, name)
            except AbgabeRefused as refused:
                results.append(messages.Ergebnis(obj.id, False, [str(refused)]))
                continue
            imported.append((case_id, az))
            results.append(messages.Ergebnis(obj.id, True))
        felder = {"Aktenzeichen": imported[0][1]} if imported else {}
        hinweis = f"Übernommen als {imported[0][1]}" if imported else "Nicht übernommen"
        await self._send(
            partner,
            await asyncio.to_thread(messages.build_import_bestaetigung, head(hinweis, felder), results),
        )
        if not imported:  # answered, and then moved aside with the reasons
            raise AbgabeRefused("Nicht übernommen: " + "; ".join(e for r in results for e in r.fehler))

    async def _receiving_unit(self, s: AsyncSession, partner: PartnerAuthority, obj: Vorgang) -> str:
        """The local Aktenplan entry's unit, else the partner's configured unit."""
        unit = None
        if obj.aktenplan:
            unit = (
                await s.execute(sa.select(aktenplan.c.unit).where(aktenplan.c.code == obj.aktenplan))
            ).scalar()
        unit = unit or partner.unit
        known = unit and (await s.execute(sa.select(units.c.code).where(units.c.code == unit))).first()
        if not known:
            raise AbgabeRefused(
                f"Für den Aktenplan {obj.aktenplan or '(ohne)'} ist hier keine zuständige "
                "Organisationseinheit bestimmt."
            )
        return str(unit)

    async def _import_vorgang(
        self, partner: PartnerAuthority, prozess: str, obj: Vorgang, files: dict[str, bytes], name: str
    ) -> tuple[str, str]:
        """One Vorgang with its documents, in one transaction: all of it or nothing."""
        felder = obj.felder
        try:
            loaded = {k: json.loads(felder[k]) for k in JSON_FIELDS if k in felder}
        except ValueError:
            raise AbgabeRefused("Die Fachdaten des Vorgangs sind nicht lesbar.") from None
        stored: list[dict[str, Any]] = []
        for doc in obj.dokumente:
            for version in doc.versionen:
                data = files.get(version.dateiname)
                if data is None:
                    raise AbgabeRefused(f"Die Datei {version.dateiname} fehlt.")
                digest = hashlib.sha256(data).hexdigest()
                expected = doc.felder.get(f"sha256-v{version.nummer}", digest)
                if digest != expected:
                    raise AbgabeRefused(
                        f"Dokument {doc.betreff!r} Version {version.nummer}: der Inhalt passt nicht zu "
                        "seiner Prüfsumme."
                    )
                ref = await self.kernel.blobs.put(
                    "eakte",
                    data,
                    media_type=doc.felder.get(f"medientyp-v{version.nummer}", "application/octet-stream"),
                    filename=version.original or version.dateiname,
                )
                stored.append({"doc": doc, "version": version, "ref": ref})
        case_id = str(uuid.uuid4())
        async with self.kernel.transaction() as uow:
            s = uow.session
            unit = await self._receiving_unit(s, partner, obj)
            az = await self._next_aktenzeichen(uow, obj.aktenplan or "abgabe")
            opened = now()
            await s.execute(
                vorgaenge.insert().values(
                    case_id=case_id,
                    aktenzeichen=az,
                    akte_titel=(felder.get("akte_titel") or obj.betreff or "Übernommener Vorgang")[:200],
                    aktenplan=obj.aktenplan,
                    service_id=felder.get("service_id", "")[:64],
                    service_version=int(felder.get("service_version", "1") or 1),
                    procedure_digest=felder.get("procedure_digest", "")[:64],
                    unit=unit,
                    status="eingegangen",
                    applicant=loaded.get("applicant", {}),
                    data=loaded.get("data", {}),
                    files=loaded.get("files", {}),
                    warnings=loaded.get("warnings", []),
                    stadtbezirk=felder.get("stadtbezirk", "")[:80],
                    evidence=loaded.get("evidence", {}),
                    opened_at=opened,
                    submitted_at=felder.get("submitted_at", opened),
                )
            )
            # like any case opened here: input management can route letters to it, open data
            # counts it, search indexes its documents
            await uow.emit(
                CaseOpened(
                    case_id=case_id,
                    aktenzeichen=az,
                    service_id=felder.get("service_id", "")[:64],
                    unit=unit,
                    stadtbezirk=felder.get("stadtbezirk", "")[:80],
                    opened_at=opened,
                    service_version=int(felder.get("service_version", "1") or 1),
                    submitted_at=felder.get("submitted_at", opened),
                ),
                subject=case_id,
            )
            await record(
                s,
                SYSTEM,
                "vorgang_uebernommen",
                case_id,
                {
                    "aktenzeichen": az,
                    "unit": unit,
                    "von": partner.code,
                    "prozess_id": prozess,
                    "fremdes_aktenzeichen": obj.kennzeichen,
                },
            )
            for item in stored:
                doc, version, ref = item["doc"], item["version"], item["ref"]
                document_id = await self._free_document_id(s, doc.felder.get("document_id") or doc.id, doc.id)
                values = {
                    "document_id": document_id,
                    "version": int(version.nummer) if version.nummer.isdigit() else 1,
                    "case_id": case_id,
                    "sha256": ref.sha256,
                    "blob": msgspec.to_builtins(ref),
                    "document_type": (doc.typ or "abgabe")[:64],
                    "title": doc.betreff[:300],
                    "medium": "elektronisch",
                    "source": "abgabe",
                    "received_at": doc.posteingang.isoformat() if doc.posteingang else opened,
                    "text": doc.felder.get(f"text-v{version.nummer}", ""),
                    "filed_at": opened,
                }
                await s.execute(documents.insert().values(**values))
                await record(
                    s,
                    SYSTEM,
                    "dokument_abgelegt",
                    case_id,
                    {"document_id": document_id, "version": values["version"], "sha256": ref.sha256},
                )
                await uow.emit(
                    DocumentFiled(
                        case_id=case_id,
                        aktenzeichen=az,
                        document_id=document_id,
                        document_type=values["document_type"],
                        sha256=ref.sha256,
                        version=values["version"],
                        filed_at=opened,
                    ),
                    subject=case_id,
                )
            await s.execute(
                abgaben.insert().values(
                    prozess_id=prozess,
                    direction=IN,
                    case_id=case_id,
                    partner=partner.code,
                    partner_name=partner.name,
                    status=IMPORTED,
                    object_id=obj.id,
                    aktenzeichen=az,
                    partner_aktenzeichen=obj.kennzeichen[:40],
                    message=name,
                    started_at=opened,
                    updated_at=opened,
                    done_at=opened,
                )
            )
        log.info("Abgabe %s from %s imported as case %s", prozess, partner.code, case_id)
        return case_id, az

    @staticmethod
    async def _free_document_id(s: AsyncSession, wanted: str, fallback: str) -> str:
        """The sender's document id unless it is taken here (ids are per authority)."""
        taken = (
            await s.execute(sa.select(documents.c.pk).where(documents.c.document_id == wanted).limit(1))
        ).first()
        return fallback if taken else wanted[:100]

    # -- the partner's confirmations --------------------------------------------------------

    async def _outgoing(self, s: AsyncSession, partner: PartnerAuthority, prozess: str) -> dict[str, Any]:
        row = (
            (
                await s.execute(
                    sa.select(abgaben).where(abgaben.c.prozess_id == prozess, abgaben.c.direction == OUT)
                )
            )
            .mappings()
            .first()
        )
        if row is None or row["partner"] != partner.code:
            raise AbgabeRefused(f"Zur ProzessID {prozess} gibt es keine Abgabe an diese Behörde.")
        return dict(row)

    async def _received(self, partner: PartnerAuthority, message: messages.EmpfangBestaetigung) -> None:
        async with self.kernel.db.session() as s:
            row = await self._outgoing(s, partner, message.kopf.prozess_id)
            if row["status"] != SENT:
                return  # a late or repeated receipt changes nothing
            await s.execute(
                abgaben.update()
                .where(abgaben.c.prozess_id == row["prozess_id"], abgaben.c.direction == OUT)
                .values(status=RECEIVED, updated_at=now())
            )
            await record(
                s,
                SYSTEM,
                "abgabe_empfangen",
                row["case_id"],
                {"prozess_id": row["prozess_id"], "partner": partner.code},
            )

    async def _abgabe_confirmed(
        self, partner: PartnerAuthority, message: messages.ImportBestaetigung
    ) -> None:
        async with self.kernel.db.session() as s:
            row = await self._outgoing(s, partner, message.kopf.prozess_id)
            if row["status"] not in RUNNING:
                return
            mine = [r for r in message.ergebnisse if r.id == row["object_id"]]
            if not mine:
                raise AbgabeRefused("Die Importbestätigung nennt den abgegebenen Vorgang nicht.")
            at = now()
            key = (abgaben.c.prozess_id == row["prozess_id"]) & (abgaben.c.direction == OUT)
            if mine[0].erfolgreich:
                theirs = message.kopf.felder.get("Aktenzeichen", "")[:40]
                await s.execute(
                    abgaben.update()
                    .where(key)
                    .values(status=HANDED_OVER, partner_aktenzeichen=theirs, updated_at=at, done_at=at)
                )
                # the records lifecycle: no longer this authority's file, read-only, never offered
                # to the archive from here
                await s.execute(
                    vorgaenge.update()
                    .where(vorgaenge.c.case_id == row["case_id"])
                    .values(lifecycle=LIFECYCLE_HANDED_OVER)
                )
                await record(
                    s,
                    SYSTEM,
                    "vorgang_abgegeben",
                    row["case_id"],
                    {
                        "prozess_id": row["prozess_id"],
                        "partner": partner.code,
                        "partner_aktenzeichen": theirs,
                        "datum": at[:10],
                    },
                )
            else:
                error = "; ".join(mine[0].fehler) or "ohne Angabe von Gründen"
                await s.execute(
                    abgaben.update().where(key).values(status=FAILED, error=error[:2000], updated_at=at)
                )
                await record(
                    s,
                    SYSTEM,
                    "abgabe_nicht_uebernommen",
                    row["case_id"],
                    {"prozess_id": row["prozess_id"], "partner": partner.code},
                )

    # -- pages ------------------------------------------------------------------------------

    async def abgabe_view(self, member: Staff, case_id: str) -> dict[str, Any]:
        """What the case page shows of handovers: the partners to choose, the running or
        finished Abgabe, and why the case is locked."""
        async with self.kernel.db.read() as s:
            rows = (
                (
                    await s.execute(
                        sa.select(abgaben).where(abgaben.c.case_id == case_id).order_by(abgaben.c.started_at)
                    )
                )
                .mappings()
                .all()
            )
            locked = await case_lock(s, case_id)
        handovers = [{**dict(r), "status_text": STATUS_TEXT.get(r["status"], r["status"])} for r in rows]
        return {
            "abgaben": handovers,
            "abgabe_partners": list(self.partners().values()),
            "case_locked": locked,
            "can_hand_over": member.role in DECIDING_ROLES and not locked and bool(self.partners()),
        }

    async def abgaben_of(self, member: Staff) -> dict[str, list[dict[str, Any]]]:
        """The unit's outgoing handovers, and the incoming ones (those imported into the unit
        and those rejected, which nobody could assign to a unit)."""
        async with self.kernel.db.read() as s:
            outgoing = (
                (
                    await s.execute(
                        sa.select(abgaben)
                        .join(vorgaenge, vorgaenge.c.case_id == abgaben.c.case_id)
                        .where(abgaben.c.direction == OUT, vorgaenge.c.unit == member.unit)
                        .order_by(abgaben.c.started_at.desc())
                    )
                )
                .mappings()
                .all()
            )
            incoming = (
                (
                    await s.execute(
                        sa.select(abgaben)
                        .outerjoin(vorgaenge, vorgaenge.c.case_id == abgaben.c.case_id)
                        .where(abgaben.c.direction == IN)
                        .where(sa.or_(vorgaenge.c.unit == member.unit, abgaben.c.status == REJECTED))
                        .order_by(abgaben.c.started_at.desc())
                    )
                )
                .mappings()
                .all()
            )

        def shown(rows: Any) -> list[dict[str, Any]]:
            return [{**dict(r), "status_text": STATUS_TEXT.get(r["status"], r["status"])} for r in rows]

        return {"outgoing": shown(outgoing), "incoming": shown(incoming)}

    # -- the transfer loop ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transfer_loop(self) -> AsyncIterator[None]:
        """Look at the inboxes every ``abgabe.poll_seconds`` while the context is open."""
        task = asyncio.create_task(self._loop(), name="eakte-abgabe-transfer")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        for partner in self.partners().values():
            if requeued := await asyncio.to_thread(_requeue, partner.inbox):
                log.warning(
                    "%d Abgabe messages from %s were left in progress; read again", requeued, partner.code
                )
        while True:
            try:
                await self.poll_transfer()
            except Exception:
                log.exception("reading the Abgabe transfer directories failed; trying again")
            await asyncio.sleep(self.kernel.settings.abgabe.poll_seconds)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def refusal(problem: Exception) -> str:
    """The clerk's message for a refused Abgabe."""
    return (
        str(problem)
        if isinstance(problem, (AbgabeRefused, DecisionRefused))
        else "Die Abgabe ist fehlgeschlagen."
    )
