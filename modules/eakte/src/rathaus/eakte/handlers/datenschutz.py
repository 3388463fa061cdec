"""Data protection inside records.

An erasure request (Art. 17 DSGVO) against a case whose retention is still running cannot be
fulfilled at once (Art. 17 Abs. 3 lit. b, e: the record must be kept); its personal data are
restricted instead (Art. 18 DSGVO): visible as such, kept, not processed further. Deletion
happens with the disposal, after retention and the archive's decision: the Aussonderung
calls ``record_erasure`` when it destroys the case (or after the archive took it). Each
state change is in the audit chain.

The Akteneinsicht exports the file for the citizen as one PDF with real redaction
(``rathaus.eakte.redaction``): the redacted words are gone from the file, not covered.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts.common import BlobRef
from rathaus.eakte.domain import DECIDING_ROLES, Staff, party_name
from rathaus.eakte.handlers.common import Base, now, record
from rathaus.eakte.handlers.locks import DELETED, RESTRICTED
from rathaus.eakte.redaction import ExportDocument, RedactionProblem, build_export, terms_of
from rathaus.eakte.store import documents
from rathaus.eakte.store_abgabe import datenschutz

STATE_TEXT = {
    RESTRICTED: "Verarbeitung eingeschränkt (Art. 18 DSGVO)",
    DELETED: "Personenbezogene Daten gelöscht",
}
MAX_REFERENCE = 120


class DatenschutzRefused(ValueError):
    """A restriction or export that cannot be done as asked; the message is for the clerk."""


async def restricted(session: AsyncSession, case_id: str) -> bool:
    """Whether the case's personal data are restricted (an erasure request waits for the end
    of retention and the archive's decision). For the Aussonderung."""
    return await state_of(session, case_id) == RESTRICTED


async def state_of(session: AsyncSession, case_id: str) -> str:
    """ "" (normal), ``eingeschraenkt`` or ``geloescht``."""
    state = (
        await session.execute(sa.select(datenschutz.c.state).where(datenschutz.c.case_id == case_id))
    ).scalar()
    return state or ""


async def record_erasure(session: AsyncSession, case_id: str, actor: str, basis: str) -> None:
    """The Aussonderung deleted the case's personal data (destroyed, or handed to the archive
    and then deleted here): the state becomes ``geloescht``, with the basis (e.g. the 0506 or
    the archive's decision) in the audit chain. In the caller's transaction."""
    at = now()
    current = await state_of(session, case_id)
    if current == DELETED:
        return
    if current:
        await session.execute(
            datenschutz.update().where(datenschutz.c.case_id == case_id).values(state=DELETED, changed_at=at)
        )
    else:
        await session.execute(
            datenschutz.insert().values(
                case_id=case_id, state=DELETED, requested_at=at, by=actor, changed_at=at
            )
        )
    await record(
        session, actor, "datenschutz_geloescht", case_id, {"grundlage": basis, "vorher": current or "normal"}
    )


def flattened(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """The application's data as (path, value) lines for the export."""
    if isinstance(data, dict):
        return [line for key, value in data.items() for line in flattened(value, f"{prefix}{key} › ")]
    if isinstance(data, list):
        return [line for i, value in enumerate(data, 1) for line in flattened(value, f"{prefix}{i} › ")]
    return [(prefix.removesuffix(" › "), str(data))]


class DatenschutzHandlers(Base):
    async def restrict_processing(self, member: Staff, case_id: str, *, reference: str, reason: str) -> None:
        """Record an erasure request against the running retention: the case's personal
        data are restricted. Raises ``DatenschutzRefused`` or ``PermissionError``."""
        if member.role not in DECIDING_ROLES:
            raise DatenschutzRefused("Ein Löschersuchen erfassen Sachbearbeitung oder Leitung.")
        reference = " ".join(reference.split())
        if not reference:
            raise DatenschutzRefused("Bitte geben Sie das Geschäftszeichen oder Datum des Löschersuchens an.")
        if len(reference) > MAX_REFERENCE:
            raise DatenschutzRefused(f"Das Geschäftszeichen darf höchstens {MAX_REFERENCE} Zeichen haben.")
        async with self.kernel.db.session() as s:
            row = await self.case_row(s, case_id)
            if row is None or row["unit"] != member.unit:
                raise PermissionError(case_id)
            current = await state_of(s, case_id)
            if current:
                raise DatenschutzRefused(f"Der Vorgang ist bereits im Stand „{STATE_TEXT[current]}“.")
            at = now()
            await s.execute(
                datenschutz.insert().values(
                    case_id=case_id,
                    state=RESTRICTED,
                    reference=reference,
                    reason=reason.strip()[:2000],
                    requested_at=at,
                    by=member.username,
                    changed_at=at,
                )
            )
            await record(
                s,
                member.username,
                "datenschutz_eingeschraenkt",
                case_id,
                {
                    "ersuchen": reference,
                    "grund": "Löschersuchen (Art. 17 DSGVO) während der Aufbewahrungsfrist",
                },
            )

    async def datenschutz_view(self, case_id: str) -> dict[str, Any]:
        async with self.kernel.db.read() as s:
            row = (
                (await s.execute(sa.select(datenschutz).where(datenschutz.c.case_id == case_id)))
                .mappings()
                .first()
            )
        return {
            "datenschutz": dict(row) if row else None,
            "datenschutz_text": STATE_TEXT.get(row["state"], row["state"]) if row else "",
        }

    async def akteneinsicht(self, member: Staff, case_id: str, redactions: str) -> tuple[str, bytes]:
        """The file for the citizen as one PDF (file name, bytes), the chosen words and
        passages removed; logged in the audit chain (how many, not which)."""
        if member.role not in DECIDING_ROLES:
            raise DatenschutzRefused("Akteneinsicht gewähren Sachbearbeitung oder Leitung.")
        terms = terms_of(redactions)
        async with self.kernel.db.read() as s:
            row = await self.case_row(s, case_id)
            if row is None or row["unit"] != member.unit:
                raise PermissionError(case_id)
            state = await state_of(s, case_id)
            docs = (
                (
                    await s.execute(
                        sa.select(documents)
                        .where(documents.c.case_id == case_id)
                        .order_by(documents.c.received_at, documents.c.document_id, documents.c.version)
                    )
                )
                .mappings()
                .all()
            )
        if state == DELETED:
            raise DatenschutzRefused("Die personenbezogenen Daten dieses Vorgangs sind gelöscht.")
        latest: dict[str, dict[str, Any]] = {}
        for found in docs:  # the current version of each document
            latest[found["document_id"]] = dict(found)
        exported = []
        for doc in latest.values():
            ref = msgspec.convert(doc["blob"], BlobRef)
            exported.append(
                ExportDocument(
                    title=doc["title"],
                    received=doc["received_at"],
                    media_type=ref.media_type,
                    data=await self.kernel.blobs.get(ref),
                    text=doc["text"],
                )
            )
        facts = [
            ("Aktenzeichen", row["aktenzeichen"]),
            ("Akte", row["akte_titel"]),
            ("Antragsteller", party_name(row["applicant"] or {})),
            ("Eingegangen", row["submitted_at"][:10]),
            *flattened(row["data"] or {}),
        ]
        created = datetime.now(UTC).strftime("%d.%m.%Y")
        try:
            pdf, count = await asyncio.to_thread(
                build_export,
                heading=f"Akteneinsicht {row['aktenzeichen']}",
                facts=facts,
                docs=exported,
                terms=terms,
                created=created,
            )
        except RedactionProblem as problem:
            raise DatenschutzRefused(str(problem)) from None
        async with self.kernel.db.session() as s:
            await record(
                s,
                member.username,
                "akteneinsicht_erstellt",
                case_id,
                {"dokumente": len(exported), "schwaerzungen": count, "begriffe": len(terms)},
            )
        safe = row["aktenzeichen"].replace("/", "-")
        return f"Akteneinsicht-{safe}.pdf", pdf
