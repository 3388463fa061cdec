"""A short passage of a hit's text with the matched words marked, decided by the index's
own analyzer, so that "Mueller" is marked where "Müller" was searched.

Analysing a whole text costs about a microsecond a word; a page of twenty hits would
spend milliseconds on it. So a regular expression built from the query's stems first
finds the words that could match (a stem is a prefix of its folded word, so the word must
begin with the stem's letters in any of their spellings: "u" as u, ü, ue …), and only
those few words are analysed to confirm."""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

import tantivy

WIDTH = 240  # characters of a snippet
CONTEXT = 60  # characters before the first mark
SCAN_LIMIT = 50_000  # characters of a long OCR text looked at
SPELLINGS = {
    "a": "(?:ae|[aäàáâã])",
    "o": "(?:oe|[oöòóôõ])",
    "u": "(?:ue|[uüùúû])",
    "e": "[eéèêë]",
    "i": "[iíìîï]",
    "c": "[cç]",
    "n": "[nñ]",
    "y": "[yý]",
}


def _spelled(stem: str) -> str:
    out, i = [], 0
    while i < len(stem):
        if stem.startswith("ss", i):
            out.append("(?:ss|ß)")
            i += 2
            continue
        out.append(SPELLINGS.get(stem[i], re.escape(stem[i])))
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def candidates(stems: tuple[str, ...]) -> re.Pattern[str]:
    """Words that begin like one of the stems, in any spelling."""
    alternatives = "|".join(_spelled(s) for s in sorted(stems, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*", re.IGNORECASE)


def highlight(
    analyzer: tantivy.TextAnalyzer, text: str, terms: frozenset[str], prefixes: tuple[str, ...]
) -> str:
    """HTML of the best passage of ``text`` with <mark> around matches; "" when none."""
    if not text or not (terms or prefixes):
        return ""
    scanned = text[:SCAN_LIMIT]
    pattern = candidates(tuple(sorted(terms | set(prefixes))))
    marks = []
    for m in pattern.finditer(scanned):
        analysed = analyzer.analyze(m.group())
        if any(a in terms or (prefixes and a.startswith(prefixes)) for a in analysed):
            marks.append((m.start(), m.end()))
    if not marks:
        return ""
    best, best_count = 0, 0
    for i, (start, _) in enumerate(marks):  # the window with the most marks
        count = sum(1 for s, e in marks[i:] if e <= start + WIDTH)
        if count > best_count:
            best, best_count = i, count
    start = max(0, marks[best][0] - CONTEXT)
    if start > 0:  # begin at a word
        blank = scanned.rfind(" ", 0, start)
        start = blank + 1 if blank >= 0 and start - blank < 20 else start
    end = min(len(text), start + WIDTH)
    if end < len(text):
        blank = scanned.rfind(" ", start, end)
        end = blank if blank > start + WIDTH // 2 else end
    out, pos = [], start
    for s, e in marks:
        if s < start or e > end:
            continue
        out.append(escape(text[pos:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return ("… " if start > 0 else "") + "".join(out).strip() + (" …" if end < len(text) else "")


def excerpt(text: str) -> str:
    """The beginning of a text, escaped, when nothing in it is marked."""
    if len(text) <= WIDTH:
        return escape(text)
    cut = text.rfind(" ", 0, WIDTH)
    return escape(text[: cut if cut > WIDTH // 2 else WIDTH]) + " …"
