"""Input management's OCR against raw Tesseract on the same pages (``python -m
rathaus.input.bench``; `rathaus bench --only ocr` runs it and reads its JSON line).

The pages are scans as a Poststelle makes them: A4 at 300 dpi, greyscale PNG, a letter to
the city in German. "Input management" is the module's own reading (``reading.read``: the
file checked, decoded, OCRed with the German model, the confidence taken), one page after
another as its handler does in a thread; "raw" is tesserocr on the same PNG bytes (decode,
SetImage, GetUTF8Text) with the same model. Both load the model before the clock starts.
"""

from __future__ import annotations

import argparse
import io
import json
import time

import tesserocr
from PIL import Image, ImageDraw, ImageFont

from rathaus.input import reading

A4_300DPI = (2480, 3508)
LETTER = [
    "Max Mustermann",
    "Zenettistraße {n}",
    "80337 München",
    "",
    "Landeshauptstadt München",
    "Kreisverwaltungsreferat",
    "Ruppertstraße 19",
    "80466 München",
    "",
    "München, den {n}. November 2026",
    "",
    "Betreff: Antrag auf einen Bewohnerparkausweis, Ihr Zeichen KVR-III/12-{n:04d}",
    "",
    "Sehr geehrte Damen und Herren,",
    "",
    "anbei übersende ich Ihnen die angeforderten Unterlagen zu meinem Antrag",
    "auf einen Bewohnerparkausweis für die Parklizenzzone Schlachthofviertel.",
    "Die Zulassungsbescheinigung Teil I des Fahrzeugs mit dem Kennzeichen",
    "M-AB {n:04d} liegt in Kopie bei. Ich bin seit dem 1. März 2019 unter der",
    "oben genannten Anschrift mit Hauptwohnsitz gemeldet.",
    "",
    "Für Rückfragen erreichen Sie mich werktags zwischen 9 und 17 Uhr.",
    "Bitte senden Sie den Bescheid in mein Postfach im Bürgerportal.",
    "",
    "Mit freundlichen Grüßen",
    "",
    "Max Mustermann",
]


def scanned_page(n: int) -> bytes:
    """One page of the letter, numbered ``n``, as a 300 dpi greyscale PNG."""
    page = Image.new("L", A4_300DPI, color=250)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=46)  # Pillow's own FreeType font: no system fonts needed
    y = 300
    for line in LETTER:
        draw.text((260, y), line.format(n=n), fill=20, font=font)
        y += 78
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def measure(pages: int) -> dict[str, float | int]:
    scans = [scanned_page(n + 1) for n in range(pages)]
    reading.read(scans[0])  # the module's Tesseract API and model, loaded once
    started = time.perf_counter()
    module_chars = sum(len(reading.read(scan).text) for scan in scans)
    module_s = time.perf_counter() - started

    api = tesserocr.PyTessBaseAPI(path=reading.tessdata_path(), lang="deu")
    try:
        started = time.perf_counter()
        raw_chars = 0
        for scan in scans:
            with Image.open(io.BytesIO(scan)) as image:
                api.SetImage(image.convert("L"))
            raw_chars += len(api.GetUTF8Text().strip())
            api.Clear()
        raw_s = time.perf_counter() - started
    finally:
        api.End()
    return {
        "pages": pages,
        "module_pages_per_s": pages / module_s,
        "raw_pages_per_s": pages / raw_s,
        "module_chars": module_chars,
        "raw_chars": raw_chars,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(measure(args.pages)))


if __name__ == "__main__":
    main()
