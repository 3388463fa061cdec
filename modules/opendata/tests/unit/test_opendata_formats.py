"""What the portal publishes: Stadtbezirke and months, CSV and JSON, CKAN shapes, DCAT."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from rathaus.opendata import ckan, dcat
from rathaus.opendata.domain.datasets import BEWOHNERPARKAUSWEISE, PublishedDataset, monat, publish
from rathaus.opendata.domain.formats import as_csv, as_json, csv_bytes, german_month, json_bytes
from rathaus.opendata.domain.stadtbezirke import STADTBEZIRKE, UNBEKANNT, stadtbezirk

BASE = "https://daten.rathaus.example/opendaten"
LV, MAX = "02 Ludwigsvorstadt-Isarvorstadt", "03 Maxvorstadt"
COUNTS = {
    "antraege": {(LV, "2026-11"): 1, (MAX, "2026-11"): 6, (MAX, "2026-10"): 4, (UNBEKANNT, "2026-10"): 3},
    "erteilt": {(MAX, "2026-11"): 7, (MAX, "2026-10"): 3},
}


@pytest.fixture
def ds() -> PublishedDataset:
    return publish(
        BEWOHNERPARKAUSWEISE,
        COUNTS,
        created="2026-10-01T08:00:00+00:00",
        modified="2026-11-23T16:00:00+00:00",
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
        (MAX, "2026-10"), (UNBEKANNT, "2026-10"), (LV, "2026-11"), (MAX, "2026-11"),
    ]  # fmt: skip
    for row in body["rows"]:
        assert set(row) == {
            "stadtbezirk",
            "monat",
            "antraege",
            "antraege_gesperrt",
            "erteilt",
            "erteilt_gesperrt",
        }
        for key in ("antraege", "erteilt"):
            assert (row[key] is None) == row[f"{key}_gesperrt"]
    lv = next(r for r in body["rows"] if r["stadtbezirk"] == LV)
    assert lv["antraege"] is None and lv["antraege_gesperrt"] is True and lv["erteilt"] == 0
    assert body["summen"]["insgesamt"]["erteilt"] == 10
    assert {c["name"] for c in body["spalten"]} >= {"stadtbezirk", "monat", "antraege_gesperrt"}
    assert body["zeitraum"] == {"von": "2026-10-01", "bis": "2026-11-30"}
    assert as_json(ds) == body


def test_csv_shape(ds: PublishedDataset) -> None:
    raw = csv_bytes(ds)
    assert raw.decode("utf-8") == as_csv(ds) and b"\r\n" in raw
    lines = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert [r["monat"] for r in lines][:4] == ["2026-10", "2026-10", "2026-11", "2026-11"]
    lv = next(r for r in lines if r["stadtbezirk"] == LV and r["monat"] == "2026-11")
    assert lv == {
        "stadtbezirk": LV, "monat": "2026-11", "antraege": "", "antraege_gesperrt": "ja", "erteilt": "0", "erteilt_gesperrt": "nein",
    }  # fmt: skip
    totals = [r for r in lines if "insgesamt" in (r["stadtbezirk"], r["monat"])]
    assert len(totals) == 3 + 2 + 1  # per Stadtbezirk, per month, overall
    assert {"stadtbezirk": "insgesamt", "monat": "insgesamt"}.items() <= totals[-1].items()


def test_empty_dataset_still_publishes() -> None:
    empty = publish(
        BEWOHNERPARKAUSWEISE, {}, created="2026-11-01T00:00:00+00:00", modified="2026-11-01T00:00:00+00:00"
    )
    body = as_json(empty)
    assert body["rows"] == [] and body["zeitraum"] is None and body["summen"]["insgesamt"]["antraege"] == 0
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
    assert pkg["num_tags"] == len(pkg["tags"]) and pkg["num_resources"] == len(pkg["resources"]) == 2
    csv_resource = pkg["resources"][0]
    assert csv_resource["url"] == f"{BASE}/datasets/{ds.definition.id}.csv"
    assert csv_resource["format"] == "CSV" and csv_resource["size"] == len(csv_bytes(ds))
    assert csv_resource["package_id"] == pkg["id"]
    assert ckan.call("resource_show", {"id": csv_resource["id"]}, [ds], BASE)[1]["result"] == csv_resource
    # ids are stable: the same in another process
    assert ckan.call("package_show", {"id": pkg["id"]}, [ds], BASE)[1]["result"]["id"] == pkg["id"]
    assert {"key": "temporal_start", "value": "2026-10-01"} in pkg["extras"]


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
    assert dataset["dcatde:contributorID"]["@id"].startswith("http://dcat-ap.de/def/contributors/")
    assert dataset["dct:spatial"]["@id"].endswith("/09162000")
    assert dataset["dct:temporal"]["dcat:startDate"]["@value"] == "2026-10-01"
    distributions = [n for n in graph if n.get("@type") == "dcat:Distribution"]
    assert {d["dct:format"]["@id"].rsplit("/", 1)[1] for d in distributions} == {"CSV", "JSON"}
    assert all(
        d["dct:license"]["@id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0" for d in distributions
    )
    assert "@prefix dcat:" in dcat.turtle(data)


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
