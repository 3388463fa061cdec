"""The Aktenzeichen (file reference): file-plan code, year and serial number.

Format ``<aktenplan>-<year>-<serial:6>``, e.g. ``523.11-2026-000042``. The E-Akte
assigns it; input management finds it in the OCR text of a letter. OCR may put spaces
around the separators or read them as other dashes, so :func:`find` is lenient and
returns the canonical form.
"""

from __future__ import annotations

import re

_PATTERN = re.compile(r"(\d{3})\s?[.,·]\s?(\d{2})\s?[-–—]\s?(20\d{2})\s?[-–—]\s?(\d{6})")


def format_aktenzeichen(aktenplan: str, year: int, serial: int) -> str:
    return f"{aktenplan}-{year}-{serial:06d}"


def find(text: str) -> list[str]:
    """Every Aktenzeichen in a text, canonical, in order of appearance, without repeats."""
    seen: list[str] = []
    for m in _PATTERN.finditer(text):
        value = f"{m.group(1)}.{m.group(2)}-{m.group(3)}-{m.group(4)}"
        if value not in seen:
            seen.append(value)
    return seen
