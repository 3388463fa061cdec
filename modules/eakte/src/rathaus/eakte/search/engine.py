"""The search index of the E-Akte on tantivy: one entry per Vorgang and one per document
(its newest version), each carrying the units allowed to see it, so that a search filters
by unit inside the index query itself, and the facets are counted over that same query.

German text runs through lower-casing, ASCII folding and tantivy's German (Snowball)
stemmer. The stemmer reads "ae", "oe" and "ue" as umlauts (not "ue" after a vowel or "q",
so "bauen" stays "bau") and folds umlauts and "ß" as the last step: "Müller", "Mueller"
and "Muller" all become "mull", "Straße" and "Strasse" "strass", "Anträge" "antrag". The
same analyzer runs at index and at query time. Prefixes (``Bau*``) are matched against the
stemmed terms with the stemmed prefix (a stem is a prefix of its word, folded).

Everything here is synchronous and CPU-bound: callers run it off the event loop
(``asyncio.to_thread``); one :class:`SearchIndex` has one writer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from rathaus.eakte.search.query import Part, Plan, QueryError
from rathaus.eakte.search.snippet import excerpt, highlight

SCHEMA_VERSION = 3  # raise when the schema or the analyzer changes: the index is rebuilt
ANALYZER = "de_rathaus"
STATE = "rathaus-state.json"
FACETS = ("aktenplan", "year", "status")
TITLE_BOOST = 2.0  # a word in the title counts more
WRITER_HEAP = 64_000_000
MAX_PREFIX_TERMS = 10_000  # a guard on pathological prefixes; tantivy walks the FST anyway


def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(65))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("german"))
        .build()
    )


def schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    raw: dict[str, Any] = {"tokenizer_name": "raw", "index_option": "basic"}
    b.add_text_field("key", stored=True, fast=True, **raw)  # "dok:<pk>" | "vorgang:<case id>"
    b.add_text_field("case_id", stored=True, **raw)
    b.add_text_field("units", **raw)  # who may see it: the responsible unit and the co-signing ones
    b.add_text_field("kind", stored=True, **raw)
    # one field with everything searchable (title, text, metadata): a term is one posting
    # list to walk, not three; the title again on its own, for ranking
    b.add_text_field("all", tokenizer_name=ANALYZER)
    b.add_text_field("title", stored=True, tokenizer_name=ANALYZER)
    b.add_bytes_field("text", stored=True)  # the document's text, for snippets (UTF-8)
    for facet in FACETS:
        b.add_text_field(facet, stored=True, fast=True, **raw)
    for shown in ("aktenzeichen", "akte_titel", "document_type", "date"):
        b.add_text_field(shown, stored=True, **raw)
    b.add_integer_field("pk", stored=True)
    b.add_integer_field("day", fast=True)  # the date as YYYYMMDD: the order of unscored hits
    return b.build()


@dataclass(frozen=True)
class Entry:
    """One searchable thing: a Vorgang (``pk`` 0) or a document of one."""

    key: str
    case_id: str
    units: list[str]
    kind: str  # "vorgang" | "dokument"
    title: str
    body: str
    meta: str
    aktenplan: str
    year: str
    status: str
    aktenzeichen: str
    akte_titel: str
    document_type: str = ""
    date: str = ""
    pk: int = 0

    def document(self) -> tantivy.Document:
        doc = tantivy.Document()
        for name in ("key", "case_id", "kind", "title", *FACETS):
            doc.add_text(name, getattr(self, name))
        for value in (self.title, self.body, self.meta):
            doc.add_text("all", value)
        doc.add_bytes("text", self.body.encode())
        for name in ("aktenzeichen", "akte_titel", "document_type", "date"):
            doc.add_text(name, getattr(self, name))
        for unit in self.units:
            doc.add_text("units", unit)
        doc.add_integer("pk", self.pk)
        digits = self.date[:10].replace("-", "")
        doc.add_integer("day", int(digits) if digits.isdigit() else 0)
        return doc


@dataclass
class Hit:
    key: str
    kind: str
    case_id: str
    pk: int
    title: str
    aktenzeichen: str
    akte_titel: str
    document_type: str
    date: str
    status: str
    aktenplan: str
    year: str
    snippet: str  # HTML: escaped text with <mark> around the matches
    score: float


@dataclass
class Results:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Compiled:
    query: tantivy.Query
    terms: frozenset[str]  # stemmed terms, for highlighting
    prefixes: tuple[str, ...]
    scored: bool  # False when only prefixes must match: every hit has the same score


class SearchIndex:
    """A tantivy index in a directory, with the audit watermark it has caught up to."""

    def __init__(self, path: Path, *, writer_heap: int = WRITER_HEAP, writer_threads: int = 1) -> None:
        self.path = path
        self.writer_heap, self.writer_threads = writer_heap, writer_threads
        self.analyzer = analyzer()
        self.schema = schema()
        self.rebuilt = False  # whether opening found no usable index and made an empty one
        state = self._read_state()
        opened = None
        if state.get("schema") == SCHEMA_VERSION and tantivy.Index.exists(str(path)):
            try:
                opened = tantivy.Index.open(str(path))
            except ValueError:  # damaged: made anew from the store like a missing one
                opened = None
        if opened is None:
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True, exist_ok=True)
            opened = tantivy.Index(self.schema, path=str(path), reuse=False)
            self.rebuilt = True
        self.index = opened
        self.watermark = 0 if self.rebuilt else int(state.get("watermark", 0))
        if self.rebuilt:
            self._write_state()
        self.index.register_tokenizer(ANALYZER, self.analyzer)
        self._writer: tantivy.IndexWriter | None = None

    # -- writing ----------------------------------------------------------------------------

    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=self.writer_heap, num_threads=self.writer_threads)
        return self._writer

    def replace_cases(self, case_ids: Iterable[str], entries: Iterable[Entry]) -> int:
        """Remove every entry of these cases and add the given ones (not yet committed)."""
        w = self.writer
        for case_id in case_ids:
            w.delete_documents_by_term("case_id", case_id)
        n = 0
        for entry in entries:
            w.add_document(entry.document())
            n += 1
        return n

    def apply(self, case_ids: list[str], entries: list[Entry], watermark: int) -> None:
        """Replace the entries of these cases and commit up to ``watermark``."""
        self.replace_cases(case_ids, entries)
        self.commit(watermark)

    def add(self, entries: Iterable[Entry]) -> int:
        n = 0
        w = self.writer
        for entry in entries:
            w.add_document(entry.document())
            n += 1
        return n

    def clear(self) -> None:
        self.writer.delete_all_documents()
        self.watermark = 0

    def commit(self, watermark: int) -> None:
        """Make the changes searchable and durable, then record the watermark: a crash in
        between only repeats work (replacing a case is idempotent)."""
        self.writer.commit()
        self.index.reload()
        self.watermark = watermark
        self._write_state()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None

    def _read_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.path / STATE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def _write_state(self) -> None:
        tmp = self.path / (STATE + ".tmp")
        tmp.write_text(json.dumps({"schema": SCHEMA_VERSION, "watermark": self.watermark}), encoding="utf-8")
        os.replace(tmp, self.path / STATE)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    # -- searching --------------------------------------------------------------------------

    def compile(self, plan: Plan) -> Compiled:
        """The tantivy query of a parsed search (all required parts must match)."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        terms: set[str] = set()
        prefixes: list[str] = []
        for part in plan.parts:
            q = self._part(part, terms, prefixes)
            if q is not None:
                clauses.append((tantivy.Occur.MustNot if part.excluded else tantivy.Occur.Must, q))
        if not any(occur == tantivy.Occur.Must for occur, _ in clauses):
            raise QueryError("Die Suche enthält kein Wort, nach dem gesucht werden kann.")
        scored = any(p.kind != "prefix" for p in plan.parts if not p.excluded)
        return Compiled(tantivy.Query.boolean_query(clauses), frozenset(terms), tuple(prefixes), scored)

    def _part(self, part: Part, terms: set[str], prefixes: list[str]) -> tantivy.Query | None:
        tokens = self.analyzer.analyze(part.text)
        if not tokens:
            return None
        if part.kind == "prefix":
            *words, last = tokens
            if not part.excluded:
                terms.update(words)
                prefixes.append(last)
            pattern = re.escape(last) + ".*"
            if words:
                regexes: list[str | tuple[int, str]] = [re.escape(w) for w in words]
                return tantivy.Query.regex_phrase_query(self.schema, "all", [*regexes, pattern])
            return tantivy.Query.regex_query(self.schema, "all", pattern)
        if not part.excluded:
            terms.update(tokens)
        if len(tokens) == 1:
            match = tantivy.Query.term_query(self.schema, "all", tokens[0])
            in_title = tantivy.Query.term_query(self.schema, "title", tokens[0])
        else:  # a phrase, or a word the tokenizer splits ("E-Mail", an Aktenzeichen)
            phrase = list[str | tuple[int, str]](tokens)
            match = tantivy.Query.phrase_query(self.schema, "all", phrase)
            in_title = tantivy.Query.phrase_query(self.schema, "title", phrase)
        if part.excluded:
            return match
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, match),
                (tantivy.Occur.Should, tantivy.Query.boost_query(in_title, TITLE_BOOST)),
            ]
        )

    def search(
        self,
        plan: Plan,
        unit: str,
        filters: dict[str, str] | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        facets: bool = True,
    ) -> Results:
        """Hits visible to ``unit`` (filtered in the query, so counts and facets see only
        those too), best first, with the facet counts of the same query."""
        compiled = self.compile(plan)
        restrict: list[tuple[tantivy.Occur, tantivy.Query]] = [
            (tantivy.Occur.Must, compiled.query),
            (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "units", unit)),
        ]
        for name, value in (filters or {}).items():
            if name in FACETS and value:
                restrict.append((tantivy.Occur.Must, tantivy.Query.term_query(self.schema, name, value)))
        query = tantivy.Query.boolean_query(restrict)
        searcher = self.index.searcher()
        if facets and not compiled.scored:
            return self._unscored(searcher, query, compiled, limit, offset)
        # With the facets counted, every hit is visited once there, and each hit has exactly
        # one status: their sum is the total, and the top hits need no count (tantivy can
        # then skip blocks that cannot reach the top).
        found = searcher.search(query, limit=limit, offset=offset, count=not facets)
        hits = [self._hit(searcher.doc(address), float(score), compiled) for score, address in found.hits]
        total = int(getattr(found, "count", 0) or 0)
        if not facets:
            return Results(total=total, hits=hits)
        counted = self._facets(searcher.aggregate(query, self._aggregations()))
        return Results(total=sum(n for _, n in counted["status"]), hits=hits, facets=counted)

    def _unscored(
        self, searcher: tantivy.Searcher, query: tantivy.Query, compiled: Compiled, limit: int, offset: int
    ) -> Results:
        """Only prefixes: every hit scores the same, so the newest come first, and one pass
        of the aggregations gives facets, total and the top hits (a prefix that matches
        many words is the costliest query; it is evaluated once instead of twice)."""
        aggs = self._aggregations()
        aggs["top"] = {
            "top_hits": {"size": limit, "from": offset, "sort": [{"day": "desc"}], "docvalue_fields": ["key"]}
        }
        result = searcher.aggregate(query, aggs)
        hits = []
        for top in result.get("top", {}).get("hits", []):
            keys = top.get("docvalue_fields", {}).get("key") or []
            found = (
                searcher.search(tantivy.Query.term_query(self.schema, "key", keys[0]), 1) if keys else None
            )
            if found is not None and found.hits:
                hits.append(self._hit(searcher.doc(found.hits[0][1]), 1.0, compiled))
        counted = self._facets(result)
        return Results(total=sum(n for _, n in counted["status"]), hits=hits, facets=counted)

    @staticmethod
    def _aggregations() -> dict[str, Any]:
        return {name: {"terms": {"field": name, "size": 200}} for name in FACETS}

    @staticmethod
    def _facets(result: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
        return {
            name: [(str(b["key"]), int(b["doc_count"])) for b in result.get(name, {}).get("buckets", [])]
            for name in FACETS
        }

    def _hit(self, doc: tantivy.Document, score: float, compiled: Compiled) -> Hit:
        def first(name: str) -> str:
            value = doc.get_first(name)
            return "" if value is None else str(value)

        stored = doc.get_first("text")
        body = bytes(stored).decode() if stored is not None else ""
        snippet = highlight(self.analyzer, body, compiled.terms, compiled.prefixes)
        if not snippet:
            snippet = highlight(self.analyzer, first("title"), compiled.terms, compiled.prefixes)
        if not snippet:
            snippet = excerpt(body)
        pk = doc.get_first("pk")
        return Hit(
            key=first("key"),
            kind=first("kind"),
            case_id=first("case_id"),
            pk=int(pk) if pk is not None else 0,
            title=first("title"),
            aktenzeichen=first("aktenzeichen"),
            akte_titel=first("akte_titel"),
            document_type=first("document_type"),
            date=first("date"),
            status=first("status"),
            aktenplan=first("aktenplan"),
            year=first("year"),
            snippet=snippet,
            score=score,
        )
