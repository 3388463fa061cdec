"""Finding a service the way citizens type: German word forms ("Hunde anmelden"), umlauts
written out ("Sperrmuell"), compounds ("Parkausweis" in "Bewohnerparkausweis"), typos
("Parkausweiss"). Pure Python; an index per catalogue, built once and cached.

What is found: the offers that match every word of the query in their title, keywords,
Lebenslagen or summary; if none does, the offers that match the most words. The texts (Kosten,
Unterlagen, Rechtsgrundlagen, ...) are searched only when those fields find nothing: half the
catalogue lists "Personalausweis" among its documents, and a search for "Personalausweis" should
not list them all. A word matches a word of an offer when their stems are equal (quality 1.0),
when it begins (0.8) or lies inside (0.7) the offer's word, with a typo (0.6, 0.5), or, for a
compound nobody wrote ("Hundeanmeldung"), by its rarer part, the other part adding to the score.

Ranking, best first:
1. more of the query's words matched,
2. matches in the title, the keywords or the Lebenslage before matches only in the summary,
3. online services before the others,
4. a higher score (field weight x match quality x rarity of the word), a shorter title, the id.

Measured on the demo catalogue (113 to 118 offers, on a shared two-core machine): building the
index takes 0.2 to 0.3 s, once per catalogue and process (on the first search); a query takes
about 1 ms, up to 3 ms when the typo search runs (only for a word nothing else matches), and a
20,000-character query is capped to 100 characters. ``test_portal_search`` prints the figures.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from rathaus.platform.kernel.procedures import Offer

MAX_QUERY = 100  # characters of a query that are read; the rest is ignored
MAX_WORDS = 8
WEIGHTS = {"title": 5.0, "keywords": 4.0, "lebenslagen": 3.0, "summary": 2.0, "texts": 1.0}
STRONG = frozenset({"title", "keywords", "lebenslagen"})
EXACT, PREFIX, INFIX, COMPOUND_PART = 1.0, 0.8, 0.7, 0.5  # qualities of a match
TYPO = {1: 0.6, 2: 0.5}  # quality of a match with one or two edits
STOP_TEXT = (
    "der die das den dem des ein eine einen einem einer eines und oder bzw sowie für fur zur zum zu"
    " im in am an auf aus bei mit von vom nach ich wir sie es mein meine meinen meinem meiner mir"
    " mich will möchte mochte moechte wie was wo wann wer ist sind bitte ob als auch nicht kein keine"
)
STOPWORDS = frozenset(STOP_TEXT.split())
# verb prefixes that an Ergänzungsstrich leaves out: "an- oder abmelden" means "anmelden oder abmelden"
VERB_PREFIXES = ("zurück", "nach", "auf", "aus", "ein", "vor", "weg", "mit", "bei", "ab", "an", "um", "zu")
CONJUNCTIONS = frozenset({"oder", "und", "bzw", "sowie"})
TOKEN = re.compile(r"[^\W_]+(?:-(?![^\W_]))?")  # a word; a trailing hyphen when no word follows it
FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})

_stemmer = snowballstemmer.stemmer("german")
_stem_lock = threading.Lock()  # a Snowball stemmer keeps state while it works


@lru_cache(maxsize=20_000)
def term(word: str) -> str:
    """A word as the index keeps it: lower case, German stem, umlauts folded (ä = ae = a)."""
    word = word.casefold().replace("ß", "ss")
    with _stem_lock:
        stem = _stemmer.stemWord(word)  # Snowball also reads "ae", "oe", "ue" as umlauts
    return stem.translate(FOLD)


def words(text: str) -> list[str]:
    """The words of a text, lower case, with "an- oder abmelden" completed to "anmelden", and a
    hyphenated compound also as one word ("Kfz-Zulassung": kfz, zulassung, kfzzulassung)."""
    raw = TOKEN.findall(text.casefold())
    out: list[str] = []
    for i, token in enumerate(raw):
        if token.endswith("-"):
            head = token[:-1]
            out.append(head)
            following = raw[i + 2] if i + 2 < len(raw) and raw[i + 1] in CONJUNCTIONS else ""
            for prefix in VERB_PREFIXES:
                if following.startswith(prefix) and len(following) - len(prefix) >= 4:
                    out.append(head + following[len(prefix) :])
                    break
            continue
        out.append(token)
    joined = re.findall(r"[^\W_]+(?:-[^\W_]+)+", text.casefold())
    out.extend(j.replace("-", "") for j in joined)
    return out


def query_words(query: str) -> list[str]:
    """The words of a query that count: capped, without stop words, as index terms."""
    found = words(query[:MAX_QUERY])
    meaningful = [w for w in found if w not in STOPWORDS and len(w) > 1]
    unique = list(dict.fromkeys(term(w) for w in meaningful))
    return [t for t in unique if t][:MAX_WORDS]


def distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein with transpositions), or limit + 1 once it
    must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_edits(length: int) -> int:
    """Typos tolerated in a word of this length: none up to 4 letters, one up to 8, then two."""
    return 0 if length <= 4 else 1 if length <= 8 else 2


def bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


@dataclass
class Posting:
    """Where a term occurs in one offer."""

    fields: set[str] = field(default_factory=set)

    @property
    def strong(self) -> bool:  # in the title, the keywords or a Lebenslage
        return not self.fields.isdisjoint(STRONG)

    @property
    def main(self) -> bool:  # outside the texts
        return self.fields != {"texts"}

    def weight(self, texts: bool) -> float:
        """The best field's weight, and a quarter of each other field's."""
        weights = sorted((WEIGHTS[f] for f in self.fields if texts or f != "texts"), reverse=True)
        return weights[0] + 0.25 * sum(weights[1:]) if weights else 0.0


@dataclass
class Index:
    """The terms of every offer, their fields, and what a query word matches."""

    offers: tuple[Offer, ...]
    postings: dict[str, dict[int, Posting]] = field(default_factory=dict)
    grams: dict[str, frozenset[str]] = field(default_factory=dict)
    _matches: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def build(cls, offers: Sequence[Offer]) -> Index:
        index = cls(tuple(offers))
        for n, offer in enumerate(index.offers):
            for name, text in fields(offer):
                for word in words(text):
                    t = term(word)
                    if not t:
                        continue
                    index.postings.setdefault(t, {}).setdefault(n, Posting()).fields.add(name)
        index.grams = {t: bigrams(t) for t in index.postings}
        return index

    def idf(self, found: dict[str, float], texts: bool) -> float:
        """How rare a query word's matches are: a word found in few offers weighs more."""
        offers = {n for t in found for n, p in self.postings[t].items() if texts or p.main}
        return math.log(1 + len(self.offers) / len(offers)) if offers else 0.0

    def matches(self, q: str) -> dict[str, float]:
        """The index terms a query term matches, with the quality of each match."""
        if q not in self._matches:
            if len(self._matches) > 2_000:
                self._matches.clear()
            self._matches[q] = self._find(q) or self._typos(q)
        return self._matches[q]

    def _find(self, q: str) -> dict[str, float]:
        found = {q: EXACT} if q in self.postings else {}
        if len(q) >= 4:
            for t in self.postings:
                if t != q and q in t:
                    found[t] = PREFIX if t.startswith(q) else INFIX
        return found

    def _typos(self, q: str) -> dict[str, float]:
        limit = allowed_edits(len(q))
        if not limit:
            return {}
        mine = bigrams(q)
        found: dict[str, float] = {}
        for t, theirs in self.grams.items():
            if len(mine & theirs) < len(mine) - 2 * limit:
                continue  # too few common letter pairs for a word this close
            if len(t) <= len(q) + limit:
                edits = distance(q, t, limit)
            else:  # a typo in the head of a compound: compare with its end
                edits = min(distance(q, t[-n:], limit) for n in range(len(q) - limit, len(q) + limit + 1))
            if edits <= limit:
                found[t] = max(found.get(t, 0.0), TYPO[max(edits, 1)])
        return found

    def compound(self, q: str) -> tuple[dict[str, float], dict[str, float]]:
        """A compound nobody wrote ("Hundeanmeldung"), split where both parts are known words:
        the matches of its rarer part (required) and of the other part (adding to the score)."""
        for cut in range(len(q) - 4, 3, -1):
            head, tail = term(q[:cut]), term(q[cut:])
            if head not in self.postings or len(tail) < 4:
                continue
            tails = self._find(tail)
            if not tails:
                continue
            heads = {head: COMPOUND_PART}
            tails = {t: COMPOUND_PART * v for t, v in tails.items()}
            spread = [len({n for t in part for n in self.postings[t]}) for part in (heads, tails)]
            return (heads, tails) if spread[0] <= spread[1] else (tails, heads)
        return {}, {}

    def plan(self, qs: list[str]) -> list[tuple[dict[str, float], bool]]:
        """Per query word what it matches, and whether an offer must match it."""
        steps: list[tuple[dict[str, float], bool]] = []
        for q in qs:
            found = self.matches(q)
            if found:
                steps.append((found, True))
                continue
            rare, other = self.compound(q)
            steps.append((rare, True))
            if other:
                steps.append((other, False))
        return steps

    def search(self, query: str) -> list[Offer]:
        steps = self.plan(query_words(query))
        return self._rank(steps, texts=False) or self._rank(steps, texts=True)

    def _rank(self, steps: list[tuple[dict[str, float], bool]], texts: bool) -> list[Offer]:
        coverage: dict[int, int] = {}
        weak: dict[int, bool] = {}
        score: dict[int, float] = {}
        for found, required in steps:
            idf = self.idf(found, texts)
            per_offer: dict[int, list[tuple[float, bool]]] = {}
            for t, quality in found.items():
                for n, posting in self.postings[t].items():
                    if texts or posting.main:
                        per_offer.setdefault(n, []).append((posting.weight(texts) * quality, posting.strong))
            for n, hits in per_offer.items():
                values = sorted((v for v, _ in hits), reverse=True)
                score[n] = score.get(n, 0.0) + idf * (values[0] + 0.25 * sum(values[1:]))
                if required:
                    coverage[n] = coverage.get(n, 0) + 1
                    weak[n] = weak.get(n, False) or not any(strong for _, strong in hits)
        if not coverage:
            return []
        best = max(coverage.values())

        def rank(n: int) -> tuple[bool, bool, float, int, str]:
            o = self.offers[n]
            return (weak[n], not o.online, -round(score[n], 6), len(o.title), o.id)

        return [self.offers[n] for n in sorted((n for n, c in coverage.items() if c == best), key=rank)]


def fields(offer: Offer) -> Iterable[tuple[str, str]]:
    yield "title", offer.title
    yield "keywords", " ".join(offer.keywords)
    yield "lebenslagen", " ".join(offer.lebenslagen)
    yield "summary", offer.summary
    texts = offer.texts
    yield "texts", " ".join([texts.costs, texts.deadlines, texts.requirements, texts.processing])
    yield "texts", " ".join([*texts.documents, *texts.legal_bases])


_indexes: dict[tuple[tuple[str, int, int], ...], tuple[Index, tuple[Offer, ...]]] = {}
_index_lock = threading.Lock()


def index_of(offers: Sequence[Offer]) -> Index:
    """The index of these offers, built once. ``Procedures.catalogue()`` returns new ``Offer``
    objects on each call but the same texts and definitions, so their identities name the
    catalogue; the cache holds the offers, so an identity cannot be reused while it is cached."""
    key = tuple((o.id, id(o.texts), id(o.definition)) for o in offers)
    with _index_lock:
        cached = _indexes.get(key)
        if cached is None:
            if len(_indexes) >= 8:
                _indexes.pop(next(iter(_indexes)))
            cached = (Index.build(offers), tuple(offers))
            _indexes[key] = cached
        return cached[0]


def search(offers: Sequence[Offer], query: str) -> list[Offer]:
    """The offers that match the query, best first (see the module's docstring); an empty query,
    or one of stop words only, finds nothing."""
    if not query_words(query):
        return []
    index = index_of(offers)
    by_id = {o.id: o for o in offers}
    return [by_id[o.id] for o in index.search(query)]
