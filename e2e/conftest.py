"""Shared helpers of the end-to-end suites."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable

import pytest

from e2e.city import City
from rathaus.platform.testing import EmbeddedPlatform

LETTER = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 25mm 20mm; }}
body {{ font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 12pt; line-height: 1.5; }}
.absender {{ font-size: 9pt; }}
</style></head><body>
<p class="absender">Erika Mustermann · Zenettistraße 12 · 80337 München</p>
<p>Landeshauptstadt München<br>Kreisverwaltungsreferat<br>Bewohnerparken</p>
<p style="text-align:right">München, 20. November 2026</p>
<p><strong>Ihr Zeichen: {aktenzeichen}</strong></p>
<p><strong>Betreff: Nachreichung zum Antrag auf einen Bewohnerparkausweis</strong></p>
<p>Sehr geehrte Damen und Herren,</p>
<p>{body}</p>
<p>Mit freundlichen Grüßen<br>Erika Mustermann</p>
</body></html>"""


def scanned_letter(aktenzeichen: str, body: str = "") -> bytes:
    """A letter as a scanner delivers it: a PDF of page images, with no text layer."""
    import pypdfium2
    from PIL import Image
    from weasyprint import HTML

    text = body or (
        "anbei sende ich Ihnen wie besprochen eine Kopie meines Mietvertrags als Nachweis "
        "meines Hauptwohnsitzes zu dem oben genannten Antrag."
    )
    pdf = HTML(string=LETTER.format(aktenzeichen=aktenzeichen, body=text)).write_pdf()
    document = pypdfium2.PdfDocument(pdf)
    pages = [document[i].render(scale=200 / 72, grayscale=True).to_pil() for i in range(len(document))]
    out = io.BytesIO()
    first: Image.Image = pages[0]
    first.save(out, format="PDF", resolution=200.0, save_all=True, append_images=pages[1:])
    return out.getvalue()


@pytest.fixture
def make_scanned_letter() -> Callable[..., bytes]:
    return scanned_letter


@pytest.fixture
async def city(platform: EmbeddedPlatform) -> AsyncIterator[City]:
    """The demo city over the wire, on the module's ``platform`` (each suite starts its own)."""
    async with City(platform) as c:
        yield c
