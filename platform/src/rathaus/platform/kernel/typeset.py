"""HTML to PDF (WeasyPrint) for every module of a process: one font configuration, one
document at a time.

Given no font configuration, WeasyPrint makes one per document (a Fontconfig
configuration and a Pango font map) and about 250 KB of each are never freed: a process
typesetting receipts grew by 6 MiB for every 24 documents without end, and stayed flat
with one configuration kept for the process. Pango's font map is not made for several
threads at once, so its users take turns under a lock; they lose nothing by it, since
typesetting is mostly Python under the GIL: one thread made 20 receipts/s, six threads at
once 12.6/s with 35 MiB more at their peak.

A document may fetch only ``data:`` URLs: nothing of this machine's files and no address
on the network ends up in (or is reached by) a PDF the city sends. ``@font-face`` rules
of the documents add their fonts to the shared configuration (each distinct rule once).

Blocking and CPU-heavy: call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()
_FONTS: list[Any] = []  # the process's FontConfiguration, made on first use


def write_pdf(html: str, **options: Any) -> bytes:
    """The PDF of ``html``; ``options`` go to WeasyPrint's ``write_pdf`` (``pdf_variant`` …)."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    with _LOCK:
        if not _FONTS:
            _FONTS.append(FontConfiguration())
        fetcher = URLFetcher(allowed_protocols={"data"})
        pdf = HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=_FONTS[0], **options)
    assert pdf is not None
    return bytes(pdf)
