"""Abgabe test: two Rathaus E-Akten (each with its own data directory, database, blob store
and nats-server) hand a Vorgang from one to the other through transfer directories over
xdomea 3.0.0 (0401 → 0403, 0402). The receiving side files it in the unit of its Aktenplan
entry, the documents with identical SHA-256; the sending side shows "abgegeben" only after
the 0402. Every message is validated against the official XSDs; malformed or invalid
messages are rejected with a logged reason and moved aside, nothing half-imported."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import sqlalchemy as sa
import xmlschema

from modules.eakte.tests.conftest import Clerk
from modules.eakte.tests.integration.records_helpers import case_with_documents
from rathaus.eakte import PREFIX, TITLE
from rathaus.eakte.bootstrap import bootstrap
from rathaus.eakte.domain import DecisionRefused, Staff
from rathaus.eakte.handlers import EAkte
from rathaus.eakte.handlers.abgabe import AbgabeRefused
from rathaus.eakte.handlers.locks import case_lock
from rathaus.eakte.store import audit, documents, vorgaenge
from rathaus.eakte.store_abgabe import abgaben
from rathaus.eakte.xdomea import abgabe as messages
from rathaus.eakte.xdomea.common import Behoerde, Dokument, Kopf, Version, Vorgang, member_name, schema_path
from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.settings import AbgabeSettings, NatsSettings, PartnerAuthority
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.runtime.processes import free_port, nats_server
from rathaus.platform.testing import eventually

MUNICH, LANDKREIS = "09162000", "09184000"


@pytest.fixture
def transfer(tmp_path: Path) -> dict[str, Path]:
    return {
        "to_landkreis": tmp_path / "transfer" / "muenchen_an_landkreis",
        "to_city": tmp_path / "transfer" / "landkreis_an_muenchen",
    }


@pytest.fixture
def office_settings(settings: Settings, procedure_dir: Path, transfer: dict[str, Path]) -> Settings:
    """The sending E-Akte (the city), with the Landkreis as partner authority."""
    return settings.model_copy(
        update={
            "procedure_dirs": [procedure_dir],
            "abgabe": AbgabeSettings(
                authority_code=MUNICH,
                authority_name="Landeshauptstadt München",
                partners=[
                    PartnerAuthority(
                        code=LANDKREIS,
                        name="Landratsamt München",
                        outbox=transfer["to_landkreis"],
                        inbox=transfer["to_city"],
                    )
                ],
                poll_seconds=0.1,
            ),
        }
    )


@dataclass
class Other:
    """The receiving Rathaus: its own kernel, data directory and nats-server."""

    settings: Settings
    kernel: Kernel
    app: ModuleApp


@pytest.fixture
async def landkreis(tmp_path: Path, procedure_dir: Path, transfer: dict[str, Path]) -> AsyncIterator[Other]:
    port = free_port()
    server = nats_server(tmp_path / "nats-landkreis", port)
    server.start()
    settings = Settings(
        data_dir=tmp_path / "landkreis",
        nats=NatsSettings(url=f"nats://127.0.0.1:{port}", port=port, max_deliver=3, ack_wait_seconds=5),
        seed_demo=False,
        secret_key="test-secret-key-landkreis-0000000000",
        procedure_dirs=[procedure_dir],
        abgabe=AbgabeSettings(
            authority_code=LANDKREIS,
            authority_name="Landratsamt München",
            partners=[
                PartnerAuthority(
                    code=MUNICH,
                    name="Landeshauptstadt München",
                    outbox=transfer["to_city"],
                    inbox=transfer["to_landkreis"],
                    unit="KVR-III/11",  # only when the Aktenplan names no unit
                )
            ],
            poll_seconds=0.1,
        ),
    )
    kernel = Kernel("eakte", settings)
    app = bootstrap(kernel)
    await kernel.start(app, seed=True)
    try:
        yield Other(settings, kernel, app)
    finally:
        await kernel.stop(app)
        server.stop()


def validated(folder: Path) -> dict[str, bytes]:
    """Every message container in a folder, its XML validated against the official XSD
    (loaded here on its own, not through the code under test)."""
    schema = xmlschema.XMLSchema(str(schema_path()))
    found = {}
    for path in sorted(folder.glob("*.xdomea")):
        with zipfile.ZipFile(path) as zipped:
            xmls = [n for n in zipped.namelist() if n.endswith(".xml")]
            assert len(xmls) == 1, zipped.namelist()
            xml = zipped.read(xmls[0])
            schema.validate(io.BytesIO(xml))
            found[path.name] = xml
    return found


async def rows(kernel: Kernel, table: Any, *where: Any) -> list[dict[str, Any]]:
    """Rows in the order of their primary key (the audit trail's ``seq``): PostgreSQL, unlike
    SQLite, returns an unordered select in no particular order."""
    query = sa.select(table).where(*where).order_by(*table.primary_key.columns)
    async with kernel.db.read() as s:
        return [dict(r) for r in (await s.execute(query)).mappings().all()]


async def test_a_vorgang_is_handed_to_another_rathaus_and_filed_there(
    office: Any,
    landkreis: Other,
    transfer: dict[str, Path],
    clerk_of: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="rathaus.eakte.abgabe")
    announced: list[dict[str, Any]] = []  # what the receiving E-Akte emits on its own bus
    bus = await nats.connect(landkreis.settings.nats.url)

    async def collect(msg: Any) -> None:
        announced.append(json.loads(msg.data))

    await bus.subscribe("rathaus.eakte.>", cb=collect)
    case_id = await case_with_documents(
        office,
        {
            "plan-1": ("Lageplan", b"%PDF-1.7 Lageplan Zenettistrasse 12", "Lageplan"),
            "foto-1": ("Foto des Gehwegs", b"\x89PNG Foto", "Foto"),
        },
    )
    [sent_case] = await rows(office.eakte, vorgaenge, vorgaenge.c.case_id == case_id)
    city_docs = await rows(office.eakte, documents, documents.c.case_id == case_id)
    clerk = await clerk_of("BAU-T/31")
    page_path = f"{PREFIX}/vorgaenge/{case_id}"

    # the choice needs a confirmation; then the 0401 goes out
    page = await clerk.post(f"{page_path}/abgabe", {"partner": LANDKREIS}, page=page_path)
    assert "Bitte bestätigen Sie" in page.text
    page = await clerk.post(f"{page_path}/abgabe", {"partner": LANDKREIS, "bestaetigt": "ja"}, page=page_path)
    assert page.status_code == 200 and "Landratsamt München" in page.text

    async def handed_over() -> bool:
        found = await rows(office.eakte, abgaben, abgaben.c.case_id == case_id)
        return bool(found) and found[0]["status"] == "abgegeben"

    await eventually(handed_over, timeout=30)
    [handover] = await rows(office.eakte, abgaben, abgaben.c.case_id == case_id)

    # the receiving side filed it: the Aktenplan entry's unit, the documents unchanged
    [received] = await rows(landkreis.kernel, vorgaenge)
    assert received["unit"] == "BAU-T/31"  # from its Aktenplan (661.20), not the partner's default
    assert received["aktenzeichen"] == handover["partner_aktenzeichen"]
    assert received["aktenzeichen"].startswith("661.20-")
    assert received["akte_titel"] == sent_case["akte_titel"] and received["data"] == sent_case["data"]
    assert received["applicant"] == sent_case["applicant"]
    landkreis_docs = await rows(landkreis.kernel, documents, documents.c.case_id == received["case_id"])
    assert sorted((d["document_id"], d["version"], d["sha256"]) for d in landkreis_docs) == sorted(
        (d["document_id"], d["version"], d["sha256"]) for d in city_docs
    )
    other = EAkte(landkreis.kernel)
    for doc in landkreis_docs:  # the bytes themselves, from the receiver's own blob store
        assert await other.document_break(doc) == ""
    assert (await other.verify_records()).ok
    assert (await EAkte(office.eakte).verify_records()).ok
    [incoming] = await rows(landkreis.kernel, abgaben)
    assert incoming["status"] == "importiert" and incoming["partner"] == MUNICH

    async def announced_there() -> bool:
        kinds = [e["type"] for e in announced if e["subject"] == received["case_id"]]
        return (
            kinds.count("de.rathaus.eakte.document.filed.v1") == 2
            and "de.rathaus.eakte.case.opened.v1" in kinds
        )

    await eventually(announced_there, timeout=30)
    await bus.close()

    # every message that went either way, valid against the XSDs, named {ProzessID}_{Typ}.xdomea
    prozess = handover["prozess_id"]
    to_landkreis = validated(transfer["to_landkreis"] / "verarbeitet")
    to_city = validated(transfer["to_city"] / "verarbeitet")
    assert list(to_landkreis) == [f"{prozess}_Abgabe.Abgabe.0401.xdomea"]
    assert sorted(to_city) == [
        f"{prozess}_Abgabe.EmpfangBestaetigen.0403.xdomea",
        f"{prozess}_Abgabe.ImportBestaetigen.0402.xdomea",
    ]

    # the sender: read-only, marked abgegeben, every step in the audit chain
    trail = [a["action"] for a in await rows(office.eakte, audit, audit.c.case_id == case_id)]
    steps = [a for a in trail if a in ("abgabe_gesendet", "abgabe_empfangen", "vorgang_abgegeben")]
    assert steps == ["abgabe_gesendet", "abgabe_empfangen", "vorgang_abgegeben"]
    page = (await clerk.http.get(page_path)).text
    assert "Abgegeben – nur lesbar" in page and "Vorgang abgeben</span>" not in page
    assert f"dort Aktenzeichen {received['aktenzeichen']}" in page
    member = Staff("x", "sb", "SB", "sachbearbeitung", "BAU-T/31")
    with pytest.raises(DecisionRefused, match=r"(?i)abgegeben"):
        await EAkte(office.eakte).decide(member, case_id, "granted", "Die Voraussetzungen liegen vor.")
    listing = (await clerk.http.get(f"{PREFIX}/abgaben")).text
    assert sent_case["aktenzeichen"] in listing and "Abgegeben" in listing

    # the receiver's staff see it in their incoming list
    web = create_module_app(
        landkreis.kernel,
        prefix=PREFIX,
        title=TITLE,
        routes=landkreis.app.routes,
        templates=landkreis.app.templates,
    )
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base, follow_redirects=True) as client:
        user, password = login_of(landkreis.settings, "BAU-T/31")
        assert "Vorgänge der Einheit" in (await Clerk(client).login(user, password)).text
        listing = (await client.get(f"{PREFIX}/abgaben")).text
        assert received["aktenzeichen"] in listing and "Übernommen" in listing
        assert sent_case["aktenzeichen"] in listing  # theirs


def login_of(settings: Settings, unit: str) -> tuple[str, str]:
    for line in (settings.data_dir / "demo-zugaenge.txt").read_text().splitlines():
        role, user, password, u = line.split("\t")
        if u == unit and role == "sachbearbeitung":
            return user, password
    raise AssertionError(unit)


def forged_0401(docs_ok: bool) -> tuple[str, bytes]:
    """A 0401 from the city as another system might send it; with a document whose bytes
    do not match its checksum when ``docs_ok`` is false."""
    doc_id = str(uuid.uuid4())
    data = b"%PDF-1.7 Bescheid"
    version = Version("1", member_name(doc_id, "1", "bescheid.pdf"), "bescheid.pdf", data=data)
    checksum = "0" * 64 if not docs_ok else __import__("hashlib").sha256(data).hexdigest()
    vorgang = Vorgang(
        id=str(uuid.uuid4()),
        betreff="Fremder Vorgang",
        kennzeichen="X-1",
        aktenplan="661.20",
        dokumente=[
            Dokument(id=doc_id, betreff="Bescheid", versionen=[version], felder={"sha256-v1": checksum})
        ],
    )
    head = Kopf(
        prozess_id=str(uuid.uuid4()),
        nachrichtentyp="0401",
        absender=Behoerde(MUNICH, "Landeshauptstadt München"),
        empfaenger=Behoerde(LANDKREIS, "Landratsamt München"),
        erstellt=datetime.now(UTC),
    )
    return messages.build_abgabe(head, [vorgang])


async def test_malformed_or_invalid_messages_are_rejected_and_moved_aside(
    landkreis: Other, transfer: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    inbox = transfer["to_landkreis"]
    inbox.mkdir(parents=True, exist_ok=True)
    not_zip = f"{uuid.uuid4()}_Abgabe.Abgabe.0401.xdomea"
    (inbox / not_zip).write_bytes(b"this is no zip")
    # a zip whose XML is not valid xdomea (no Kopf)
    invalid = f"{uuid.uuid4()}_Abgabe.Abgabe.0401.xdomea"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr(
            "x.xml",
            '<?xml version="1.0"?><xdomea:Abgabe.Abgabe.0401 xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0"/>',
        )
    (inbox / invalid).write_bytes(buffer.getvalue())
    # valid xdomea, but a document's bytes do not match: answered 0403 + 0402 (not imported)
    name, data = await asyncio.to_thread(forged_0401, False)
    (inbox / name).write_bytes(data)

    bad = inbox / "fehlerhaft"

    async def moved_aside() -> bool:
        return all(
            (bad / n).exists() and (bad / f"{n}.fehler.txt").exists() for n in (not_zip, invalid, name)
        )

    await eventually(moved_aside, timeout=30)
    assert not list(inbox.glob("*.xdomea"))  # nothing left waiting, nothing lost
    assert "kein zip-Container" in (bad / f"{not_zip}.fehler.txt").read_text()
    assert "nicht gültig nach xdomea 3.0.0" in (bad / f"{invalid}.fehler.txt").read_text()
    assert "Prüfsumme" in (bad / f"{name}.fehler.txt").read_text()
    assert (
        sum("rejected and moved to" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
        == 3
    )
    # nothing half-imported: no Vorgang, no document
    assert await rows(landkreis.kernel, vorgaenge) == []
    assert await rows(landkreis.kernel, documents) == []
    rejected = await rows(landkreis.kernel, abgaben)
    assert {r["status"] for r in rejected} == {"abgewiesen"} and len(rejected) == 3
    # the sender of the valid one was told: receipt, then import refused, both valid
    answers = validated(transfer["to_city"])
    prozess = name.split("_", 1)[0]
    assert sorted(answers) == [
        f"{prozess}_Abgabe.EmpfangBestaetigen.0403.xdomea",
        f"{prozess}_Abgabe.ImportBestaetigen.0402.xdomea",
    ]
    assert (
        b"<xdomea:Erfolgreich>false</xdomea:Erfolgreich>"
        in answers[f"{prozess}_Abgabe.ImportBestaetigen.0402.xdomea"]
    )

    # a correct 0401 afterwards is imported normally
    name, data = await asyncio.to_thread(forged_0401, True)
    (inbox / name).write_bytes(data)

    async def imported() -> bool:
        return len(await rows(landkreis.kernel, vorgaenge)) == 1

    await eventually(imported, timeout=30)
    [case] = await rows(landkreis.kernel, vorgaenge)
    assert case["unit"] == "BAU-T/31"
    assert (await EAkte(landkreis.kernel).verify_records()).ok


async def test_the_same_abgabe_over_http_endpoints(
    office: Any, landkreis: Other, served: str, transfer: dict[str, Path], tmp_path: Path
) -> None:
    """Each side POSTs its containers to the other's endpoint instead of a shared directory;
    what arrives is read like a file in the inbox."""
    case_id = await case_with_documents(office, {"plan-1": ("Lageplan", b"%PDF-1.7 Plan", "Lageplan")})
    web = create_module_app(
        landkreis.kernel,
        prefix=PREFIX,
        title=TITLE,
        routes=landkreis.app.routes,
        templates=landkreis.app.templates,
    )
    unused = tmp_path / "kein-verzeichnis"
    async with serve_asgi(web) as landkreis_base:
        # the endpoints are known once both listen
        [to_landkreis] = office.eakte.settings.abgabe.partners
        to_landkreis.url = f"{landkreis_base}{PREFIX}/api/xdomea/{MUNICH}"
        [to_city] = landkreis.kernel.settings.abgabe.partners
        to_city.url = f"{served}{PREFIX}/api/xdomea/{LANDKREIS}"
        to_landkreis.token = to_city.token = "geheimes-token-der-partner"
        to_landkreis.outbox = to_city.outbox = unused

        async with httpx.AsyncClient() as client:  # a stranger, or a wrong name, is refused
            wrong = await client.post(
                to_landkreis.url,
                content=b"x",
                headers={"Authorization": "Bearer falsch", "X-Xdomea-Dateiname": "a"},
            )
            assert wrong.status_code == 401
            bad_name = await client.post(
                to_landkreis.url,
                content=b"x",
                headers={"Authorization": f"Bearer {to_city.token}", "X-Xdomea-Dateiname": "../x.xdomea"},
            )
            assert bad_name.status_code == 400 and "Dateiname" in bad_name.text

        member = Staff("x", "sb", "SB", "sachbearbeitung", "BAU-T/31")
        # the partner unreachable: not handed over, the case stays in work here
        right, to_landkreis.url = to_landkreis.url, f"http://127.0.0.1:{free_port()}/nirgends"
        with pytest.raises(AbgabeRefused, match="nicht zugestellt werden"):
            await EAkte(office.eakte).start_abgabe(member, case_id, LANDKREIS)
        [failed] = await rows(office.eakte, abgaben, abgaben.c.case_id == case_id)
        assert failed["status"] == "fehlgeschlagen"
        async with office.eakte.db.read() as s:
            assert await case_lock(s, case_id) == ""
        to_landkreis.url = right
        prozess = await EAkte(office.eakte).start_abgabe(member, case_id, LANDKREIS)

        async def handed_over() -> bool:
            found = await rows(office.eakte, abgaben, abgaben.c.prozess_id == prozess)
            return found[0]["status"] == "abgegeben"

        await eventually(handed_over, timeout=30)
    assert not unused.exists()
    assert list(validated(transfer["to_landkreis"] / "verarbeitet")) == [
        f"{prozess}_Abgabe.Abgabe.0401.xdomea"
    ]
    assert len(validated(transfer["to_city"] / "verarbeitet")) == 2
    [received] = await rows(landkreis.kernel, vorgaenge)
    assert received["unit"] == "BAU-T/31"
