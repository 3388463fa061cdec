"""Aussonderung against the embedded Test-Archiv over the transfer directory: the four-step
exchange (0501 -> 0504/0502 -> 0505/0503 -> 0507/0506) for files that need an appraisal
and the two-step one (0503 -> 0507/0506) for files the plan marks archivwürdig, in one
run started by the contract event the schedule emits. Every message is validated against
the xdomea 3.0.0 XSDs; exactly the appraised (A) files reach the archive, the declined (V)
ones are destroyed with a deletion log, an unappraised one stays."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from modules.eakte.tests.integration.aussonderung_helpers import (
    case,
    closed_case,
    packages,
    set_plan,
    validate_all,
)
from rathaus.contracts.platform.v1 import AussonderungDue
from rathaus.eakte.domain import verify_chain
from rathaus.eakte.store import audit
from rathaus.eakte.store_aussonderung import (
    aussonderung_nachrichten,
    aussonderung_objekte,
    aussonderungen,
    loeschprotokoll,
)
from rathaus.platform.kernel import Settings
from rathaus.platform.kernel.settings import ArchiveSettings
from rathaus.platform.runtime.archivpeer import TestArchive, peer_config
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually


@pytest.fixture
def office_settings(settings: Settings, procedure_dir: Path) -> Settings:
    chosen = settings.model_copy(update={"procedure_dirs": [procedure_dir]})
    chosen.archive = ArchiveSettings(poll_seconds=0.1)
    return chosen


@pytest.fixture
def archive(office_settings: Settings) -> Iterator[TestArchive]:
    peer = TestArchive(office_settings.data_dir, free_port(), peer_config(office_settings), poll_seconds=0.1)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
        peer.peer.close()


async def rows(office: Any, table: Any, *where: Any) -> list[dict[str, Any]]:
    async with office.eakte.transaction() as uow:
        result = await uow.session.execute(sa.select(table).where(*where))
        return [dict(r) for r in result.mappings().all()]


async def due(office: Any) -> None:
    today = datetime.now(UTC).date().isoformat()
    await office.emit(office.workflow, AussonderungDue(day=today, trigger="test"), f"aussonderung-{today}")


async def test_four_step_and_two_step_deliver_exactly_the_appraised_files(
    office: Any, archive: TestArchive
) -> None:
    archive.peer.set_controls({"b": "offen"})  # B is left unappraised by the archive
    await set_plan(office.eakte, "102.21", "A")  # test-automatisch: archivwürdig by the plan
    a = await closed_case(office, "test-mitzeichnung", "A")
    v = await closed_case(office, "test-mitzeichnung", "V")
    b = await closed_case(office, "test-mitzeichnung", "B")
    catalogue = await closed_case(office, "test-automatisch", None)
    later = await closed_case(office, "test-mitzeichnung", "V", ende="2999-12-31")
    still_open = await closed_case(office, "test-mitzeichnung", "V", lifecycle="offen")

    await due(office)

    async def both_done() -> bool:
        runs = await rows(office, aussonderungen)
        return len(runs) == 2 and all(r["state"] == "abgeschlossen" for r in runs)

    await eventually(both_done, timeout=60)
    runs = {r["verfahren"]: r for r in await rows(office, aussonderungen)}
    assert set(runs) == {"vierstufig", "zweistufig"}
    assert runs["zweistufig"]["angeboten_at"] is None and runs["zweistufig"]["bestaetigt_at"]

    # exactly the appraised objects reached the archive, with their documents
    state = archive.peer.state()
    delivered = {o["aktenzeichen"] for o in state["uebernommen"]}
    assert delivered == {a["aktenzeichen"], catalogue["aktenzeichen"]}
    assert all(len(o["dokumente"]) == 1 and o["dokumente"][0]["size"] > 0 for o in state["uebernommen"])
    offered = {o["aktenzeichen"] for o in state["angeboten"]}
    assert offered == {a["aktenzeichen"], v["aktenzeichen"], b["aktenzeichen"]}  # 0501: not the two-step one

    # no copy of what was handed over stays behind in the E-Akte's staging folder
    staged = office.settings.data_dir / "aussonderung" / "ausgang"
    assert not [p for p in staged.iterdir() if p.is_file()]
    # every message, both ways, valid against the XSDs: 0501, 0502, 0503 (x2), 0504, 0505, 0506 (x2), 0507 (x2)
    counts = validate_all(office.settings.data_dir / "archiv")
    assert counts == {"0501": 1, "0502": 1, "0503": 2, "0504": 1, "0505": 1, "0506": 2, "0507": 2}, counts

    # archived: out of the E-Akte, with the archive's id
    for taken in (a, catalogue):
        row = await case(office, taken["case_id"])
        assert row["lifecycle"] == "ausgesondert" and row["documents"] == [] and row["applicant"] == {}
        (obj,) = await rows(office, aussonderung_objekte, aussonderung_objekte.c.case_id == taken["case_id"])
        assert obj["state"] == "ausgesondert" and obj["archivkennung"].startswith("TEST-ARCHIV stadtarchiv/")
    # declined: destroyed, blobs gone, a tombstone and the deletion log
    gone = await case(office, v["case_id"])
    assert gone["lifecycle"] == "vernichtet" and gone["documents"] == [] and gone["applicant"] == {}
    assert gone["akte_titel"] == "(vernichtet)" and gone["aktenzeichen"] == v["aktenzeichen"]
    with pytest.raises(FileNotFoundError):
        await office.eakte.blobs.get(v["blob"])
    (entry,) = await rows(office, loeschprotokoll, loeschprotokoll.c.case_id == v["case_id"])
    assert entry["ergebnis"] == "vernichtet" and entry["entscheidung"].startswith(
        "0502 Bewertungsverzeichnis: V"
    )
    assert entry["prozess_id"] == runs["vierstufig"]["prozess_id"]
    assert [d["sha256"] for d in entry["dokumente"]] == [v["blob"].sha256]
    assert "Mustermann" not in str(entry)  # no personal content in the log
    # unappraised: kept untouched, shown as needing attention
    kept = await case(office, b["case_id"])
    assert kept["lifecycle"] == "zda" and len(kept["documents"]) == 1
    assert await office.eakte.blobs.get(b["blob"])
    (obj,) = await rows(office, aussonderung_objekte, aussonderung_objekte.c.case_id == b["case_id"])
    assert obj["state"] == "unbewertet" and obj["bewertung"] is None
    # not due, or not closed: never part of a run
    for untouched in (later, still_open):
        row = await case(office, untouched["case_id"])
        assert len(row["documents"]) == 1
        assert not await rows(
            office, aussonderung_objekte, aussonderung_objekte.c.case_id == untouched["case_id"]
        )
    # the deletion log is kept: neither changed nor deleted; the audit chain holds
    with pytest.raises(Exception, match="append-only"):
        async with office.eakte.transaction() as uow:
            await uow.session.execute(loeschprotokoll.delete())
    async with office.eakte.transaction() as uow:
        chain = [
            dict(r) for r in (await uow.session.execute(sa.select(audit).order_by(audit.c.seq))).mappings()
        ]
    assert verify_chain(chain)
    assert {"vorgang_vernichtet", "vorgang_ausgesondert"} <= {e["action"] for e in chain}


async def test_an_invalid_answer_is_refused_and_nothing_is_destroyed_before_the_confirmation(
    office: Any, archive: TestArchive
) -> None:
    archive.peer.set_controls({"halten": True})  # the archive holds its 0506 back
    a = await closed_case(office, "test-mitzeichnung", "A")
    v = await closed_case(office, "test-mitzeichnung", "V")
    await due(office)

    async def handed_over() -> bool:
        return any(o["aktenzeichen"] == a["aktenzeichen"] for o in archive.peer.state()["uebernommen"])

    await eventually(handed_over, timeout=60)
    (run,) = await rows(office, aussonderungen)
    assert run["state"] == "uebergeben"
    # the archive said V, but the exchange is open: nothing destroyed yet
    declined = await case(office, v["case_id"])
    assert declined["lifecycle"] == "zda" and len(declined["documents"]) == 1
    assert not await rows(office, loeschprotokoll)

    # a forged, invalid 0506 (no Erfolgreich) in the inbox: refused, moved aside, nothing changed
    inbox = office.settings.data_dir / "archiv" / "stadtarchiv" / "vom_archiv"
    pid = run["prozess_id"]
    forged = inbox / f"{pid}_Aussonderung.AussonderungImportBestaetigen.0506.xdomea"
    staging = inbox.parent / "forged.tmp"
    with zipfile.ZipFile(staging, "w") as z:
        z.writestr(
            forged.name.removesuffix(".xdomea") + ".xml",
            '<?xml version="1.0"?><xdomea:Aussonderung.AussonderungImportBestaetigen.0506 '
            'xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0"><xdomea:Kopf><xdomea:ProzessID>'
            f"{pid}</xdomea:ProzessID></xdomea:Kopf></xdomea:Aussonderung.AussonderungImportBestaetigen.0506>",
        )
    staging.replace(forged)  # whole, as a transfer partner writes

    async def refused() -> bool:  # recorded, then moved aside (a move lost in a crash redoes both)
        recorded = await rows(
            office, aussonderung_nachrichten, aussonderung_nachrichten.c.state == "abgelehnt"
        )
        return bool(recorded) and (inbox / "abgelehnt" / forged.name).exists()

    await eventually(refused, timeout=30)
    (bad,) = await rows(office, aussonderung_nachrichten, aussonderung_nachrichten.c.state == "abgelehnt")
    assert "nicht gültig nach xdomea 3.0.0" in bad["fehler"]
    assert (inbox / "abgelehnt" / forged.name).exists() and not forged.exists()
    assert (await case(office, v["case_id"]))["lifecycle"] == "zda"
    assert (await rows(office, aussonderungen))[0]["state"] == "uebergeben"

    # the archive releases its real 0506: now the run closes and V is destroyed
    archive.peer.set_controls({"halten": False})

    async def closed() -> bool:
        return (await rows(office, aussonderungen))[0]["state"] == "abgeschlossen"

    await eventually(closed, timeout=60)
    assert (await case(office, v["case_id"]))["lifecycle"] == "vernichtet"
    assert (await case(office, a["case_id"]))["lifecycle"] == "ausgesondert"
    assert len(packages(inbox / "verarbeitet")) >= 3  # 0504, 0502, 0507, 0506
