"""The Postkorb dataset as records, CSV and JSON, and as the catalogue lists it.

Two tables of one grain each (Leistung × Monat), so four files: ``nachforderungen`` (one
row per service and month sent: cases with a Nachforderung, the four outcomes each with its
suppression flag, the median days until the reply and why it is missing) and
``bekanntgabe`` (one row per service and month delivered: the five kinds of notice), each
followed by the totals with „insgesamt“; the shape of a service's ``fallzahlen`` with the
service in place of the Stadtbezirk. The months mean different things in the two tables
(sent vs. delivered), so they are two files rather than one.
"""

from __future__ import annotations

import json
from typing import Any

from rathaus.opendata.domain.catalogue import LICENCE, PUBLISHER
from rathaus.opendata.domain.disclosure import Cell
from rathaus.opendata.domain.entries import Download, Entry
from rathaus.opendata.domain.formats import INSGESAMT, csv_text, flag, period
from rathaus.opendata.domain.postkorb import (
    ANTWORTDAUER,
    BG_TABLES,
    FEW,
    GEHEIMHALTUNG,
    HIDDEN,
    LABELS,
    NF_TABLES,
    NOTES,
    POSTKORB_ID,
    SCOPE,
    SUMMARY,
    TAGS,
    THEMES,
    TITLE,
    WITHHELD,
    ZAEHLWEISE,
    Group,
    PostkorbDataset,
)

NACHFORDERUNGEN, BEKANNTGABE = "nachforderungen", "bekanntgabe"
TABLES = (NACHFORDERUNGEN, BEKANNTGABE)
HEADINGS = {
    NACHFORDERUNGEN: "Nachforderungen je Leistung und Monat der Nachforderung",
    BEKANNTGABE: "Bekanntgabe der Bescheide je Leistung und Monat der Zustellung",
}
MONTHS = {
    NACHFORDERUNGEN: "Monat der Nachforderung (JJJJ-MM)",
    BEKANNTGABE: "Monat der Zustellung des Bescheids (JJJJ-MM)",
}
MEDIAN, GRUND = "antwort_median_tage", "antwort_median_grund"


def group(ds: PostkorbDataset, table: str) -> Group:
    return ds.nachforderungen if table == NACHFORDERUNGEN else ds.bekanntgabe


def _values(ds: PostkorbDataset, table: str, cell: Cell) -> dict[str, Any]:
    g = group(ds, table)
    out: dict[str, Any] = {}
    for key in g.keys:
        value = g.tables[key].values[cell]
        out[key] = value
        out[flag(key)] = value is None
    if table == NACHFORDERUNGEN:
        median = ds.medians[cell]
        out[MEDIAN] = median.days
        out[GRUND] = median.reason or None
    return out


def _service(ds: PostkorbDataset, service_id: str) -> dict[str, str]:
    return {"leistung": ds.titles[service_id], "leistung_id": service_id}


def records(ds: PostkorbDataset, table: str) -> list[dict[str, Any]]:
    """One record per service and month with at least one case; suppressed = None."""
    return [
        {**_service(ds, r), "monat": c, **_values(ds, table, (r, c))} for r, c in group(ds, table).present
    ]


def totals(ds: PostkorbDataset, table: str) -> dict[str, Any]:
    g = group(ds, table)
    return {
        "leistungen": [{**_service(ds, r), **_values(ds, table, (r, None))} for r in g.rows],
        "monate": [{"monat": c, **_values(ds, table, (None, c))} for c in g.cols],
        "insgesamt": _values(ds, table, (None, None)),
    }


def columns(table: str) -> list[dict[str, str]]:
    cols = [
        {"name": "leistung", "titel": "Leistung", "beschreibung": "Titel der Verwaltungsleistung"},
        {"name": "leistung_id", "titel": "Kennung der Leistung", "beschreibung": "Kennung im Online-Portal"},
        {"name": "monat", "titel": "Monat", "beschreibung": MONTHS[table]},
    ]
    for key in NF_TABLES if table == NACHFORDERUNGEN else BG_TABLES:
        title, description = LABELS[key]
        cols.append({"name": key, "titel": title, "beschreibung": description})
        cols.append({"name": flag(key), "titel": f"{title} gesperrt", "beschreibung": "Wert gesperrt"})
    if table == NACHFORDERUNGEN:
        cols.append(
            {
                "name": MEDIAN,
                "titel": "Tage bis zur Antwort (Median)",
                "beschreibung": "Die Hälfte der beantworteten Nachforderungen war nach so vielen Tagen beantwortet",
            }
        )
        cols.append(
            {
                "name": GRUND,
                "titel": "Warum kein Median",
                "beschreibung": f"leer, wenn er steht; sonst „{HIDDEN}“ oder „{FEW}“",
            }
        )
    return cols


def as_json(ds: PostkorbDataset, table: str) -> dict[str, Any]:
    """Metadata, „rows“ (per service and month) and „summen“."""
    span = period(ds)
    return {
        "id": POSTKORB_ID,
        "tabelle": table,
        "titel": f"{TITLE}: {HEADINGS[table]}",
        "beschreibung": NOTES,
        "herausgeber": PUBLISHER,
        "lizenz": {"id": LICENCE.id, "titel": LICENCE.title, "url": LICENCE.url},
        "created": ds.created,
        "modified": ds.modified,
        "zeitraum": {"von": span[0], "bis": span[1]} if span else None,
        "zaehlweise": ZAEHLWEISE,
        **({"antwortdauer": ANTWORTDAUER} if table == NACHFORDERUNGEN else {}),
        "geheimhaltung": GEHEIMHALTUNG,
        "ganz_gesperrt": group(ds, table).withheld,
        **({"hinweis": WITHHELD} if group(ds, table).withheld else {}),
        "spalten": columns(table),
        "rows": records(ds, table),
        "summen": totals(ds, table),
    }


def as_csv(ds: PostkorbDataset, table: str) -> str:
    """RFC 4180 CSV: the records, then the totals with „insgesamt“ in place of the service,
    the month or both; a suppressed value is empty and flagged „ja“."""
    sums = totals(ds, table)
    everywhere = {"leistung": INSGESAMT, "leistung_id": INSGESAMT}
    rows = [
        *records(ds, table),
        *({**t, "monat": INSGESAMT} for t in sums["leistungen"]),
        *({**t, **everywhere} for t in sums["monate"]),
        {**sums["insgesamt"], **everywhere, "monat": INSGESAMT},
    ]
    return csv_text([c["name"] for c in columns(table)], rows)


def downloads(ds: PostkorbDataset) -> list[Download]:
    """The four files, encoded once per published dataset."""
    found = ds.derived.get("downloads")
    if found is None:
        made = []
        for table in TABLES:
            heading = HEADINGS[table]
            made.append(
                Download(
                    table,
                    "csv",
                    "CSV",
                    "text/csv",
                    f"{TITLE}: {heading} (CSV)",
                    "Je Leistung und Monat, dann die Summen („insgesamt“); UTF-8, Komma, Kopfzeile. "
                    "Gesperrte Werte sind leer, die Spalte „…_gesperrt“ sagt „ja“.",
                    as_csv(ds, table).encode("utf-8"),
                    POSTKORB_ID,
                    heading,
                )
            )
            made.append(
                Download(
                    table,
                    "json",
                    "JSON",
                    "application/json",
                    f"{TITLE}: {heading} (JSON)",
                    "Objekt mit Metadaten, „rows“ (je Leistung und Monat) und „summen“; "
                    "gesperrte Werte sind null, mit „…_gesperrt“: true.",
                    json.dumps(as_json(ds, table), ensure_ascii=False, indent=1).encode("utf-8"),
                    POSTKORB_ID,
                    heading,
                )
            )
        found = ds.derived["downloads"] = tuple(made)
    return list(found)


def download(ds: PostkorbDataset, table: str, suffix: str) -> Download | None:
    return next((d for d in downloads(ds) if (d.table, d.suffix) == (table, suffix)), None)


def entry(ds: PostkorbDataset) -> Entry:
    """The Postkorb dataset as the catalogue lists it."""
    return Entry(
        id=POSTKORB_ID,
        title=TITLE,
        summary=SUMMARY,
        notes=NOTES,
        tags=TAGS,
        themes=THEMES,
        scope=SCOPE,
        extras=(),
        relation="",
        provenance=GEHEIMHALTUNG,
        created=ds.created,
        modified=ds.modified,
        period=period(ds),
        downloads=tuple(downloads(ds)),
    )
