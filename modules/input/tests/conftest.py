"""Test letters for input management, made at test time: an image-only scan (rendered
with Pillow at 300 dpi and saved as PDF, so only OCR can read it) and a PDF with its own
text layer."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

SCAN = Path(__file__).parents[3] / "e2e" / "data" / "fahrzeugschein-scan.pdf"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def scanned_letter(lines: list[str], *, fmt: str = "PDF") -> bytes:
    """An A4 page at 300 dpi carrying ``lines`` in a large clear font, as an image-only PDF
    (or PNG/JPEG/TIFF with ``fmt``)."""
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), 60) if FONT.exists() else ImageFont.load_default(size=60)
    y = 300
    for line in lines:
        draw.text((220, y), line, font=font, fill=0)
        y += 100
    out = io.BytesIO()
    page.save(out, format=fmt, resolution=300.0)
    return out.getvalue()


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text is in its own text layer (Helvetica), no image."""
    body = (
        "BT /F1 14 Tf 72 770 Td 18 TL "
        + " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines
        )
        + " ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(body.encode("cp1252")) + body.encode("cp1252") + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@pytest.fixture
def make_letter() -> Callable[..., bytes]:
    return scanned_letter


@pytest.fixture
def make_text_pdf() -> Callable[[list[str]], bytes]:
    return text_pdf


@pytest.fixture
def fahrzeugschein_scan() -> bytes:
    return SCAN.read_bytes()
