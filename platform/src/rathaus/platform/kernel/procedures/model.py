"""A procedure (Leistung) as its file declares it: the structures read from TOML.

The form follows FIM's XDatenfelder: field groups (Datenfeldgruppe) that nest, each
element with a stable id and version, a multiplicity ``min:max``, a kind (input, select,
label, hidden, locked) and a data type; code lists for selects; rules for visibility,
requiredness, cross-field checks and computed values; prefill from a register
(``vorbefuellung``). ``loader`` checks and compiles it into a ``Definition``.
"""

from __future__ import annotations

import msgspec

KINDS = ("group", "input", "select", "label", "hidden", "locked")
DATATYPES = (
    "text",
    "text_latin",
    "date",
    "time",
    "datetime",
    "bool",
    "num",
    "num_int",
    "num_currency",
    "file",
)
APPLICANTS = ("person", "organisation", "anonymous")
ASSURANCE = ("niedrig", "substantiell", "hoch")
DECISION_MODES = ("clerk", "automatic")
PAYMENT = ("none", "before", "after_decision", "optional")
CHANNELS = ("postkorb", "email")
OUTCOMES = ("granted", "refused")
# the kinds of a step of a Geschäftsgang (Verfügung), and the levels a step may be reserved to
ROUTE_STEP_KINDS = ("kenntnis", "mitzeichnung", "schlusszeichnung", "bearbeitung")
ROUTE_ROLES = ("", "sachbearbeitung", "leitung")
DEFAULT_MEDIA = ["application/pdf", "image/png", "image/jpeg"]
# the EU data-theme vocabulary (DCAT-AP) an open-data dataset is filed under
EU_THEMES = (
    "AGRI",
    "ECON",
    "EDUC",
    "ENER",
    "ENVI",
    "GOVE",
    "HEAL",
    "INTR",
    "JUST",
    "REGI",
    "SOCI",
    "TECH",
    "TRAN",
)
Number = int | float


class Element(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A group or a field of the form (FIM Datenfeldgruppe / Datenfeld)."""

    name: str  # unique in the form; the key in the submission's data
    kind: str = "input"
    parent: str = ""  # the group it belongs to; "" only for groups: the form's pages
    id: str = ""  # FIM id (F… field, G… group) where one exists, else the city's own
    version: str = "1.0"
    label: str = ""
    help: str = ""
    text: str = ""  # what a label shows
    datatype: str = "text"
    multiplicity: str = "1:1"  # FIM anzahl: a field 0:1 is optional; a group with max > 1 repeats
    min_length: int | None = None
    max_length: int | None = None
    min_value: str | Number | None = None  # a number, or an expression (dates: "heute() + 14")
    max_value: str | Number | None = None
    range_message: str = ""  # German message when out of range, instead of the generic one
    pattern: str = ""  # a regular expression the whole value must match
    pattern_message: str = ""
    codelist: str = ""  # a select's code list (its id in codelisten/)
    visible_if: str = ""
    required_if: str = ""
    compute: str = ""  # a computed value (hidden or locked fields)
    prefill: str = ""  # FIM vorbefuellung: e.g. "melderegister.strasse", "konto.vorname"
    prefill_mode: str = "optional"  # optional | required (only from the source, then locked)
    autocomplete: str = ""
    media_types: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_MEDIA))
    max_bytes: int = 10 * 1024 * 1024
    document_type: str = ""  # the E-Akte's document type of an uploaded file
    legal_ref: str = ""  # FIM bezug: the legal basis of the element
    add_label: str = ""  # a repeating group's "add a row" button
    row_label: str = ""  # a repeating group's row heading, e.g. "Hund"


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A cross-field check (FIM Regel, typ V/K): ``check`` must hold, else ``message``."""

    check: str
    message: str
    id: str = ""
    severity: str = "error"  # error: refuses the submission; warning: shown and recorded
    fields: list[str] = []  # where the message appears (the first is the anchor)
    group: str = ""  # evaluated once per row of this repeating group


class Texts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The catalogue's texts (XZuFi-like)."""

    costs: str = ""  # Kosten
    deadlines: str = ""  # Fristen
    documents: list[str] = []  # Unterlagen
    requirements: str = ""  # Voraussetzungen
    legal_bases: list[str] = []  # Rechtsgrundlagen
    processing: str = ""  # Bearbeitungsdauer


class FeeLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A booking line of the fee: a tariff of the fee catalogue times a quantity."""

    tariff: str  # an id in gebuehren.toml
    quantity: str | Number = "1"  # an expression (e.g. "flaeche_qm * tage"); 0 or empty: no line
    text: str = ""  # instead of the tariff's text


class Fee(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    cents: int = 0  # a fixed fee (without booking data; prefer lines)
    field: str = ""  # the computed num_currency field that shows it in the form (euros)
    lines: list[FeeLine] = []  # booking lines from the fee catalogue: the Forderung
    payment: str = "none"  # none | before | after_decision | optional
    legal_basis: str = ""


class Tariff(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An entry of the fee catalogue (gebuehren.toml): what the Stadtkasse books, at dated rates."""

    id: str
    text: str
    haushaltsstelle: str
    objektnummer: str
    legal_basis: str = ""
    rates: dict[str, int]  # valid_from (ISO date) -> cents; the latest valid_from <= the day applies


class Decision(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    mode: str = "clerk"  # clerk | automatic (§ 35a VwVfG)
    automatic_if: str = ""  # automatic: decided by the system only when this holds, else by a clerk
    reminder_days: float = 14  # from "zur Entscheidung" to a reminder
    escalation_days: float = 7  # from the reminder to an escalation to the lead
    fiction_days: float = 0  # § 42a VwVfG: granted when no decision within this many days
    fiction_basis: str = ""
    valid_days: int = 0  # a permit's validity from the decision
    cosign: list[str] = []  # units that co-sign (Mitzeichnung) before the decision
    reasons: str = ""  # the proposed reasons of a grant
    refusable: bool = True


class RouteStep(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A step of a route template: steps with the same number run in parallel."""

    number: int
    kind: str  # kenntnis | mitzeichnung | schlusszeichnung | bearbeitung
    unit: str = ""  # the addressed unit; "" is the case's responsible unit
    role: str = ""  # reserved to a level: "leitung" (e.g. the Schlusszeichnung)
    instruction: str = ""  # what the addressee is asked to do
    due_days: int = 0  # days from the start of the route; 0: no due date


class Route(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A route template of a service (Muster für Verfügung) a clerk starts a Geschäftsgang from."""

    id: str
    title: str
    steps: list[RouteStep]


class Delivery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    channel: str = "postkorb"  # postkorb (e-mail for anonymous applicants who give one)
    notify_email: bool = True


class Forward(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A notification to another authority after the decision (e.g. GewO § 14 Abs. 8)."""

    recipient: str  # a stable key, e.g. "finanzamt"
    name: str
    legal_basis: str
    fields: list[str]  # only these fields of the data are sent (data minimisation)
    outcomes: list[str] = msgspec.field(default_factory=lambda: ["granted"])


class OpenData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dataset: str  # the dataset's id
    title: str
    summary: str
    tags: list[str] = []
    themes: list[str] = msgspec.field(default_factory=lambda: ["GOVE"])  # EU data-theme codes
    granted_label: str = "Bewilligt"
    refused_label: str = "Abgelehnt"


class AddressFields(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which fields form the address that places a case in a Stadtbezirk."""

    street: str
    house_number: str
    postal_code: str
    must_exist: bool = True  # refused when the street directory does not know it


class Procedure(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One version of a service, as its TOML file declares it."""

    id: str
    version: int
    title: str
    summary: str
    lebenslagen: list[str]
    unit: str
    aktenplan: str
    valid_from: str = ""  # ISO date; offered from this day on
    valid_until: str = ""
    leika: str = ""  # the 14-digit LeiKa key
    keywords: list[str] = []
    legal_basis: str = ""
    purpose: str = ""  # what register data is used for
    classify_keywords: list[str] = []  # words that mark a scanned letter as belonging here
    assurance: str = "niedrig"  # the Vertrauensniveau needed to apply
    applicants: list[str] = msgspec.field(default_factory=lambda: ["person"])
    appointment: bool = False  # a visit is needed (booked with the application)
    texts: Texts = Texts()
    fee: Fee = Fee()
    decision: Decision = Decision()
    templates: dict[str, str] = {}  # granted / refused / fiction -> template file
    template_texts: dict[str, str] = {}  # or the template's text itself
    appeal: str = ""  # the Rechtsbehelfsbelehrung: a text block in vorlagen/
    delivery: Delivery = Delivery()
    routes: list[Route] = []  # Muster für Verfügung: route templates of the Geschäftsgang
    forward: list[Forward] = []
    open_data: OpenData | None = None
    address: AddressFields | None = None
    constants: dict[str, Number | str] = {}
    form: list[Element] = []
    rules: list[Rule] = []


class Code(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: str
    name: str
    extra: dict[str, str | Number | bool] = {}  # further columns, e.g. listenhund = true


class Codelist(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A code list, genericode-like: an id (canonical identification), a version, values."""

    id: str
    uri: str = ""  # e.g. urn:de:rathaus:codeliste:hunderassen
    version: str
    title: str
    values: list[Code]


class CatalogueEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A service the city offers, online or not (the catalogue a city publishes)."""

    id: str
    title: str
    summary: str
    lebenslagen: list[str]
    leika: str = ""
    keywords: list[str] = []
    unit: str = ""
    where: str = ""  # where it is done, when not online (e.g. "Bürgerbüro")
    texts: Texts = Texts()


class Unit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An organisational unit: its name and the letterhead of its Bescheide."""

    code: str
    name: str
    department: str
    address: str
    lead_title: str = "Leitung"


class PlanEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An entry of the file plan (Aktenplan), with the records fields of xdomea: the
    Aussonderungsart (A archivwürdig, B bewerten, V vernichten) and the retention in years
    or ``unbefristet``; empty means inherited from the parent entry."""

    code: str
    title: str
    parent: str = ""
    unit: str = ""
    aussonderungsart: str = ""  # A | B | V, or "" (inherited)
    aufbewahrung: str = ""  # years ("10") or "unbefristet", or "" (inherited)
    gueltig_ab: str = ""  # ISO date
    gueltig_bis: str = ""
