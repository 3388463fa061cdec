"""The counting rules of online payments (one fact per case, in any order of the events),
the payments dataset's suppression, its files, its CKAN package and its DCAT-AP.de."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from rathaus.opendata import ckan, dcat, store
from rathaus.opendata.domain.audit import ranges
from rathaus.opendata.domain.disclosure import Cell
from rathaus.opendata.domain.payment_formats import as_csv, as_json, download, downloads, entry
from rathaus.opendata.domain.payments import (
    BEZAHLT,
    ERSTATTET,
    PAYMENTS_ID,
    attempt_of,
    publish_payments,
    refunds_fee,
    zahlungsart,
)

BASE = "https://daten.rathaus.example/opendaten"
CREATED, MODIFIED = "2026-10-01T08:00:00+00:00", "2026-12-02T09:00:00+00:00"
NOV, DEC = "2026-11", "2026-12"


def test_payment_methods_and_reasons() -> None:
    assert [zahlungsart(m) for m in ("GIROPAY", "paypal", " CREDITCARD ", "PAYDIRECT", "OTHER")] == [
        "GIROPAY", "PAYPAL", "CREDITCARD", "PAYDIRECT", "OTHER",
    ]  # fmt: skip
    # an empty or new method is counted, as „andere“: never published as it came
    assert zahlungsart("") == zahlungsart("APPLEPAY") == zahlungsart("Max Mustermann") == "OTHER"
    assert refunds_fee("refused") is True
    assert not any(refunds_fee(r) for r in ("double_payment", "overpayment", "other"))
    with pytest.raises(ValueError, match="Unbekannter Erstattungsgrund 'storniert'"):
        refunds_fee("storniert")
    assert attempt_of(1) == 1 and attempt_of(7) == 7
    with pytest.raises(ValueError, match="Zahlungsversuch 0"):
        attempt_of(0)


@pytest.fixture
async def session() -> AsyncIterator[Callable[[], AsyncSession]]:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(store.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


Step = Callable[[AsyncSession], Awaitable[bool]]


def paid(case: str, attempt: int, method: str, monat: str) -> Step:
    return lambda s: store.record_paid(s, case, attempt, zahlungsart(method), monat)


def refunded(case: str, monat: str) -> Step:
    return lambda s: store.record_refunded(s, case, monat)


STEPS = [
    paid("a", 1, "GIROPAY", NOV),
    paid("a", 1, "GIROPAY", NOV),  # redelivered
    paid("b", 2, "PAYPAL", NOV),  # double payment: attempt 2 in November ...
    paid("b", 1, "GIROPAY", DEC),  # ... attempt 1 late, in December: November's counts
    paid("c", 2, "CREDITCARD", DEC),  # double payment in one month: the first attempt counts
    paid("c", 1, "PAYDIRECT", DEC),
    refunded("c", DEC),
    refunded("d", NOV),  # a refund before its payment: counted once the payment is known
    paid("d", 1, "GIROPAY", NOV),
    refunded("d", DEC),  # refunded twice: the first refund's month
    refunded("e", NOV),  # no payment ever: not counted
]
TRUTH = {
    BEZAHLT: {("GIROPAY", NOV): 2, ("PAYPAL", NOV): 1, ("PAYDIRECT", DEC): 1},
    ERSTATTET: {("PAYDIRECT", DEC): 1, ("GIROPAY", NOV): 1},
}


async def run(session: Callable[[], AsyncSession], steps: list[Step]) -> dict[str, Any]:
    async with session() as s:
        for step in steps:
            await step(s)
        await s.commit()
        counts = await store.payment_counts(s)
        await s.execute(store.zahlungen.delete())
        await s.commit()
    return counts


async def test_one_fact_per_case_in_any_order(session: Callable[[], AsyncSession]) -> None:
    assert await run(session, STEPS) == TRUTH
    shuffle = random.Random(8)
    for _ in range(40):
        steps = STEPS[:]
        shuffle.shuffle(steps)
        assert await run(session, steps) == TRUTH


async def test_a_change_is_reported_only_when_the_fact_changes(session: Callable[[], AsyncSession]) -> None:
    async with session() as s:
        assert await paid("x", 2, "PAYPAL", DEC)(s) is True
        assert await paid("x", 2, "PAYPAL", DEC)(s) is False  # the same again
        assert await paid("x", 3, "GIROPAY", DEC)(s) is False  # a later attempt
        assert await paid("x", 1, "GIROPAY", DEC)(s) is True  # an earlier attempt
        assert await paid("x", 1, "GIROPAY", "2027-01")(s) is False  # a later month
        assert await refunded("x", DEC)(s) is True and await refunded("x", DEC)(s) is False
        rows = (await s.execute(store.zahlungen.select())).mappings().all()
    # nothing but what the statistics need
    assert [dict(r) for r in rows] == [
        {"case_id": "x", "versuch": 1, "zahlungsart": "GIROPAY", "bezahlt_monat": DEC, "erstattet_monat": DEC}
    ]


COUNTS = {
    BEZAHLT: {("GIROPAY", NOV): 7, ("GIROPAY", DEC): 5, ("CREDITCARD", NOV): 4}
    | {("CREDITCARD", DEC): 3, ("PAYPAL", NOV): 1, ("PAYPAL", DEC): 6},
    ERSTATTET: {("GIROPAY", DEC): 3, ("PAYPAL", DEC): 2},
}


def with_margins(
    inner: dict[tuple[str, str], int], rows: tuple[str, ...], cols: tuple[str, ...]
) -> dict[Cell, int]:
    out: dict[Cell, int] = {(r, c): inner.get((r, c), 0) for r in rows for c in cols}
    out |= {(r, None): sum(inner.get((r, c), 0) for c in cols) for r in rows}
    out |= {(None, c): sum(inner.get((r, c), 0) for r in rows) for c in cols}
    out[(None, None)] = sum(inner.values())
    return out


def test_suppressed_jointly_and_nothing_derivable() -> None:
    ds = publish_payments(COUNTS, created=CREATED, modified=MODIFIED)
    assert ds.rows == ("GIROPAY", "CREDITCARD", "PAYPAL") and ds.cols == (NOV, DEC)
    hidden = set().union(*(t.suppressed() for t in ds.tables.values()))
    assert ("PAYPAL", NOV) in hidden and ("PAYPAL", DEC) in hidden  # 1 paid, 2 refunded
    for key, table in ds.tables.items():
        real = with_margins(COUNTS[key], ds.rows, ds.cols)
        for cell, value in table.values.items():
            assert value in (None, real[cell])
            if cell in hidden:
                assert value is None or real[cell] == 0, (key, cell)
        for cell, r in ranges(table).items():
            assert not r.pinned, (key, cell)
    assert ds.tables[BEZAHLT].values[("GIROPAY", NOV)] in (None, 7)
    with pytest.raises(ValueError, match="unknown payment method"):
        publish_payments({BEZAHLT: {("BARGELD", NOV): 3}}, created=CREATED, modified=MODIFIED)
    with pytest.raises(ValueError, match="unknown tables"):
        publish_payments({"betraege": {}}, created=CREATED, modified=MODIFIED)


def test_files() -> None:
    ds = publish_payments(COUNTS, created=CREATED, modified=MODIFIED)
    body = as_json(ds)
    assert json.loads(download(ds, "zahlungen", "json").data) == body  # type: ignore[union-attr]
    assert body["id"] == PAYMENTS_ID and body["zeitraum"] == {"von": "2026-11-01", "bis": "2026-12-31"}
    assert [(r["zahlungsart"], r["monat"]) for r in body["rows"]] == [
        ("giropay", NOV), ("Kreditkarte", NOV), ("PayPal", NOV),
        ("giropay", DEC), ("Kreditkarte", DEC), ("PayPal", DEC),
    ]  # fmt: skip
    for row in body["rows"]:
        for key in (BEZAHLT, ERSTATTET):
            assert (row[key] is None) == row[f"{key}_gesperrt"]
    assert {c["name"] for c in body["spalten"]} == set(body["rows"][0])
    lines = list(csv.DictReader(io.StringIO(as_csv(ds))))
    assert (
        lines[0]["zahlungsart"] == "giropay" and lines[-1]["zahlungsart"] == lines[-1]["monat"] == "insgesamt"
    )
    paypal = next(r for r in lines if (r["zahlungsart"], r["monat"]) == ("PayPal", NOV))
    assert paypal["bezahlt"] == "" and paypal["bezahlt_gesperrt"] == "ja"
    assert len([r for r in lines if "insgesamt" in (r["zahlungsart"], r["monat"])]) == 3 + 2 + 1
    assert [(d.table, d.suffix) for d in downloads(ds)] == [("zahlungen", "csv"), ("zahlungen", "json")]
    assert download(ds, "zahlungen", "xlsx") is None and download(ds, "fallzahlen", "csv") is None


def test_catalogue_entry_in_ckan_and_dcat() -> None:
    ds = publish_payments(COUNTS, created=CREATED, modified=MODIFIED)
    empty = publish_payments({}, created=CREATED, modified=CREATED)
    assert as_json(empty)["rows"] == [] and as_json(empty)["zeitraum"] is None
    status, body = ckan.call("package_show", {"id": PAYMENTS_ID}, [entry(ds)], BASE)
    pkg = body["result"]
    assert status == 200 and pkg["title"] == "Online-Zahlungen von Gebühren nach Monat und Zahlungsart"
    assert pkg["num_resources"] == 2 and [r["format"] for r in pkg["resources"]] == ["CSV", "JSON"]
    assert {"key": "temporal_start", "value": "2026-11-01"} in pkg["extras"]
    assert not any(e["key"] in ("leistung", "leika") for e in pkg["extras"])
    found = ckan.call("package_search", {"q": "Zahlungsart", "fq": "tags:E-Payment"}, [entry(ds)], BASE)[1]
    assert found["result"]["count"] == 1
    for payments in (ds, empty):
        data = dcat.jsonld_bytes([entry(payments)], BASE)
        assert dcat.validate(data) == [] and dcat.report(data) == []


@pytest.mark.parametrize("refunds", list(itertools.product((0, 1, 2, 3), repeat=2)))
def test_small_refunds_never_derivable(refunds: tuple[int, int]) -> None:
    """Few refunds beside many payments: whatever is hidden stays a range."""
    counts = {
        BEZAHLT: {("GIROPAY", NOV): 9, ("PAYPAL", NOV): 4, ("GIROPAY", DEC): 8, ("PAYPAL", DEC): 3},
        ERSTATTET: {("GIROPAY", DEC): refunds[0], ("PAYPAL", DEC): refunds[1]},
    }
    ds = publish_payments(counts, created=CREATED, modified=MODIFIED)
    for table in ds.tables.values():
        assert not any(r.pinned for r in ranges(table).values())
