"""Munich's 25 Stadtbezirke, by their official number and name."""

from __future__ import annotations

import re

STADTBEZIRKE: tuple[str, ...] = (
    "01 Altstadt-Lehel",
    "02 Ludwigsvorstadt-Isarvorstadt",
    "03 Maxvorstadt",
    "04 Schwabing-West",
    "05 Au-Haidhausen",
    "06 Sendling",
    "07 Sendling-Westpark",
    "08 Schwanthalerhöhe",
    "09 Neuhausen-Nymphenburg",
    "10 Moosach",
    "11 Milbertshofen-Am Hart",
    "12 Schwabing-Freimann",
    "13 Bogenhausen",
    "14 Berg am Laim",
    "15 Trudering-Riem",
    "16 Ramersdorf-Perlach",
    "17 Obergiesing-Fasangarten",
    "18 Untergiesing-Harlaching",
    "19 Thalkirchen-Obersendling-Forstenried-Fürstenried-Solln",
    "20 Hadern",
    "21 Pasing-Obermenzing",
    "22 Aubing-Lochhausen-Langwied",
    "23 Allach-Untermenzing",
    "24 Feldmoching-Hasenbergl",
    "25 Laim",
)
UNBEKANNT = "unbekannt"
ORDER: dict[str, int] = {name: i for i, name in enumerate((*STADTBEZIRKE, UNBEKANNT))}
_BY_NAME = {name[3:].casefold(): name for name in STADTBEZIRKE}
_NUMBER = re.compile(r"^\s*(\d{1,2})(?!\d)")


def stadtbezirk(raw: str | None) -> str:
    """The official name ("02 Ludwigsvorstadt-Isarvorstadt") of what a case carries: a
    number ("2", "02"), a name, or both; ``UNBEKANNT`` for nothing or for anything else."""
    text = (raw or "").strip()
    if match := _NUMBER.match(text):
        number = int(match.group(1))
        return STADTBEZIRKE[number - 1] if 1 <= number <= len(STADTBEZIRKE) else UNBEKANNT
    return _BY_NAME.get(text.casefold(), UNBEKANNT)


def sort_key(name: str) -> int:
    return ORDER.get(name, len(ORDER))
