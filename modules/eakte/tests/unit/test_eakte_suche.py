"""The search engine on its own (a tantivy index in a temporary directory): unit isolation
in hits, counts and facets; German stemming and umlaut folding; phrases, prefixes and
exclusions; German messages for what cannot be searched."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from rathaus.eakte.search.engine import Entry, SearchIndex
from rathaus.eakte.search.query import QueryError, parse


def entry(pk: int, unit: str, title: str, body: str, **over: str) -> Entry:
    values = {
        "aktenplan": "661.20",
        "year": "2026",
        "status": "eingegangen",
        "aktenzeichen": f"661.20-2026-{pk:06d}",
        "akte_titel": "Testakte",
        **over,
    }
    return Entry(
        key=f"dok:{pk}",
        case_id=f"case-{pk}",
        units=[unit],
        kind="dokument",
        title=title,
        body=body,
        meta=f"{values['aktenzeichen']} {values['akte_titel']}",
        document_type="schreiben",
        pk=pk,
        **values,
    )


CORPUS = [
    entry(1, "BAU", "Antrag auf Sondernutzung", "Herr Müller beantragt ein Gerüst in der Zenettistraße."),
    entry(
        2, "BAU", "Stellungnahme", "Die Strasse ist für den Container zu schmal.", status="zur_entscheidung"
    ),
    entry(3, "BAU", "Baugenehmigung", "Genehmigungen für Bauvorhaben am Tal.", year="2025"),
    entry(4, "KVR", "Anträge auf Parkausweis", "Frau Mueller, Sondernutzung der Straße geprüft."),
    entry(5, "KVR", "Widerspruch", "Frau Muller widerspricht dem Bescheid.", aktenplan="102.21"),
]


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    ix = SearchIndex(tmp_path / "suche")
    ix.add(CORPUS)
    ix.commit(5)
    return ix


def keys(ix: SearchIndex, text: str, unit: str, **filters: str) -> set[str]:
    return {h.key for h in ix.search(parse(text), unit, filters, limit=100).hits}


def test_a_unit_never_finds_another_units_documents_not_even_in_counts_and_facets(
    index: SearchIndex,
) -> None:
    bau = index.search(parse("Sondernutzung"), "BAU")
    assert {h.key for h in bau.hits} == {"dok:1"} and bau.total == 1
    assert bau.facets["aktenplan"] == [("661.20", 1)]
    kvr = index.search(parse("Sondernutzung"), "KVR")
    assert {h.key for h in kvr.hits} == {"dok:4"} and kvr.total == 1
    # a word only in the other unit's documents: nothing, and no facet betrays them
    nothing = index.search(parse("Widerspruch"), "BAU")
    assert nothing.total == 0 and nothing.hits == []
    assert all(values == [] for values in nothing.facets.values())
    # a filter on the other unit's facet value gives nothing either
    assert keys(index, "Mueller", "BAU", aktenplan="102.21") == set()
    assert keys(index, "Mueller", "KVR", aktenplan="102.21") == {"dok:5"}
    # a unit that has nothing finds nothing
    assert keys(index, "Sondernutzung", "") == set() and keys(index, "Sondernutzung", "OTHER") == set()


def test_umlauts_in_every_spelling_find_each_other(index: SearchIndex) -> None:
    for spelling in ("Müller", "Mueller", "Muller", "MÜLLER"):
        assert keys(index, spelling, "BAU") == {"dok:1"}, spelling
        assert keys(index, spelling, "KVR") == {"dok:4", "dok:5"}, spelling
    for spelling in ("Straße", "Strasse", "STRASSE"):
        assert keys(index, spelling, "BAU") == {"dok:2"}, spelling  # not "Zenettistraße": a compound
        assert keys(index, spelling, "KVR") == {"dok:4"}, spelling


def test_german_stemming(index: SearchIndex) -> None:
    assert keys(index, "Anträge", "BAU") == {"dok:1"}  # "Antrag"
    assert keys(index, "Antrag", "KVR") == {"dok:4"}  # "Anträge"
    assert keys(index, "Genehmigung", "BAU") == {"dok:3"}  # "Genehmigungen"
    assert keys(index, "Bescheide", "KVR") == {"dok:5"}


def test_phrases_prefixes_and_exclusions(index: SearchIndex) -> None:
    assert keys(index, '"Antrag auf Sondernutzung"', "BAU") == {"dok:1"}
    assert keys(index, '"Sondernutzung auf Antrag"', "BAU") == set()  # order matters in a phrase
    assert keys(index, "„Anträge auf Parkausweis“", "KVR") == {"dok:4"}  # German quotes
    assert keys(index, "Bau*", "BAU") == {"dok:3"}  # Baugenehmigung, Bauvorhaben
    assert keys(index, "Zenetti*", "BAU") == {"dok:1"}
    assert keys(index, "Muell*", "KVR") == {"dok:4", "dok:5"}
    assert keys(index, "Müller -Widerspruch", "KVR") == {"dok:4"}
    assert keys(index, "661.20-2026-000002", "BAU") == {"dok:2"}  # an Aktenzeichen


def test_filters_and_facets_count_the_query(index: SearchIndex) -> None:
    every = index.search(parse("Sondernutzung Gerüst Strasse Bau* Müller"), "BAU")
    assert every.total == 0
    found = index.search(parse("für"), "BAU")
    assert found.total == 2
    assert dict(found.facets["year"]) == {"2026": 1, "2025": 1}
    assert dict(found.facets["status"]) == {"zur_entscheidung": 1, "eingegangen": 1}
    assert keys(index, "für", "BAU", year="2025") == {"dok:3"}
    assert keys(index, "für", "BAU", status="zur_entscheidung") == {"dok:2"}


def test_snippets_mark_the_match_in_any_spelling_and_escape_the_text(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "s")
    ix.add(
        [entry(9, "BAU", "Vermerk", "<b>Achtung</b>: Rücksprache mit Herrn Mueller & Co. wegen der Anträge.")]
    )
    ix.commit(1)
    hit = ix.search(parse("Müller Antrag"), "BAU").hits[0]
    assert "<mark>Mueller</mark>" in hit.snippet and "<mark>Anträge</mark>" in hit.snippet
    assert "&lt;b&gt;Achtung&lt;/b&gt;" in hit.snippet and "&amp; Co." in hit.snippet
    ix.add([entry(10, "BAU", "Ortstermin", "Treffen an der Straße mit Frau Schäfer und Herrn Ærø.")])
    ix.commit(2)
    marked = ix.search(parse("Strasse Schaef*"), "BAU").hits[0].snippet
    assert "<mark>Straße</mark>" in marked and "<mark>Schäfer</mark>" in marked


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Bitte geben Sie einen Suchbegriff ein."),
        ("   ", "Bitte geben Sie einen Suchbegriff ein."),
        ('"Antrag auf', "Anführungszeichen ist nicht geschlossen"),
        ("*", "mindestens 3 Buchstaben"),
        ("Ba*", "mindestens 3 Buchstaben"),
        ("B*u", "nur am Ende eines Wortes"),
        ('"Bau*"', "kein Platzhalter"),
        ("-Widerspruch", "mindestens einen Begriff"),
        ("x" * 501, "zu lang"),
        (" ".join(["a"] * 21), "zu viele Begriffe"),
    ],
)
def test_what_cannot_be_searched_gets_a_german_message(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse(text)


@pytest.mark.parametrize(
    "text", ["!!!", "-", "--", "()", "AND OR", "title:x", "[1 TO 5]", "\\", "ü*", "\x00", 'a:b:c""', "^2~"]
)
def test_query_syntax_never_crashes(index: SearchIndex, text: str) -> None:
    try:
        results = index.search(parse(text), "BAU")
    except QueryError as problem:
        assert str(problem)  # a German message, never another exception
    else:
        assert results.total >= 0


def test_a_deleted_index_directory_is_made_anew_and_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "suche"
    ix = SearchIndex(path)
    assert ix.rebuilt
    ix.add(CORPUS)
    ix.commit(42)
    ix.close()
    again = SearchIndex(path)
    assert not again.rebuilt and again.watermark == 42
    assert {h.key for h in again.search(parse("Müller"), "KVR").hits} == {"dok:4", "dok:5"}
    again.close()
    (path / "rathaus-state.json").write_text('{"schema": 0, "watermark": 42}')  # an older schema
    assert SearchIndex(path).rebuilt
    (path / "meta.json").write_text("kaputt")  # a damaged index is made anew too
    assert SearchIndex(path).rebuilt
    shutil.rmtree(path)
    fresh = SearchIndex(path)
    assert fresh.rebuilt and fresh.watermark == 0 and fresh.search(parse("Müller"), "KVR").total == 0


def test_prefix_only_searches_list_the_newest_first_page_by_page(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "s")
    days = ["2026-03-01", "2025-12-24", "2026-11-02", "2024-01-15", "2026-07-07"]
    ix.add(
        [
            replace(entry(i + 1, "BAU", f"Baustelle {i}", "Baustellen am Tal"), date=day)
            for i, day in enumerate(days)
        ]
        + [entry(9, "KVR", "Baustelle", "Baustellen am Tal")]
    )
    ix.commit(1)
    first = ix.search(parse("Baust*"), "BAU", limit=2)
    second = ix.search(parse("Baust*"), "BAU", limit=2, offset=2)
    last = ix.search(parse("Baust*"), "BAU", limit=2, offset=4)
    assert first.total == second.total == 5 and dict(first.facets["aktenplan"]) == {"661.20": 5}
    assert [h.date for h in first.hits + second.hits + last.hits] == sorted(days, reverse=True)
    assert "<mark>Baustellen</mark>" in first.hits[0].snippet
    assert {h.key for h in ix.search(parse("Baustelle"), "BAU", limit=10).hits} == {
        f"dok:{i}" for i in range(1, 6)
    }
