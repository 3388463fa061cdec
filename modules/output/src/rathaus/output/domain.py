"""Rules of output management: the delivery channel of a case, the date of notice
(Bekanntgabe), how dates and amounts read in a Bescheid, what another authority receives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from rathaus.output.bekanntgabe import AKTE, EMAIL, POSTKORB, RULES

CITY = "Landeshauptstadt München"
BERLIN = ZoneInfo("Europe/Berlin")

CHANNEL_LABELS = {POSTKORB: "Postkorb", EMAIL: "E-Mail", AKTE: "nur Akte"}
# what the letter says about its own delivery: the line in the letterhead, and the rule of
# notice (from the rules in bekanntgabe.py)
DELIVERY_TEXTS = {
    POSTKORB: ("elektronisch, Postkorb", RULES[POSTKORB].letter),
    EMAIL: ("elektronisch, E-Mail", RULES[EMAIL].letter),
    AKTE: ("keine Übermittlung, zur Akte", RULES[AKTE].letter),
}


def choose_channel(*, account_id: str, organisation: bool, email: str) -> str:
    """A recipient with a portal account or acting for an organisation gets the Bescheid in
    the Postkorb; otherwise one who gave an e-mail address gets it attached to an e-mail;
    otherwise (anonymous, no address) it is only filed in the E-Akte."""
    if account_id or organisation:
        return POSTKORB
    if email:
        return EMAIL
    return AKTE


def local_day(moment: datetime) -> date:
    """The calendar day in the city (a letter sent at 00:30 in Munich is dated that day,
    not the day before as in UTC)."""
    return moment.astimezone(BERLIN).date() if moment.tzinfo else moment.date()


def german_date(value: Any) -> str:
    """An ISO date or datetime (or a date) as "23.11.2026"; empty stays empty, and text that
    is no date is shown as it is rather than breaking the letter."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return local_day(value).strftime("%d.%m.%Y")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    text = str(value).strip()
    try:
        day = date.fromisoformat(text) if len(text) == 10 else local_day(datetime.fromisoformat(text))
    except ValueError:
        return text
    return day.strftime("%d.%m.%Y")


def german_datetime(value: str) -> str:
    """An ISO datetime as the city's local time, "20.11.2026, 11:05 Uhr"."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value or ""
    local = moment.astimezone(BERLIN) if moment.tzinfo else moment
    return local.strftime("%d.%m.%Y, %H:%M Uhr")


def euro(value: Any) -> str:
    """A number of euros as "1.234,50 €"; what is no number is shown as it is."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, cents = f"{abs(amount):.2f}".split(".")
    sign = "-" if amount < 0 else ""
    return f"{sign}{int(whole):,}".replace(",", ".") + f",{cents} €"


def fee_cents(facts: Mapping[str, str], fallback: int) -> int:
    """The fee a decision fixed: ``gebuehr_cent``, else the older ``gebuehr`` text
    ("30,00 EUR"), else the procedure's fee."""
    cents = facts.get("gebuehr_cent", "")
    if cents.strip().lstrip("-").isdigit():
        return int(cents)
    text = facts.get("gebuehr", "").replace("EUR", "").replace("€", "").strip()
    if "," in text:  # German: "1.234,50"
        text = text.replace(".", "").replace(",", ".")
    try:
        return int((Decimal(text) * 100).to_integral_value())
    except (InvalidOperation, ValueError):  # no amount, or NaN
        return fallback


def forwarded_data(fields: Iterable[str], data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields the procedure names for this recipient (data minimisation); a field the
    application left empty is not sent."""
    return {name: data[name] for name in fields if data.get(name) not in (None, "", [])}
