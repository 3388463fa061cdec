"""What the portal publishes: Stadtbezirke and months, the two tables as CSV and JSON,
CKAN shapes, DCAT for every dataset."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rathaus.opendata import ckan, dcat
from rathaus.opendata.domain.datasets import DatasetDefinition, PublishedDataset, definitions, monat, publish
from rathaus.opendata.domain.formats import (
    as_csv,
    as_json,
    csv_bytes,
    german_month,
    json_bytes,
    times_csv,
    times_json,
)
from rathaus.opendata.domain.stadtbezirke import STADTBEZIRKE, UNBEKANNT, stadtbezirk
from rathaus.platform.kernel.procedures import Procedures

BASE = "https://daten.rathaus.example/opendaten"
PARKING = "bewohnerparkausweise-stadtbezirk-monat"
LV, MAX = "02 Ludwigsvorstadt-Isarvorstadt", "03 Maxvorstadt"
COUNTS = {  # the single application in LV hides in a cycle through LV and „unbekannt“ only
    "antraege": {(LV, "2026-11"): 1, (LV, "2026-10"): 3, (MAX, "2026-11"): 6, (MAX, "2026-10"): 4}
    | {(UNBEKANNT, "2026-10"): 3, (UNBEKANNT, "2026-11"): 4},
    "bewilligt": {(MAX, "2026-11"): 7, (MAX, "2026-10"): 3},
    "abgelehnt": {(MAX, "2026-11"): 3},
}
HOURS = {"2026-10": [20, 30, 40], "2026-11": [5, 10, 20, 30, 40, 50, 60, 70, 80, 300]}


@pytest.fixture(scope="module")
def parking() -> DatasetDefinition:
    return definitions(Procedures.load())[PARKING]


@pytest.fixture
def ds(parking: DatasetDefinition) -> PublishedDataset:
    return publish(
        parking, COUNTS, HOURS, created="2026-10-01T08:00:00+00:00", modified="2026-11-23T16:00:00+00:00"
    )


def test_stadtbezirke() -> None:
    assert (
        len(STADTBEZIRKE) == 25 and STADTBEZIRKE[0] == "01 Altstadt-Lehel" and STADTBEZIRKE[-1] == "25 Laim"
    )
    assert stadtbezirk(LV) == LV
    assert stadtbezirk("2") == stadtbezirk("02") == stadtbezirk(" Ludwigsvorstadt-Isarvorstadt ") == LV
    assert stadtbezirk("schwabing-west") == "04 Schwabing-West"
    for raw in ("", None, "26", "0", "Paris", "123"):
        assert stadtbezirk(raw) == UNBEKANNT


def test_month_in_munich() -> None:
    assert monat("2026-10-31T23:30:00+00:00") == "2026-11"  # CET: already November
    assert monat("2026-06-30T22:30:00Z") == "2026-07"  # CEST
    assert monat("2026-06-30T21:30:00+00:00") == "2026-06"
    assert monat("2026-06-30T23:59:00") == "2026-07"  # naive = UTC
    assert german_month("2026-03") == "März 2026"


def test_json_shape(ds: PublishedDataset) -> None:
    body = json.loads(json_bytes(ds))
    assert body["id"] == "bewohnerparkausweise-stadtbezirk-monat" and body["modified"] == ds.modified
    assert [(r["stadtbezirk"], r["monat"]) for r in body["rows"]] == [
        (LV, "2026-10"), (MAX, "2026-10"), (UNBEKANNT, "2026-10"),
        (LV, "2026-11"), (MAX, "2026-11"), (UNBEKANNT, "2026-11"),
    ]  # fmt: skip
    hidden = {(r["stadtbezirk"], r["monat"]) for r in body["rows"] if r["antraege_gesperrt"]}
    assert hidden == {(LV, "2026-10"), (LV, "2026-11"), (UNBEKANNT, "2026-10"), (UNBEKANNT, "2026-11")}
    assert not any(r["bewilligt_gesperrt"] or r["abgelehnt_gesperrt"] for r in body["rows"])
    keys = ("antraege", "bewilligt", "abgelehnt")
    for row in body["rows"]:
        assert set(row) == {"stadtbezirk", "monat", *keys, *(f"{k}_gesperrt" for k in keys)}
        for key in keys:
            assert (row[key] is None) == row[f"{key}_gesperrt"]
    lv = next(r for r in body["rows"] if r["stadtbezirk"] == LV)
    assert lv["antraege"] is None and lv["antraege_gesperrt"] is True and lv["bewilligt"] == 0
    assert body["summen"]["insgesamt"]["bewilligt"] == 10 and body["summen"]["insgesamt"]["abgelehnt"] == 3
    assert body["tabelle"] == "fallzahlen" and body["leistung"]["leika"] == "99108001000000"
    assert {c["name"] for c in body["spalten"]} >= {"stadtbezirk", "monat", "antraege_gesperrt"}
    assert body["zeitraum"] == {"von": "2026-10-01", "bis": "2026-11-30"}
    assert as_json(ds) == body


def test_csv_shape(ds: PublishedDataset) -> None:
    raw = csv_bytes(ds)
    assert raw.decode("utf-8") == as_csv(ds) and b"\r\n" in raw
    lines = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert [r["monat"] for r in lines][:6] == ["2026-10"] * 3 + ["2026-11"] * 3
    lv = next(r for r in lines if r["stadtbezirk"] == LV and r["monat"] == "2026-11")
    assert lv == {
        "stadtbezirk": LV, "monat": "2026-11", "antraege": "", "antraege_gesperrt": "ja",
        "bewilligt": "0", "bewilligt_gesperrt": "nein", "abgelehnt": "0", "abgelehnt_gesperrt": "nein",
    }  # fmt: skip
    totals = [r for r in lines if "insgesamt" in (r["stadtbezirk"], r["monat"])]
    assert len(totals) == 3 + 2 + 1  # per Stadtbezirk, per month, overall
    assert {"stadtbezirk": "insgesamt", "monat": "insgesamt"}.items() <= totals[-1].items()


def test_processing_times_shape(ds: PublishedDataset) -> None:
    body = times_json(ds)
    assert body["tabelle"] == "bearbeitungsdauer" and "mindestens 5" in body["bearbeitungsdauer"]
    assert {c["name"] for c in body["spalten"]} == set(body["rows"][0])
    october, november = body["rows"]
    # October: 3 Bescheide, published, but too few for percentiles
    assert october == {
        "monat": "2026-10", "bescheide": 3, "bescheide_gesperrt": False,
        "dauer_median_tage": None, "dauer_p90_tage": None, "dauer_grund": "weniger als 5 Bescheide",
    }  # fmt: skip
    # November: 10 Bescheide; median of the hours 45 -> 1.875 -> 1.9 days, p90 at rank 9.1:
    # 80 + 0.1 * 220 = 102 h -> 4.25 -> 4.3 (halves up)
    assert november["bescheide"] == 10 and november["dauer_median_tage"] == 1.9
    assert november["dauer_p90_tage"] == 4.3 and november["dauer_grund"] is None
    assert body["insgesamt"]["bescheide"] == 13 and body["insgesamt"]["monat"] == "insgesamt"
    lines = list(csv.DictReader(io.StringIO(times_csv(ds))))
    assert lines[1] == {
        "monat": "2026-11", "bescheide": "10", "bescheide_gesperrt": "nein",
        "dauer_median_tage": "1.9", "dauer_p90_tage": "4.3", "dauer_grund": "",
    }  # fmt: skip
    assert lines[0]["dauer_median_tage"] == "" and lines[-1]["monat"] == "insgesamt"


def test_empty_dataset_still_publishes(parking: DatasetDefinition) -> None:
    empty = publish(parking, {}, created="2026-11-01T00:00:00+00:00", modified="2026-11-01T00:00:00+00:00")
    body = as_json(empty)
    assert body["rows"] == [] and body["zeitraum"] is None and body["summen"]["insgesamt"]["antraege"] == 0
    assert times_json(empty)["rows"] == [] and times_json(empty)["insgesamt"]["bescheide"] == 0
    assert dcat.validate(dcat.jsonld_bytes([empty], BASE)) == []


def test_ckan_package_and_resources(ds: PublishedDataset) -> None:
    status, body = ckan.call("package_show", {"id": ds.definition.id}, [ds], BASE)
    assert status == 200 and body["success"] is True
    assert body["help"] == f"{BASE}/api/3/action/help_show?name=package_show"
    pkg = body["result"]
    assert pkg["license_id"] == "dl-by-de/2.0" and pkg["isopen"] is True and pkg["private"] is False
    assert (
        pkg["metadata_modified"] == "2026-11-23T16:00:00" and pkg["metadata_created"] == "2026-10-01T08:00:00"
    )
    assert pkg["num_tags"] == len(pkg["tags"]) and pkg["num_resources"] == len(pkg["resources"]) == 4
    assert [(r["format"], r["url"].rsplit("/", 1)[1]) for r in pkg["resources"]] == [
        ("CSV", "fallzahlen.csv"), ("JSON", "fallzahlen.json"),
        ("CSV", "bearbeitungsdauer.csv"), ("JSON", "bearbeitungsdauer.json"),
    ]  # fmt: skip
    assert len({r["id"] for r in pkg["resources"]}) == 4
    csv_resource = pkg["resources"][0]
    assert csv_resource["url"] == f"{BASE}/datasets/{ds.definition.id}/fallzahlen.csv"
    assert csv_resource["format"] == "CSV" and csv_resource["size"] == len(csv_bytes(ds))
    assert csv_resource["package_id"] == pkg["id"]
    assert ckan.call("resource_show", {"id": csv_resource["id"]}, [ds], BASE)[1]["result"] == csv_resource
    # ids are stable: the same in another process
    assert ckan.call("package_show", {"id": pkg["id"]}, [ds], BASE)[1]["result"]["id"] == pkg["id"]
    assert {"key": "temporal_start", "value": "2026-10-01"} in pkg["extras"]
    assert {"key": "leika", "value": "99108001000000"} in pkg["extras"]


def test_ckan_search(ds: PublishedDataset) -> None:
    def search(**params: object) -> dict[str, Any]:
        status, body = ckan.call("package_search", params, [ds], BASE)
        assert status == 200, body
        result: dict[str, Any] = body["result"]
        return result

    assert search()["count"] == 1
    assert search(q="Stadtbezirk")["count"] == 1 and search(q="Hundesteuer")["count"] == 0
    assert search(q="tags:Parken")["count"] == 1 and search(q="tags:Hunde")["count"] == 0
    assert search(fq='res_format:"CSV" AND +organization:landeshauptstadt-muenchen')["count"] == 1
    assert search(fq="license_id:cc-by")["count"] == 0
    assert (
        search(rows=0)["results"] == []
        and search(rows="1", start="0")["results"][0]["name"] == ds.definition.id
    )
    assert search(sort="name asc")["sort"] == "name asc"


@pytest.mark.parametrize(
    ("action", "params", "status", "kind"),
    [
        ("package_show", {}, 409, "Validation Error"),
        ("package_show", {"id": "nix"}, 404, "Not Found Error"),
        ("resource_show", {}, 409, "Validation Error"),
        ("resource_show", {"id": "nix"}, 404, "Not Found Error"),
        ("package_search", {"rows": "-1"}, 409, "Validation Error"),
        ("package_search", {"start": "x"}, 409, "Validation Error"),
        ("package_search", {"fq": "maintainer:x"}, 409, "Validation Error"),
        ("package_search", {"q": "a OR b"}, 409, "Validation Error"),
        ("package_search", {"sort": "random"}, 409, "Validation Error"),
        ("package_search", {"q": 'tags:"offen'}, 409, "Validation Error"),
        ("help_show", {"name": "nix"}, 404, "Not Found Error"),
        ("package_create", {}, 400, "Bad Request"),
    ],
)
def test_ckan_errors(
    ds: PublishedDataset, action: str, params: dict[str, str], status: int, kind: str
) -> None:
    got, body = ckan.call(action, params, [ds], BASE)
    assert got == status and body["success"] is False and "result" not in body
    assert body["error"]["__type"] == kind and body["error"]["message"]


def test_ckan_help_and_status(ds: PublishedDataset) -> None:
    assert "id or name" in ckan.call("help_show", {"name": "package_show"}, [ds], BASE)[1]["result"]
    assert ckan.call("status_show", {}, [ds], BASE)[1]["result"]["site_url"] == BASE


def test_dcat_catalogue_conforms(ds: PublishedDataset) -> None:
    data = dcat.jsonld_bytes([ds], BASE)
    assert dcat.validate(data) == [] and dcat.report(data) == []
    graph = json.loads(data)["@graph"]
    dataset = next(n for n in graph if n.get("@type") == "dcat:Dataset")
    assert dataset["dct:relation"]["@id"] == "urn:de:fim:leika:leistung:99108001000000"
    assert len(dataset["dcat:distribution"]) == 4
    assert dataset["dcatde:contributorID"]["@id"].startswith("http://dcat-ap.de/def/contributors/")
    assert dataset["dct:spatial"]["@id"].endswith("/09162000")
    assert dataset["dct:temporal"]["dcat:startDate"]["@value"] == "2026-10-01"
    distributions = [n for n in graph if n.get("@type") == "dcat:Distribution"]
    assert len(distributions) == 4
    assert {d["dct:format"]["@id"].rsplit("/", 1)[1] for d in distributions} == {"CSV", "JSON"}
    assert all(
        d["dct:license"]["@id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0" for d in distributions
    )
    assert "@prefix dcat:" in dcat.turtle(data)


def test_every_dataset_in_ckan_and_dcat(ds: PublishedDataset, write_service: Callable[..., Path]) -> None:
    root = write_service("test-sperrmuell", 1, "test-sperrmuell-stadtbezirk-monat", themes=("ENVI", "REGI"))
    write_service(
        "test-fundsache", 1, "test-fundsachen-stadtbezirk-monat", leika="99001001000000", themes=("SOCI",)
    )
    found = definitions(Procedures.load([root]))
    others = [
        publish(found["test-sperrmuell-stadtbezirk-monat"], {}, created=ds.created, modified=ds.modified),
        publish(
            found["test-fundsachen-stadtbezirk-monat"],
            {"antraege": {(MAX, "2026-11"): 4}, "abgelehnt": {(MAX, "2026-11"): 4}},
            {"2026-11": [1, 2, 3, 4]},
            created=ds.created,
            modified=ds.modified,
        ),
    ]
    every = [ds, *others]
    names = ckan.call("package_list", {}, every, BASE)[1]["result"]
    assert names == sorted(d.definition.id for d in every)
    for d in every:
        pkg = ckan.call("package_show", {"id": d.definition.id}, every, BASE)[1]["result"]
        assert pkg["num_resources"] == 4 and pkg["title"] == d.definition.title
    assert ckan.call("package_search", {"q": "tags:Test"}, every, BASE)[1]["result"]["count"] == 2
    data = dcat.jsonld_bytes(every, BASE)
    assert dcat.validate(data) == [] and dcat.report(data) == []
    graph = json.loads(data)["@graph"]
    datasets = [n for n in graph if n.get("@type") == "dcat:Dataset"]
    assert sorted(n["dct:identifier"] for n in datasets) == names
    assert sum("dct:relation" in n for n in datasets) == 2  # the one without a LeiKa key has none
    themes = {n["@id"].rsplit("/", 1)[1] for n in graph if "/data-theme/" in n.get("@id", "")}
    assert themes == {"TRAN", "GOVE", "ENVI", "REGI", "SOCI"}


def test_dcat_validation_finds_violations(ds: PublishedDataset) -> None:
    doc = json.loads(dcat.jsonld_bytes([ds], BASE))
    for node in doc["@graph"]:
        if node.get("@type") == "dcat:Distribution":
            del node["dct:license"]
        if node.get("@type") == "dcat:Dataset":
            del node["dct:publisher"]
            node["dcat:theme"] = [{"@id": "http://example.org/kein-eu-thema"}]
    violations = dcat.validate(json.dumps(doc).encode())
    assert any("dcterms:license" in v for v in violations)
    assert any("publisher" in v for v in violations)
    assert any("dcat:theme" in v for v in violations)
    assert dcat.validate(b"{kein json") != []
