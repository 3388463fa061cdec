"""The rules of the Aussonderung, without I/O: which files are due, which way they go to the
archive, and what the archive's answers mean for each object. The one rule that matters
most: nothing is destroyed without the archive's explicit decision, and an object the
archive left unappraised stays (and is shown to the records manager)."""

from __future__ import annotations

from datetime import date

VIERSTUFIG = "vierstufig"  # 0501 -> 0502 -> 0503 -> 0506
ZWEISTUFIG = "zweistufig"  # 0503 -> 0506 (appraised in advance by the file plan: A)
VERFAHREN = ("auto", VIERSTUFIG, ZWEISTUFIG)

# a run's states
ANGEBOTEN = "angeboten"
UEBERGEBEN = "uebergeben"
ABGESCHLOSSEN = "abgeschlossen"
RUN_TEXT = {ANGEBOTEN: "Angeboten (0501)", UEBERGEBEN: "Übergeben (0503)", ABGESCHLOSSEN: "Abgeschlossen"}
# an object's states
OBJ_ANGEBOTEN = "angeboten"
UNBEWERTET = "unbewertet"
ZU_UEBERGEBEN = "zu_uebergeben"
OBJ_UEBERGEBEN = "uebergeben"
AUSGESONDERT = "ausgesondert"
ZU_VERNICHTEN = "zu_vernichten"
VERNICHTET = "vernichtet"
IMPORT_FEHLGESCHLAGEN = "import_fehlgeschlagen"
OBJ_TEXT = {
    OBJ_ANGEBOTEN: "Angeboten, Bewertung des Archivs steht aus",
    UNBEWERTET: "Vom Archiv nicht bewertet – bleibt erhalten, bitte klären",
    ZU_UEBERGEBEN: "Archivwürdig, Übergabe vorbereitet",
    OBJ_UEBERGEBEN: "Übergeben (0503), Importbestätigung steht aus",
    AUSGESONDERT: "Vom Archiv übernommen",
    ZU_VERNICHTEN: "Vom Archiv abgelehnt (V), Vernichtung nach Abschluss",
    VERNICHTET: "Vernichtet",
    IMPORT_FEHLGESCHLAGEN: "Import im Archiv fehlgeschlagen – bleibt erhalten, bitte klären",
}
# objects still in a running exchange: never offered twice at once
ACTIVE = (OBJ_ANGEBOTEN, ZU_UEBERGEBEN, OBJ_UEBERGEBEN, ZU_VERNICHTEN)
# objects the records manager has to look at
ATTENTION = (UNBEWERTET, IMPORT_FEHLGESCHLAGEN)


def is_due(lifecycle: str, aufbewahrungsende: str | None, today: date) -> bool:
    """A closed file (zdA) whose retention ended before today; unlimited retention (no end)
    is never due."""
    if lifecycle != "zda" or not aufbewahrungsende:
        return False
    try:
        return date.fromisoformat(aufbewahrungsende) < today
    except ValueError:
        return False


def way(aussonderungsart: str, verfahren: str) -> str | None:
    """Which exchange a due file takes: a file the plan marks A (archivwürdig by the
    catalogue) goes two-step; the others are offered (four-step). None: not in this run
    (a two-step-only run leaves files that need an appraisal)."""
    if verfahren == VIERSTUFIG:
        return VIERSTUFIG
    if aussonderungsart == "A":
        return ZWEISTUFIG
    return VIERSTUFIG if verfahren == "auto" else None


def after_appraisal(art: str | None) -> str:
    """An offered object's state after the archive's 0502: A goes to the archive, V is to
    be destroyed, anything else (missing, B) stays unappraised."""
    if art == "A":
        return ZU_UEBERGEBEN
    if art == "V":
        return ZU_VERNICHTEN
    return UNBEWERTET


def may_destroy(state: str, bewertung: str | None, run_closing: bool) -> bool:
    """Only an object the archive explicitly declined (V in its 0502), and only when the run
    closes: after the 0506 import confirmation, or at once when the archive took nothing
    (then the 0502 is the last message of the exchange)."""
    return state == ZU_VERNICHTEN and bewertung == "V" and run_closing


def after_import(state: str, ok: bool | None) -> str:
    """A handed-over object after the 0506: imported, failed, or not mentioned (None)."""
    if state != OBJ_UEBERGEBEN:
        return state
    return AUSGESONDERT if ok else IMPORT_FEHLGESCHLAGEN
