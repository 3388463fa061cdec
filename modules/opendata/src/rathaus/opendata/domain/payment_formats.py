"""The payments dataset as records, CSV and JSON, and as the catalogue lists it.

One table, ``zahlungen``: one row per Zahlungsart and month with a case (fees paid online,
fees refunded, each with its suppression flag), then the totals with „insgesamt“; the same
shape as a service's ``fallzahlen`` (see ``formats``) with the payment method in place of
the Stadtbezirk.
"""

from __future__ import annotations

import json
from typing import Any

from rathaus.opendata.domain.catalogue import LICENCE, PUBLISHER
from rathaus.opendata.domain.disclosure import Cell
from rathaus.opendata.domain.entries import Download, Entry
from rathaus.opendata.domain.formats import INSGESAMT, csv_text, flag, period
from rathaus.opendata.domain.payments import (
    BEZAHLT,
    ERSTATTET,
    GEHEIMHALTUNG,
    NOTES,
    PAYMENTS_ID,
    SCOPE,
    SUMMARY,
    TABLES,
    TAGS,
    THEMES,
    TITLE,
    ZAEHLWEISE,
    PaymentsDataset,
    label,
)

ZAHLUNGEN = "zahlungen"
HEADING = "Online bezahlte und erstattete Gebühren je Zahlungsart und Monat"
MEASURES = {
    BEZAHLT: ("Online bezahlte Gebühren", "Fälle, deren Gebühr im Monat online bezahlt wurde."),
    ERSTATTET: ("Erstattete Gebühren", "Fälle, deren Gebühr im Monat nach einer Ablehnung erstattet wurde."),
}


def _counts(ds: PaymentsDataset, cell: Cell) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in TABLES:
        value = ds.tables[key].values[cell]
        out[key] = value
        out[flag(key)] = value is None
    return out


def records(ds: PaymentsDataset) -> list[dict[str, Any]]:
    """One record per Zahlungsart and month with at least one case; suppressed = None."""
    return [{"zahlungsart": label(r), "monat": c, **_counts(ds, (r, c))} for r, c in ds.present]


def totals(ds: PaymentsDataset) -> dict[str, Any]:
    return {
        "zahlungsarten": [{"zahlungsart": label(r), **_counts(ds, (r, None))} for r in ds.rows],
        "monate": [{"monat": c, **_counts(ds, (None, c))} for c in ds.cols],
        "insgesamt": _counts(ds, (None, None)),
    }


def columns() -> list[dict[str, str]]:
    cols = [
        {"name": "zahlungsart", "titel": "Zahlungsart", "beschreibung": "Zahlungsart beim Zahlungsanbieter"},
        {"name": "monat", "titel": "Monat", "beschreibung": "Kalendermonat (JJJJ-MM)"},
    ]
    for key, (title, description) in MEASURES.items():
        cols.append({"name": key, "titel": title, "beschreibung": description})
        cols.append({"name": flag(key), "titel": f"{title} gesperrt", "beschreibung": "Wert gesperrt"})
    return cols


def as_json(ds: PaymentsDataset) -> dict[str, Any]:
    """Metadata, „rows“ (per Zahlungsart and month) and „summen“."""
    span = period(ds)
    return {
        "id": PAYMENTS_ID,
        "tabelle": ZAHLUNGEN,
        "titel": f"{TITLE}: {HEADING}",
        "beschreibung": NOTES,
        "herausgeber": PUBLISHER,
        "lizenz": {"id": LICENCE.id, "titel": LICENCE.title, "url": LICENCE.url},
        "created": ds.created,
        "modified": ds.modified,
        "zeitraum": {"von": span[0], "bis": span[1]} if span else None,
        "zaehlweise": ZAEHLWEISE,
        "geheimhaltung": GEHEIMHALTUNG,
        "spalten": columns(),
        "rows": records(ds),
        "summen": totals(ds),
    }


def as_csv(ds: PaymentsDataset) -> str:
    """RFC 4180 CSV: the records, then the totals with „insgesamt“ in place of the
    Zahlungsart, the month or both; a suppressed value is empty and flagged „ja“."""
    sums = totals(ds)
    rows = [
        *records(ds),
        *({**t, "monat": INSGESAMT} for t in sums["zahlungsarten"]),
        *({**t, "zahlungsart": INSGESAMT} for t in sums["monate"]),
        {**sums["insgesamt"], "zahlungsart": INSGESAMT, "monat": INSGESAMT},
    ]
    return csv_text([c["name"] for c in columns()], rows)


def downloads(ds: PaymentsDataset) -> list[Download]:
    """The two files, encoded once per published dataset."""
    found = ds.derived.get("downloads")
    if found is None:
        body = json.dumps(as_json(ds), ensure_ascii=False, indent=1).encode("utf-8")
        found = ds.derived["downloads"] = (
            Download(
                ZAHLUNGEN,
                "csv",
                "CSV",
                "text/csv",
                f"{TITLE}: {HEADING} (CSV)",
                "Je Zahlungsart und Monat, dann die Summen („insgesamt“); UTF-8, Komma, Kopfzeile. "
                "Gesperrte Werte sind leer, die Spalte „…_gesperrt“ sagt „ja“.",
                as_csv(ds).encode("utf-8"),
                PAYMENTS_ID,
                HEADING,
            ),
            Download(
                ZAHLUNGEN,
                "json",
                "JSON",
                "application/json",
                f"{TITLE}: {HEADING} (JSON)",
                "Objekt mit Metadaten, „rows“ (je Zahlungsart und Monat) und „summen“; "
                "gesperrte Werte sind null, mit „…_gesperrt“: true.",
                body,
                PAYMENTS_ID,
                HEADING,
            ),
        )
    return list(found)


def download(ds: PaymentsDataset, table: str, suffix: str) -> Download | None:
    return next((d for d in downloads(ds) if (d.table, d.suffix) == (table, suffix)), None)


def entry(ds: PaymentsDataset) -> Entry:
    """The payments dataset as the catalogue lists it."""
    return Entry(
        id=PAYMENTS_ID,
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
