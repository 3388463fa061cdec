"""The counting rules of the Postkorb dataset (one fact per Nachforderung and per Bescheid,
in any order and number of deliveries of the events), its suppression and medians, its
files, its CKAN package and its DCAT-AP.de metadata."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from rathaus.opendata import ckan, dcat, store
from rathaus.opendata.domain.audit import disclosed, ranges
from rathaus.opendata.domain.disclosure import Cell, Published, Table, suppress_together
from rathaus.opendata.domain.postkorb import (
    ABRUF,
    AKTENLAGE,
    AUSSTEHEND,
    DRITTER_TAG,
    FAELLE,
    FEW,
    FRISTGERECHT,
    HIDDEN,
    NICHT_UEBERMITTELT,
    OFFEN,
    POSTKORB_ID,
    VERSPAETET,
    VIERTER_TAG,
    Median,
    answer,
    kind_determined,
    kind_of_channel,
    outcome,
    presumed_passed,
    publish_postkorb,
)
from rathaus.opendata.domain.postkorb_formats import as_csv, as_json, download, downloads, entry

BASE = "https://daten.rathaus.example/opendaten"
CREATED, MODIFIED = "2026-10-01T08:00:00+00:00", "2026-12-02T09:00:00+00:00"
NOV, DEC = "2026-11", "2026-12"
TODAY = date(2026, 11, 15)
TITLES = {"parken": "Bewohnerparkausweis", "hund": "Hundesteuer", "sperr": "Sperrmüll"}


def test_rules() -> None:
    # the deadline ends with its day in Munich: 23:30 Munich time on it is in time, 00:30 after is not
    assert answer("2026-11-20T22:30:00+00:00", "2026-11-20") == FRISTGERECHT
    assert answer("2026-11-20T23:30:00+00:00", "2026-11-20") == VERSPAETET
    assert answer("2026-11-02T08:00:00+00:00", "2026-11-20") == FRISTGERECHT
    with pytest.raises(ValueError, match="Frist: „bald“ ist kein Datum"):
        answer("2026-11-02T08:00:00+00:00", "bald")
    with pytest.raises(ValueError, match="Antwort: „gestern“ ist kein Zeitpunkt"):
        answer("gestern", "2026-11-20")
    # a reply wins over a lapse; without either the Nachforderung is open
    assert outcome(VERSPAETET, True) == VERSPAETET and outcome(FRISTGERECHT, False) == FRISTGERECHT
    assert outcome(None, True) == AKTENLAGE and outcome(None, False) == OFFEN
    assert [kind_of_channel(c) for c in ("postkorb", "email", "post", "akte")] == [
        None, VIERTER_TAG, VIERTER_TAG, NICHT_UEBERMITTELT,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="Unbekannter Zustellweg 'fax'"):
        kind_of_channel("fax")
    assert kind_determined(True) == ABRUF and kind_determined(False) == DRITTER_TAG
    # the presumed day itself may still see a retrieval before it arrive: counted the day after
    assert presumed_passed("2026-11-14", TODAY) and not presumed_passed("2026-11-15", TODAY)
    with pytest.raises(ValueError, match="Bekanntgabe: „x“ ist kein Datum"):
        presumed_passed("x", TODAY)


@pytest.fixture
async def session() -> AsyncIterator[Callable[[], AsyncSession]]:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(store.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


Step = Callable[[AsyncSession], Awaitable[bool]]


def requested(request: str, case: str, service: str, at: str, deadline: str) -> Step:
    return lambda s: store.record_requested(s, request, case, service, at[:7], at, deadline)


def replied(request: str, case: str, at: str) -> Step:
    return lambda s: store.record_reply(s, request, case, at)


def lapsed(request: str, case: str) -> Step:
    return lambda s: store.record_lapsed(s, request, case)


def delivered(case: str, service: str, channel: str, sent: str, presumed: str) -> Step:
    """What the handler does with a DecisionDelivered on ``TODAY``."""
    kind = kind_of_channel(channel)
    if kind is None and presumed_passed(presumed, TODAY):
        kind = DRITTER_TAG
    return lambda s: store.record_delivery(s, case, service, sent[:7], channel, kind, presumed)


def determined(case: str, provided: str, by_retrieval: bool) -> Step:
    return lambda s: store.record_determined(s, case, provided[:7], kind_determined(by_retrieval))


AT = "2026-11-05T09:00:00+00:00"
STEPS = [
    # parken: in time (120 hours), redelivered; on the deadline day late in the evening
    requested("r1", "c1", "parken", AT, "2026-11-20"),
    replied("r1", "c1", "2026-11-10T09:00:00+00:00"),
    replied("r1", "c1", "2026-11-10T09:00:00+00:00"),
    requested("r1", "c1", "parken", AT, "2026-11-20"),
    requested("r2", "c2", "parken", AT, "2026-11-20"),
    replied("r2", "c2", "2026-11-20T22:30:00+00:00"),
    # after midnight in Munich: late
    requested("r3", "c3", "parken", AT, "2026-11-20"),
    replied("r3", "c3", "2026-11-20T23:30:00+00:00"),
    # no reply: reminded, then decided nach Aktenlage (and that delivered twice)
    requested("r4", "c4", "parken", AT, "2026-11-20"),
    lapsed("r4", "c4"),
    lapsed("r4", "c4"),
    # lapsed, and the reply came after all: answered late
    requested("r5", "c5", "parken", AT, "2026-11-20"),
    lapsed("r5", "c5"),
    replied("r5", "c5", "2026-12-02T10:00:00+00:00"),
    # case c4's second Nachforderung, in December: the case counts once, in November
    requested("r6", "c4", "parken", "2026-12-01T09:00:00+00:00", "2026-12-15"),
    replied("r6", "c4", "2026-12-01T21:00:00+00:00"),
    # parken: decided while the Nachforderung was open (no level 2 comes then): nach Aktenlage
    requested("r10", "c10", "parken", AT, "2026-11-20"),
    lambda s: store.record_delivered(s, "c10", "parken", "granted", NOV, "2026-11-12T10:00:00+00:00"),
    # ... but a reply filed before the Bescheid, however late it arrives here, answers it
    requested("r11", "c11", "parken", AT, "2026-11-20"),
    lambda s: store.record_delivered(s, "c11", "parken", "granted", NOV, "2026-11-12T10:00:00+00:00"),
    replied("r11", "c11", "2026-11-06T09:00:00+00:00"),
    # hund: open; a reply to a Nachforderung never known and a lapse of another count nowhere
    requested("r7", "c7", "hund", "2026-12-03T09:00:00+00:00", "2026-12-17"),
    replied("r8", "c8", "2026-12-04T09:00:00+00:00"),
    lapsed("r9", "c9"),
    # Bescheide: retrieved before the third day, after it, never (its day passed), not yet
    delivered("d1", "parken", "postkorb", "2026-11-02T10:00:00+00:00", "2026-11-05"),
    determined("d1", "2026-11-02T10:00:00+00:00", True),
    determined("d1", "2026-11-02T10:00:00+00:00", True),
    delivered("d2", "parken", "postkorb", "2026-11-02T10:00:00+00:00", "2026-11-05"),
    determined("d2", "2026-11-02T10:00:00+00:00", False),
    delivered("d3", "parken", "postkorb", "2026-11-02T10:00:00+00:00", "2026-11-05"),
    delivered("d3", "parken", "postkorb", "2026-11-02T10:00:00+00:00", "2026-11-05"),
    delivered("d4", "hund", "postkorb", "2026-11-14T10:00:00+00:00", "2026-11-17"),
    # the third day passed unretrieved as far as we knew, then the early retrieval arrived
    delivered("d5", "parken", "postkorb", "2026-11-09T10:00:00+00:00", "2026-11-12"),
    determined("d5", "2026-11-09T10:00:00+00:00", True),
    delivered("d6", "hund", "email", "2026-11-09T10:00:00+00:00", "2026-11-13"),
    delivered("d7", "hund", "akte", "2026-11-30T23:30:00+00:00", "2026-12-01"),
    determined("d8", "2026-11-02T10:00:00+00:00", True),  # never delivered here: counted nowhere
]
NF_TRUTH = {
    FAELLE: {("parken", NOV): 7, ("hund", DEC): 1},
    FRISTGERECHT: {("parken", NOV): 3, ("parken", DEC): 1},
    VERSPAETET: {("parken", NOV): 2},
    AKTENLAGE: {("parken", NOV): 2},
    OFFEN: {("hund", DEC): 1},
}
HOURS = {("parken", NOV): [24, 120, 373, 374, 649], ("parken", DEC): [12]}
BG_TRUTH = {
    ABRUF: {("parken", NOV): 2},
    DRITTER_TAG: {("parken", NOV): 2},
    VIERTER_TAG: {("hund", NOV): 1},
    NICHT_UEBERMITTELT: {("hund", "2026-11"): 1},  # the month of the delivery as sent (UTC here)
    AUSSTEHEND: {("hund", NOV): 1},
}


async def run(session: Callable[[], AsyncSession], steps: list[Step]) -> tuple[Any, Any, Any]:
    async with session() as s:
        for step in steps:
            await step(s)
        await s.commit()
        result = (
            await store.nachforderung_counts(s),
            {k: sorted(v) for k, v in (await store.reply_hours(s)).items()},
            await store.bekanntgabe_counts(s),
        )
        await s.execute(store.nachforderungen.delete())
        await s.execute(store.bekanntgaben.delete())
        await s.execute(store.faelle.delete())
        await s.commit()
    return result


async def test_one_fact_each_in_any_order(session: Callable[[], AsyncSession]) -> None:
    assert await run(session, STEPS) == (NF_TRUTH, HOURS, BG_TRUTH)
    shuffle = random.Random(9)
    for _ in range(40):
        steps = STEPS[:]
        shuffle.shuffle(steps)
        assert await run(session, steps) == (NF_TRUTH, HOURS, BG_TRUTH)


async def test_only_what_the_statistics_need_remains(session: Callable[[], AsyncSession]) -> None:
    async with session() as s:
        assert await replied("r", "c", "2026-11-12T09:00:00+00:00")(s) is False  # request unknown
        assert await replied("r", "c", "2026-11-11T09:00:00+00:00")(s) is False  # earlier: kept
        assert await lapsed("r", "c")(s) is False  # the request is unknown: no count changed
        assert await requested("r", "c", "parken", AT, "2026-11-20")(s) is True
        assert await requested("r", "c", "parken", AT, "2026-11-20")(s) is False
        # answered: a further reply changes nothing (the first filed while unanswered counts)
        assert await replied("r", "c", "2026-11-06T09:00:00+00:00")(s) is False
        nf = [dict(r) for r in (await s.execute(store.nachforderungen.select())).mappings().all()]
        assert await delivered("b", "parken", "postkorb", "2026-11-14T10:00:00+00:00", "2026-11-17")(s)
        before = [dict(r) for r in (await s.execute(store.bekanntgaben.select())).mappings().all()]
        assert await store.settle_presumed(s, "2026-11-17") == 0  # the third day itself: not yet
        assert await store.settle_presumed(s, "2026-11-18") == 1
        assert await store.settle_presumed(s, "2026-11-18") == 0
        assert await determined("b", "2026-11-14T10:00:00+00:00", False)(s) is False  # as assumed
        assert await determined("b", "2026-11-14T10:00:00+00:00", True)(s) is True  # it was early
        after = [dict(r) for r in (await s.execute(store.bekanntgaben.select())).mappings().all()]
    # the earliest reply while the request was unknown: 6 days (144 hours); no times, no deadline
    assert nf == [
        {
            "request_id": "r", "case_id": "c", "service_id": "parken", "monat": NOV, "angefordert": None,
            "frist": None, "antwort": None, "ergebnis": FRISTGERECHT, "antwort_stunden": 144,
            "aktenlage": True,
        }
    ]  # fmt: skip
    assert before == [
        {"case_id": "b", "service_id": "parken", "monat": NOV, "kanal": "postkorb", "art": None,
         "vermutet": "2026-11-17"}
    ]  # fmt: skip
    assert after == [{**before[0], "art": ABRUF, "vermutet": None}]


def with_margins(
    inner: dict[tuple[str, str], int], rows: tuple[str, ...], cols: tuple[str, ...]
) -> dict[Cell, int]:
    out: dict[Cell, int] = {(r, c): inner.get((r, c), 0) for r in rows for c in cols}
    out |= {(r, None): sum(inner.get((r, c), 0) for c in cols) for r in rows}
    out |= {(None, c): sum(inner.get((r, c), 0) for r in rows) for c in cols}
    out[(None, None)] = sum(inner.values())
    return out


NF = {
    FAELLE: {("parken", NOV): 14, ("parken", DEC): 9, ("hund", NOV): 6, ("hund", DEC): 7},
    FRISTGERECHT: {("parken", NOV): 7, ("parken", DEC): 5, ("hund", NOV): 3, ("hund", DEC): 4},
    VERSPAETET: {("parken", NOV): 3, ("parken", DEC): 3, ("hund", DEC): 3},
    AKTENLAGE: {("parken", NOV): 4, ("hund", NOV): 3},
    OFFEN: {("parken", DEC): 1},
}
REPLY_HOURS = {
    ("parken", NOV): [24, 48, 72, 96, 100, 200, 300, 400, 12, 36],
    ("parken", DEC): [10, 20, 30, 40, 50, 60, 70, 80],
    ("hund", NOV): [5, 6, 7],
    ("hund", DEC): [1, 2, 3, 4, 5],
}
BG = {
    ABRUF: {("parken", NOV): 10, ("parken", DEC): 8, ("hund", NOV): 4},
    DRITTER_TAG: {("parken", NOV): 6, ("parken", DEC): 2, ("hund", NOV): 3},
    VIERTER_TAG: {("hund", NOV): 5, ("hund", DEC): 3},
    NICHT_UEBERMITTELT: {("hund", DEC): 1},
    AUSSTEHEND: {("parken", DEC): 4},
}


def publish(nf: Any = NF, bg: Any = BG) -> Any:
    return publish_postkorb(nf, REPLY_HOURS, bg, TITLES, created=CREATED, modified=MODIFIED)


def test_suppressed_per_group_and_nothing_derivable() -> None:
    ds = publish()
    nf, bg = ds.nachforderungen, ds.bekanntgabe
    assert nf.rows == ("parken", "hund") and nf.cols == (NOV, DEC)  # by title: Bewohnerpark…, Hunde…
    assert bg.rows == ("parken", "hund") and ds.cols == (NOV, DEC)
    for group, truth in ((nf, NF), (bg, BG)):
        hidden = set().union(*(t.suppressed() for t in group.tables.values()))
        for key, table in group.tables.items():
            real = with_margins(truth[key], group.rows, group.cols)
            assert {c for c, v in real.items() if 0 < v < 3} <= set(table.suppressed()), key
            for cell, value in table.values.items():
                assert value in (None, real[cell]), (key, cell)
                assert cell not in hidden or value is None or real[cell] == 0, (key, cell)
            assert not any(r.pinned for r in ranges(table).values()), key
    # parken's one open Nachforderung in December hides that place in every table where it is not 0
    assert all(
        nf.tables[k].values[("parken", DEC)] is None for k in (FAELLE, FRISTGERECHT, VERSPAETET, OFFEN)
    )
    assert nf.tables[AKTENLAGE].values[("parken", DEC)] == 0
    # the groups are protected apart: hund's Bescheid only filed does not hide its Nachforderungen
    assert bg.tables[NICHT_UEBERMITTELT].values[("hund", DEC)] is None
    assert (
        nf.tables[FRISTGERECHT].values[("hund", DEC)] == 4 and nf.tables[FAELLE].values[("hund", None)] == 13
    )
    with pytest.raises(ValueError, match="unknown tables"):
        publish(nf={"gesamt": {}})


def test_medians_only_from_five_published_replies() -> None:
    m = publish().medians
    assert m[("hund", NOV)] == Median(None, FEW)  # 3 replies
    assert m[("hund", DEC)] == Median(0.1, "")  # 4 + 3 replies published, 5 durations: 3 hours
    assert m[("hund", None)] == Median(0.2, "")  # 8 durations: (4 + 5) / 2 hours
    for cell in (("parken", NOV), ("parken", DEC), ("parken", None), (None, NOV), (None, None)):
        assert m[cell] == Median(None, HIDDEN), cell  # no median where the counts are hidden
    bigger = publish_postkorb(
        {FRISTGERECHT: {("parken", NOV): 7}, VERSPAETET: {("parken", NOV): 3}},
        {("parken", NOV): [24, 48, 72, 96, 100, 200, 300, 400, 12, 36]},
        {},
        TITLES,
        created=CREATED,
        modified=MODIFIED,
    )
    assert bigger.medians[("parken", NOV)] == bigger.medians[(None, None)] == Median(3.5, "")  # 84 hours


def test_files() -> None:
    ds = publish()
    assert [(d.table, d.suffix) for d in downloads(ds)] == [
        ("nachforderungen", "csv"), ("nachforderungen", "json"), ("bekanntgabe", "csv"), ("bekanntgabe", "json"),
    ]  # fmt: skip
    for table in ("nachforderungen", "bekanntgabe"):
        body = as_json(ds, table)
        assert json.loads(download(ds, table, "json").data) == body  # type: ignore[union-attr]
        assert body["id"] == POSTKORB_ID and body["zeitraum"] == {"von": "2026-11-01", "bis": "2026-12-31"}
        assert {c["name"] for c in body["spalten"]} == set(body["rows"][0])
        lines = list(csv.DictReader(io.StringIO(as_csv(ds, table))))
        assert lines[-1]["leistung"] == lines[-1]["monat"] == "insgesamt"
        for row in body["rows"]:
            assert row["leistung"] == TITLES[row["leistung_id"]]
    nf = as_json(ds, "nachforderungen")
    assert [(r["leistung"], r["monat"]) for r in nf["rows"]] == [
        ("Bewohnerparkausweis", NOV), ("Hundesteuer", NOV), ("Bewohnerparkausweis", DEC), ("Hundesteuer", DEC),
    ]  # fmt: skip
    hund = nf["rows"][3]
    assert (hund["fristgerecht"], hund["verspaetet"], hund["nach_aktenlage"], hund["offen"]) == (4, 3, 0, 0)
    assert hund["antwort_median_tage"] == 0.1 and hund["antwort_median_grund"] is None
    lines = list(csv.DictReader(io.StringIO(as_csv(ds, "nachforderungen"))))
    parken = next(r for r in lines if r["leistung_id"] == "parken" and r["monat"] == DEC)
    assert parken["offen"] == "" and parken["offen_gesperrt"] == "ja" and parken["nach_aktenlage"] == "0"
    assert parken["antwort_median_tage"] == "" and parken["antwort_median_grund"] == HIDDEN
    assert len([r for r in lines if "insgesamt" in (r["leistung"], r["monat"])]) == 2 + 2 + 1
    assert download(ds, "nachforderungen", "xlsx") is None and download(ds, "zahlungen", "csv") is None


def test_catalogue_entry_in_ckan_and_dcat() -> None:
    ds = publish()
    empty = publish_postkorb({}, {}, {}, {}, created=CREATED, modified=CREATED)
    assert (
        as_json(empty, "bekanntgabe")["rows"] == [] and as_json(empty, "nachforderungen")["zeitraum"] is None
    )
    status, body = ckan.call("package_show", {"id": POSTKORB_ID}, [entry(ds)], BASE)
    pkg = body["result"]
    assert status == 200 and pkg["title"] == "Nachforderungen und Bekanntgabe im Postkorb"
    assert pkg["num_resources"] == 4 and [r["format"] for r in pkg["resources"]] == ["CSV", "JSON"] * 2
    assert {"key": "temporal_start", "value": "2026-11-01"} in pkg["extras"]
    found = ckan.call("package_search", {"q": "Bekanntgabe", "fq": "tags:Nachforderung"}, [entry(ds)], BASE)[
        1
    ]
    assert found["result"]["count"] == 1
    for postkorb in (ds, empty):
        data = dcat.jsonld_bytes([entry(postkorb)], BASE)
        assert dcat.validate(data) == [] and dcat.report(data) == []


def test_a_cell_known_elsewhere_is_never_a_complement() -> None:
    """One table alone: the cheapest complement of the 1 is the 5 beside it; when the 5 is
    public elsewhere the suppression goes round it."""
    table = Table(("a", "b"), (NOV, DEC), {("a", NOV): 1, ("a", DEC): 5, ("b", NOV): 6, ("b", DEC): 7})
    plain = suppress_together({"t": table})["t"]
    assert ("a", DEC) in plain.suppressed()
    avoiding = suppress_together({"t": table}, {"t": {("a", DEC), ("b", DEC)}})["t"]
    assert ("a", NOV) in avoiding.suppressed() and not {("a", DEC), ("b", DEC)} & set(avoiding.suppressed())
    assert not any(r.pinned for r in ranges(avoiding).values())


def substituted(
    ds: Any, counts: dict[str, dict[tuple[str, str], int]], known: set[Cell]
) -> dict[str, Published]:
    """The Bekanntgabe tables as someone reads them who also reads the services' datasets:
    where only one kind is not 0 at a place whose Bescheide are published, its value."""
    g = ds.bekanntgabe
    full = {k: Table(g.rows, g.cols, counts.get(k, {})).values() for k in g.keys}
    out = {}
    for key, table in g.tables.items():
        values = dict(table.values)
        for cell, value in table.values.items():
            if value is None and cell in known and all(full[k][cell] == 0 for k in g.keys if k != key):
                values[cell] = full[key][cell]
        out[key] = Published(g.rows, g.cols, values)
    return out


def test_bekanntgabe_safe_beside_the_services_datasets() -> None:
    """The kinds of Bekanntgabe add up to the Bescheide each service's dataset publishes per
    month: a complement where only one kind occurs would be read off there."""
    counts = {
        ABRUF: {("parken", NOV): 4, ("parken", DEC): 2, ("hund", DEC): 3},
        DRITTER_TAG: {("parken", DEC): 4, ("hund", NOV): 6},
    }
    # every service's dataset publishes its Bescheide per month and overall (so the sums too)
    known = {(s, m) for s in (*TITLES, None) for m in (NOV, DEC, None)}
    plain = publish_postkorb({}, {}, counts, TITLES, created=CREATED, modified=MODIFIED)
    read = substituted(plain, counts, known)
    assert ("parken", NOV) in plain.bekanntgabe.tables[ABRUF].suppressed()  # a complement, alone there
    assert ("parken", DEC) in disclosed(read[ABRUF])  # so the 2 is given away
    ds = publish_postkorb({}, {}, counts, TITLES, created=CREATED, modified=MODIFIED, known=known)
    assert not ds.bekanntgabe.withheld
    assert ds.bekanntgabe.tables[ABRUF].values[("parken", NOV)] == 4  # public anyway: shown
    assert ds.bekanntgabe.tables[ABRUF].values[("parken", DEC)] is None
    for key, table in substituted(ds, counts, known).items():
        assert disclosed(table) == [], key


def test_bekanntgabe_withheld_when_only_public_cells_could_protect() -> None:
    counts = {
        ABRUF: {("parken", "2026-10"): 12, ("parken", DEC): 3, ("hund", DEC): 6},
        DRITTER_TAG: {("parken", NOV): 12, ("hund", "2026-10"): 15, ("sperr", NOV): 8},
        VIERTER_TAG: {("parken", DEC): 2, ("sperr", "2026-10"): 4, ("sperr", DEC): 2},
    }
    known = {(s, m) for s in (*TITLES, None) for m in ("2026-10", NOV, DEC, None)}
    ds = publish_postkorb({}, {}, counts, TITLES, created=CREATED, modified=MODIFIED, known=known)
    assert ds.bekanntgabe.withheld
    for key, table in ds.bekanntgabe.tables.items():
        assert all(v is None or v == 0 for v in table.values.values()), key
        assert table.values[("hund", NOV)] == 0 or key == DRITTER_TAG
    for key, table in substituted(ds, counts, known).items():
        assert [
            c
            for c in disclosed(table)
            if 0 < Table(table.rows, table.cols, counts.get(key, {})).values()[c] < 3
        ] == []
    body = as_json(ds, "bekanntgabe")
    assert body["ganz_gesperrt"] is True and "bis auf die Nullen ganz gesperrt" in body["hinweis"]
    assert as_json(ds, "nachforderungen")["ganz_gesperrt"] is False
