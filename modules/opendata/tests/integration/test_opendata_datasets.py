"""The open-data portal on the real bus: case events in both orders and redelivered, for
several services, read back through the module's real HTTP app (datasets, CKAN API, DCAT)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import rdflib

from rathaus.contracts import encode_event, new_event
from rathaus.contracts.common import BlobRef
from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.opendata import PREFIX, TITLE, store
from rathaus.opendata.bootstrap import bootstrap
from rathaus.opendata.dcat import report, validate
from rathaus.opendata.domain.audit import ranges
from rathaus.opendata.domain.disclosure import Cell, Published
from rathaus.opendata.domain.payments import PAYMENTS_ID
from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

DATASET = "bewohnerparkausweise-stadtbezirk-monat"
LV, MAX, SW = "02 Ludwigsvorstadt-Isarvorstadt", "03 Maxvorstadt", "04 Schwabing-West"
NH, LAIM, UNKNOWN = "09 Neuhausen-Nymphenburg", "25 Laim", "unbekannt"
COUNTS = ("antraege", "bewilligt", "abgelehnt")


def opened(
    case_id: str,
    district: str,
    at: str = "2026-11-10T09:00:00+00:00",
    service: str = "bewohnerparkausweis",
    submitted: str = "",
    version: int = 1,
) -> CaseOpened:
    return CaseOpened(
        case_id=case_id,
        aktenzeichen=f"523.11-2026-{case_id[:6]}",
        service_id=service,
        unit="KVR-III/12",
        stadtbezirk=district,
        opened_at=at,
        service_version=version,
        submitted_at=submitted,
    )


def delivered(
    case_id: str,
    outcome: str = "granted",
    at: str = "2026-11-20T10:00:00+00:00",
    service: str = "bewohnerparkausweis",
) -> DecisionDelivered:
    return DecisionDelivered(
        case_id=case_id,
        aktenzeichen=f"523.11-2026-{case_id[:6]}",
        service_id=service,
        outcome=outcome,
        document=BlobRef(sha256="0" * 64, key="output/x.pdf", size=1, media_type="application/pdf"),
        channel="postkorb",
        sent_at=at,
        bekanntgabe=at[:10],
    )


@dataclass
class World:
    opendata: Kernel
    app: ModuleApp
    eakte: Kernel
    output: Kernel


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[World]:
    opendata = Kernel("opendata", settings)
    app = bootstrap(opendata)
    await opendata.start(app)
    eakte, output = Kernel("eakte", settings), Kernel("output", settings)
    await eakte.start(ModuleApp())
    await output.start(ModuleApp())
    try:
        yield World(opendata, app, eakte, output)
    finally:
        await output.stop(ModuleApp())
        await eakte.stop(ModuleApp())
        await opendata.stop(app)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running(settings) as w:
        yield w


@asynccontextmanager
async def client(w: World) -> AsyncIterator[httpx.AsyncClient]:
    web = create_module_app(
        w.opendata, prefix=PREFIX, title=TITLE, routes=w.app.routes, templates=w.app.templates
    )
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base) as http:
        yield http


async def all_consumed(settings: Settings) -> None:
    nc = await nats.connect(settings.nats.url)
    js = nc.jetstream()

    async def drained() -> bool:
        for stream in ("RATHAUS_EAKTE", "RATHAUS_OUTPUT"):
            info = await js.consumer_info(stream, "opendata")
            if info.num_pending or info.num_ack_pending:
                return False
        return True

    await eventually(drained, timeout=60)
    await nc.close()


def published(body: dict[str, Any], key: str) -> Published:
    """A count table exactly as anyone can read it from the JSON download."""
    sums = body["summen"]
    rows = tuple(t["stadtbezirk"] for t in sums["stadtbezirke"])
    cols = tuple(t["monat"] for t in sums["monate"])
    values: dict[Cell, int | None] = {(r, c): 0 for r in rows for c in cols}
    values |= {(r["stadtbezirk"], r["monat"]): r[key] for r in body["rows"]}
    values |= {(t["stadtbezirk"], None): t[key] for t in sums["stadtbezirke"]}
    values |= {(None, t["monat"]): t[key] for t in sums["monate"]}
    values[(None, None)] = sums["insgesamt"][key]
    return Published(rows, cols, values)


def with_margins(
    inner: dict[tuple[str, str], int], rows: tuple[str, ...], cols: tuple[str, ...]
) -> dict[Cell, int]:
    out: dict[Cell, int] = {(r, c): inner.get((r, c), 0) for r in rows for c in cols}
    out |= {(r, None): sum(inner.get((r, c), 0) for c in cols) for r in rows}
    out |= {(None, c): sum(inner.get((r, c), 0) for r in rows) for c in cols}
    out[(None, None)] = sum(inner.values())
    return out


def check_protected(body: dict[str, Any], truth: dict[str, dict[tuple[str, str], int]]) -> None:
    """What the JSON publishes is the truth or hidden; hidden cells are aligned across the
    count tables and none can be derived by anyone reading the file."""
    tables = {key: published(body, key) for key in COUNTS}
    hidden = set().union(*(t.suppressed() for t in tables.values()))
    for key, table in tables.items():
        real = with_margins(truth[key], table.rows, table.cols)
        for cell, value in table.values.items():
            assert value in (None, real[cell]), (key, cell, value, real[cell])
            if cell in hidden:  # hidden somewhere: hidden here too, unless 0
                assert value is None or real[cell] == 0, (key, cell)
        assert {c for c, v in real.items() if 0 < v < 3} <= set(table.suppressed()), key
        for cell, r in ranges(table).items():
            assert not r.pinned and r.low <= real[cell] and (r.high is None or real[cell] <= r.high)


async def test_counts_once_in_any_order_and_publishes_protected(world: World, settings: Settings) -> None:
    eakte, output = world.eakte, world.output
    ids = {
        name: [str(uuid.uuid4()) for _ in range(n)]
        for name, n in (("max", 5), ("sw", 6), ("nh", 3), ("lv", 3), ("laim", 1), ("x", 3))
    }
    orphan, dog = str(uuid.uuid4()), str(uuid.uuid4())
    # decisions first for Maxvorstadt and Ludwigsvorstadt, cases first for the others
    async with output.transaction() as uow:
        for case_id in ids["max"]:
            await uow.emit(delivered(case_id), subject=case_id)
        for case_id in ids["lv"]:  # 23:30 UTC on 30 November is December in Munich
            await uow.emit(delivered(case_id, at="2026-11-30T23:30:00+00:00"), subject=case_id)
        await uow.emit(delivered(orphan), subject=orphan)  # never opened here: not counted
    async with eakte.transaction() as uow:
        for i, case_id in enumerate(ids["max"]):  # 23:30 UTC on 31 October is November in Munich
            at = "2026-10-31T23:30:00+00:00" if i == 0 else "2026-11-02T08:00:00+00:00"
            await uow.emit(opened(case_id, MAX, at=at), subject=case_id)
        for case_id in ids["sw"]:  # came in the evening before, CET
            await uow.emit(opened(case_id, "04", submitted="2026-11-09T18:00:00+01:00"), subject=case_id)
        for case_id in ids["nh"]:
            await uow.emit(opened(case_id, "09", submitted="2026-11-10T08:00:00+00:00"), subject=case_id)
        for case_id in ids["lv"]:
            await uow.emit(opened(case_id, "2"), subject=case_id)
        await uow.emit(opened(ids["laim"][0], "Laim"), subject=ids["laim"][0])  # never decided
        for case_id in ids["x"]:
            await uow.emit(opened(case_id, ""), subject=case_id)
        await uow.emit(opened(dog, MAX, service="hundesteuer"), subject=dog)
        # a producer that retries: the same facts again under new event ids
        await uow.emit(opened(ids["max"][0], MAX), subject=ids["max"][0])
        await uow.emit(opened(ids["sw"][0], "04"), subject=ids["sw"][0])
    async with output.transaction() as uow:
        for i, case_id in enumerate(ids["sw"]):
            await uow.emit(delivered(case_id, "refused" if i % 2 else "granted"), subject=case_id)
        for case_id in ids["nh"]:
            await uow.emit(delivered(case_id, "refused", at="2026-11-12T10:30:00+00:00"), subject=case_id)
        await uow.emit(delivered(ids["max"][1], at="2026-12-01T10:00:00+00:00"), subject=ids["max"][1])
    # and a true redelivery: one envelope twice on the stream (JetStream does not dedupe it)
    nc = await nats.connect(settings.nats.url)
    envelope = encode_event(new_event(delivered(ids["sw"][1], "refused"), subject=ids["sw"][1]))
    for _ in range(2):
        await nc.jetstream().publish(
            "rathaus.output.decision.delivered.v1", envelope, headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
    await nc.close()
    await all_consumed(settings)

    async with client(world) as http:
        body = (await http.get(f"{PREFIX}/datasets/{DATASET}/fallzahlen.json")).json()
        text = (await http.get(f"{PREFIX}/datasets/{DATASET}/fallzahlen.csv")).text
        legacy = await http.get(f"{PREFIX}/datasets/{DATASET}.json")
        times = (await http.get(f"{PREFIX}/datasets/{DATASET}/bearbeitungsdauer.json")).json()
        times_text = (await http.get(f"{PREFIX}/datasets/{DATASET}/bearbeitungsdauer.csv")).text
        page = await http.get(f"{PREFIX}/datasets/{DATASET}")
        home = await http.get(f"{PREFIX}/")
        catalog = await http.get(f"{PREFIX}/catalog.jsonld")
        turtle = await http.get(f"{PREFIX}/catalog.ttl")
        missing = await http.get(f"{PREFIX}/datasets/gibt-es-nicht")
        no_table = await http.get(f"{PREFIX}/datasets/{DATASET}/personen.csv")
        no_format = await http.get(f"{PREFIX}/datasets/{DATASET}/fallzahlen.xlsx")

    nov, dec = "2026-11", "2026-12"
    truth = {
        "antraege": {
            (MAX, nov): 5,
            (SW, nov): 6,
            (NH, nov): 3,
            (LV, nov): 3,
            (LAIM, nov): 1,
            (UNKNOWN, nov): 3,
        },
        "bewilligt": {(MAX, nov): 5, (SW, nov): 3, (LV, dec): 3},
        "abgelehnt": {(SW, nov): 3, (NH, nov): 3},
    }
    rows = {(r["stadtbezirk"], r["monat"]): r for r in body["rows"]}
    assert list(rows) == [(LV, nov), (MAX, nov), (SW, nov), (NH, nov), (LAIM, nov), (UNKNOWN, nov), (LV, dec)]
    check_protected(body, truth)
    assert rows[(LAIM, nov)]["antraege"] is None and rows[(LAIM, nov)]["antraege_gesperrt"] is True
    assert rows[(MAX, nov)]["bewilligt"] == 5 and rows[(LV, dec)]["bewilligt"] == 3  # the redelivery: once
    assert rows[(LV, nov)]["bewilligt"] == 0 and rows[(LV, dec)]["antraege"] == 0
    assert {m["monat"]: m["bewilligt"] for m in body["summen"]["monate"]} == {nov: 8, dec: 3}
    assert body["summen"]["insgesamt"]["abgelehnt"] == 6  # the hundesteuer case is in no table here
    assert legacy.status_code == 200 and legacy.json() == body  # <id>.json: where older links point

    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["stadtbezirk", "monat", *(c for k in COUNTS for c in (k, f"{k}_gesperrt"))]
    assert [LV, dec, "0", "nein", "3", "nein", "0", "nein"] in lines
    assert [LAIM, nov, "", "ja", "0", "nein", "0", "nein"] in lines

    # processing times in November (14 Bescheide): Neuhausen 3 x 50 h (08:00 to 10:30 two days
    # later), Schwabing-West 6 x 257 h (from the evening before), Maxvorstadt 4 x 434 h and
    # the one opened on 31 October 23:30 UTC, 466 h: median 257 h = 10.7 days, p90 434 h = 18.1
    by_month = {r["monat"]: r for r in times["rows"]}
    assert by_month[nov] == {
        "monat": nov, "bescheide": 14, "bescheide_gesperrt": False,
        "dauer_median_tage": 10.7, "dauer_p90_tage": 18.1, "dauer_grund": None,
    }  # fmt: skip
    assert by_month[dec]["bescheide"] == 3 and by_month[dec]["dauer_grund"] == "weniger als 5 Bescheide"
    assert times["insgesamt"]["bescheide"] == 17 and times["insgesamt"]["dauer_median_tage"] == 10.7
    assert [nov, "14", "nein", "10.7", "18.1", ""] in list(csv.reader(io.StringIO(times_text)))
    async with world.opendata.db.session() as s:  # only durations are left, no timestamps
        facts = (await s.execute(store.faelle.select())).mappings().all()
    assert {f["beginn"] for f in facts if f["ergebnis"] and f["antrag_monat"]} == {None}
    assert {f["ende"] for f in facts if f["ergebnis"] and f["antrag_monat"]} == {None}
    assert sorted(f["dauer_stunden"] for f in facts if f["case_id"] in ids["nh"]) == [50, 50, 50]
    assert next(f for f in facts if f["case_id"] == ids["laim"][0])["beginn"] == "2026-11-10T09:00:00+00:00"

    everything = text + str(body) + str(times) + page.text + catalog.text
    assert not any(case_id in everything for case_id in [orphan, dog, *(i for v in ids.values() for i in v)])
    assert page.status_code == 200 and "<caption" in page.text and "gesperrt" in page.text
    assert "Bearbeitungsdauer in Tagen je Monat der Zustellung" in page.text and "10,7" in page.text
    assert home.status_code == 200 and f"{PREFIX}/datasets/{DATASET}" in home.text
    assert missing.status_code == 404 and "Diese Seite gibt es nicht" in missing.text
    assert no_table.status_code == 404 and no_format.status_code == 404
    assert catalog.headers["content-type"].startswith("application/ld+json")
    assert validate(catalog.content) == []
    assert report(catalog.content) == []  # no warnings either
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    assert len(graph) == len(rdflib.Graph().parse(data=catalog.content, format="json-ld"))


async def test_three_services_three_datasets(settings: Settings, write_service: Callable[..., Path]) -> None:
    """Two services exist only as procedure files of this test: each is a dataset, with its
    own counts and times, in the CKAN API and the DCAT catalogue, without any code."""
    write_service("test-fundsache", 1, "test-fundsachen-alt", dataset_title="Fundsachen (alt)")
    write_service(
        "test-fundsache", 2, "test-fundsachen-stadtbezirk-monat", dataset_title="Fundsachen nach Stadtbezirk und Monat",
        leika="99001001000000", tags=("Testfundbüro", "Fundsachen"), themes=("SOCI", "GOVE"),
        granted_label="Ausgehändigt", refused_label="Nicht ausgehändigt",
    )  # fmt: skip
    root = write_service(
        "test-sperrmuell", 1, "test-sperrmuell-stadtbezirk-monat", dataset_title="Sperrmüllabholungen",
        themes=("ENVI",), tags=("Abfall",), granted_label="Bestätigt", refused_label="Nicht bestätigt",
    )  # fmt: skip
    settings.procedure_dirs = [root]
    fund, sperr = "test-fundsachen-stadtbezirk-monat", "test-sperrmuell-stadtbezirk-monat"
    async with running(settings) as w:
        plan = [  # service, version, district, outcome, submitted, delivered
            *(("bewohnerparkausweis", 1, "03", "granted", "2026-11-02T08:00:00+00:00", "2026-11-04T08:00:00+00:00"),) * 5,
            *(("test-fundsache", 1, "04", "granted", "2026-11-03T08:00:00+00:00", "2026-11-03T20:00:00+00:00"),) * 3,
            *(("test-fundsache", 2, "04", "refused", "2026-11-05T08:00:00+00:00", "2026-11-06T08:00:00+00:00"),) * 4,
            *(("test-sperrmuell", 1, "09", "granted", "2026-11-05T08:00:00+00:00", "2026-11-05T08:40:00+00:00"),) * 6,
        ]  # fmt: skip
        cases = [(str(uuid.uuid4()), *step) for step in plan]
        async with w.eakte.transaction() as uow:
            for case_id, service, version, district, _, submitted, _ in cases:
                event = opened(
                    case_id, district, at=submitted, service=service, submitted=submitted, version=version
                )
                await uow.emit(event, subject=case_id)
        async with w.output.transaction() as uow:
            for case_id, service, _, _, outcome, _, sent in cases:
                await uow.emit(delivered(case_id, outcome, at=sent, service=service), subject=case_id)
        await all_consumed(settings)

        api = f"{PREFIX}/api/3/action"
        async with client(w) as http:
            names = (await http.get(f"{api}/package_list")).json()["result"]
            packages = {
                n: (await http.get(f"{api}/package_show", params={"id": n})).json()["result"] for n in names
            }
            found = (
                await http.get(f"{api}/package_search", params={"q": "Fundsachen", "fq": "tags:Testfundbüro"})
            ).json()
            every = (await http.get(f"{api}/package_search", params={"rows": 100})).json()["result"]
            resources = {
                r["id"]: (await http.get(f"{api}/resource_show", params={"id": r["id"]})).json()["result"]
                for p in packages.values()
                for r in p["resources"]
            }
            files = {
                r["url"].split(PREFIX, 1)[1]: await http.get(PREFIX + r["url"].split(PREFIX, 1)[1])
                for p in packages.values()
                for r in p["resources"]
            }
            pages = {n: await http.get(f"{PREFIX}/datasets/{n}") for n in names}
            home = (await http.get(f"{PREFIX}/")).text
            catalog = (await http.get(f"{PREFIX}/catalog.jsonld")).content

    # beside the city's own services; the dataset of test-fundsache v1 is renamed by v2
    assert {DATASET, fund, sperr} <= set(names) and "test-fundsachen-alt" not in names
    assert every["count"] == len(names) and {p["name"] for p in every["results"]} == set(names)
    assert found["result"]["count"] == 1 and found["result"]["results"][0]["name"] == fund
    assert packages[fund]["title"] == "Fundsachen nach Stadtbezirk und Monat"
    assert {"key": "leika", "value": "99001001000000"} in packages[fund]["extras"]
    assert {"key": "themes", "value": "ENVI"} in packages[sperr]["extras"]
    # four files per service's dataset, two for the online payments across services
    sizes = {n: 2 if n == PAYMENTS_ID else 4 for n in names}
    assert all(p["num_resources"] == sizes[n] for n, p in packages.items())
    assert len(resources) == sum(sizes.values())
    for package in packages.values():
        for r in package["resources"]:
            assert resources[r["id"]] == r
            download = files[r["url"].split(PREFIX, 1)[1]]
            assert download.status_code == 200 and len(download.content) == r["size"]

    def counts(name: str) -> dict[str, Any]:
        return files[f"/datasets/{name}/fallzahlen.json"].json()["summen"]["insgesamt"]

    def times(name: str) -> dict[str, Any]:
        return files[f"/datasets/{name}/bearbeitungsdauer.json"].json()["insgesamt"]

    assert (counts(DATASET)["antraege"], counts(DATASET)["bewilligt"], counts(DATASET)["abgelehnt"]) == (
        5,
        5,
        0,
    )
    # fundsache: the cases of both versions count, under the newest version's names
    assert (counts(fund)["antraege"], counts(fund)["bewilligt"], counts(fund)["abgelehnt"]) == (7, 3, 4)
    fund_columns = files[f"/datasets/{fund}/fallzahlen.json"].json()["spalten"]
    assert [c["titel"] for c in fund_columns if c["name"] in COUNTS][1:] == [
        "Ausgehändigt",
        "Nicht ausgehändigt",
    ]
    assert (counts(sperr)["antraege"], counts(sperr)["bewilligt"]) == (6, 6)
    assert (times(DATASET)["dauer_median_tage"], times(DATASET)["dauer_p90_tage"]) == (2.0, 2.0)
    # fundsache: 3 x 12 h and 4 x 24 h: median 24 h = 1.0 day, p90 24 h
    assert (times(fund)["bescheide"], times(fund)["dauer_median_tage"], times(fund)["dauer_p90_tage"]) == (
        7,
        1.0,
        1.0,
    )
    assert (times(sperr)["bescheide"], times(sperr)["dauer_median_tage"]) == (6, 0.0)  # 40 minutes: 0 h
    assert all(p.status_code == 200 for p in pages.values())
    assert "Ausgehändigt" in pages[fund].text and "LeiKa-Schlüssel 99001001000000" in pages[fund].text
    assert all(f"{PREFIX}/datasets/{n}" in home for n in names)
    assert validate(catalog) == [] and report(catalog) == []
    graph = rdflib.Graph().parse(data=catalog, format="json-ld")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    datasets = set(graph.subjects(rdflib.RDF.type, dcat.Dataset))
    assert {str(d).rsplit("/", 1)[1] for d in datasets} == set(names)
    assert len(set(graph.subjects(rdflib.RDF.type, dcat.Distribution))) == sum(sizes.values())


async def test_ckan_action_api(world: World) -> None:
    case_id = str(uuid.uuid4())
    async with world.eakte.transaction() as uow:
        await uow.emit(opened(case_id, MAX), subject=case_id)

    async def counted() -> bool:
        return world.opendata.consumer.handled == 1

    await eventually(counted)
    api = f"{PREFIX}/api/3/action"
    async with client(world) as http:
        names = (await http.get(f"{api}/package_list")).json()
        show = (await http.get(f"{api}/package_show", params={"id": DATASET})).json()
        by_id = (await http.post(f"{api}/package_show", json={"id": show["result"]["id"]})).json()
        search = (
            await http.get(
                f"{api}/package_search",
                params={"q": "parkausweise", "fq": "res_format:CSV tags:Parken", "rows": 5},
            )
        ).json()
        none = (await http.post(f"{api}/package_search", json={"q": "zirkuselefant"})).json()
        paged = (await http.get(f"{api}/package_search", params={"start": 1000})).json()
        resources = [
            (await http.get(f"{api}/resource_show", params={"id": r["id"]}))
            for r in show["result"]["resources"]
        ]
        downloads = [
            (await http.get(r["url"].replace(root(world.opendata), ""))) for r in show["result"]["resources"]
        ]
        not_found = await http.get(f"{api}/package_show", params={"id": "gibt-es-nicht"})
        no_id = await http.get(f"{api}/package_show")
        bad_rows = await http.get(f"{api}/package_search", params={"rows": "viele"})
        bad_field = await http.get(f"{api}/package_search", params={"fq": "author:x"})
        unknown = await http.get(f"{api}/package_delete")
        not_json = await http.post(f"{api}/package_show", content=b"{kaputt")
        legacy = (await http.get(f"{PREFIX}/api/action/package_list")).json()
        openapi = await http.get(f"{PREFIX}/schema/openapi.json")

    help_url = f"{root(world.opendata)}{api}/help_show?name=package_list"
    assert names["help"] == help_url and names["success"] is True and DATASET in names["result"]
    assert legacy["result"] == names["result"]
    pkg = show["result"]
    assert show["success"] is True and by_id["result"] == pkg
    for field in ("id", "name", "title", "notes", "license_id", "license_title", "organization", "resources",
                  "metadata_modified", "metadata_created", "num_resources", "tags", "num_tags", "owner_org"):  # fmt: skip
        assert field in pkg, field
    assert pkg["name"] == DATASET and pkg["license_id"] == "dl-by-de/2.0" and pkg["num_resources"] == 4
    assert (
        pkg["organization"]["title"] == "Landeshauptstadt München"
        and pkg["owner_org"] == pkg["organization"]["id"]
    )
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "JSON", "CSV", "JSON"]
    assert {r["mimetype"] for r in pkg["resources"]} == {"text/csv", "application/json"}
    assert "Parken" in [t["name"] for t in pkg["tags"]]
    assert search["result"]["count"] == 1 and search["result"]["results"][0]["name"] == DATASET
    assert none["result"] == {**none["result"], "count": 0, "results": []}
    assert paged["result"]["count"] == len(names["result"]) and paged["result"]["results"] == []
    for response, resource in zip(resources, pkg["resources"], strict=True):
        assert response.status_code == 200 and response.json()["result"] == resource
    for response, resource in zip(downloads, pkg["resources"], strict=True):
        assert response.status_code == 200 and len(response.content) == resource["size"]
        assert response.headers["access-control-allow-origin"] == "*"
    assert not_found.status_code == 404
    assert not_found.json()["success"] is False
    assert not_found.json()["error"]["__type"] == "Not Found Error" and not_found.json()["error"]["message"]
    assert no_id.status_code == 409 and no_id.json()["error"]["__type"] == "Validation Error"
    assert no_id.json()["error"]["id"] == ["Missing value"]
    assert bad_rows.status_code == 409 and "rows" in bad_rows.json()["error"]
    assert bad_field.status_code == 409 and "author" in bad_field.json()["error"]["message"]
    assert unknown.status_code == 400 and unknown.json()["success"] is False
    assert not_json.status_code == 400 and not_json.json()["success"] is False
    assert f"{api}/{{action}}" in openapi.json()["paths"]


def root(kernel: Kernel) -> str:
    """Where the metadata says the portal is (the settings), not where the test serves it."""
    web = kernel.settings.web
    return f"http://{web.host}:{web.port}"


async def test_unknown_outcome_is_dead_lettered_not_dropped(world: World) -> None:
    case_id = str(uuid.uuid4())
    async with world.eakte.transaction() as uow:
        await uow.emit(opened(case_id, MAX), subject=case_id)
    async with world.output.transaction() as uow:
        await uow.emit(delivered(case_id, outcome="vertagt"), subject=case_id)

    async def parked() -> bool:
        return world.opendata.consumer.dead_lettered == 1 and world.opendata.consumer.handled == 1

    await eventually(parked, timeout=60)
    async with world.opendata.db.session() as s:
        counts = await store.counts(s, "bewohnerparkausweis")
        hours = await store.durations(s, "bewohnerparkausweis")
    assert counts == {"antraege": {(MAX, "2026-11"): 1}, "bewilligt": {}, "abgelehnt": {}}
    assert hours == {}


async def test_a_service_without_a_dataset_yet_is_kept_for_later(world: World) -> None:
    """Facts of a service this process has no procedure for are kept: when its file
    arrives, its dataset counts them (and no other dataset does meanwhile)."""
    case_id = str(uuid.uuid4())
    async with world.eakte.transaction() as uow:
        await uow.emit(opened(case_id, "12", service="kuenftig"), subject=case_id)
    async with world.output.transaction() as uow:
        await uow.emit(
            delivered(case_id, at="2026-11-10T12:00:00+00:00", service="kuenftig"), subject=case_id
        )

    async def counted() -> bool:
        return world.opendata.consumer.handled == 2

    await eventually(counted)
    async with world.opendata.db.session() as s:
        counts = await store.counts(s, "kuenftig")
        hours = await store.durations(s, "kuenftig")
        parking = await store.counts(s, "bewohnerparkausweis")
    assert counts["antraege"] == {("12 Schwabing-Freimann", "2026-11"): 1} and hours == {"2026-11": [3]}
    assert parking == {"antraege": {}, "bewilligt": {}, "abgelehnt": {}}
