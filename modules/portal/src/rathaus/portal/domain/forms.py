"""Rules of the application form as the portal shows it: its pages, what a posted page
means for the draft, uploads checked by content, register data on request.

What a form *is* comes from the procedure (services as data); what is valid is decided
by the kernel's one rule engine. Here: only how HTML maps onto it.
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from rathaus.platform.kernel.pdfium import PDFIUM_LOCK
from rathaus.platform.kernel.procedures import Definition, Node
from rathaus.platform.kernel.procedures.engine import TEXT_MAX, clean, path_key

SUMMARY = "zusammenfassung"
APPLICANT = "antragsteller"
REGISTER_NAMES = {"melderegister": "Melderegister", "fahrzeugregister": "Fahrzeugregister"}
ATTRIBUTE_NAMES = {
    "melderegister.vorname": "Vorname",
    "melderegister.familienname": "Familienname",
    "melderegister.geburtsdatum": "Geburtsdatum",
    "melderegister.strasse": "Straße",
    "melderegister.hausnummer": "Hausnummer",
    "melderegister.postleitzahl": "Postleitzahl",
    "melderegister.ort": "Ort",
    "melderegister.stadtbezirk": "Stadtbezirk",
    "melderegister.einzugsdatum": "Eingezogen am",
    "fahrzeugregister.kennzeichen": "Auf Sie zugelassene Fahrzeuge (Kennzeichen)",
    "fahrzeugregister.hersteller": "Hersteller",
    "fahrzeugregister.modell": "Modell",
}
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
MEDIA_NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}
ROW_ACTION = re.compile(r"(hinzufuegen|entfernen):([a-z][a-z0-9_]*)(?::(\d+))?")
MAX_ROWS_SHOWN = 50  # a repeating group without a maximum still has a page that fits


def steps(definition: Definition, choose_applicant: bool = False) -> list[str]:
    """The form's pages: (who applies,) its top-level groups, the summary."""
    return [*([APPLICANT] if choose_applicant else []), *definition.steps, SUMMARY]


def shown_steps(order: list[str], visible: set[tuple[str | int, ...]], current: str = "") -> list[str]:
    """The pages to go through: a page whose group a condition hides (the Nachweise of the
    Hundesteuer when no dog has a Negativzeugnis) is skipped, not shown empty. The page the
    citizen is on stays in the list."""
    return [s for s in order if s in (APPLICANT, SUMMARY, current) or (s,) in visible]


def step_title(definition: Definition, step: str) -> str:
    if step == SUMMARY:
        return "Zusammenfassung"
    if step == APPLICANT:
        return "Antragstellende"
    return definition.node(step).element.label


def in_step(definition: Definition, step: str, path: tuple[str | int, ...]) -> bool:
    """Does an error at ``path`` belong to this page?"""
    first = path[0]
    return isinstance(first, str) and first in definition.nodes and definition.step_of(first) == step


def step_nodes(definition: Definition, step: str) -> list[Node]:
    """Every element of one page, depth first."""
    return list(definition.walk((step,)))[1:]


def empty_row(definition: Definition, group: str) -> dict[str, str]:
    return {n.name: "" for n in definition.fields() if n.repeating_group == group and n.user_supplied}


def initial_values(definition: Definition, sources: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """A new draft: optional prefills from the account (or organisation), the minimum rows."""
    values: dict[str, Any] = {}
    for node in definition.fields():
        e = node.element
        if node.repeating_group or not node.user_supplied or not e.prefill:
            continue
        found = list(sources.get(e.prefill, ()))
        if found and found[0]:
            values[e.name] = found[0]
    for group in definition.repeating_groups():
        values[group.name] = [empty_row(definition, group.name) for _ in range(max(group.low, 1))]
    return values


def read_page(definition: Definition, step: str, form: Mapping[str, Any], values: dict[str, Any]) -> None:
    """Take what a posted page holds into the draft's values (as typed, cleaned).

    Only fields the page showed are read (the page names them in ``_felder``), so a field
    hidden by a condition keeps what was typed before, and an unticked checkbox is "no".
    """
    shown = set(str(form.get("_felder", "")).split())
    for node in step_nodes(definition, step):
        if not node.user_supplied or node.is_file:
            continue
        e = node.element
        if node.repeating_group:
            for i, row in enumerate(values.get(node.repeating_group, [])):
                key = f"{node.repeating_group}-{i}-{e.name}"
                if key in shown:
                    row[e.name] = _posted(form.get(key), node)
        elif e.name in shown:
            values[e.name] = _posted(form.get(e.name), node)


def _posted(raw: Any, node: Node) -> str:
    text = raw if isinstance(raw, str) else ""
    if node.element.datatype == "bool":
        return "ja" if text.strip().casefold() in ("ja", "true", "on", "1") else ""
    return clean(text)[: (node.element.max_length or TEXT_MAX) + 50]


def row_action(definition: Definition, step: str, action: str, values: dict[str, Any]) -> str | None:
    """Add or remove a row of a repeating group on this page; the anchor to go back to."""
    match = ROW_ACTION.fullmatch(action)
    if match is None:
        return None
    verb, group, index = match.group(1), match.group(2), match.group(3)
    if (
        group not in definition.nodes
        or not definition.node(group).repeats
        or not in_step(definition, step, (group,))
    ):
        return None
    node = definition.node(group)
    rows = values.setdefault(group, [])
    if verb == "hinzufuegen":
        limit = node.high if node.high is not None else MAX_ROWS_SHOWN
        if len(rows) < limit:
            rows.append(empty_row(definition, group))
        return f"gruppe-{group}-{len(rows) - 1}"
    if index is not None and int(index) < len(rows):
        del rows[int(index)]
    return f"gruppe-{group}"


# an image is decoded to check it: a few kilobytes of PNG can claim a billion pixels and take
# gigabytes to decode (Pillow only warns below 89 million, 178 million with input's setting)
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; a scanned A4 page at 300 dpi has 8.7 million
DECODING = threading.BoundedSemaphore(2)  # images decoded at once (each up to 200 MB)
MSG_PIXELS = (
    f"Das Bild ist zu groß (höchstens {MAX_PIXELS // 1_000_000} Megapixel). "
    "Bitte verkleinern Sie es oder laden Sie ein PDF hoch."
)


def check_upload(node: Node, data: bytes) -> tuple[str | None, str]:
    """(message, media type) of a form's file field: see :func:`check_file`."""
    return check_file(data, node.element.media_types, node.element.max_bytes)


def check_file(data: bytes, media_types: Iterable[str], max_bytes: int) -> tuple[str | None, str]:
    """(message, media type) of any upload (a form's file field, a reply's attachment): the
    size, the type taken from the content (never from the name), a PDF or image that opens.
    Blocking (an image is decoded): the handlers call it through ``asyncio.to_thread``."""
    media_types = list(media_types)
    allowed = ", ".join(MEDIA_NAMES.get(m, m) for m in media_types)
    if not data:
        return "Die Datei ist leer.", ""
    if len(data) > max_bytes:
        return f"Die Datei ist zu groß (höchstens {max_bytes // (1024 * 1024)} MB).", ""
    media = next((m for m, sigs in SIGNATURES.items() if any(data.startswith(s) for s in sigs)), "")
    if media not in media_types:
        return f"Diese Datei ist keine erlaubte Datei. Erlaubt sind: {allowed}.", ""
    try:
        if media == "application/pdf":
            import pypdfium2

            with PDFIUM_LOCK:  # PDFium is not for two threads at once (input reads PDFs too)
                document = pypdfium2.PdfDocument(data)
                try:
                    if len(document) == 0:
                        return "Die PDF-Datei enthält keine Seite.", ""
                    document[0].get_size()
                finally:
                    document.close()
        else:
            from PIL import Image

            try:
                with Image.open(io.BytesIO(data)) as image:  # reads the header, decodes nothing
                    if image.width * image.height > MAX_PIXELS:
                        return MSG_PIXELS, ""
                    image.verify()
            except Image.DecompressionBombError:  # Pillow's own limit, far above ours
                return MSG_PIXELS, ""
            with DECODING, Image.open(io.BytesIO(data)) as image:
                image.load()  # verify() does not decode; a truncated image fails here
    except Exception:
        return "Die Datei ist beschädigt oder kann nicht geöffnet werden.", ""
    return None, media


def safe_filename(filename: str) -> str:
    """The name to keep of an uploaded file: its last path part, printable, at most 120 characters."""
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name.strip()[:120] or "datei"


def address_key(street: Any, house_number: Any, postal_code: Any) -> tuple[str, ...]:
    """An address as a comparison key: "Zenettistr." and "zenettistraße" are the same street."""
    text = unicodedata.normalize("NFKC", str(street or "")).casefold()
    text = text.replace("strasse", "straße").replace("str.", "straße").replace(" ", "").replace("-", "")
    return (text, str(house_number or "").casefold().replace(" ", ""), str(postal_code or "").strip())


def register_button(registers: Iterable[str]) -> str:
    """The label of the button that asks the registers, e.g. 'Melde- und Fahrzeugregister'."""
    names = [REGISTER_NAMES.get(r, r) for r in registers]
    if len(names) == 2 and all(n.endswith("register") for n in names):
        return f"Daten aus dem {names[0].removesuffix('register')}- und {names[1]} abrufen"
    return f"Daten aus dem {' und '.join(names)} abrufen"


def error_key(path: tuple[str | int, ...]) -> str:
    """An error's key on a page: the input's id suffix (``feld-<key>``)."""
    return "-".join(str(p) for p in path)


def api_errors(errors: Mapping[tuple[str | int, ...], str]) -> dict[str, str]:
    """The engine's errors as the API names them ("hunde[1].rasse")."""
    return {path_key(path): message for path, message in errors.items()}
