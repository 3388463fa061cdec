"""Online payments of fees: the counting rules and the published dataset.

One anonymous fact per case: which payment method paid its fee online, in which month,
and in which month the fee was refunded. No Kassenzeichen, no transaction id, no amount:
the statistics need none of them. A case's fee counts once, however many ``PaymentCompleted``
arrive for it: a redelivery, a late PAYED of an attempt given up, a double payment (a
second attempt PAYED too) — the earliest payment counts: the one of the earliest month,
within a month the one of the first begun attempt (attempts of a claim are numbered in the
order they were started), so the fact is the same in any order of the events without
keeping a timestamp finer than the month. A fee is refunded when the E-Akte refunds it because
the application was refused (``ClaimRefunded`` reason ``refused``); a refund of a double or
an overpayment gives back only the money paid too much, the fee stays paid and the case is
not counted as refunded. A refund counts in the month it was booked, the first one if
there were several.

The dataset is one across all services with a fee (why not a column in each service's
dataset: see ``PAYMENTS_ID``): Zahlungsart × Monat, two count tables with their totals,
protected together by the same suppression as every other count table of the portal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rathaus.opendata.domain.audit import findings
from rathaus.opendata.domain.datasets import DisclosureError
from rathaus.opendata.domain.disclosure import MIN_PUBLISHED, Published, Table, suppress_together

# One dataset across the services rather than two more columns in each service's dataset:
# those are Stadtbezirk × Monat of applications and Bescheide, and a payment has no
# Stadtbezirk worth publishing next to them (it would add a third joint table whose
# numbers differ from the applications only by the few unpaid cases, so nearly every cell
# would be suppressed or give away the unpaid ones); the question payments answer — how
# many fees are paid online, and with what — is one for the Stadtkasse and the city as a
# whole, and across services the counts are large enough to publish month by month.
PAYMENTS_ID = "online-zahlungen-gebuehren-monat-zahlungsart"
BEZAHLT, ERSTATTET = "bezahlt", "erstattet"
TABLES = (BEZAHLT, ERSTATTET)

# the XBezahldienste payment methods, in the order the dataset lists them
ZAHLUNGSARTEN = {
    "GIROPAY": "giropay",
    "PAYDIRECT": "paydirekt",
    "CREDITCARD": "Kreditkarte",
    "PAYPAL": "PayPal",
    "OTHER": "andere oder unbekannte Zahlungsart",
}
REFUND_REASONS = ("refused", "double_payment", "overpayment", "other")
FEE_REFUNDED = "refused"  # the only reason that gives the fee itself back

TITLE = "Online-Zahlungen von Gebühren nach Monat und Zahlungsart"
SUMMARY = (
    "Wie viele Gebühren für Anträge im Online-Portal der Stadt online bezahlt und wie viele "
    "davon erstattet wurden, je Monat und Zahlungsart, über alle Leistungen mit Gebühr."
)
SCOPE = "Alle Leistungen, deren Gebühr online bezahlt werden kann"
TAGS = ("Gebühren", "E-Payment", "Online-Zahlung", "Verwaltungsleistungen")
THEMES = ("GOVE", "ECON")
ZAEHLWEISE = (
    "Ein Fall zählt einmal, im Monat, in dem der Zahlungsanbieter seine Gebühr als bezahlt "
    "gemeldet hat (Zeitzone Europe/Berlin), unter der Zahlungsart dieser Zahlung. Wurde eine "
    "Gebühr doppelt bezahlt, zählt die frühere Zahlung (im selben Monat die des zuerst "
    "begonnenen Zahlungsversuchs). Als "
    "erstattet zählt ein Fall, dessen Gebühr nach der Ablehnung des Antrags erstattet wurde, im "
    "Monat der Buchung der Erstattung, unter der Zahlungsart der Zahlung; die Erstattung einer "
    "Doppel- oder Überzahlung gibt nur das zu viel Bezahlte zurück und zählt nicht. Summen je "
    "Zahlungsart, je Monat und insgesamt. Beträge werden nicht veröffentlicht."
)
GEHEIMHALTUNG = (
    f"Werte unter {MIN_PUBLISHED} (also 1 und 2) sind zum Schutz der Antragstellenden gesperrt. "
    "Damit sich kein gesperrter Wert aus den veröffentlichten Zahlen und Summen errechnen lässt, "
    "sind weitere Werte gesperrt (sekundäre Geheimhaltung). Ist ein Wert in einer der Tabellen "
    "(bezahlt, erstattet) gesperrt, ist er an derselben Stelle auch in der anderen gesperrt, außer "
    "er ist dort 0. Gesperrte Werte sind leer und als gesperrt gekennzeichnet. Eine 0 bedeutet: "
    "kein Fall."
)
NOTES = f"{SUMMARY} {ZAEHLWEISE} {GEHEIMHALTUNG}"


def zahlungsart(method: str) -> str:
    """The payment method's code as counted: one of ``ZAHLUNGSARTEN``; an empty or unknown
    code (a provider's new method) is „andere“, never published as it came."""
    code = (method or "").strip().upper()
    return code if code in ZAHLUNGSARTEN else "OTHER"


def refunds_fee(reason: str) -> bool:
    """Whether a refund gives the fee back; an unknown reason is an error (retried, then
    dead-lettered for an operator instead of silently counted one way or the other)."""
    if reason not in REFUND_REASONS:
        raise ValueError(f"Unbekannter Erstattungsgrund {reason!r}: bekannt sind {', '.join(REFUND_REASONS)}")
    return reason == FEE_REFUNDED


def attempt_of(attempt: int) -> int:
    if attempt < 1:
        raise ValueError(f"Zahlungsversuch {attempt}: Versuche zählen ab 1.")
    return attempt


def label(code: str) -> str:
    return ZAHLUNGSARTEN[code]


def _order(code: str) -> int:
    return list(ZAHLUNGSARTEN).index(code)


@dataclass(frozen=True)
class PaymentsDataset:
    rows: tuple[str, ...]  # payment method codes with at least one case, in ZAHLUNGSARTEN order
    cols: tuple[str, ...]  # months with at least one case
    tables: Mapping[str, Published]  # bezahlt, erstattet as published
    present: tuple[tuple[str, str], ...]  # (code, Monat) with at least one case
    created: str
    modified: str
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the downloads


def publish_payments(
    counts: Mapping[str, Mapping[tuple[str, str], int]], *, created: str, modified: str
) -> PaymentsDataset:
    """``counts[table][(code, monat)]`` (missing = 0) suppressed together, audited, published."""
    if set(counts) - set(TABLES):
        raise ValueError(f"unknown tables {sorted(set(counts) - set(TABLES))}")
    if {code for table in counts.values() for code, _ in table} - set(ZAHLUNGSARTEN):
        raise ValueError("unknown payment method")
    cells = {cell for key in TABLES for cell, n in counts.get(key, {}).items() if n > 0}
    rows = tuple(sorted({r for r, _ in cells}, key=_order))
    cols = tuple(sorted({c for _, c in cells}))
    tables = suppress_together({key: Table(rows, cols, dict(counts.get(key, {}))) for key in TABLES})
    problems = findings(tables)
    if problems:
        raise DisclosureError(f"{PAYMENTS_ID}: " + "; ".join(problems))
    present = tuple(sorted(cells, key=lambda rc: (rc[1], _order(rc[0]))))
    return PaymentsDataset(rows, cols, tables, present, created, modified)
