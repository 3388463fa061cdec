"""HTML to PDF for every module: one font configuration per process, only data: URLs."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pypdfium2
import pytest
import weasyprint.text.fonts

from rathaus.platform.kernel import typeset

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def text_of(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


def test_documents_share_one_font_configuration_and_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    original = weasyprint.text.fonts.FontConfiguration

    def counting() -> object:
        config = original()
        made.append(config)
        return config

    monkeypatch.setattr(weasyprint.text.fonts, "FontConfiguration", counting)
    monkeypatch.setattr(typeset, "_FONTS", [])
    inside = 0
    most = 0
    guard = threading.Lock()
    real_html = weasyprint.HTML

    class Watched(real_html):  # type: ignore[misc,valid-type]
        def write_pdf(self, *args: object, **kwargs: object) -> bytes:
            nonlocal inside, most
            with guard:
                inside += 1
                most = max(most, inside)
            try:
                return super().write_pdf(*args, **kwargs)  # type: ignore[no-any-return]
            finally:
                with guard:
                    inside -= 1

    monkeypatch.setattr(weasyprint, "HTML", Watched)
    with ThreadPoolExecutor(4) as pool:
        pdfs = list(pool.map(lambda n: typeset.write_pdf(f"<p>Bescheid Nummer {n}</p>"), range(8)))

    assert len(made) == 1  # WeasyPrint's default: one per document, never freed
    assert most == 1  # the shared configuration is used by one thread at a time
    assert [f"Bescheid Nummer {n}" in text_of(pdf) for n, pdf in enumerate(pdfs)] == [True] * 8


def test_a_document_reaches_no_file_and_no_address(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    requests: list[str] = []

    class Counting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "geheim.png"
    secret.write_bytes(b"not read")
    try:
        with caplog.at_level(logging.WARNING, logger="weasyprint"):
            pdf = typeset.write_pdf(
                f'<p>Anlage</p><img src="file://{secret}">'
                f'<img src="http://127.0.0.1:{server.server_port}/bild.png">'
                f'<img src="data:image/png;base64,{PIXEL}">'
            )
    finally:
        server.shutdown()
        server.server_close()
    assert requests == []
    refused = [r.getMessage() for r in caplog.records if "disallowed protocol" in r.getMessage()]
    assert len(refused) == 2 and str(secret) in refused[0] and str(server.server_port) in refused[1]
    assert "data:image" not in caplog.text  # the embedded image is read
    assert "Anlage" in text_of(pdf)
