"""The datasets the portal publishes: one per service (Leistung), defined by the service's
procedure files (their ``[open_data]``), never in code; and how a service's facts become a
published dataset, suppressed and audited.

Every dataset has the same tables: applications (month the case was opened), grants and
refusals (month the Bescheid was delivered) per Stadtbezirk and month with their totals,
and the processing times per month of delivery. Its id, title, summary, tags, themes and
the names of the grant and refusal columns come from the newest version of the service
that has ``[open_data]``; the cases of every version count in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rathaus.opendata.domain.audit import findings
from rathaus.opendata.domain.disclosure import MIN_PUBLISHED, Published, Table, suppress_together
from rathaus.opendata.domain.stadtbezirke import sort_key
from rathaus.opendata.domain.times import MIN_FOR_PERCENTILES, TimesRow, links, times

if TYPE_CHECKING:
    from rathaus.platform.kernel.procedures import Procedures

BERLIN = ZoneInfo("Europe/Berlin")
ANTRAEGE, BEWILLIGT, ABGELEHNT = "antraege", "bewilligt", "abgelehnt"
COUNTS = (ANTRAEGE, BEWILLIGT, ABGELEHNT)

GEHEIMHALTUNG = (
    f"Werte unter {MIN_PUBLISHED} (also 1 und 2) sind zum Schutz der Antragstellenden gesperrt. "
    "Damit sich kein gesperrter Wert aus den veröffentlichten Zahlen und Summen errechnen lässt, "
    "sind weitere Werte gesperrt (sekundäre Geheimhaltung). Ist ein Wert in einer der Tabellen "
    "(Anträge, Bewilligungen, Ablehnungen) gesperrt, ist er an derselben Stelle auch in den anderen "
    "gesperrt, außer er ist dort 0. Gesperrte Werte sind leer und als gesperrt gekennzeichnet. "
    "Eine 0 bedeutet: kein Fall."
)
ZAEHLWEISE = (
    "Ein Antrag zählt im Monat, in dem sein Vorgang in der E-Akte eröffnet wurde, ein Bescheid im "
    "Monat seiner Zustellung (Zeitzone Europe/Berlin), beide im Stadtbezirk aus dem Antrag, mit "
    "Summen je Stadtbezirk, je Monat und insgesamt. Fälle ohne Angabe des Stadtbezirks stehen unter "
    "„unbekannt“. Es zählen die Fälle aller Fassungen der Leistung."
)
BEARBEITUNGSDAUER = (
    "Bearbeitungsdauer: vom Eingang des Antrags bis zur Zustellung des Bescheids, in Tagen mit einer "
    "Nachkommastelle, je Monat der Zustellung als Median und 90. Perzentil (lineare Interpolation "
    "zwischen den Rängen). Sie steht nur dort, wo die Zahl der Bescheide des Monats veröffentlicht ist "
    f"und mindestens {MIN_FOR_PERCENTILES} beträgt: Bei weniger Fällen wäre das 90. Perzentil "
    "praktisch die Dauer eines einzelnen Falls (bei vier Fällen liegt es zu 70 % beim langsamsten), "
    "und der Median von drei Fällen ist genau die Dauer eines Falls."
)


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
    summary: str
    tags: tuple[str, ...]
    themes: tuple[str, ...]  # codes of the EU data-theme vocabulary
    granted_label: str
    refused_label: str
    service_title: str
    leika: str  # the service's 14-digit LeiKa key, "" if it has none
    versions: tuple[int, ...]  # the service's versions whose cases count

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (
            Measure(
                ANTRAEGE,
                "Eingegangene Anträge",
                "Anträge, deren Vorgang im Monat in der E-Akte eröffnet wurde.",
            ),
            Measure(BEWILLIGT, self.granted_label, "Bewilligende Bescheide, im Monat zugestellt."),
            Measure(ABGELEHNT, self.refused_label, "Ablehnende Bescheide, im Monat zugestellt."),
        )

    @property
    def service(self) -> str:
        """„Leistung „…“ (LeiKa-Schlüssel …)“: which service the numbers are about."""
        key = f" (LeiKa-Schlüssel {self.leika})" if self.leika else ""
        return f"Leistung „{self.service_title}“{key}"

    @property
    def notes(self) -> str:
        """The full description: what is counted, how, and how the numbers are protected."""
        return f"{self.summary} {self.service}. {ZAEHLWEISE} {BEARBEITUNGSDAUER} {GEHEIMHALTUNG}"


def definitions(procedures: Procedures) -> dict[str, DatasetDefinition]:
    """One dataset per service with ``[open_data]``, by dataset id (the procedure loader
    has checked ids, themes, tags and that no two services publish one dataset)."""
    out: dict[str, DatasetDefinition] = {}
    for service_id in sorted({d.id for d in procedures.all()}):
        versions = procedures.versions(service_id)
        described = [d for d in versions if d.procedure.open_data is not None]
        if not described:
            continue
        newest = described[-1]
        spec = newest.procedure.open_data
        assert spec is not None
        out.setdefault(
            spec.dataset,
            DatasetDefinition(
                id=spec.dataset,
                service_id=service_id,
                title=spec.title,
                summary=spec.summary,
                tags=tuple(spec.tags),
                themes=tuple(spec.themes),
                granted_label=spec.granted_label,
                refused_label=spec.refused_label,
                service_title=newest.procedure.title,
                leika=newest.procedure.leika,
                versions=tuple(d.version for d in versions),
            ),
        )
    return out


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
    tables: Mapping[str, Published]  # count table (antraege, bewilligt, abgelehnt) as published
    times: tuple[TimesRow, ...]  # per month of delivery with at least one Bescheid
    times_total: TimesRow  # over all months
    present: tuple[tuple[str, str], ...]  # (Stadtbezirk, Monat) with at least one case
    created: str
    modified: str
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # e.g. the downloads


def publish(
    definition: DatasetDefinition,
    counts: Mapping[str, Mapping[tuple[str, str], int]],
    durations: Mapping[str, Sequence[int]] | None = None,
    *,
    created: str,
    modified: str,
) -> PublishedDataset:
    """The count tables suppressed together, the processing times from them, everything
    audited; only then published.

    ``counts[table][(stadtbezirk, monat)]`` (missing = 0); ``durations[monat]``: the hours
    of the cases whose Bescheid was delivered in that month.
    """
    if set(counts) - set(COUNTS):
        raise ValueError(f"unknown tables {sorted(set(counts) - set(COUNTS))}")
    cells = {cell for key in COUNTS for cell, n in counts.get(key, {}).items() if n > 0}
    rows = tuple(sorted({r for r, _ in cells}, key=lambda r: (sort_key(r), r)))
    cols = tuple(sorted({c for _, c in cells}))
    tables = suppress_together({key: Table(rows, cols, dict(counts.get(key, {}))) for key in COUNTS})
    by_month, total = times(tables, durations or {})
    problems = findings(tables, links(by_month, total))
    if problems:
        raise DisclosureError(f"{definition.id}: " + "; ".join(problems))
    present = tuple(sorted(cells, key=lambda rc: (rc[1], sort_key(rc[0]), rc[0])))
    return PublishedDataset(definition, rows, cols, tables, by_month, total, present, created, modified)
