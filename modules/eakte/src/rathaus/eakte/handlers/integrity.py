"""The E-Akte's proof of integrity (``rathaus audit verify``): the audit trail's hash chain
and every stored document version's bytes against the SHA-256 recorded when it was filed.
The first broken link is named: which audit entry or which document version, and what is
wrong with it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import obstore
import sqlalchemy as sa

from rathaus.eakte.domain import GENESIS, audit_hash
from rathaus.eakte.handlers.common import Base
from rathaus.eakte.store import audit, documents

BATCH = 2000


@dataclass
class Verification:
    """What ``verify_records`` found: counts, and the first broken link of each kind."""

    entries: int = 0
    documents: int = 0
    audit_problem: str = ""
    document_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.audit_problem and not self.document_problems

    def report(self) -> str:
        if self.ok:
            return f"Prüfkette in Ordnung: {self.entries} Einträge, {self.documents} Dokumente"
        lines = ["Prüfkette verletzt:"]
        if self.audit_problem:
            lines.append(f"  Protokoll: {self.audit_problem}")
        lines += [f"  Dokument: {problem}" for problem in self.document_problems]
        lines.append(f"(geprüft: {self.entries} Einträge, {self.documents} Dokumente)")
        return "\n".join(lines)


def chain_break(entry: dict[str, Any], prev: str) -> str:
    """Why an audit entry does not continue the chain after ``prev``, or "" when it does."""
    body = {k: v for k, v in entry.items() if k not in ("seq", "prev_hash", "hash")}
    if entry["prev_hash"] != prev:
        return (
            f"Eintrag {entry['seq']} ({entry['action']}): der Verweis auf den vorigen Eintrag "
            "stimmt nicht (ein Eintrag davor wurde entfernt oder eingefügt)"
        )
    if entry["hash"] != audit_hash(prev, body):
        return (
            f"Eintrag {entry['seq']} ({entry['action']}, {entry['at']}): der Inhalt passt nicht "
            "zu seinem Hash (der Eintrag wurde nachträglich verändert)"
        )
    return ""


class IntegrityChecks(Base):
    async def verify_records(self, *, max_document_problems: int = 20) -> Verification:
        """Walk the audit chain in order and read every document version's bytes."""
        found = Verification()
        prev, last_seq = GENESIS, 0
        while not found.audit_problem:
            async with self.kernel.db.read() as s:
                rows = (
                    (
                        await s.execute(
                            sa.select(audit).where(audit.c.seq > last_seq).order_by(audit.c.seq).limit(BATCH)
                        )
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                break
            for row in rows:
                entry = dict(row)
                found.entries += 1
                problem = chain_break(entry, prev)
                if problem:
                    found.audit_problem = problem
                    break
                prev, last_seq = entry["hash"], entry["seq"]
        last_pk = 0
        while True:
            async with self.kernel.db.read() as s:
                docs = (
                    (
                        await s.execute(
                            sa.select(
                                documents.c.pk,
                                documents.c.document_id,
                                documents.c.version,
                                documents.c.case_id,
                                documents.c.sha256,
                                documents.c.blob,
                            )
                            .where(documents.c.pk > last_pk)
                            .order_by(documents.c.pk)
                            .limit(BATCH)
                        )
                    )
                    .mappings()
                    .all()
                )
            if not docs:
                break
            for doc in docs:
                last_pk = doc["pk"]
                found.documents += 1
                problem = await self.document_break(dict(doc))
                if problem and len(found.document_problems) < max_document_problems:
                    found.document_problems.append(problem)
        return found

    async def document_break(self, doc: dict[str, Any]) -> str:
        """Why a stored document version's bytes are not what was filed, or ""."""
        name = f"{doc['document_id']} Version {doc['version']} (Vorgang {doc['case_id']})"
        blob = doc["blob"] or {}
        if blob.get("sha256") != doc["sha256"]:
            return f"{name}: der Verweis in den Speicher nennt einen anderen Hash als die Akte"
        try:
            result = await obstore.get_async(self.kernel.blobs.store, blob["key"])
            digest = hashlib.sha256()
            async for chunk in result.stream():
                digest.update(chunk)
        except FileNotFoundError:
            return f"{name}: die Datei fehlt im Speicher ({blob.get('key')})"
        if digest.hexdigest() != doc["sha256"]:
            return (
                f"{name}: der Inhalt im Speicher ({blob.get('key')}) hat den Hash "
                f"{digest.hexdigest()[:16]}…, abgelegt wurde {doc['sha256'][:16]}…"
            )
        return ""
