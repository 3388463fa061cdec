"""A published dataset as records, CSV and JSON (German column names)."""

from __future__ import annotations

import calendar
import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rathaus.opendata.domain.catalogue import LICENCE, PUBLISHER
from rathaus.opendata.domain.datasets import BERLIN, GEHEIMHALTUNG, PublishedDataset
from rathaus.opendata.domain.disclosure import Cell

INSGESAMT = "insgesamt"  # stands in the Stadtbezirk or Monat column of a total


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


def period(ds: PublishedDataset) -> tuple[str, str] | None:
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


def as_json(ds: PublishedDataset) -> dict[str, Any]:
    span = period(ds)
    return {
        "id": ds.definition.id,
        "titel": ds.definition.title,
        "beschreibung": ds.definition.notes,
        "herausgeber": PUBLISHER,
        "lizenz": {"id": LICENCE.id, "titel": LICENCE.title, "url": LICENCE.url},
        "created": ds.created,
        "modified": ds.modified,
        "zeitraum": {"von": span[0], "bis": span[1]} if span else None,
        "geheimhaltung": GEHEIMHALTUNG,
        "spalten": columns(ds),
        "rows": records(ds),
        "summen": totals(ds),
    }


def _csv_values(row: dict[str, Any], keys: list[str]) -> list[str]:
    out = [row["stadtbezirk"], row["monat"]]
    for key in keys:
        value = row[key]
        out += ["" if value is None else str(value), "ja" if row[flag(key)] else "nein"]
    return out


def as_csv(ds: PublishedDataset) -> str:
    """RFC 4180 CSV: the records, then the totals with „insgesamt“ in place of the
    Stadtbezirk, the month or both; a suppressed value is empty and flagged „ja“."""
    keys = [m.key for m in ds.definition.measures]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["stadtbezirk", "monat", *(c for k in keys for c in (k, flag(k)))])
    sums = totals(ds)
    rows = [
        *records(ds),
        *({**t, "monat": INSGESAMT} for t in sums["stadtbezirke"]),
        *({**t, "stadtbezirk": INSGESAMT} for t in sums["monate"]),
        {**sums["insgesamt"], "stadtbezirk": INSGESAMT, "monat": INSGESAMT},
    ]
    for row in rows:
        writer.writerow(_csv_values(row, keys))
    return buffer.getvalue()


def csv_bytes(ds: PublishedDataset) -> bytes:
    return as_csv(ds).encode("utf-8")


def json_bytes(ds: PublishedDataset) -> bytes:
    return json.dumps(as_json(ds), ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True)
class Download:
    """One distribution of a dataset: the exact bytes served at ``path``."""

    suffix: str
    format: str  # CKAN format and EU file-type code
    media_type: str
    title: str
    description: str
    data: bytes
    dataset_id: str

    @property
    def path(self) -> str:
        """Below the portal's prefix."""
        return f"/datasets/{self.dataset_id}.{self.suffix}"


def downloads(ds: PublishedDataset) -> list[Download]:
    name = ds.definition.id
    return [
        Download(
            "csv",
            "CSV",
            "text/csv",
            f"{ds.definition.title} (CSV)",
            "Je Stadtbezirk und Monat, dann die Summen („insgesamt“); UTF-8, Komma, Kopfzeile. "
            "Gesperrte Werte sind leer, die Spalte „…_gesperrt“ sagt „ja“.",
            csv_bytes(ds),
            name,
        ),
        Download(
            "json",
            "JSON",
            "application/json",
            f"{ds.definition.title} (JSON)",
            "Objekt mit Metadaten, „rows“ (je Stadtbezirk und Monat) und „summen“; "
            "gesperrte Werte sind null, mit „…_gesperrt“: true.",
            json_bytes(ds),
            name,
        ),
    ]


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
