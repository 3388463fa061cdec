"""DCAT-AP.de 3.0 metadata of the portal as JSON-LD (and Turtle), and its validation
against the official SHACL shapes shipped in ``shapes/`` (DCAT-AP 3.0.0 by SEMIC, the
DCAT-AP.de additions by GovData; see shapes/SOURCES.txt).

Validation runs offline without inference, so the concepts of the controlled
vocabularies the metadata uses (EU data themes, languages, file types, DCAT-AP.de
licences, …) are described in the catalogue itself with their ``skos:inScheme``, as the
shapes check. One ``dcat:Dataset`` per service, with four distributions (counts and
processing times, CSV and JSON) and, where the service has a LeiKa key, ``dct:relation``
to the service (``urn:de:fim:leika:leistung:<key>``, as FIT-Connect names it); one for the
online payments of fees across services, with two (CSV and JSON). Munich is
given as ``dct:spatial`` with its municipality key (DCAT-AP.de 3.0 deprecates
``dcatde:politicalGeocodingURI`` for this; the shapes warn about it) and
``dcatde:politicalGeocodingLevelURI``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from rathaus.opendata.domain.catalogue import (
    CATALOGUE_DESCRIPTION,
    CATALOGUE_TITLE,
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTRIBUTOR_ID,
    GEOCODING_LEVEL,
    LICENCE,
    PUBLISHER,
    PUBLISHER_TYPE,
    SPATIAL,
    THEMES,
)
from rathaus.opendata.domain.datasets import PublishedDataset
from rathaus.opendata.domain.entries import Entry
from rathaus.opendata.domain.formats import entry

SHAPES = Path(__file__).parent / "shapes"
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatde": "http://dcat-ap.de/def/dcatde/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
SH = "http://www.w3.org/ns/shacl#"


def _de(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "de"}


def _ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


def _typed(value: str, datatype: str) -> dict[str, str]:
    return {"@value": value, "@type": f"xsd:{datatype}"}


def _concept(iri: str, scheme: str, label: str) -> dict[str, Any]:
    return {"@id": iri, "@type": "skos:Concept", "skos:inScheme": _ref(scheme), "skos:prefLabel": _de(label)}


def _dataset(ds: Entry, base: str) -> list[dict[str, Any]]:
    page = f"{base}/datasets/{ds.id}"
    nodes: list[dict[str, Any]] = []
    dataset: dict[str, Any] = {
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": ds.id,
        "dct:title": _de(ds.title),
        "dct:description": _de(ds.notes),
        "dct:publisher": _ref(f"{base}/#herausgeber"),
        "dcat:contactPoint": _ref(f"{base}/#kontakt"),
        "dcat:theme": [_ref(f"{EU}data-theme/{t}") for t in ds.themes],
        "dcat:keyword": [_de(t) for t in ds.tags],
        "dcatde:contributorID": _ref(CONTRIBUTOR_ID),
        "dcatde:politicalGeocodingLevelURI": _ref(GEOCODING_LEVEL),
        "dct:spatial": _ref(SPATIAL),
        "dct:accrualPeriodicity": _ref(f"{EU}frequency/UPDATE_CONT"),
        "dct:accessRights": _ref(f"{EU}access-right/PUBLIC"),
        "dct:language": _ref(f"{EU}language/DEU"),
        "dct:issued": _typed(ds.created, "dateTime"),
        "dct:modified": _typed(ds.modified, "dateTime"),
        "dcat:landingPage": _ref(page),
        **({"dct:relation": _ref(ds.relation)} if ds.relation else {}),
        "dct:provenance": {"@type": "dct:ProvenanceStatement", "rdfs:label": _de(ds.provenance)},
        "dcat:distribution": [],
    }
    span = ds.period
    if span:
        dataset["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _typed(span[0], "date"),
            "dcat:endDate": _typed(span[1], "date"),
        }
    for d in ds.downloads:
        url = base + d.path
        dataset["dcat:distribution"].append(_ref(f"{url}#distribution"))
        nodes.append(
            {
                "@id": f"{url}#distribution",
                "@type": "dcat:Distribution",
                "dct:title": _de(d.title),
                "dct:description": _de(d.description),
                "dcat:accessURL": _ref(url),
                "dcat:downloadURL": _ref(url),
                "dct:format": _ref(f"{EU}file-type/{d.format}"),
                "dcat:mediaType": _ref(IANA + d.media_type),
                "dcat:byteSize": _typed(str(len(d.data)), "nonNegativeInteger"),
                "dct:license": _ref(LICENCE.uri),
                "dcatde:licenseAttributionByText": _de(LICENCE.attribution),
                "dct:language": _ref(f"{EU}language/DEU"),
                "dct:issued": _typed(ds.created, "dateTime"),
                "dct:modified": _typed(ds.modified, "dateTime"),
            }
        )
    return [dataset, *nodes]


def _vocabulary(datasets: list[Entry]) -> list[dict[str, Any]]:
    themes = sorted({t for ds in datasets for t in ds.themes})
    return [
        _concept(f"{EU}language/DEU", f"{EU}language", "Deutsch"),
        _concept(f"{EU}frequency/UPDATE_CONT", f"{EU}frequency", "laufend aktualisiert"),
        _concept(f"{EU}access-right/PUBLIC", f"{EU}access-right", "öffentlich"),
        _concept(f"{EU}file-type/CSV", f"{EU}file-type", "CSV"),
        _concept(f"{EU}file-type/JSON", f"{EU}file-type", "JSON"),
        _concept(LICENCE.uri, "http://dcat-ap.de/def/licenses", LICENCE.title),
        _concept(CONTRIBUTOR_ID, "http://dcat-ap.de/def/contributors", PUBLISHER),
        _concept(GEOCODING_LEVEL, "http://dcat-ap.de/def/politicalGeocoding/Level", "Gemeinde"),
        _concept(PUBLISHER_TYPE, "http://purl.org/adms/publishertype/1.0", "Kommunalverwaltung"),
        *(_concept(f"{EU}data-theme/{t}", f"{EU}data-theme", THEMES[t]) for t in themes),
        {
            "@id": f"{EU}data-theme",
            "@type": "skos:ConceptScheme",
            "dct:title": _de("Datenthemen der EU"),
        },
        {"@id": SPATIAL, "@type": "dct:Location", "skos:prefLabel": _de("München")},
    ]


def catalogue(listed: Sequence[PublishedDataset | Entry], base: str) -> dict[str, Any]:
    """The portal's dcat:Catalog with its datasets, distributions and the CKAN API as
    dcat:DataService; ``base`` is the absolute URL of the portal (…/opendaten)."""
    datasets = [entry(d) for d in listed]
    modified = max((ds.modified for ds in datasets), default=None)
    issued = min((ds.created for ds in datasets), default=None)
    api = f"{base}/api/3/action/"
    catalog: dict[str, Any] = {
        "@id": f"{base}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": _de(CATALOGUE_TITLE),
        "dct:description": _de(CATALOGUE_DESCRIPTION),
        "dct:publisher": _ref(f"{base}/#herausgeber"),
        "foaf:homepage": _ref(f"{base}/"),
        "dct:language": _ref(f"{EU}language/DEU"),
        "dct:license": _ref(LICENCE.uri),
        "dcat:themeTaxonomy": _ref(f"{EU}data-theme"),
        "dcat:dataset": [_ref(f"{base}/datasets/{ds.id}") for ds in datasets],
        "dcat:service": _ref(api),
    }
    if modified and issued:
        catalog["dct:modified"] = _typed(modified, "dateTime")
        catalog["dct:issued"] = _typed(issued, "dateTime")
    graph: list[dict[str, Any]] = [
        catalog,
        {
            "@id": f"{base}/#herausgeber",
            "@type": "foaf:Agent",
            "foaf:name": _de(PUBLISHER),
            "dct:type": _ref(PUBLISHER_TYPE),
        },
        {
            "@id": f"{base}/#kontakt",
            "@type": ["vcard:Kind", "vcard:Organization"],
            "vcard:fn": CONTACT_NAME,
            "vcard:hasEmail": _ref(f"mailto:{CONTACT_EMAIL}"),
            "vcard:hasURL": _ref(f"{base}/"),
        },
        {
            "@id": api,
            "@type": "dcat:DataService",
            "dct:title": _de("CKAN-kompatible Action API"),
            "dct:description": _de("Suche und Metadaten der Datensätze (package_search, package_show, …)."),
            "dct:publisher": _ref(f"{base}/#herausgeber"),
            "dcat:endpointURL": _ref(api),
            "dcat:endpointDescription": _ref(f"{base}/schema/openapi.json"),
            "dct:license": _ref(LICENCE.uri),
            "dct:accessRights": _ref(f"{EU}access-right/PUBLIC"),
            "dcat:servesDataset": [_ref(f"{base}/datasets/{ds.id}") for ds in datasets],
        },
        *(node for ds in datasets for node in _dataset(ds, base)),
        *_vocabulary(datasets),
    ]
    return {"@context": CONTEXT, "@graph": graph}


def jsonld_bytes(datasets: Sequence[PublishedDataset | Entry], base: str) -> bytes:
    return json.dumps(catalogue(datasets, base), ensure_ascii=False, indent=1).encode("utf-8")


def turtle(data: bytes) -> str:
    """The same metadata as Turtle."""
    import rdflib

    graph = rdflib.Graph().parse(data=data, format="json-ld")
    for prefix, iri in CONTEXT.items():
        graph.bind(prefix, iri)
    return str(graph.serialize(format="turtle"))


@cache
def _shapes() -> Any:
    import rdflib

    graph = rdflib.Graph()
    for path in sorted(SHAPES.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def report(data: bytes) -> list[tuple[str, str]]:
    """Every SHACL result for JSON-LD ``data`` as (severity, text): Violation, Warning, Info."""
    import pyshacl
    import rdflib

    try:
        graph = rdflib.Graph().parse(data=data, format="json-ld")
    except Exception as exc:  # rdflib raises many kinds for bad input
        return [("Violation", f"JSON-LD nicht lesbar: {type(exc).__name__}: {exc}")]
    _, results, _ = pyshacl.validate(graph, shacl_graph=_shapes(), inference="none")
    sh = rdflib.Namespace(SH)
    out = []
    for result in results.subjects(rdflib.RDF.type, sh.ValidationResult):
        severity = str(results.value(result, sh.resultSeverity)).removeprefix(SH)
        focus, path = results.value(result, sh.focusNode), results.value(result, sh.resultPath)
        message = results.value(result, sh.resultMessage)
        out.append((severity, f"{focus} {path}: {message}"))
    return sorted(out)


def validate(data: bytes) -> list[str]:
    """Violations of the DCAT-AP.de 3.0 shapes by JSON-LD ``data``; [] = conforms."""
    return [text for severity, text in report(data) if severity == "Violation"]
