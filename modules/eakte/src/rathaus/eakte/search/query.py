"""What a staff member may type into the search box, parsed without ever failing
unexpectedly: words (all must occur), "phrases", prefixes (``Bau*``), and exclusions
(``-Widerspruch``). Anything else is a :class:`QueryError` with a German message."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LENGTH = 500
MAX_PARTS = 20
MIN_PREFIX = 3
_PART = re.compile(r'\s*(-?)(?:"([^"]*)("?)|([^\s"]+))')


class QueryError(ValueError):
    """A search the user typed that cannot be run; the message says why, in German."""


@dataclass(frozen=True)
class Part:
    """One element of a search: a word, a phrase or a prefix, required or excluded."""

    kind: str  # "word" | "phrase" | "prefix"
    text: str
    excluded: bool = False


@dataclass(frozen=True)
class Plan:
    parts: list[Part] = field(default_factory=list)

    @property
    def required(self) -> list[Part]:
        return [p for p in self.parts if not p.excluded]


def parse(text: str) -> Plan:
    """The parts of a search; raises QueryError (German) for what cannot be searched."""
    text = text.replace("\u201e", '"').replace("\u201c", '"').replace("\u201d", '"').strip()
    if not text:
        raise QueryError("Bitte geben Sie einen Suchbegriff ein.")
    if len(text) > MAX_LENGTH:
        raise QueryError(f"Die Suche ist zu lang: höchstens {MAX_LENGTH} Zeichen.")
    parts: list[Part] = []
    pos = 0
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:  # only trailing blanks are left
            break
        pos = m.end()
        excluded = m.group(1) == "-"
        if m.group(2) is not None or m.group(3) is not None:
            if m.group(3) != '"':
                raise QueryError('Ein Anführungszeichen ist nicht geschlossen: Phrasen stehen in "…".')
            if "*" in m.group(2):
                raise QueryError('In einer Phrase in "…" ist kein Platzhalter * möglich.')
            if m.group(2).strip():
                parts.append(Part("phrase", m.group(2).strip(), excluded))
            continue
        word = m.group(4)
        if word.endswith("*") and "*" not in word[:-1]:
            stem = word[:-1]
            if len(stem.strip(".,;:-_/()")) < MIN_PREFIX:
                raise QueryError(
                    f"Vor dem Platzhalter * müssen mindestens {MIN_PREFIX} Buchstaben stehen, z. B. Bau*."
                )
            parts.append(Part("prefix", stem, excluded))
        elif "*" in word:
            raise QueryError("Der Platzhalter * ist nur am Ende eines Wortes möglich, z. B. Bau*.")
        else:
            parts.append(Part("word", word, excluded))
    if len(parts) > MAX_PARTS:
        raise QueryError(f"Die Suche hat zu viele Begriffe: höchstens {MAX_PARTS}.")
    if parts and not any(not p.excluded for p in parts):
        raise QueryError("Bitte geben Sie mindestens einen Begriff an, der vorkommen soll.")
    return Plan(parts)
