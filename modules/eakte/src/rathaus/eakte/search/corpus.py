"""A generated German-ish corpus of Akten for the search benchmark: cases with Aktenzeichen,
applicants (names with umlauts in every spelling), file-plan entries, units, years and
statuses, and documents whose text follows a Zipf-like word distribution over an
administrative vocabulary with compounds. Deterministic for a seed; no personal data."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

from rathaus.eakte.search.engine import Entry


def words(text: str, sep: str | None = None) -> list[str]:
    return [w.strip() for w in text.split(sep)]


STEMS = words(
    "antrag bescheid genehmigung erlaubnis sondernutzung gebühr frist widerspruch nachweis "
    "stellungnahme vermerk anhörung bauvorhaben gerüst container straße platz weg gehweg "
    "fahrbahn baum nachbar anlieger gewerbe imbiss gaststätte ausschank markt fest umzug "
    "wohnung miete zuschuss förderung schule kinder betreuung hund steuer zahlung mahnung "
    "erstattung rückerstattung ausweis pass meldung anmeldung abmeldung ummeldung führerschein "
    "fahrzeug zulassung parkausweis bewohner lärm beschwerde ordnung amt behörde referat "
    "abteilung bezirk stadtteil verwaltung verfahren prüfung entscheidung zustellung akte "
    "unterlagen anlage plan skizze foto gutachten sachverständiger bauaufsicht denkmal "
    "schutz brand feuerwehr rettung zufahrt einfahrt ausfahrt sperrung umleitung verkehr "
    "ampel schild halteverbot baustelle kran bagger lieferung abfall müll tonne wertstoff "
    "grünfläche spielplatz brunnen beleuchtung kanal wasser strom leitung anschluss "
    "versorgung energie wärme dach fassade fenster balkon garage stellplatz fahrrad "
    "veranstaltung versammlung kundgebung bühne zelt stand verkauf waren lebensmittel "
    "hygiene kontrolle auflage bedingung befristung widerruf rücknahme änderung verlängerung"
)
SUFFIXES = ("", "", "", "en", "e", "es", "s", "n", "ung", "ungen")
WORDS = words(
    "der die das und oder mit für auf von zu im in am an bei nach über unter vor wird wurde "
    "ist sind hat haben kann soll muss nicht auch bitte gemäß sowie dem den des ein eine einer"
)
FAMILY = words(
    "Müller Mueller Muller Schäfer Schaefer Schmidt Schneider Fischer Weber Meyer Maier Mayer "
    "Wagner Becker Schulz Hoffmann Koch Bauer Richter Klein Wolf Schröder Schroeder Neumann "
    "Schwarz Zimmermann Braun Krüger Krueger Hofmann Hartmann Lange Schmitt Werner Krause "
    "Lehmann Köhler Koehler Huber Kaiser Fuchs Peters Möller Moeller Jung Hahn Vogel Friedrich "
    "Günther Guenther Keller Groß Gross Weiß Weiss Böhm Boehm Öztürk Yılmaz Nguyen Kowalski"
)
GIVEN = words(
    "Anna Jürgen Juergen Maria Lukas Sophie Felix Emma Paul Marie Jonas Lea Elias Hannah "
    "Özlem Ali Katharina Günter Michael Sabine Thomas Andrea Stefan Claudia Björn Jörg Ursula"
)
STREETS = words(
    "Zenettistraße, Leopoldstraße, Tal, Marienplatz, Sendlinger Straße, Lindwurmstraße, Kapuzinerstraße, "
    "Schleißheimer Straße, Dachauer Straße, Rosenheimer Straße, Kreillerstraße, Fürstenrieder Straße, "
    "Grünwalder Straße, Goethestraße, Schillerstraße, Türkenstraße, Amalienstraße, Hohenzollernstraße",
    ",",
)
STATUSES = ("eingegangen", "in_pruefung", "zur_entscheidung", "entschieden", "zugestellt")
STATUS_WEIGHTS = (1, 1, 2, 3, 10)
DOC_TYPES = ("antrag", "schreiben", "stellungnahme", "vermerk", "nachweis", "bescheid", "foto")
PLAN = [f"{a}.{b:02d}" for a in (102, 111, 350, 421, 560, 661, 700, 811) for b in (10, 20, 21, 30, 40)]
UNITS = [
    f"{dept}-{roman}/{n}"
    for dept in ("KVR", "BAU", "RGU", "SOZ")
    for roman in ("I", "II", "III")
    for n in (11, 21)
]
YEARS = [str(y) for y in range(2015, 2027)]


def vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    """Stems, their inflections and compounds, most frequent first."""
    words = list(WORDS)
    words += [s + suffix for s in STEMS for suffix in SUFFIXES[3:]]
    seen = set(words)
    while len(words) < size:
        a, b = rng.choice(STEMS), rng.choice(STEMS)
        w = a + b + rng.choice(SUFFIXES)
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class Corpus:
    """Entries for ``n`` documents, grouped into cases of one to seven documents."""

    def __init__(self, n: int, seed: int = 10) -> None:
        self.n = n
        self.rng = random.Random(seed)
        self.vocab = vocabulary(self.rng)
        weights = [1 / (rank + 10) for rank in range(len(self.vocab))]  # Zipf-like
        stream = self.rng.choices(self.vocab, weights=weights, k=1_000_000)
        self.stream = [w.capitalize() if i % 7 == 0 else w for i, w in enumerate(stream)]
        self.unit_weights = [1 / (i + 1) for i in range(len(UNITS))]

    def sentence(self) -> str:
        i = self.rng.randrange(len(self.stream) - 20)
        return " ".join(self.stream[i : i + self.rng.randint(6, 16)])

    def entries(self) -> Iterator[Entry]:
        rng = self.rng
        serial = itertools.count(1)
        made = 0
        while made < self.n:
            plan, year = rng.choice(PLAN), rng.choice(YEARS)
            unit = rng.choices(UNITS, weights=self.unit_weights)[0]
            units = [unit] if rng.random() > 0.05 else [unit, rng.choice(UNITS)]  # co-signed
            status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
            az = f"{plan}-{year}-{next(serial):06d}"
            person = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            street = f"{rng.choice(STREETS)} {rng.randint(1, 140)}"
            akte = f"{self.sentence()[:60]} – {person}"
            case_id = f"bench-{az}"
            meta = f"{az} {akte} {person} {plan} {status} {year}"
            common: dict[str, Any] = {
                "case_id": case_id,
                "units": units,
                "aktenplan": plan,
                "year": year,
                "status": status,
                "aktenzeichen": az,
                "akte_titel": akte,
            }
            yield Entry(
                key=f"vorgang:{case_id}",
                kind="vorgang",
                title=akte,
                body=f"{akte}. {street}",
                meta=meta,
                **common,
            )
            made += 1
            for _ in range(min(self.n - made, rng.randint(1, 7))):
                kind = rng.choice(DOC_TYPES)
                body = ". ".join(self.sentence() for _ in range(rng.randint(3, 12)))
                body = f"Betreff: {az}. {person}, {street}. {body}."
                yield Entry(
                    key=f"dok:{made}",
                    kind="dokument",
                    title=f"{kind.capitalize()} {self.sentence()[:50]}",
                    body=body,
                    meta=f"{meta} {kind}",
                    document_type=kind,
                    date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    pk=made,
                    **common,
                )
                made += 1

    def queries(self, count: int) -> list[tuple[str, str, str, dict[str, str]]]:
        """(kind, text, unit, filters): term, two terms, phrase, prefix and faceted searches,
        each for a unit (weighted like the corpus)."""
        rng = self.rng
        out = []
        kinds = ("term", "terms", "phrase", "prefix", "facet")
        for i in range(count):
            kind = kinds[i % len(kinds)]
            unit = rng.choices(UNITS, weights=self.unit_weights)[0]
            word = rng.choice(self.stream)
            filters: dict[str, str] = {}
            if kind == "term":
                text = word
            elif kind == "terms":
                text = f"{word} {rng.choice(FAMILY)}"
            elif kind == "phrase":
                j = rng.randrange(len(self.stream) - 3)
                text = '"' + " ".join(self.stream[j : j + rng.randint(2, 3)]) + '"'
            elif kind == "prefix":
                stem = rng.choice(STEMS)
                text = stem[: rng.randint(3, max(3, len(stem) - 1))] + "*"
            else:
                text = word
                facet = rng.choice(("aktenplan", "year", "status"))
                filters[facet] = rng.choice({"aktenplan": PLAN, "year": YEARS, "status": STATUSES}[facet])
            out.append((kind, text, unit, filters))
        return out
