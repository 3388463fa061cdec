"""OCR of input management against raw Tesseract: the module's own benchmark program
(``python -m rathaus.input.bench``, a process of its own: the platform imports no module)
renders scanned pages and times both on the same bytes; this section turns its JSON into
table rows."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from rathaus.platform.bench import Table


def run(pages: int) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own program from the venv
        [sys.executable, "-m", "rathaus.input.bench", "--pages", str(pages)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def rows(found: dict[str, Any], table: Table) -> None:
    pages = found["pages"]
    table.add(
        f"OCR: input management reads scanned pages (A4, 300 dpi, German; {pages} pages)",
        f"{found['module_pages_per_s']:.2f} pages/s",
        "",
        f"{found['module_chars']} characters read",
    )
    table.add(
        "OCR: raw tesserocr on the same pages",
        f"{found['raw_pages_per_s']:.2f} pages/s",
        "",
        f"{found['raw_chars']} characters read",
    )
    ratio = found["module_pages_per_s"] / found["raw_pages_per_s"] if found["raw_pages_per_s"] else 0.0
    table.add("OCR: input management / raw", f"{ratio:.2f}", "≥ 0.9")
