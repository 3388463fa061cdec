"""The Postkorb dataset on the real bus: DocumentsRequested and ReplyFiled from the E-Akte,
DocumentsOverdue from the platform, DecisionDelivered and BekanntgabeDetermined from output
management, in mixed order and redelivered; read back through the module's real HTTP app
(files, page, CKAN API, DCAT-AP.de checked with the SHACL shapes); the migration to
opendata_0004_postkorb on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import rdflib
import sqlalchemy as sa
from alembic import command

from rathaus.contracts import encode_event, new_event
from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened, DocumentsRequested, ReplyFiled
from rathaus.contracts.envelope import Event
from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.platform.v1 import DocumentsOverdue
from rathaus.opendata import PREFIX, TITLE, store
from rathaus.opendata.bootstrap import bootstrap
from rathaus.opendata.dcat import report, validate
from rathaus.opendata.domain.audit import ranges
from rathaus.opendata.domain.datasets import monat
from rathaus.opendata.domain.disclosure import Cell, Published
from rathaus.opendata.domain.postkorb import (
    ABRUF,
    AKTENLAGE,
    AUSSTEHEND,
    DRITTER_TAG,
    FAELLE,
    FRISTGERECHT,
    NICHT_UEBERMITTELT,
    OFFEN,
    POSTKORB_ID,
    VERSPAETET,
    VIERTER_TAG,
)
from rathaus.opendata.handlers import OpenData
from rathaus.platform.browser import assert_accessible, chromium, serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.db import Database, alembic_config
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

NOV, DEC = "2026-11", "2026-12"
PARKEN, HUND = "test-parken", "test-hund"
SECRET = "Bitte reichen Sie den Mietvertrag nach"  # a text: never in any event open data reads


def requested(case_id: str, request_id: str, service: str, at: str, deadline: str) -> DocumentsRequested:
    return DocumentsRequested(
        case_id=case_id,
        request_id=request_id,
        service_id=service,
        unit="KVR-III/12",
        count=2,
        deadline=deadline,
        grace_days=14.0,
        requested_at=at,
    )


def replied(case_id: str, request_id: str, at: str, filed_at: str = "") -> ReplyFiled:
    """A reply the citizen sent ``at`` (filed then, or later at ``filed_at``)."""
    return ReplyFiled(
        case_id=case_id,
        reply_id=str(uuid.uuid4()),
        request_id=request_id,
        documents_filed=2,
        requested=2,
        complete=True,
        filed_at=filed_at or at,
        received_at=at,
    )


def overdue(case_id: str, request_id: str, level: int) -> DocumentsOverdue:
    return DocumentsOverdue(
        case_id=case_id, request_id=request_id, unit="KVR-III/12", level=level, deadline="2026-11-20"
    )


def sha(case_id: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, case_id).hex * 2


def delivered(case_id: str, service: str, channel: str, sent: datetime, presumed: str) -> DecisionDelivered:
    return DecisionDelivered(
        case_id=case_id,
        aktenzeichen=f"523.11-2026-{case_id[:6]}",
        service_id=service,
        outcome="granted",
        document=BlobRef(
            key=f"output/k-{case_id}", sha256=sha(case_id), size=1000, media_type="application/pdf"
        ),
        channel=channel,
        sent_at=sent.isoformat(),
        bekanntgabe=presumed,
    )


def determined(case_id: str, sent: datetime, by_retrieval: bool) -> BekanntgabeDetermined:
    retrieved = sent + timedelta(days=1 if by_retrieval else 5)
    return BekanntgabeDetermined(
        case_id=case_id,
        aktenzeichen=f"523.11-2026-{case_id[:6]}",
        sha256=sha(case_id),
        channel="postkorb",
        provided_at=sent.isoformat(),
        retrieved_at=retrieved.isoformat(),
        presumed=(sent + timedelta(days=3)).date().isoformat(),
        bekanntgabe=(retrieved if by_retrieval else sent + timedelta(days=3)).date().isoformat(),
        by_retrieval=by_retrieval,
        legal_basis="§ 9 Abs. 1 OZG",
    )


@pytest.fixture
async def kernels(
    settings: Settings, write_service: Callable[..., Path]
) -> AsyncIterator[tuple[Kernel, ModuleApp, dict[str, Kernel]]]:
    write_service(PARKEN, 1, "test-parken-stadtbezirk-monat", title="Bewohnerparkausweis")
    settings.procedure_dirs = [write_service(HUND, 1, "test-hund-stadtbezirk-monat", title="Hundesteuer")]
    opendata = Kernel("opendata", settings)
    app = bootstrap(opendata)
    await opendata.start(app)
    producers = {name: Kernel(name, settings) for name in ("eakte", "platform", "output")}
    for kernel in producers.values():
        await kernel.start(ModuleApp())
    yield opendata, app, producers
    for kernel in producers.values():
        await kernel.stop(ModuleApp())
    await opendata.stop(app)


def published(body: dict[str, Any], key: str) -> Published:
    """A count table exactly as anyone can read it from a JSON download."""
    sums = body["summen"]
    rows = tuple(t["leistung_id"] for t in sums["leistungen"])
    cols = tuple(t["monat"] for t in sums["monate"])
    values: dict[Cell, int | None] = {(r, c): 0 for r in rows for c in cols}
    values |= {(r["leistung_id"], r["monat"]): r[key] for r in body["rows"]}
    values |= {(t["leistung_id"], None): t[key] for t in sums["leistungen"]}
    values |= {(None, t["monat"]): t[key] for t in sums["monate"]}
    values[(None, None)] = sums["insgesamt"][key]
    return Published(rows, cols, values)


def root(kernel: Kernel) -> str:
    web = kernel.settings.web
    return f"http://{web.host}:{web.port}"


async def test_postkorb_counted_once_in_any_order_and_published_protected(
    kernels: tuple[Kernel, ModuleApp, dict[str, Kernel]], settings: Settings
) -> None:
    opendata, app, producers = kernels
    sent: list[Event] = []

    async def emit(producer: str, *events: Event) -> None:
        async with producers[producer].transaction() as uow:
            for event in events:
                await uow.emit(event, subject=event.case_id)  # type: ignore[attr-defined]
                sent.append(event)

    def ids(n: int) -> list[str]:
        return [str(uuid.uuid4()) for _ in range(n)]

    at, deadline = "2026-11-05T09:00:00+00:00", "2026-11-20"
    in_time, late, lapsed, still_open = ids(4), ids(3), ids(3), ids(3)
    hund = ids(3)
    requests = {case: f"req-{case}" for case in in_time + late + lapsed + still_open + hund}
    # replies and lapses first, then the requests: the facts wait for their other half
    await emit(
        "eakte",
        *(replied(c, requests[c], f"2026-11-{7 + i:02d}T09:00:00+00:00") for i, c in enumerate(in_time[:3])),
        # sent in time, filed only after the deadline (input management was down): in time
        replied(in_time[3], requests[in_time[3]], "2026-11-10T09:00:00+00:00", "2026-11-21T09:00:00+00:00"),
        *(replied(c, requests[c], "2026-11-20T23:30:00+00:00") for c in late),  # 00:30 in Munich
        *(replied(c, requests[c], "2026-12-02T09:00:00+00:00") for c in hund),
        replied(str(uuid.uuid4()), "", "2026-11-10T09:00:00+00:00"),  # a reply to a plain message
    )
    await emit("platform", *(overdue(c, requests[c], level) for c in lapsed for level in (1, 2)))
    await emit("platform", *(overdue(c, requests[c], 1) for c in still_open))  # only reminded
    await emit(
        "eakte",
        *(requested(c, requests[c], PARKEN, at, deadline) for c in in_time + late + lapsed + still_open),
        *(requested(c, requests[c], HUND, "2026-12-01T09:00:00+00:00", "2026-12-15") for c in hund),
    )
    # Bescheide: the retrieval's verdict before and after the delivery, a third day long past,
    # one whose third day is still ahead, e-mail, filed only, an unknown channel
    now = datetime.now(UTC)
    early, third, past, e_mail = ids(3), ids(3), ids(3), ids(3)
    ahead, filed, bad = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    nov = datetime(2026, 11, 9, 10, tzinfo=UTC)
    # the parken Bescheide' applications: the service's own dataset counts them too
    await emit(
        "eakte",
        *(
            CaseOpened(
                case_id=c,
                aktenzeichen=f"523.11-2026-{c[:6]}",
                service_id=PARKEN,
                unit="KVR-III/12",
                stadtbezirk="03",
                opened_at="2026-11-02T09:00:00+00:00",
                service_version=1,
            )
            for c in early + third + past
        ),
    )
    await emit("output", *(determined(c, nov, True) for c in early[:2]))
    await emit(
        "output",
        *(delivered(c, PARKEN, "postkorb", nov, "2026-11-12") for c in early + third + past),
        *(delivered(c, HUND, "email", nov, "2026-11-13") for c in e_mail),
        delivered(ahead, HUND, "postkorb", now, (now + timedelta(days=3)).date().isoformat()),
        delivered(filed, HUND, "akte", nov, nov.date().isoformat()),
        delivered(bad, HUND, "fax", nov, "2026-11-13"),  # unknown: dead-lettered, not guessed
        determined(early[2], nov, True),
        *(determined(c, nov, False) for c in third),
    )
    # true redeliveries: one envelope of each kind twice on the stream
    nc = await nats.connect(settings.nats.url)
    js = nc.jetstream()
    again = [
        (requested(late[0], requests[late[0]], PARKEN, at, deadline), "rathaus.eakte.documents.requested.v1"),
        (
            replied(in_time[0], requests[in_time[0]], "2026-11-07T09:00:00+00:00"),
            "rathaus.eakte.reply.filed.v1",
        ),
        (overdue(lapsed[0], requests[lapsed[0]], 2), "rathaus.platform.documents.overdue.v1"),
        (determined(early[0], nov, True), "rathaus.output.bekanntgabe.determined.v1"),
        (delivered(e_mail[0], HUND, "email", nov, "2026-11-13"), "rathaus.output.decision.delivered.v1"),
    ]
    for event, subject in again:
        envelope = encode_event(new_event(event, subject=event.case_id))  # type: ignore[attr-defined]
        for _ in range(2):
            await js.publish(subject, envelope, headers={"Nats-Msg-Id": str(uuid.uuid4())})

    async def drained() -> bool:
        for stream in ("RATHAUS_EAKTE", "RATHAUS_PLATFORM", "RATHAUS_OUTPUT"):
            info = await js.consumer_info(stream, "opendata")
            if info.num_pending or info.num_ack_pending:
                return False
        return opendata.consumer.dead_lettered == 1

    await eventually(drained, timeout=120)
    await nc.close()

    nf_truth = {
        FAELLE: {(PARKEN, NOV): 13, (HUND, DEC): 3},
        FRISTGERECHT: {(PARKEN, NOV): 4, (HUND, DEC): 3},
        VERSPAETET: {(PARKEN, NOV): 3},
        AKTENLAGE: {(PARKEN, NOV): 3},
        OFFEN: {(PARKEN, NOV): 3},
    }
    bg_truth = {
        ABRUF: {(PARKEN, NOV): 3},
        DRITTER_TAG: {(PARKEN, NOV): 6},
        VIERTER_TAG: {(HUND, NOV): 3},
        NICHT_UEBERMITTELT: {(HUND, NOV): 1},
        AUSSTEHEND: {(HUND, monat(now.isoformat())): 1},
    }
    async with opendata.db.session() as s:
        assert await store.nachforderung_counts(s) == nf_truth
        assert await store.bekanntgabe_counts(s) == bg_truth
        hours = await store.reply_hours(s)
        facts = (await s.execute(store.nachforderungen.select())).mappings().all()
    # in time: 2, 3, 4 and 5 days; late: 15 days and 14:30 hours
    assert sorted(hours[(PARKEN, NOV)]) == [48, 72, 96, 120, 374, 374, 374]
    assert hours[(HUND, DEC)] == [24, 24, 24]
    # the service's dataset publishes its nine Bescheide of November (hund's: none, its
    # applications are not known): the Postkorb dataset takes that into account (never a
    # complement where it alone would give the number)
    known = await OpenData(opendata).published_bescheide()
    assert {c for c in known if c[0] in (PARKEN, HUND)} == {(PARKEN, NOV), (PARKEN, None), (HUND, None)}
    answered = [f for f in facts if f["ergebnis"] is not None]
    assert all(f["angefordert"] is f["frist"] is f["antwort"] is None for f in answered)

    web = create_module_app(opendata, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    api = f"{PREFIX}/api/3/action"
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base) as http:
        nf = (await http.get(f"{PREFIX}/datasets/{POSTKORB_ID}/nachforderungen.json")).json()
        bg = (await http.get(f"{PREFIX}/datasets/{POSTKORB_ID}/bekanntgabe.json")).json()
        text = (await http.get(f"{PREFIX}/datasets/{POSTKORB_ID}/nachforderungen.csv")).text
        page = await http.get(f"{PREFIX}/datasets/{POSTKORB_ID}")
        home = (await http.get(f"{PREFIX}/")).text
        names = (await http.get(f"{api}/package_list")).json()["result"]
        pkg = (await http.post(f"{api}/package_show", json={"id": POSTKORB_ID})).json()["result"]
        search = (
            await http.get(f"{api}/package_search", params={"q": "Bekanntgabe", "fq": "tags:Postkorb"})
        ).json()
        files = [await http.get(r["url"].replace(root(opendata), base)) for r in pkg["resources"]]
        catalog = (await http.get(f"{PREFIX}/catalog.jsonld")).content
        missing = await http.get(f"{PREFIX}/datasets/{POSTKORB_ID}/namen.csv")

    for body, truth in ((nf, nf_truth), (bg, bg_truth)):
        tables = {key: published(body, key) for key in truth}
        hidden = set().union(*(t.suppressed() for t in tables.values()))
        for key, table in tables.items():
            real: dict[Cell, int] = {cell: 0 for cell in table.values}
            for (service, month), n in truth[key].items():
                for cell in ((service, month), (service, None), (None, month), (None, None)):
                    real[cell] += n
            for cell, value in table.values.items():
                assert value in (None, real[cell]), (key, cell)
                assert cell not in hidden or value is None or real[cell] == 0, (key, cell)
            assert {c for c, v in real.items() if 0 < v < 3} <= set(table.suppressed()), key
            assert not any(r.pinned for r in ranges(table).values()), key
    parken = next(r for r in nf["rows"] if r["leistung_id"] == PARKEN)
    assert parken["leistung"] == "Bewohnerparkausweis" and parken["fristgerecht"] == 4
    assert parken["antwort_median_tage"] == 5.0  # the 4th of 7: 120 hours
    lines = list(csv.DictReader(io.StringIO(text)))
    assert lines[0]["leistung"] == "Bewohnerparkausweis" and lines[-1]["monat"] == "insgesamt"

    # published nowhere: case ids, request ids, Aktenzeichen, texts
    everything = text + str(nf) + str(bg) + page.text + home + str(pkg) + catalog.decode()
    secrets = {getattr(e, "case_id", "") for e in sent} | set(requests.values())
    secrets |= {getattr(e, "aktenzeichen", "") for e in sent} | {sha(c) for c in early}
    assert not any(s and s in everything for s in secrets) and SECRET not in everything

    assert page.status_code == 200 and "Fristgerecht beantwortet" in page.text and "gesperrt" in page.text
    assert f"{PREFIX}/datasets/{POSTKORB_ID}" in home and missing.status_code == 404
    assert POSTKORB_ID in names and search["result"]["count"] == 1
    assert pkg["num_resources"] == 4 and pkg["title"] == "Nachforderungen und Bekanntgabe im Postkorb"
    for download, resource in zip(files, pkg["resources"], strict=True):
        assert download.status_code == 200 and len(download.content) == resource["size"]
    assert validate(catalog) == [] and report(catalog) == []  # the SHACL shapes of DCAT-AP.de 3.0
    graph = rdflib.Graph().parse(data=catalog, format="json-ld")
    node = rdflib.URIRef(f"{root(opendata)}{PREFIX}/datasets/{POSTKORB_ID}")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    assert (node, rdflib.RDF.type, dcat.Dataset) in graph
    assert len(list(graph.objects(node, dcat.distribution))) == 4


MIGRATIONS = Path(store.__file__).parent / "migrations"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    if request.param == "postgresql":
        settings.databases["opendata"] = request.getfixturevalue("postgres_url")
    yield settings


async def migrate(url: str, revision: str, down: bool = False) -> None:
    db = Database(url, module="opendata")

    def run(connection: sa.Connection) -> None:
        config = alembic_config(MIGRATIONS, "alembic_version", None)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)
    await db.dispose()


async def test_migration_0004(database: Settings) -> None:
    """From 0003 with a payment fact to 0004 (the fact stays, Nachforderungen count), down and up."""
    url = database.database_url("opendata")
    case_id = str(uuid.uuid4())
    await migrate(url, "opendata_0003")
    db = Database(url, module="opendata")
    async with db.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "insert into zahlungen (case_id, versuch, zahlungsart, bezahlt_monat) values (:c, 1, 'PAYPAL', :m)"
            ),
            {"c": case_id, "m": NOV},
        )
    await db.dispose()
    await migrate(url, "opendata_0004_postkorb")
    await migrate(url, "opendata_0003", down=True)
    opendata = Kernel("opendata", database)
    app = bootstrap(opendata)
    await opendata.start(app)  # migrates to head again
    eakte = Kernel("eakte", database)
    await eakte.start(ModuleApp())
    try:
        async with eakte.transaction() as uow:
            event = requested(case_id, "r-1", "sperrmuell", "2026-11-05T09:00:00+00:00", "2026-11-20")
            await uow.emit(event, subject=case_id)
            await uow.emit(replied(case_id, "r-1", "2026-11-06T09:00:00+00:00"), subject=case_id)

        async def counted() -> bool:
            return opendata.consumer.handled == 2

        await eventually(counted, timeout=60)
        async with opendata.db.session() as s:
            counts = await store.nachforderung_counts(s)
            assert counts == {FAELLE: {("sperrmuell", NOV): 1}, FRISTGERECHT: {("sperrmuell", NOV): 1}}
            assert await store.reply_hours(s) == {("sperrmuell", NOV): [24]}
            assert (await store.payment_counts(s))["bezahlt"] == {("PAYPAL", NOV): 1}
    finally:
        await eakte.stop(ModuleApp())
        await opendata.stop(app)


@pytest.mark.browser
async def test_postkorb_page_in_chromium(kernels: tuple[Kernel, ModuleApp, dict[str, Kernel]]) -> None:
    """The Postkorb page from the catalogue by keyboard, axe-core clean, with a suppressed cell."""
    opendata, app, producers = kernels
    cases = [str(uuid.uuid4()) for _ in range(5)]
    async with producers["eakte"].transaction() as uow:
        for i, case_id in enumerate(cases):
            await uow.emit(
                requested(case_id, f"r-{case_id}", PARKEN, "2026-11-05T09:00:00+00:00", "2026-11-20"),
                subject=case_id,
            )
            if i < 4:  # four answered in time, one open
                await uow.emit(replied(case_id, f"r-{case_id}", "2026-11-06T09:00:00+00:00"), subject=case_id)

    async def counted() -> bool:
        return opendata.consumer.handled == 9

    await eventually(counted, timeout=60)
    web = create_module_app(opendata, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    title = "Nachforderungen und Bekanntgabe im Postkorb"
    async with serve_asgi(web) as base, chromium() as browser:
        page: Any = await browser.new_page()
        await page.goto(f"{base}{PREFIX}/")
        await page.wait_for_load_state("networkidle")
        for _ in range(80):
            await page.keyboard.press("Tab")
            if await page.evaluate("() => document.activeElement.textContent.trim()") == title:
                break
        else:
            raise AssertionError("the Postkorb dataset cannot be reached by keyboard")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}{PREFIX}/datasets/{POSTKORB_ID}")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.inner_text("h1") == title
        rows = await page.locator("table >> nth=0 >> tbody tr").all_inner_texts()
        # the one open Nachforderung is hidden, and with it the place in every other table
        assert rows == [
            "November 2026\tBewohnerparkausweis\tgesperrt\tgesperrt\t0\t0\tgesperrt\t– (Anzahl gesperrt)"
        ]
        headings = await page.locator("table >> nth=0 >> thead th").all_inner_texts()
        assert headings[:4] == ["Monat", "Leistung", "Fälle mit Nachforderung", "Fristgerecht beantwortet"]
        for fmt in ("CSV", "JSON"):
            link = page.get_by_role(
                "link",
                name=f"Nachforderungen je Leistung und Monat der Nachforderung als {fmt} herunterladen",
            )
            response = await page.request.get(f"{base}{await link.get_attribute('href')}")
            assert response.ok
