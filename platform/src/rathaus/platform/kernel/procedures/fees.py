"""A procedure's fee as booking lines: each line a tariff of the fee catalogue
(gebuehren.toml) at the rate valid on the reference day, times its quantity."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rathaus.platform.kernel.procedures.definition import Definition, FeeLineAmount
from rathaus.platform.kernel.procedures.engine import Inputs, evaluate
from rathaus.platform.kernel.procedures.expressions import decimal, rate_on


class FeeError(ValueError):
    """A fee that cannot be computed (a tariff without a rate on the day); German message."""


def quantity_text(quantity: Decimal) -> str:
    text = f"{quantity.normalize():f}"
    return text.replace(".", ",")


def money(cents: int) -> str:
    whole, rest = divmod(abs(cents), 100)
    return ("-" if cents < 0 else "") + f"{whole:,}".replace(",", ".") + f",{rest:02d} €"


def lines_of(definition: Definition, data: dict[str, Any], day: date) -> list[FeeLineAmount]:
    if not definition.fee_quantities:
        cents = definition.fee_cents(data)
        text = f"Gebühr: {definition.title}"[:200]
        return [FeeLineAmount("", "", "", text, cents)] if cents > 0 else []
    out: list[FeeLineAmount] = []
    inputs = Inputs(values={}, today=day)
    for line, expression in definition.fee_quantities:
        quantity = decimal(evaluate(definition, expression, data, inputs))
        if quantity is None or quantity <= 0:
            continue  # no quantity, no line (e.g. the minimum fee when the area fee is higher)
        tariff = definition.tariffs[line.tariff]
        rate = rate_on(definition.rates[line.tariff], day)
        if rate is None:
            raise FeeError(
                f"Der Tarif „{tariff.id}“ hat am {day:%d.%m.%Y} keinen Gebührensatz (gebuehren.toml)."
            )
        amount = int((quantity * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        text = line.text or tariff.text
        if quantity != 1:
            text = f"{text}: {quantity_text(quantity)} × {money(rate)}"
        if amount > 0:
            out.append(
                FeeLineAmount(tariff.id, tariff.haushaltsstelle, tariff.objektnummer, text[:200], amount)
            )
    return out
