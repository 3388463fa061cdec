"""Online payments on the real bus: PaymentCompleted from the platform, ClaimRefunded and
CaseOpened from the E-Akte, in mixed order, redelivered, doubly paid, late; read back
through the module's real HTTP app (files, page, CKAN API, DCAT-AP.de checked with the
SHACL shapes); and the migration to opendata_0003 on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import rdflib
import sqlalchemy as sa
from alembic import command

from rathaus.contracts import encode_event, new_event
from rathaus.contracts.eakte.v1 import CaseOpened, ClaimRefunded
from rathaus.contracts.platform.v1 import PaymentCompleted
from rathaus.opendata import PREFIX, TITLE, store
from rathaus.opendata.bootstrap import bootstrap
from rathaus.opendata.dcat import report, validate
from rathaus.opendata.domain.audit import ranges
from rathaus.opendata.domain.disclosure import Cell, Published
from rathaus.opendata.domain.payment_formats import HEADING, as_json
from rathaus.opendata.domain.payments import BEZAHLT, ERSTATTET, PAYMENTS_ID, publish_payments
from rathaus.platform.browser import assert_accessible, chromium, serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.db import Database, alembic_config
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

NOV, DEC = "2026-11", "2026-12"
AMOUNT = 123457  # a fee no count can be mistaken for
LABELS = {"GIROPAY": "giropay", "CREDITCARD": "Kreditkarte", "PAYPAL": "PayPal"}


def payment(case_id: str, method: str, at: str, attempt: int = 1, late: bool = False) -> PaymentCompleted:
    return PaymentCompleted(
        case_id=case_id,
        claim_id=f"claim-{case_id}",
        attempt=attempt,
        transaction_id=f"tx-{uuid.uuid4()}",
        kassenzeichen=f"KZ{uuid.uuid4().hex[:12].upper()}",
        amount_cents=AMOUNT,
        payment_method=method,
        paid_at=at,
        late=late,
    )


def refund(case_id: str, reason: str = "refused", at: str = "2026-12-03T10:00:00+00:00") -> ClaimRefunded:
    return ClaimRefunded(
        case_id=case_id,
        claim_id=f"claim-{case_id}",
        kassenzeichen=f"KZ{uuid.uuid4().hex[:12].upper()}",
        amount_cents=AMOUNT,
        reason=reason,
        proposed_by="staff-1",
        approved_by="staff-2",
        booked_at=at,
    )


def opened(case_id: str) -> CaseOpened:
    return CaseOpened(
        case_id=case_id,
        aktenzeichen=f"523.11-2026-{case_id[:6]}",
        service_id="sperrmuell",
        unit="BAU-1",
        stadtbezirk="09",
        opened_at="2026-11-02T09:00:00+00:00",
        service_version=1,
    )


@pytest.fixture
async def kernels(settings: Settings) -> AsyncIterator[tuple[Kernel, ModuleApp, Kernel, Kernel]]:
    opendata = Kernel("opendata", settings)
    app = bootstrap(opendata)
    await opendata.start(app)
    eakte, platform = Kernel("eakte", settings), Kernel("platform", settings)
    await eakte.start(ModuleApp())
    await platform.start(ModuleApp())
    yield opendata, app, eakte, platform
    await platform.stop(ModuleApp())
    await eakte.stop(ModuleApp())
    await opendata.stop(app)


def published(body: dict[str, Any], key: str) -> Published:
    """A count table exactly as anyone can read it from the JSON download."""
    sums = body["summen"]
    rows = tuple(t["zahlungsart"] for t in sums["zahlungsarten"])
    cols = tuple(t["monat"] for t in sums["monate"])
    values: dict[Cell, int | None] = {(r, c): 0 for r in rows for c in cols}
    values |= {(r["zahlungsart"], r["monat"]): r[key] for r in body["rows"]}
    values |= {(t["zahlungsart"], None): t[key] for t in sums["zahlungsarten"]}
    values |= {(None, t["monat"]): t[key] for t in sums["monate"]}
    values[(None, None)] = sums["insgesamt"][key]
    return Published(rows, cols, values)


async def test_payments_counted_once_and_published_protected(
    kernels: tuple[Kernel, ModuleApp, Kernel, Kernel], settings: Settings
) -> None:
    opendata, app, eakte, platform = kernels
    giro = [str(uuid.uuid4()) for _ in range(5)]
    card = [str(uuid.uuid4()) for _ in range(3)]
    paypal = [str(uuid.uuid4()) for _ in range(3)]
    never_paid, bad_reason, bad_time = (str(uuid.uuid4()) for _ in range(3))
    sent: list[PaymentCompleted | ClaimRefunded] = []

    async def emit(kernel: Kernel, *events: PaymentCompleted | ClaimRefunded | CaseOpened) -> None:
        async with kernel.transaction() as uow:
            for event in events:
                await uow.emit(event, subject=event.case_id)
                if not isinstance(event, CaseOpened):
                    sent.append(event)

    # refunds first: the refund of card[2] before its payment; the E-Akte's double-payment
    # refund of giro[1] leaves its fee paid; a refund of a fee never paid counts nowhere
    await emit(
        eakte,
        *(refund(c) for c in giro[2:]),
        refund(card[2]),
        refund(giro[1], reason="double_payment"),
        refund(never_paid),
        refund(bad_reason, reason="storniert"),  # unknown: dead-lettered, not guessed
        opened(giro[0]),  # the case's opening before its payment, and (below) after
    )
    await emit(
        platform,
        *(payment(c, "GIROPAY", "2026-11-10T09:00:00+00:00") for c in giro),
        # giro[1] paid twice: attempt 2 by PayPal the same month; the first attempt counts
        payment(giro[1], "PAYPAL", "2026-11-20T09:00:00+00:00", attempt=2),
        # 23:30 UTC on 30 November is December in Munich
        *(payment(c, "CREDITCARD", "2026-11-30T23:30:00+00:00") for c in card[:1]),
        *(payment(c, "CREDITCARD", "2026-11-12T08:00:00+00:00") for c in card[1:]),
        # paypal[0]: PAYED after its attempt was given up as failed; counted once
        payment(paypal[0], "PAYPAL", "2026-12-01T09:00:00+00:00", late=True),
        *(payment(c, "PAYPAL", "2026-12-02T09:00:00+00:00") for c in paypal[1:]),
        payment(bad_time, "GIROPAY", "gestern"),
    )
    await emit(eakte, *(opened(c) for c in giro[1:] + card))
    # a true redelivery: one envelope twice on the stream
    nc = await nats.connect(settings.nats.url)
    envelope = encode_event(
        new_event(payment(paypal[1], "PAYPAL", "2026-12-02T09:00:00+00:00"), subject=paypal[1])
    )
    for _ in range(2):
        await nc.jetstream().publish(
            "rathaus.platform.payment.completed.v1", envelope, headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
    js = nc.jetstream()

    async def drained() -> bool:
        for stream in ("RATHAUS_EAKTE", "RATHAUS_PLATFORM"):
            info = await js.consumer_info(stream, "opendata")
            if info.num_pending or info.num_ack_pending:
                return False
        return opendata.consumer.dead_lettered == 2

    await eventually(drained, timeout=90)
    await nc.close()

    truth = {
        BEZAHLT: {("GIROPAY", NOV): 5, ("CREDITCARD", NOV): 2, ("CREDITCARD", DEC): 1, ("PAYPAL", DEC): 3},
        ERSTATTET: {("GIROPAY", DEC): 3, ("CREDITCARD", DEC): 1},
    }
    async with opendata.db.session() as s:
        assert await store.payment_counts(s) == truth
        facts = (await s.execute(store.zahlungen.select())).mappings().all()
    assert set(facts[0]) == {"case_id", "versuch", "zahlungsart", "bezahlt_monat", "erstattet_monat"}
    assert next(f for f in facts if f["case_id"] == giro[1])["versuch"] == 1

    web = create_module_app(opendata, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    api = f"{PREFIX}/api/3/action"
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base) as http:
        body = (await http.get(f"{PREFIX}/datasets/{PAYMENTS_ID}/zahlungen.json")).json()
        text = (await http.get(f"{PREFIX}/datasets/{PAYMENTS_ID}/zahlungen.csv")).text
        page = await http.get(f"{PREFIX}/datasets/{PAYMENTS_ID}")
        home = (await http.get(f"{PREFIX}/")).text
        names = (await http.get(f"{api}/package_list")).json()["result"]
        pkg = (await http.post(f"{api}/package_show", json={"id": PAYMENTS_ID})).json()["result"]
        search = (
            await http.get(f"{api}/package_search", params={"fq": "tags:E-Payment res_format:CSV"})
        ).json()
        shown = [
            (await http.get(f"{api}/resource_show", params={"id": r["id"]})).json() for r in pkg["resources"]
        ]
        files = [
            await http.get(r["url"].split(base, 1)[-1].replace(root(opendata), "")) for r in pkg["resources"]
        ]
        catalog = (await http.get(f"{PREFIX}/catalog.jsonld")).content
        missing = await http.get(f"{PREFIX}/datasets/{PAYMENTS_ID}/betraege.csv")

    # what the file says is what the rules publish from the truth, protected
    expected = as_json(publish_payments(truth, created=body["created"], modified=body["modified"]))
    assert body["rows"] == expected["rows"] and body["summen"] == expected["summen"]
    tables = {key: published(body, key) for key in (BEZAHLT, ERSTATTET)}
    hidden = set().union(*(t.suppressed() for t in tables.values()))
    for key, table in tables.items():
        real: dict[Cell, int] = {cell: 0 for cell in table.values}
        for (code, monat), n in truth[key].items():
            for cell in ((LABELS[code], monat), (LABELS[code], None), (None, monat), (None, None)):
                real[cell] += n
        for cell, value in table.values.items():
            assert value in (None, real[cell]), (key, cell)
            assert cell not in hidden or value is None or real[cell] == 0, (key, cell)
        assert {c for c, v in real.items() if 0 < v < 3} <= set(table.suppressed()), key
        assert not any(r.pinned for r in ranges(table).values()), key
    assert [(r["zahlungsart"], r["monat"]) for r in body["rows"]] == [
        ("giropay", NOV), ("Kreditkarte", NOV), ("giropay", DEC), ("Kreditkarte", DEC), ("PayPal", DEC),
    ]  # fmt: skip
    lines = list(csv.DictReader(io.StringIO(text)))
    assert len(lines) == 5 + 3 + 2 + 1 and lines[-1]["zahlungsart"] == "insgesamt"

    # published nowhere: case ids, Kassenzeichen, transaction ids, amounts, staff
    everything = text + str(body) + page.text + home + str(pkg) + catalog.decode()
    secrets = {e.case_id for e in sent} | {e.kassenzeichen for e in sent}
    secrets |= {e.transaction_id for e in sent if isinstance(e, PaymentCompleted)}
    assert not any(s in everything for s in secrets) and str(AMOUNT) not in everything
    assert "staff-1" not in everything and "1234,57" not in everything

    assert page.status_code == 200 and "Online bezahlte Gebühren" in page.text and "gesperrt" in page.text
    assert f"{PREFIX}/datasets/{PAYMENTS_ID}" in home and missing.status_code == 404
    assert PAYMENTS_ID in names and search["result"]["count"] == 1
    assert (
        pkg["num_resources"] == 2
        and pkg["title"] == "Online-Zahlungen von Gebühren nach Monat und Zahlungsart"
    )
    assert {"key": "temporal_start", "value": "2026-11-01"} in pkg["extras"]
    for response, resource, download in zip(shown, pkg["resources"], files, strict=True):
        assert response["result"] == resource
        assert download.status_code == 200 and len(download.content) == resource["size"]
    assert validate(catalog) == [] and report(catalog) == []  # the SHACL shapes of DCAT-AP.de 3.0
    graph = rdflib.Graph().parse(data=catalog, format="json-ld")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    node = rdflib.URIRef(f"{root(opendata)}{PREFIX}/datasets/{PAYMENTS_ID}")
    assert (node, rdflib.RDF.type, dcat.Dataset) in graph
    assert len(list(graph.objects(node, dcat.distribution))) == 2


def root(kernel: Kernel) -> str:
    web = kernel.settings.web
    return f"http://{web.host}:{web.port}"


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


async def test_migration_0003(database: Settings) -> None:
    """From 0002 with a case fact to 0003 (the fact stays, payments count), down and up."""
    url = database.database_url("opendata")
    case_id = str(uuid.uuid4())
    await migrate(url, "opendata_0002")
    db = Database(url, module="opendata")
    async with db.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "insert into faelle (case_id, service_id, antrag_monat) values (:c, 'sperrmuell', '2026-11')"
            ),
            {"c": case_id},
        )
    await db.dispose()
    await migrate(url, "opendata_0003")
    await migrate(url, "opendata_0002", down=True)
    opendata = Kernel("opendata", database)
    app = bootstrap(opendata)
    await opendata.start(app)  # migrates to head again
    platform = Kernel("platform", database)
    await platform.start(ModuleApp())
    try:
        async with platform.transaction() as uow:
            await uow.emit(payment(case_id, "PAYPAL", "2026-11-10T09:00:00+00:00"), subject=case_id)

        async def counted() -> bool:
            return opendata.consumer.handled == 1

        await eventually(counted, timeout=60)
        async with opendata.db.session() as s:
            assert await store.payment_counts(s) == {BEZAHLT: {("PAYPAL", NOV): 1}, ERSTATTET: {}}
            assert (await store.counts(s, "sperrmuell"))["antraege"] == {(None, NOV): 1}
    finally:
        await platform.stop(ModuleApp())
        await opendata.stop(app)


@pytest.mark.browser
async def test_payments_page_in_chromium(kernels: tuple[Kernel, ModuleApp, Kernel, Kernel]) -> None:
    """The payments page from the catalogue by keyboard, axe-core clean, with a suppressed cell."""
    opendata, app, _, platform = kernels
    methods = ["GIROPAY"] * 4 + ["CREDITCARD"] * 3 + ["PAYPAL"]
    cases = [(str(uuid.uuid4()), method) for method in methods]
    async with platform.transaction() as uow:
        for case_id, method in cases:
            await uow.emit(payment(case_id, method, "2026-11-10T09:00:00+00:00"), subject=case_id)

    async def counted() -> bool:
        return opendata.consumer.handled == len(cases)

    await eventually(counted, timeout=60)
    web = create_module_app(opendata, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    title = "Online-Zahlungen von Gebühren nach Monat und Zahlungsart"
    async with serve_asgi(web) as base, chromium() as browser:
        page: Any = await browser.new_page()
        await page.goto(f"{base}{PREFIX}/")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        for _ in range(80):
            await page.keyboard.press("Tab")
            if await page.evaluate("() => document.activeElement.textContent.trim()") == title:
                break
        else:
            raise AssertionError("the payments dataset cannot be reached by keyboard")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}{PREFIX}/datasets/{PAYMENTS_ID}")
        await page.wait_for_load_state("networkidle")
        await assert_accessible(page)
        assert await page.inner_text("h1") == title
        rows = await page.locator("table >> nth=0 >> tbody tr").all_inner_texts()
        # PayPal's single payment is hidden, and the smallest complement with it
        assert rows == [
            "November 2026\tgiropay\t4\t0",
            "November 2026\tKreditkarte\tgesperrt\t0",
            "November 2026\tPayPal\tgesperrt\t0",
        ]
        headings = await page.locator("table >> nth=0 >> thead th").all_inner_texts()
        assert headings == ["Monat", "Zahlungsart", "Online bezahlte Gebühren", "Erstattete Gebühren"]
        for fmt in ("CSV", "JSON"):
            link = page.get_by_role("link", name=f"{HEADING} als {fmt} herunterladen")
            response = await page.request.get(f"{base}{await link.get_attribute('href')}")
            assert response.ok
