"""A published dataset as records, CSV and JSON (German column names).

A dataset has two tables of different grain, each offered as CSV and as JSON, so four
resources: ``fallzahlen`` (one row per Stadtbezirk and month: applications, grants,
refusals, each with its suppression flag, then the totals with „insgesamt“) and
``bearbeitungsdauer`` (one row per month of delivery: the number of Bescheide, median and
90th percentile in days, then „insgesamt“). Why this shape: CKAN shows, previews and loads
into its DataStore one flat table per resource, and users of CKAN portals expect a CSV
they can open as it is, one row per observation and one column per variable. The three
count tables share their grain (Stadtbezirk × Monat), so they are three columns of one
table, as a spreadsheet user would lay them out; a long table (one row per cell and
measure) would make everyone pivot it back first, and the processing times, per month
only, would fill a district column with blanks if they shared the file. The JSON carries
the same rows plus the metadata and the column descriptions.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from rathaus.opendata.domain.catalogue import LICENCE, PUBLISHER
from rathaus.opendata.domain.datasets import BEARBEITUNGSDAUER, BERLIN, GEHEIMHALTUNG, PublishedDataset
from rathaus.opendata.domain.disclosure import Cell
from rathaus.opendata.domain.entries import Download, Entry
from rathaus.opendata.domain.payments import PaymentsDataset
from rathaus.opendata.domain.postkorb import PostkorbDataset
from rathaus.opendata.domain.times import FEW, HIDDEN, TimesRow

INSGESAMT = "insgesamt"  # stands in the Stadtbezirk or Monat column of a total
FALLZAHLEN, DAUER = "fallzahlen", "bearbeitungsdauer"


def flag(key: str) -> str:
    return f"{key}_gesperrt"


def _counts(ds: PublishedDataset, cell: Cell) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for measure in ds.definition.measures:
        value = ds.tables[measure.key].values[cell]
        out[measure.key] = value
        out[flag(measure.key)] = value is None
    return out


def records(ds: PublishedDataset) -> list[dict[str, Any]]:
    """One record per Stadtbezirk and month with at least one case; suppressed = None."""
    return [{"stadtbezirk": r, "monat": c, **_counts(ds, (r, c))} for r, c in ds.present]


def totals(ds: PublishedDataset) -> dict[str, Any]:
    return {
        "stadtbezirke": [{"stadtbezirk": r, **_counts(ds, (r, None))} for r in ds.rows],
        "monate": [{"monat": c, **_counts(ds, (None, c))} for c in ds.cols],
        "insgesamt": _counts(ds, (None, None)),
    }


def time_record(row: TimesRow) -> dict[str, Any]:
    return {
        "monat": row.monat or INSGESAMT,
        "bescheide": row.bescheide,
        "bescheide_gesperrt": row.bescheide is None,
        "dauer_median_tage": row.p50,
        "dauer_p90_tage": row.p90,
        "dauer_grund": row.reason or None,
    }


def period(ds: PublishedDataset | PaymentsDataset | PostkorbDataset) -> tuple[str, str] | None:
    """First and last day covered (ISO dates), or None while there is no case."""
    if not ds.cols:
        return None
    year, month = (int(p) for p in ds.cols[-1].split("-"))
    return f"{ds.cols[0]}-01", f"{ds.cols[-1]}-{calendar.monthrange(year, month)[1]:02d}"


def columns(ds: PublishedDataset) -> list[dict[str, str]]:
    cols = [
        {"name": "stadtbezirk", "titel": "Stadtbezirk", "beschreibung": "Nummer und Name des Stadtbezirks"},
        {"name": "monat", "titel": "Monat", "beschreibung": "Kalendermonat (JJJJ-MM)"},
    ]
    for m in ds.definition.measures:
        cols.append({"name": m.key, "titel": m.label, "beschreibung": m.description})
        cols.append({"name": flag(m.key), "titel": f"{m.label} gesperrt", "beschreibung": "Wert gesperrt"})
    return cols


TIME_COLUMNS = [
    {"name": "monat", "titel": "Monat der Zustellung", "beschreibung": "Kalendermonat (JJJJ-MM)"},
    {"name": "bescheide", "titel": "Zugestellte Bescheide", "beschreibung": "Bewilligungen und Ablehnungen"},
    {
        "name": "bescheide_gesperrt",
        "titel": "Zugestellte Bescheide gesperrt",
        "beschreibung": "Wert gesperrt",
    },
    {
        "name": "dauer_median_tage",
        "titel": "Bearbeitungsdauer, Median (Tage)",
        "beschreibung": "Die Hälfte der Fälle war nach so vielen Tagen zugestellt",
    },
    {
        "name": "dauer_p90_tage",
        "titel": "Bearbeitungsdauer, 90. Perzentil (Tage)",
        "beschreibung": "90 % der Fälle waren nach so vielen Tagen zugestellt",
    },
    {
        "name": "dauer_grund",
        "titel": "Warum keine Bearbeitungsdauer",
        "beschreibung": f"leer, wenn sie steht; sonst „{HIDDEN}“ oder „{FEW}“",
    },
]


def table_title(ds: PublishedDataset, table: str) -> str:
    if table == FALLZAHLEN:
        return f"{ds.definition.title}: Anträge und Bescheide je Stadtbezirk und Monat"
    return f"{ds.definition.title}: Bearbeitungsdauer je Monat der Zustellung"


def _head(ds: PublishedDataset, table: str) -> dict[str, Any]:
    span = period(ds)
    return {
        "id": ds.definition.id,
        "tabelle": table,
        "titel": table_title(ds, table),
        "beschreibung": ds.definition.notes,
        "leistung": {"id": ds.definition.service_id, "titel": ds.definition.service_title}
        | ({"leika": ds.definition.leika} if ds.definition.leika else {}),
        "herausgeber": PUBLISHER,
        "lizenz": {"id": LICENCE.id, "titel": LICENCE.title, "url": LICENCE.url},
        "created": ds.created,
        "modified": ds.modified,
        "zeitraum": {"von": span[0], "bis": span[1]} if span else None,
        "geheimhaltung": GEHEIMHALTUNG,
    }


def as_json(ds: PublishedDataset) -> dict[str, Any]:
    """The counts: metadata, „rows“ (per Stadtbezirk and month) and „summen“."""
    return {**_head(ds, FALLZAHLEN), "spalten": columns(ds), "rows": records(ds), "summen": totals(ds)}


def times_json(ds: PublishedDataset) -> dict[str, Any]:
    """The processing times: metadata, „rows“ (per month of delivery) and „insgesamt“."""
    return {
        **_head(ds, DAUER),
        "bearbeitungsdauer": BEARBEITUNGSDAUER,
        "spalten": TIME_COLUMNS,
        "rows": [time_record(r) for r in ds.times],
        "insgesamt": time_record(ds.times_total),
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "ja" if value else "nein"
    return str(value)


def csv_text(header: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in header])
    return buffer.getvalue()


def as_csv(ds: PublishedDataset) -> str:
    """RFC 4180 CSV: the records, then the totals with „insgesamt“ in place of the
    Stadtbezirk, the month or both; a suppressed value is empty and flagged „ja“."""
    sums = totals(ds)
    rows = [
        *records(ds),
        *({**t, "monat": INSGESAMT} for t in sums["stadtbezirke"]),
        *({**t, "stadtbezirk": INSGESAMT} for t in sums["monate"]),
        {**sums["insgesamt"], "stadtbezirk": INSGESAMT, "monat": INSGESAMT},
    ]
    return csv_text([c["name"] for c in columns(ds)], rows)


def times_csv(ds: PublishedDataset) -> str:
    """RFC 4180 CSV: one row per month of delivery, then „insgesamt“; days with a decimal
    point; what is not published is empty."""
    rows = [time_record(r) for r in (*ds.times, ds.times_total)]
    return csv_text([c["name"] for c in TIME_COLUMNS], rows)


def csv_bytes(ds: PublishedDataset) -> bytes:
    return as_csv(ds).encode("utf-8")


def json_bytes(ds: PublishedDataset) -> bytes:
    return json.dumps(as_json(ds), ensure_ascii=False, indent=1).encode("utf-8")


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def downloads(ds: PublishedDataset) -> list[Download]:
    """The four files, encoded once per published dataset."""
    found = ds.derived.get("downloads")
    if found is None:
        found = ds.derived["downloads"] = _downloads(ds)
    return list(found)


def _downloads(ds: PublishedDataset) -> tuple[Download, ...]:
    name = ds.definition.id
    counts, times = table_title(ds, FALLZAHLEN), table_title(ds, DAUER)
    counts_heading, times_heading = (t.removeprefix(f"{ds.definition.title}: ") for t in (counts, times))
    return (
        Download(
            FALLZAHLEN,
            "csv",
            "CSV",
            "text/csv",
            f"{counts} (CSV)",
            "Je Stadtbezirk und Monat, dann die Summen („insgesamt“); UTF-8, Komma, Kopfzeile. "
            "Gesperrte Werte sind leer, die Spalte „…_gesperrt“ sagt „ja“.",
            csv_bytes(ds),
            name,
            counts_heading,
        ),
        Download(
            FALLZAHLEN,
            "json",
            "JSON",
            "application/json",
            f"{counts} (JSON)",
            "Objekt mit Metadaten, „rows“ (je Stadtbezirk und Monat) und „summen“; "
            "gesperrte Werte sind null, mit „…_gesperrt“: true.",
            json_bytes(ds),
            name,
            counts_heading,
        ),
        Download(
            DAUER,
            "csv",
            "CSV",
            "text/csv",
            f"{times} (CSV)",
            "Je Monat der Zustellung, dann „insgesamt“: Zahl der Bescheide, Median und 90. Perzentil "
            "der Bearbeitungsdauer in Tagen (Dezimalpunkt); UTF-8, Komma, Kopfzeile. Was nicht "
            "veröffentlicht ist, ist leer; „dauer_grund“ sagt warum.",
            times_csv(ds).encode("utf-8"),
            name,
            times_heading,
        ),
        Download(
            DAUER,
            "json",
            "JSON",
            "application/json",
            f"{times} (JSON)",
            "Objekt mit Metadaten, „rows“ (je Monat der Zustellung) und „insgesamt“; was nicht "
            "veröffentlicht ist, ist null, „dauer_grund“ sagt warum.",
            _encoded(times_json(ds)),
            name,
            times_heading,
        ),
    )


def download(ds: PublishedDataset, table: str, suffix: str) -> Download | None:
    return next((d for d in downloads(ds) if (d.table, d.suffix) == (table, suffix)), None)


def entry(ds: PublishedDataset | Entry) -> Entry:
    """A service's dataset as the catalogue lists it (an entry stays as it is)."""
    if isinstance(ds, Entry):
        return ds
    d = ds.definition
    extras = (("leistung", d.service_title), *((("leika", d.leika),) if d.leika else ()))
    return Entry(
        id=d.id,
        title=d.title,
        summary=d.summary,
        notes=d.notes,
        tags=d.tags,
        themes=d.themes,
        scope=d.service,
        extras=extras,
        relation=f"urn:de:fim:leika:leistung:{d.leika}" if d.leika else "",
        provenance=GEHEIMHALTUNG,
        created=ds.created,
        modified=ds.modified,
        period=period(ds),
        downloads=tuple(downloads(ds)),
    )


def german_datetime(iso: str) -> str:
    """„23.11.2026, 17:45 Uhr“ in Munich's time zone."""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")


def german_date(iso_date: str) -> str:
    year, month, day = iso_date.split("-")
    return f"{day}.{month}.{year}"


MONATE = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip


def german_month(monat: str) -> str:
    """„2026-11“ -> „November 2026“."""
    year, month = monat.split("-")
    return f"{MONATE[int(month) - 1]} {year}"
