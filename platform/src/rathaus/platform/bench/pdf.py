"""Typesetting PDFs: the kernel's ``write_pdf`` (one font configuration per process, one
document at a time) against WeasyPrint's default (a font configuration per document, every
caller at once), each in a fresh interpreter, with several threads asking as the modules'
handlers do. Figures: documents/s and how much the process grows per 100 documents after a
warm-up (a leak shows as growth that does not stop)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

WARM_UP = 20

LETTER = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Bescheid {n}</title>
<style>@page {{ size: A4; margin: 25mm 20mm; }} body {{ font-family: sans-serif; font-size: 10.5pt; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #999; padding: 4pt; }}
</style></head><body><p>Landeshauptstadt München<br>Kreisverwaltungsreferat</p>
<h1>Bescheid Nummer {n}</h1><p>Sehr geehrte Frau Muster, Ihrem Antrag vom 30.11.2026 wird entsprochen.</p>
<table><tr><th>Kassenzeichen</th><td>KZ-{n:08d}</td></tr><tr><th>Gebühr</th><td>30,00 €</td></tr>
<tr><th>Rechtsgrundlage</th><td>§ 45 Abs. 1b StVO</td></tr></table>
<h2>Rechtsbehelfsbelehrung</h2><p>Gegen diesen Bescheid kann innerhalb eines Monats nach seiner
Bekanntgabe Klage erhoben werden beim Bayerischen Verwaltungsgericht München.</p></body></html>"""


@dataclass
class PdfResult:
    way: str
    documents: int
    per_s: float
    growth_kib_per_100: float
    peak_kib: int


def _rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def _child(way: str, documents: int, callers: int) -> None:
    """In a fresh interpreter: typeset, measure, print one JSON line."""
    if way == "kernel":
        from rathaus.platform.kernel.typeset import write_pdf

        def typeset(n: int) -> bytes:
            return write_pdf(LETTER.format(n=n))
    else:
        from weasyprint import HTML

        def typeset(n: int) -> bytes:
            return HTML(string=LETTER.format(n=n)).write_pdf()

    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(typeset, range(WARM_UP)))
        before = _rss_kib()
        started = time.perf_counter()
        list(pool.map(typeset, range(WARM_UP, WARM_UP + documents)))
        elapsed = time.perf_counter() - started
    growth = (_rss_kib() - before) * 100 / documents
    print(json.dumps({"per_s": documents / elapsed, "growth": growth, "peak": _rss_kib("VmHWM")}))


def run(documents: int = 200, callers: int = 4) -> list[PdfResult]:
    results = []
    for way in ("kernel", "default"):
        done = subprocess.run(  # noqa: S603 - this interpreter, our own module
            [
                sys.executable,
                "-c",
                f"from rathaus.platform.bench.pdf import _child; _child({way!r}, {documents}, {callers})",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(PdfResult(way, documents, figures["per_s"], figures["growth"], figures["peak"]))
    return results
