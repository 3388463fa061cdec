"""One lock for PDFium in the whole process.

PDFium (pypdfium2) is not thread-safe, and in the embedded platform every module runs in
one process: whoever opens, renders or reads a PDF holds this lock, whatever module it is.
"""

from __future__ import annotations

import threading

PDFIUM_LOCK = threading.RLock()
