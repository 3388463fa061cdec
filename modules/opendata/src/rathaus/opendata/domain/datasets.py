"""The datasets the portal publishes: what they count, and how counts become a
published (suppressed and audited) dataset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rathaus.opendata.domain.audit import disclosed
from rathaus.opendata.domain.disclosure import MIN_PUBLISHED, Published, Table, suppress
from rathaus.opendata.domain.stadtbezirke import sort_key

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Measure:
    key: str  # column name in CSV and JSON
    label: str  # German heading
    description: str


@dataclass(frozen=True)
class DatasetDefinition:
    id: str
    service_id: str  # the service (Leistung) whose cases are counted
    title: str
    summary: str  # what is counted, and how
    tags: tuple[str, ...]
    themes: tuple[str, ...]  # codes of the EU data-theme vocabulary
    measures: tuple[Measure, ...]

    @property
    def notes(self) -> str:
        """The full description, with how the numbers are protected."""
        return f"{self.summary} {GEHEIMHALTUNG}"


ANTRAEGE = Measure(
    "antraege",
    "Eingegangene Anträge",
    "Anträge, die im Monat eingegangen sind (Eröffnung des Vorgangs in der E-Akte).",
)
ERTEILT = Measure(
    "erteilt",
    "Erteilte Bewohnerparkausweise",
    "Bewohnerparkausweise, deren Bescheid im Monat zugestellt wurde.",
)

GEHEIMHALTUNG = (
    f"Werte unter {MIN_PUBLISHED} (also 1 und 2) sind zum Schutz der Antragstellenden gesperrt. "
    "Damit sich kein gesperrter Wert aus den veröffentlichten Zahlen und Summen errechnen lässt, "
    "sind weitere Werte gesperrt (sekundäre Geheimhaltung). Gesperrte Werte sind leer und "
    "als gesperrt gekennzeichnet. Eine 0 bedeutet: kein Fall."
)

BEWOHNERPARKAUSWEISE = DatasetDefinition(
    id="bewohnerparkausweise-stadtbezirk-monat",
    service_id="bewohnerparkausweis",
    title="Bewohnerparkausweise nach Stadtbezirk und Monat",
    summary=(
        "Eingegangene Anträge auf einen Bewohnerparkausweis und erteilte Bewohnerparkausweise "
        "je Münchner Stadtbezirk und Kalendermonat (Zeitzone Europe/Berlin), mit Summen je "
        "Stadtbezirk, je Monat und insgesamt. Ein Antrag zählt im Monat seines Eingangs, ein "
        "erteilter Ausweis im Monat der Zustellung des Bescheids. Fälle ohne Angabe des "
        "Stadtbezirks stehen unter „unbekannt“."
    ),
    tags=("Bewohnerparken", "Parken", "Parklizenz", "Stadtbezirke", "Verkehr", "Verwaltungsleistungen"),
    themes=("TRAN", "GOVE"),
    measures=(ANTRAEGE, ERTEILT),
)

DATASETS: dict[str, DatasetDefinition] = {d.id: d for d in (BEWOHNERPARKAUSWEISE,)}
BY_SERVICE: dict[str, DatasetDefinition] = {d.service_id: d for d in DATASETS.values()}


def monat(timestamp: str) -> str:
    """Calendar month (YYYY-MM) of an ISO timestamp in Munich's time zone; UTC if naive."""
    moment = datetime.fromisoformat(timestamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BERLIN).strftime("%Y-%m")


class DisclosureError(RuntimeError):
    """The auditor found a derivable cell: the dataset is not published."""


@dataclass(frozen=True)
class PublishedDataset:
    definition: DatasetDefinition
    rows: tuple[str, ...]  # Stadtbezirke with at least one case
    cols: tuple[str, ...]  # months with at least one case
    tables: Mapping[str, Published]  # measure key -> the table as published
    present: tuple[tuple[str, str], ...]  # (Stadtbezirk, Monat) with at least one case
    created: str
    modified: str


def publish(
    definition: DatasetDefinition,
    counts: Mapping[str, Mapping[tuple[str, str], int]],
    *,
    created: str,
    modified: str,
) -> PublishedDataset:
    """Tables of the true counts per measure, suppressed, audited; only then published.

    ``counts[measure][(stadtbezirk, monat)]``; missing = 0.
    """
    keys = {m.key for m in definition.measures}
    if set(counts) - keys:
        raise ValueError(f"unknown measures {sorted(set(counts) - keys)}")
    cells = {cell for key in keys for cell, n in counts.get(key, {}).items() if n > 0}
    rows = tuple(sorted({r for r, _ in cells}, key=lambda r: (sort_key(r), r)))
    cols = tuple(sorted({c for _, c in cells}))
    tables: dict[str, Published] = {}
    for key in sorted(keys):
        published = suppress(Table(rows, cols, dict(counts.get(key, {}))))
        if disclosed(published):
            raise DisclosureError(f"{definition.id}: {key} would disclose suppressed cells")
        tables[key] = published
    present = tuple(sorted(cells, key=lambda rc: (rc[1], sort_key(rc[0]), rc[0])))
    return PublishedDataset(definition, rows, cols, tables, present, created, modified)
