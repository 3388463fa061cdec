"""Reading files: types by content, files that really open, OCR of a real scan."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rathaus.input.domain import MAX_BYTES, UnreadableFile, check_kind, check_size, sniff
from rathaus.input.reading import check_file, preview, read


def test_types_are_told_by_content_not_by_name() -> None:
    assert sniff(b"%PDF-1.7\n...") == "application/pdf"
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0....") == "image/jpeg"
    assert sniff(b"II*\x00....") == sniff(b"MM\x00*....") == "image/tiff"
    assert sniff(b"Sehr geehrte Damen und Herren") is None
    assert sniff(b"PK\x03\x04 a zip or a .docx") is None


def test_sizes_and_unknown_content_are_refused_in_german() -> None:
    with pytest.raises(UnreadableFile, match="leer"):
        check_size(0)
    with pytest.raises(UnreadableFile, match="zu groß"):
        check_size(MAX_BYTES + 1)
    with pytest.raises(UnreadableFile, match="kein PDF und kein Bild"):
        check_kind(b"Dies ist eine Textdatei mit der Endung .pdf")


def test_a_file_must_really_open(make_letter: Callable[..., bytes]) -> None:
    with pytest.raises(UnreadableFile, match="PDF lässt sich nicht öffnen"):
        check_file(b"%PDF-1.7\nnur der Anfang einer Datei")
    png = make_letter(["Hallo"], fmt="PNG")
    with pytest.raises(UnreadableFile, match="beschädigt"):
        check_file(png[: len(png) // 3])
    assert check_file(png) == ("image/png", 1)
    assert check_file(make_letter(["Hallo"])) == ("application/pdf", 1)


def test_ocr_of_the_real_fahrzeugschein_scan(fahrzeugschein_scan: bytes) -> None:
    reading = read(fahrzeugschein_scan)
    assert reading.method == "ocr" and reading.pages == 1
    assert "Zulassungsbescheinigung" in reading.text
    assert reading.confidence is not None and 0.5 < reading.confidence <= 1


def test_a_text_layer_is_used_as_it_is(make_text_pdf: Callable[[list[str]], bytes]) -> None:
    reading = read(make_text_pdf(["Betreff: Widerspruch", "Aktenzeichen 523.11-2026-000042"]))
    assert reading.method == "text" and reading.confidence is None
    assert reading.text == "Betreff: Widerspruch\nAktenzeichen 523.11-2026-000042"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_images_are_read_directly(make_letter: Callable[..., bytes], fmt: str) -> None:
    reading = read(make_letter(["Aktenzeichen 523.11-2026-000042"], fmt=fmt))
    assert "523.11-2026-000042" in reading.text and reading.method == "ocr"


def test_an_unreadable_file_gives_an_empty_reading_and_a_preview_shows_tiff(
    make_letter: Callable[..., bytes],
) -> None:
    assert read(b"%PDF-1.7 kaputt").method == "keiner"
    assert preview(make_letter(["Seite"], fmt="TIFF"), 1).startswith(b"\x89PNG")
    with pytest.raises(IndexError):
        preview(make_letter(["Seite"]), 2)
