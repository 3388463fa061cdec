"""A short passage of a hit's text with the matched words marked, computed with the index's
own analyzer, so that "Mueller" is marked where "Müller" was searched."""

from __future__ import annotations

from html import escape

import tantivy

WIDTH = 240  # characters of a snippet
CONTEXT = 60  # characters before the first mark
SCAN_LIMIT = 50_000  # characters of a long OCR text looked at


def highlight(
    analyzer: tantivy.TextAnalyzer, text: str, terms: frozenset[str], prefixes: tuple[str, ...]
) -> str:
    """HTML of the best passage of ``text`` with <mark> around matches; "" when none."""
    if not text or not (terms or prefixes):
        return ""
    scanned = text[:SCAN_LIMIT]
    tokens = analyzer.pre_tokenize(scanned).tokens
    marks = [
        (t.char_offset_from, t.char_offset_to)
        for t in tokens
        if t.text in terms or (prefixes and t.text.startswith(prefixes))
    ]
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
