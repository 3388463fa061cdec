"""The open-data portal on the real bus: case events in both orders and redelivered,
read back through the module's real HTTP app (dataset, CKAN API, DCAT catalogue)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
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
from rathaus.opendata.domain.disclosure import Published
from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.testing import eventually

DATASET = "bewohnerparkausweise-stadtbezirk-monat"
MAX, SCHWABING, LUDWIG = "03 Maxvorstadt", "04 Schwabing-West", "02 Ludwigsvorstadt-Isarvorstadt"


def opened(
    case_id: str, district: str, at: str = "2026-11-10T09:00:00+00:00", service: str = "bewohnerparkausweis"
) -> CaseOpened:
    return CaseOpened(
        case_id=case_id,
        aktenzeichen=f"523.11-2026-{case_id[:6]}",
        service_id=service,
        unit="KVR-III/12",
        stadtbezirk=district,
        opened_at=at,
    )


def delivered(
    case_id: str, outcome: str = "granted", at: str = "2026-11-20T10:00:00+00:00"
) -> DecisionDelivered:
    return DecisionDelivered(
        case_id=case_id,
        aktenzeichen=f"523.11-2026-{case_id[:6]}",
        service_id="bewohnerparkausweis",
        outcome=outcome,
        document=BlobRef(sha256="0" * 64, key="output/x.pdf", size=1, media_type="application/pdf"),
        channel="postkorb",
        sent_at=at,
        bekanntgabe=at[:10],
    )


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[Kernel, ModuleApp, Kernel, Kernel]]:
    opendata = Kernel("opendata", settings)
    app = bootstrap(opendata)
    await opendata.start(app)
    eakte, output = Kernel("eakte", settings), Kernel("output", settings)
    await eakte.start(ModuleApp())
    await output.start(ModuleApp())
    yield opendata, app, eakte, output
    await output.stop(ModuleApp())
    await eakte.stop(ModuleApp())
    await opendata.stop(app)


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
    """A measure's table exactly as anyone can read it from the JSON download."""
    sums = body["summen"]
    rows = tuple(t["stadtbezirk"] for t in sums["stadtbezirke"])
    cols = tuple(t["monat"] for t in sums["monate"])
    values: dict[tuple[str | None, str | None], int | None] = {(r, c): 0 for r in rows for c in cols}
    values |= {(r["stadtbezirk"], r["monat"]): r[key] for r in body["rows"]}
    values |= {(t["stadtbezirk"], None): t[key] for t in sums["stadtbezirke"]}
    values |= {(None, t["monat"]): t[key] for t in sums["monate"]}
    values[(None, None)] = sums["insgesamt"][key]
    return Published(rows, cols, values)


async def test_counts_once_in_any_order_and_publishes_protected(
    world: tuple[Kernel, ModuleApp, Kernel, Kernel], settings: Settings
) -> None:
    opendata, app, eakte, output = world
    ids = {
        name: [str(uuid.uuid4()) for _ in range(n)]
        for name, n in (("max", 5), ("sw", 4), ("lv", 1), ("x", 3))
    }
    orphan, dog = str(uuid.uuid4()), str(uuid.uuid4())
    # decisions first for Maxvorstadt and Ludwigsvorstadt, cases first for Schwabing-West
    async with output.transaction() as uow:
        for case_id in ids["max"]:
            await uow.emit(delivered(case_id), subject=case_id)
        await uow.emit(
            delivered(ids["lv"][0], at="2026-11-30T23:30:00+00:00"), subject=ids["lv"][0]
        )  # December in Munich
        await uow.emit(delivered(orphan), subject=orphan)  # never opened here: not counted
    async with eakte.transaction() as uow:
        for i, case_id in enumerate(ids["max"]):  # 23:30 UTC on 31 October is November in Munich
            await uow.emit(
                opened(
                    case_id, MAX, at="2026-10-31T23:30:00+00:00" if i == 0 else "2026-11-02T08:00:00+00:00"
                ),
                subject=case_id,
            )
        for case_id in ids["sw"]:
            await uow.emit(opened(case_id, "04"), subject=case_id)
        await uow.emit(opened(ids["lv"][0], "2"), subject=ids["lv"][0])
        for case_id in ids["x"]:
            await uow.emit(opened(case_id, ""), subject=case_id)
        await uow.emit(opened(dog, MAX, service="hundesteuer"), subject=dog)
        # a producer that retries: the same facts again under new event ids
        await uow.emit(opened(ids["max"][0], MAX), subject=ids["max"][0])
        await uow.emit(opened(ids["sw"][0], "04"), subject=ids["sw"][0])
    async with output.transaction() as uow:
        for i, case_id in enumerate(ids["sw"]):
            await uow.emit(delivered(case_id, "refused" if i == 3 else "granted"), subject=case_id)
        await uow.emit(delivered(ids["max"][1]), subject=ids["max"][1])
    # and a true redelivery: one envelope twice on the stream (JetStream does not dedupe it)
    nc = await nats.connect(settings.nats.url)
    envelope = encode_event(new_event(delivered(ids["sw"][1]), subject=ids["sw"][1]))
    for _ in range(2):
        await nc.jetstream().publish(
            "rathaus.output.decision.delivered.v1", envelope, headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
    await nc.close()
    await all_consumed(settings)

    web = create_module_app(opendata, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base) as client:
        body = (await client.get(f"{PREFIX}/datasets/{DATASET}.json")).json()
        text = (await client.get(f"{PREFIX}/datasets/{DATASET}.csv")).text
        page = await client.get(f"{PREFIX}/datasets/{DATASET}")
        home = await client.get(f"{PREFIX}/")
        catalog = await client.get(f"{PREFIX}/catalog.jsonld")
        turtle = await client.get(f"{PREFIX}/catalog.ttl")
        missing = await client.get(f"{PREFIX}/datasets/gibt-es-nicht")

    rows = {(r["stadtbezirk"], r["monat"]): r for r in body["rows"]}
    assert list(rows) == [
        (LUDWIG, "2026-11"),
        (MAX, "2026-11"),
        (SCHWABING, "2026-11"),
        ("unbekannt", "2026-11"),
        (LUDWIG, "2026-12"),
    ]
    assert rows[(MAX, "2026-11")] == {
        "stadtbezirk": MAX, "monat": "2026-11", "antraege": 5, "antraege_gesperrt": False, "erteilt": 5, "erteilt_gesperrt": False,
    }  # fmt: skip
    assert rows[(SCHWABING, "2026-11")]["antraege"] == 4
    # one application in Ludwigsvorstadt (primary) and, to protect it, the three unknown ones
    assert (
        rows[(LUDWIG, "2026-11")]["antraege"] is None
        and rows[(LUDWIG, "2026-11")]["antraege_gesperrt"] is True
    )
    assert (
        rows[("unbekannt", "2026-11")]["antraege"] is None
        and rows[("unbekannt", "2026-11")]["antraege_gesperrt"]
    )
    assert rows[(LUDWIG, "2026-11")]["erteilt"] == 0 and rows[(LUDWIG, "2026-12")]["antraege"] == 0
    assert rows[(LUDWIG, "2026-12")]["erteilt"] is None and rows[(LUDWIG, "2026-12")]["erteilt_gesperrt"]
    assert body["summen"]["insgesamt"]["antraege"] == 13  # the hundesteuer case is not counted
    # December's single permit is hidden in a cycle through November and the smaller of the
    # other districts (Schwabing-West, 3): the city-wide total stays published
    assert body["summen"]["insgesamt"]["erteilt"] == 9
    assert {m["monat"]: m["erteilt"] for m in body["summen"]["monate"]} == {"2026-11": None, "2026-12": None}
    assert (
        rows[(SCHWABING, "2026-11")]["erteilt"] is None and rows[(SCHWABING, "2026-11")]["erteilt_gesperrt"]
    )
    for key, truth in (
        (
            "antraege",
            {(LUDWIG, "2026-11"): 1, ("unbekannt", "2026-11"): 3, (LUDWIG, None): 1, ("unbekannt", None): 3},
        ),
        (
            "erteilt",
            {(LUDWIG, "2026-12"): 1, (LUDWIG, None): 1, (None, "2026-12"): 1}
            | {(SCHWABING, "2026-11"): 3, (SCHWABING, None): 3, (None, "2026-11"): 8},
        ),
    ):
        table = published(body, key)
        assert set(table.suppressed()) == set(truth)
        for cell, r in ranges(table).items():
            assert not r.pinned and r.low <= truth[cell] and (r.high is None or truth[cell] <= r.high)

    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [
        "stadtbezirk",
        "monat",
        "antraege",
        "antraege_gesperrt",
        "erteilt",
        "erteilt_gesperrt",
    ]
    assert [MAX, "2026-11", "5", "nein", "5", "nein"] in lines
    assert [LUDWIG, "2026-12", "0", "nein", "", "ja"] in lines
    assert ["insgesamt", "insgesamt", "13", "nein", "9", "nein"] in lines
    everything = text + str(body) + page.text + catalog.text
    assert not any(case_id in everything for case_id in [orphan, dog, *(i for v in ids.values() for i in v)])

    assert page.status_code == 200 and "<caption" in page.text and "gesperrt" in page.text
    assert home.status_code == 200 and f"{PREFIX}/datasets/{DATASET}" in home.text
    assert missing.status_code == 404 and "Diese Seite gibt es nicht" in missing.text
    assert catalog.headers["content-type"].startswith("application/ld+json")
    assert validate(catalog.content) == []
    assert report(catalog.content) == []  # no warnings either
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    assert len(graph) == len(rdflib.Graph().parse(data=catalog.content, format="json-ld"))


async def test_ckan_action_api(world: tuple[Kernel, ModuleApp, Kernel, Kernel]) -> None:
    opendata, app, eakte, _ = world
    case_id = str(uuid.uuid4())
    async with eakte.transaction() as uow:
        await uow.emit(opened(case_id, MAX), subject=case_id)

    async def counted() -> bool:
        return opendata.consumer.handled == 1

    await eventually(counted)
    web = create_module_app(opendata, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    api = f"{PREFIX}/api/3/action"
    async with serve_asgi(web) as base, httpx.AsyncClient(base_url=base) as client:
        names = (await client.get(f"{api}/package_list")).json()
        show = (await client.get(f"{api}/package_show", params={"id": DATASET})).json()
        by_id = (await client.post(f"{api}/package_show", json={"id": show["result"]["id"]})).json()
        search = (
            await client.get(
                f"{api}/package_search",
                params={"q": "parkausweise", "fq": "res_format:CSV tags:Parken", "rows": 5},
            )
        ).json()
        none = (await client.post(f"{api}/package_search", json={"q": "hundesteuer"})).json()
        paged = (await client.get(f"{api}/package_search", params={"start": 1})).json()
        resources = [
            (await client.get(f"{api}/resource_show", params={"id": r["id"]}))
            for r in show["result"]["resources"]
        ]
        downloads = [
            (await client.get(r["url"].replace(root(opendata), ""))) for r in show["result"]["resources"]
        ]
        not_found = await client.get(f"{api}/package_show", params={"id": "gibt-es-nicht"})
        no_id = await client.get(f"{api}/package_show")
        bad_rows = await client.get(f"{api}/package_search", params={"rows": "viele"})
        bad_field = await client.get(f"{api}/package_search", params={"fq": "author:x"})
        unknown = await client.get(f"{api}/package_delete")
        not_json = await client.post(f"{api}/package_show", content=b"{kaputt")
        legacy = (await client.get(f"{PREFIX}/api/action/package_list")).json()
        openapi = await client.get(f"{PREFIX}/schema/openapi.json")

    help_url = f"{root(opendata)}{api}/help_show?name=package_list"
    assert names == {"help": help_url, "success": True, "result": [DATASET]}
    assert legacy["result"] == [DATASET]
    pkg = show["result"]
    assert show["success"] is True and by_id["result"] == pkg
    for field in ("id", "name", "title", "notes", "license_id", "license_title", "organization", "resources",
                  "metadata_modified", "metadata_created", "num_resources", "tags", "num_tags", "owner_org"):  # fmt: skip
        assert field in pkg, field
    assert pkg["name"] == DATASET and pkg["license_id"] == "dl-by-de/2.0" and pkg["num_resources"] == 2
    assert (
        pkg["organization"]["title"] == "Landeshauptstadt München"
        and pkg["owner_org"] == pkg["organization"]["id"]
    )
    assert {r["format"] for r in pkg["resources"]} == {"CSV", "JSON"}
    assert {r["mimetype"] for r in pkg["resources"]} == {"text/csv", "application/json"}
    assert "Parken" in [t["name"] for t in pkg["tags"]]
    assert search["result"]["count"] == 1 and search["result"]["results"][0]["name"] == DATASET
    assert none["result"] == {**none["result"], "count": 0, "results": []}
    assert paged["result"]["count"] == 1 and paged["result"]["results"] == []
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


async def test_unknown_outcome_is_dead_lettered_not_dropped(
    world: tuple[Kernel, ModuleApp, Kernel, Kernel],
) -> None:
    opendata, _, eakte, output = world
    case_id = str(uuid.uuid4())
    async with eakte.transaction() as uow:
        await uow.emit(opened(case_id, MAX), subject=case_id)
    async with output.transaction() as uow:
        await uow.emit(delivered(case_id, outcome="vertagt"), subject=case_id)

    async def parked() -> bool:
        return opendata.consumer.dead_lettered == 1 and opendata.consumer.handled == 1

    await eventually(parked, timeout=60)
    async with opendata.db.session() as s:
        counts = await store.counts(s, "bewohnerparkausweis")
    assert counts == {"antraege": {(MAX, "2026-11"): 1}, "erteilt": {}}
