"""Input management: intake of online submissions and paper mail, OCR, classification, routing, triage.

Consumes ``ApplicationSubmitted`` (portal: attachments to read) and ``CaseOpened`` (E-Akte:
running cases and their Aktenzeichen). Emits ``DocumentRouted`` for every document it read
and routed into a case, automatically or by a person's assignment in the triage. Paper
mail comes in through the upload page and the watched folder
``<data_dir>/input/eingangsordner/``.
"""

NAME = "input"
PREFIX = "/posteingang"
TITLE = "Posteingang"
