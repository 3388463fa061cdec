"""Tamper test: ``rathaus audit verify`` checks the audit trail's hash chain and every
stored document's bytes, and names the first broken link with a non-zero exit code."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa

from modules.eakte.tests.integration.records_helpers import case_with_documents
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.store import audit, documents
from rathaus.platform.cli import main
from rathaus.platform.kernel import Settings


def cli_verify(settings: Settings) -> tuple[int, str]:
    """``rathaus audit verify`` as an operator runs it: the data dir, and the PostgreSQL
    server where the modules' databases are there (RATHAUS_POSTGRES)."""
    out, err = io.StringIO(), io.StringIO()
    env = {"RATHAUS_POSTGRES": settings.postgres} if settings.postgres else {}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), mock.patch.dict(os.environ, env):
        code = main(["audit", "verify", "--data-dir", str(settings.data_dir)])
    return code, out.getvalue() + err.getvalue()


async def test_a_changed_document_or_audit_row_is_detected_and_named(office: Any) -> None:
    case_id = await case_with_documents(
        office,
        {
            "plan-1": ("Lageplan", b"%PDF-1.7 Lageplan Zenettistrasse", "Lageplan"),
            "foto-1": ("Foto", b"%PDF-1.7 Foto des Gehwegs", "Foto"),
        },
    )
    eakte = EAkte(office.eakte)
    async with office.eakte.db.read() as s:
        entries = (await s.execute(sa.select(sa.func.count()).select_from(audit))).scalar_one()
        docs = (
            (
                await s.execute(
                    sa.select(documents).where(documents.c.case_id == case_id).order_by(documents.c.pk)
                )
            )
            .mappings()
            .all()
        )
    found = await eakte.verify_records()
    assert found.ok, found.report()
    assert found.report() == f"Prüfkette in Ordnung: {entries} Einträge, {len(docs)} Dokumente"
    code, text = await asyncio.to_thread(cli_verify, office.settings)
    assert code == 0, text
    assert f"Prüfkette in Ordnung: {entries} Einträge, 2 Dokumente" in text

    # 1. a document's bytes changed in the blob store, behind the E-Akte's back
    foto = next(d for d in docs if d["document_id"] == "foto-1")
    blob_file = Path(office.settings.data_dir / "blobs" / foto["blob"]["key"])
    original = await asyncio.to_thread(blob_file.read_bytes)
    await asyncio.to_thread(blob_file.write_bytes, original.replace(b"Gehwegs", b"Gehwegz"))
    found = await eakte.verify_records()
    assert not found.ok and not found.audit_problem
    assert len(found.document_problems) == 1
    assert found.document_problems[0].startswith(f"foto-1 Version 1 (Vorgang {case_id}): der Inhalt")
    code, text = await asyncio.to_thread(cli_verify, office.settings)
    assert code == 1 and "Prüfkette verletzt" in text and "foto-1 Version 1" in text, text
    # a missing file is named as such
    await asyncio.to_thread(blob_file.unlink)
    assert "die Datei fehlt" in (await eakte.verify_records()).document_problems[0]
    await asyncio.to_thread(blob_file.write_bytes, original)
    assert (await eakte.verify_records()).ok

    # 2. an audit row's details changed in the database (its append-only trigger dropped first)
    async with office.eakte.db.read() as s:
        target = (
            (
                await s.execute(
                    sa.select(audit).where(audit.c.case_id == case_id, audit.c.action == "dokument_abgelegt")
                )
            )
            .mappings()
            .first()
        )
    assert target is not None
    forged = {**target["details"], "sha256": "0" * 64}
    # past the append-only trigger, as someone with the database file (or its owner) could
    async with office.eakte.db.session() as s:
        if office.eakte.db.is_sqlite:
            await s.execute(sa.text("DROP TRIGGER audit_no_update"))
        else:
            await s.execute(sa.text("ALTER TABLE audit DISABLE TRIGGER USER"))
        await s.execute(audit.update().where(audit.c.seq == target["seq"]).values(details=forged))
    found = await eakte.verify_records()
    assert not found.ok and not found.document_problems
    assert found.audit_problem.startswith(f"Eintrag {target['seq']} (dokument_abgelegt, ")
    assert "nachträglich verändert" in found.audit_problem
    code, text = await asyncio.to_thread(cli_verify, office.settings)
    assert code == 1 and f"Eintrag {target['seq']} (dokument_abgelegt" in text, text
