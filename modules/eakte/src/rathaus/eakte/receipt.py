"""The Zahlungsbestätigung (receipt) of a paid Forderung as a PDF: Kassenzeichen, booking
lines, amount, payment method, date. There is no card data to print: the provider keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from rathaus.eakte.domain import euro, german_date
from rathaus.platform.kernel.typeset import write_pdf

METHODS = {
    "GIROPAY": "giropay",
    "PAYDIRECT": "paydirekt",
    "CREDITCARD": "Kreditkarte",
    "PAYPAL": "PayPal",
    "OTHER": "andere Zahlungsart",
}


@dataclass(frozen=True)
class Receipt:
    city: str
    unit: str
    service_title: str
    aktenzeichen: str
    kassenzeichen: str
    lines: list[dict[str, object]]
    amount_cents: int
    payment_method: str
    paid_at: str
    transaction_id: str


def html(r: Receipt) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(line['text']))}</td><td>{escape(str(line['haushaltsstelle']))}</td>"
        f"<td class='betrag'>{escape(euro(int(str(line['amount_cents']))))}</td></tr>"
        for line in r.lines
    )
    method = METHODS.get(r.payment_method, r.payment_method or "unbekannt")
    return f"""<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Zahlungsbestätigung {escape(r.kassenzeichen)}</title>
<style>
@page {{ size: A4; margin: 25mm 20mm; }}
body {{ font-family: sans-serif; font-size: 10.5pt; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #999; padding: 4pt; text-align: left; }}
.betrag {{ text-align: right; white-space: nowrap; }}
</style></head><body>
<p>{escape(r.city)}<br>{escape(r.unit)}</p>
<h1>Zahlungsbestätigung</h1>
<p>Ihre Zahlung ist eingegangen. Vielen Dank.</p>
<table>
<tr><th scope="row">Kassenzeichen</th><td>{escape(r.kassenzeichen)}</td></tr>
<tr><th scope="row">Leistung</th><td>{escape(r.service_title)}</td></tr>
<tr><th scope="row">Aktenzeichen</th><td>{escape(r.aktenzeichen)}</td></tr>
<tr><th scope="row">Zahlungsart</th><td>{escape(method)}</td></tr>
<tr><th scope="row">Bezahlt am</th><td>{escape(german_date(r.paid_at))}</td></tr>
<tr><th scope="row">Transaktion</th><td>{escape(r.transaction_id)}</td></tr>
</table>
<table>
<thead><tr><th scope="col">Position</th><th scope="col">Haushaltsstelle</th><th scope="col" class="betrag">Betrag</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot><tr><th scope="row" colspan="2">Summe</th><td class="betrag"><strong>{escape(euro(r.amount_cents))}</strong></td></tr></tfoot>
</table>
<p>Diese Bestätigung wurde maschinell erstellt und ist ohne Unterschrift gültig.</p>
</body></html>"""


def render(r: Receipt) -> bytes:
    """The receipt as PDF (blocking: call it in a thread)."""
    return write_pdf(html(r))
