"""What every xdomea 3.0.0 message shares: the Nachrichtenkopf, the Schriftgutobjekte Akte,
Vorgang and Dokument with their metadata, validation against the official XSDs, and the
message container (a zip named ``{ProzessID}_{Nachrichtentyp}.xdomea`` holding the XML and
the primary documents it names).

Builders take plain dataclasses and return XML bytes in the element order of the schema;
parsers read the same dataclasses back. Nothing here knows a table of the E-Akte: the
Abgabe (0401–0403) and the Aussonderung (0501–0507) build their messages from it.
"""

from __future__ import annotations

import io
import json
import os
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import xmlschema

NS = "urn:xoev-de:xdomea:schema:3.0.0"
X = f"{{{NS}}}"
# where the official schemas are looked for: RATHAUS_XDOMEA_XSD, else the copy shipped in this
# package (schemes/: the xdomea 3.0.0 XSDs of the xdomea toolkit, MIT licence beside them)
PACKAGED_XSD = Path(__file__).parent / "schemes" / "xdomea_3.0.0" / "xdomea.xsd"
SHARED_XSD = Path("/work/shared/standards/xdomea/schemes/xdomea_3.0.0/xdomea.xsd")
PRODUCT = "Rathaus E-Akte"
# the extension that carries what xdomea has no element for (the application's data)
EXTENSION_ID = "urn:rathaus:xdomea:erweiterung:1"
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 10_000
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

ET.register_namespace("xdomea", NS)

# Dateiformat code list 1.0 (urn:xoev-de:xdomea:codeliste:dateiformat): by file suffix
FORMATS = {
    "pdf": "018",
    "png": "019",
    "jpg": "011",
    "jpeg": "010",
    "tif": "023",
    "tiff": "024",
    "txt": "045",
    "xml": "030",
    "odt": "015",
    "docx": "035",
    "html": "008",
    "csv": "002",
}
OTHER_FORMAT = "100"
MEDIUM = {"elektronisch": "001", "hybrid": "002", "papier": "003"}


class XdomeaInvalid(ValueError):
    """A message that is not valid xdomea 3.0.0 (or not a readable container)."""


# -- schema ---------------------------------------------------------------------------------


def schema_path() -> Path:
    """The xdomea.xsd to validate against; raises ``XdomeaInvalid`` when there is none."""
    configured = os.environ.get("RATHAUS_XDOMEA_XSD")
    for candidate in [Path(configured)] if configured else [PACKAGED_XSD, SHARED_XSD]:
        if candidate.is_file():
            return candidate
    raise XdomeaInvalid(
        "Die xdomea-3.0.0-Schemata fehlen (RATHAUS_XDOMEA_XSD): ohne sie wird keine Nachricht "
        "gesendet oder angenommen."
    )


@cache
def schema() -> xmlschema.XMLSchema:
    """The official xdomea 3.0.0 schema, loaded once per process (about a second)."""
    return xmlschema.XMLSchema(str(schema_path()))


def validate(xml: bytes) -> ET.Element:
    """The root element of a valid message; raises ``XdomeaInvalid`` naming the first error.
    Entities and DTDs are refused (the parser is defused)."""
    try:
        resource = xmlschema.XMLResource(xml, defuse="always", allow="none")
    except Exception as problem:
        raise XdomeaInvalid(f"Die Nachricht ist kein wohlgeformtes XML ({problem}).") from None
    error = next(schema().iter_errors(resource), None)
    if error is not None:
        where = re.sub(r"\{[^}]*\}", "", error.path or "?")
        reason = (error.reason or "ungültig").splitlines()[0][:300]
        raise XdomeaInvalid(f"Die Nachricht ist nicht gültig nach xdomea 3.0.0 ({where}: {reason}).")
    root: ET.Element = resource.root
    return root


# -- the building blocks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Behoerde:
    """Sender or receiver of a message: the authority's key and name, optionally a unit."""

    code: str
    name: str
    unit: str = ""


@dataclass
class Kopf:
    """The Nachrichtenkopf (NkBasisType and its extensions)."""

    prozess_id: str
    nachrichtentyp: str  # "0401" …
    absender: Behoerde
    empfaenger: Behoerde
    erstellt: datetime
    instanz: str = ""
    hinweis: str = ""
    felder: dict[str, str] = field(default_factory=dict)  # an AnwendungsspezifischeErweiterung
    # the flags some message types require, in schema order (e.g. Importbestaetigung, …)
    flags: dict[str, bool] = field(default_factory=dict)


@dataclass
class Version:
    """One version of a Dokument with its primary file."""

    nummer: str
    dateiname: str  # the name inside the message container
    original: str = ""
    erstellt: datetime | None = None
    data: bytes = b""


@dataclass
class Dokument:
    id: str  # a UUID
    betreff: str
    kennzeichen: str = ""
    typ: str = ""
    posteingang: date | None = None
    medium: str = "elektronisch"
    versionen: list[Version] = field(default_factory=list)
    felder: dict[str, str] = field(default_factory=dict)


@dataclass
class Aussonderung:
    """Archival metadata (MetadatenAussonderungType)."""

    aufbewahrung_jahre: int | None = None  # None: unlimited
    aussonderungsart: str = ""  # A | B | V
    bewertungsvorschlag: str = ""  # A | V (the code list has no B)
    aufbewahrungsende: date | None = None


@dataclass
class Vorgang:
    id: str  # a UUID
    betreff: str
    kennzeichen: str = ""
    aktenplan: str = ""
    aktenplan_titel: str = ""
    federfuehrung: str = ""
    medium: str = "elektronisch"
    typ: str = ""
    zda: date | None = None
    beginn: date | None = None
    ende: date | None = None
    aussonderung: Aussonderung | None = None
    dokumente: list[Dokument] = field(default_factory=list)
    felder: dict[str, str] = field(default_factory=dict)


@dataclass
class Akte:
    id: str  # a UUID
    betreff: str
    kennzeichen: str = ""
    aktenplan: str = ""
    aktenplan_titel: str = ""
    federfuehrung: str = ""
    medium: str = "elektronisch"
    typ: str = ""
    zda: date | None = None
    beginn: date | None = None
    ende: date | None = None
    aussonderung: Aussonderung | None = None
    vorgaenge: list[Vorgang] = field(default_factory=list)
    dokumente: list[Dokument] = field(default_factory=list)
    felder: dict[str, str] = field(default_factory=dict)


Schriftgutobjekt = Akte | Vorgang | Dokument


def object_id(*parts: str) -> str:
    """A stable UUID for an object of this system (xdomea IDs are UUIDs)."""
    text = "/".join(parts)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:rathaus:{text}"))


def file_format(filename: str) -> str:
    return FORMATS.get(filename.rsplit(".", 1)[-1].lower(), OTHER_FORMAT) if "." in filename else OTHER_FORMAT


def member_name(doc_id: str, nummer: str, original: str) -> str:
    """A safe, unique file name inside the container."""
    stem = SAFE_NAME.sub("_", original)[-80:].strip("._") or "dokument"
    return f"{doc_id}_v{nummer}_{stem}"


# -- building ---------------------------------------------------------------------------------


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, X + name, attrs)
    if text is not None:
        child.text = text
    return child


def _code(parent: ET.Element, name: str, code: str, label: str = "", **attrs: str) -> ET.Element:
    element = _el(parent, name, **attrs)
    ET.SubElement(element, "code").text = code
    if label:
        ET.SubElement(element, "name").text = label
    return element


def _kontakt(parent: ET.Element, name: str, who: Behoerde) -> None:
    kontakt = _el(parent, name)
    kennung = _el(kontakt, "Behoerdenkennung")
    _code(kennung, "Behoerdenschluessel", who.code, who.name, listURI="", listVersionID="")
    institution = _el(kontakt, "Institution")
    _el(institution, "Name", who.name)
    if who.unit:
        _el(_el(kontakt, "Organisationseinheit"), "Name", who.unit)


def _erweiterung(parent: ET.Element, felder: dict[str, str]) -> None:
    if not felder:
        return
    ext = _el(parent, "AnwendungsspezifischeErweiterung")
    _el(ext, "Kennung", EXTENSION_ID)
    _el(ext, "Name", "Rathaus")
    for name, value in felder.items():
        feld = _el(ext, "Feld")
        _el(feld, "Name", name)
        _el(feld, "Wert", value)


def _timestamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def kopf(parent: ET.Element, head: Kopf) -> None:
    element = _el(parent, "Kopf")
    _el(element, "ProzessID", head.prozess_id)
    _code(
        element,
        "Nachrichtentyp",
        head.nachrichtentyp,
        listURI="urn:xoev-de:xdomea:codeliste:nachrichtentyp",
        listVersionID="2.0",
    )
    _el(element, "Erstellungszeitpunkt", _timestamp(head.erstellt))
    _kontakt(element, "Absender", head.absender)
    _kontakt(element, "Empfaenger", head.empfaenger)
    system = _el(element, "SendendesSystem")
    if head.instanz:
        _el(system, "InstanzID", head.instanz)
    _el(system, "Produktname", PRODUCT)
    _el(system, "Version", "3.0.0")
    if head.hinweis:
        _el(element, "Hinweis", head.hinweis)
    _erweiterung(element, head.felder)
    for flag, value in head.flags.items():
        _el(element, flag, "true" if value else "false")


def _metadaten(
    parent: ET.Element,
    betreff: str,
    kennzeichen: str,
    medium: str,
    *,
    federfuehrung: str = "",
    aktenplan: str = "",
    aktenplan_titel: str = "",
) -> None:
    meta = _el(parent, "AllgemeineMetadaten")
    _el(meta, "Betreff", betreff)
    if kennzeichen:
        _el(meta, "Kennzeichen", kennzeichen)
    if federfuehrung:
        _el(meta, "Federfuehrung", federfuehrung)
    _code(
        meta,
        "Medium",
        MEDIUM.get(medium, "001"),
        listURI="urn:xoev-de:xdomea:codeliste:medium",
        listVersionID="1.0",
    )
    if aktenplan:
        unit = _el(meta, "Aktenplaneinheit")
        _el(unit, "Kennzeichen", aktenplan)
        if aktenplan_titel:
            _el(unit, "Inhaltsangabe", aktenplan_titel)


def _aussonderung(parent: ET.Element, meta: Aussonderung | None) -> None:
    if meta is None:
        return
    element = _el(parent, "ArchivspezifischeMetadaten")
    if meta.aufbewahrung_jahre is not None or meta.aussonderungsart:
        dauer = _el(element, "Aufbewahrungsdauer")
        if meta.aufbewahrung_jahre is None:
            _el(dauer, "Unbefristet", "1")  # fixed="1" in the schema
        else:
            _el(dauer, "AnzahlJahre", str(meta.aufbewahrung_jahre))
    if meta.aussonderungsart:
        art = _el(element, "Aussonderungsart")
        _code(
            art,
            "Aussonderungsart",
            meta.aussonderungsart,
            listURI="urn:xoev-de:xdomea:codeliste:aussonderungsart",
            listVersionID="1.0",
        )
    if meta.bewertungsvorschlag in ("A", "V"):  # the code list knows no "B" here
        _code(
            element,
            "Bewertungsvorschlag",
            meta.bewertungsvorschlag,
            listURI="urn:xoev-de:xdomea:codeliste:bewertungsvorschlag",
            listVersionID="1.0",
        )
    if meta.aufbewahrungsende:
        _el(element, "Aufbewahrungsende", meta.aufbewahrungsende.isoformat())


def _laufzeit(parent: ET.Element, beginn: date | None, ende: date | None) -> None:
    if beginn or ende:
        zeitraum = _el(parent, "Laufzeit")
        if beginn:
            _el(zeitraum, "Beginn", beginn.isoformat())
        if ende:
            _el(zeitraum, "Ende", ende.isoformat())


def dokument(parent: ET.Element, name: str, doc: Dokument) -> None:
    element = _el(parent, name)
    _el(_el(element, "Identifikation"), "ID", doc.id)
    _metadaten(element, doc.betreff, doc.kennzeichen, doc.medium)
    if doc.posteingang:
        _el(element, "Posteingangsdatum", doc.posteingang.isoformat())
    if doc.typ:
        _el(element, "Typ", doc.typ)
    for version in doc.versionen:
        v = _el(element, "Version")
        _el(v, "Nummer", version.nummer)
        fmt = _el(v, "Format")
        _code(
            fmt,
            "Name",
            file_format(version.original or version.dateiname),
            listURI="urn:xoev-de:xdomea:codeliste:dateiformat",
            listVersionID="1.0",
        )
        _el(fmt, "Version", "")
        primary = _el(fmt, "Primaerdokument")
        _el(primary, "Dateiname", version.dateiname)
        if version.original:
            _el(primary, "DateinameOriginal", version.original)
        if version.erstellt:
            _el(primary, "DatumUhrzeit", _timestamp(version.erstellt))
    _erweiterung(element, doc.felder)


def _file_head(parent: ET.Element, name: str, obj: Vorgang | Akte) -> ET.Element:
    """What an Akte and a Vorgang begin with, in the schema's order: identification,
    metadata, Aussonderung, type."""
    element = _el(parent, name)
    _el(_el(element, "Identifikation"), "ID", obj.id)
    _metadaten(
        element,
        obj.betreff,
        obj.kennzeichen,
        obj.medium,
        federfuehrung=obj.federfuehrung,
        aktenplan=obj.aktenplan,
        aktenplan_titel=obj.aktenplan_titel,
    )
    _aussonderung(element, obj.aussonderung)
    if obj.typ:
        _el(element, "Typ", obj.typ)
    return element


def _zda(element: ET.Element, day: date | None) -> None:
    if day:
        _el(element, "ZdA", "true")
        _el(element, "ZdADatum", day.isoformat())


def vorgang(parent: ET.Element, name: str, obj: Vorgang) -> None:
    element = _file_head(parent, name, obj)
    _zda(element, obj.zda)
    _laufzeit(element, obj.beginn, obj.ende)
    for doc in obj.dokumente:
        dokument(element, "Dokument", doc)
    _erweiterung(element, obj.felder)


def akte(parent: ET.Element, name: str, obj: Akte) -> None:
    element = _file_head(parent, name, obj)
    _laufzeit(element, obj.beginn, obj.ende)
    if obj.vorgaenge or obj.dokumente:
        inhalt = _el(element, "Akteninhalt")  # the schema's order: Dokument, then Vorgang
        for doc in obj.dokumente:
            dokument(inhalt, "Dokument", doc)
        for v in obj.vorgaenge:
            vorgang(inhalt, "Vorgang", v)
    _zda(element, obj.zda)
    _erweiterung(element, obj.felder)


def schriftgutobjekt(parent: ET.Element, obj: Schriftgutobjekt, name: str = "Schriftgutobjekt") -> None:
    """A ``Schriftgutobjekt`` wrapper holding one Akte, Vorgang or Dokument."""
    wrapper = _el(parent, name)
    if isinstance(obj, Akte):
        akte(wrapper, "Akte", obj)
    elif isinstance(obj, Vorgang):
        vorgang(wrapper, "Vorgang", obj)
    else:
        dokument(wrapper, "Dokument", obj)


def message(root_name: str) -> ET.Element:
    return ET.Element(X + root_name)


def serialise(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def files_of(obj: Schriftgutobjekt) -> dict[str, bytes]:
    """The primary files an object names, by their name in the container."""
    found: dict[str, bytes] = {}
    if isinstance(obj, Dokument):
        for version in obj.versionen:
            found[version.dateiname] = version.data
    elif isinstance(obj, Vorgang):
        for doc in obj.dokumente:
            found.update(files_of(doc))
    else:
        for v in obj.vorgaenge:
            found.update(files_of(v))
        for doc in obj.dokumente:
            found.update(files_of(doc))
    return found


# -- parsing ----------------------------------------------------------------------------------


def _text(element: ET.Element | None, path: str, default: str = "") -> str:
    if element is None:
        return default
    found = element.find(path)
    return (found.text or "").strip() if found is not None and found.text else default


def _q(path: str) -> str:
    """An XPath of xdomea names: ``Kopf/ProzessID`` → ``{ns}Kopf/{ns}ProzessID``;
    unqualified code-list children (``code``, ``name``) stay as they are."""
    return "/".join(p if p in ("code", "name", ".") else X + p for p in path.split("/"))


def _medium(element: ET.Element) -> str:
    code = _text(element, _q("AllgemeineMetadaten/Medium/code"))
    return next((name for name, c in MEDIUM.items() if c == code), "elektronisch")


def _date(text: str) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _felder(element: ET.Element) -> dict[str, str]:
    ext = element.find(_q("AnwendungsspezifischeErweiterung"))
    if ext is None or _text(ext, _q("Kennung")) != EXTENSION_ID:
        return {}
    return {_text(f, _q("Name")): _text(f, _q("Wert")) for f in ext.findall(_q("Feld"))}


def _behoerde(element: ET.Element | None) -> Behoerde:
    return Behoerde(
        code=_text(element, _q("Behoerdenkennung/Behoerdenschluessel/code")),
        name=_text(element, _q("Institution/Name"))
        or _text(element, _q("Behoerdenkennung/Behoerdenschluessel/name")),
        unit=_text(element, _q("Organisationseinheit/Name")),
    )


def read_kopf(root: ET.Element) -> Kopf:
    head = root.find(_q("Kopf"))
    if head is None:
        raise XdomeaInvalid("Die Nachricht hat keinen Kopf.")
    created = _text(head, _q("Erstellungszeitpunkt"))
    flags = {}
    for flag in ("Importbestaetigung", "Empfangsbestaetigung", "RueckmeldungArchivkennung"):
        value = _text(head, _q(flag))
        if value:
            flags[flag] = value in ("true", "1")
    return Kopf(
        prozess_id=_text(head, _q("ProzessID")),
        nachrichtentyp=_text(head, _q("Nachrichtentyp/code")),
        absender=_behoerde(head.find(_q("Absender"))),
        empfaenger=_behoerde(head.find(_q("Empfaenger"))),
        erstellt=datetime.fromisoformat(created) if created else datetime.min,
        instanz=_text(head, _q("SendendesSystem/InstanzID")),
        hinweis=_text(head, _q("Hinweis")),
        felder=_felder(head),
        flags=flags,
    )


def read_dokument(element: ET.Element) -> Dokument:
    versions = []
    for v in element.findall(_q("Version")):
        primary = v.find(_q("Format/Primaerdokument"))
        erstellt = _text(primary, _q("DatumUhrzeit"))
        versions.append(
            Version(
                nummer=_text(v, _q("Nummer")),
                dateiname=_text(primary, _q("Dateiname")),
                original=_text(primary, _q("DateinameOriginal")),
                erstellt=datetime.fromisoformat(erstellt) if erstellt else None,
            )
        )
    return Dokument(
        id=_text(element, _q("Identifikation/ID")),
        betreff=_text(element, _q("AllgemeineMetadaten/Betreff")),
        medium=_medium(element),
        kennzeichen=_text(element, _q("AllgemeineMetadaten/Kennzeichen")),
        typ=_text(element, _q("Typ")),
        posteingang=_date(_text(element, _q("Posteingangsdatum"))),
        versionen=versions,
        felder=_felder(element),
    )


def _read_aussonderung(element: ET.Element) -> Aussonderung | None:
    meta = element.find(_q("ArchivspezifischeMetadaten"))
    if meta is None:
        return None
    unlimited = _text(meta, _q("Aufbewahrungsdauer/Unbefristet")) in ("true", "1")
    years = _text(meta, _q("Aufbewahrungsdauer/AnzahlJahre"))
    return Aussonderung(
        aufbewahrung_jahre=None if unlimited or not years else int(years),
        aussonderungsart=_text(meta, _q("Aussonderungsart/Aussonderungsart/code")),
        bewertungsvorschlag=_text(meta, _q("Bewertungsvorschlag/code")),
        aufbewahrungsende=_date(_text(meta, _q("Aufbewahrungsende"))),
    )


def read_vorgang(element: ET.Element) -> Vorgang:
    return Vorgang(
        id=_text(element, _q("Identifikation/ID")),
        betreff=_text(element, _q("AllgemeineMetadaten/Betreff")),
        medium=_medium(element),
        kennzeichen=_text(element, _q("AllgemeineMetadaten/Kennzeichen")),
        aktenplan=_text(element, _q("AllgemeineMetadaten/Aktenplaneinheit/Kennzeichen")),
        aktenplan_titel=_text(element, _q("AllgemeineMetadaten/Aktenplaneinheit/Inhaltsangabe")),
        federfuehrung=_text(element, _q("AllgemeineMetadaten/Federfuehrung")),
        typ=_text(element, _q("Typ")),
        zda=_date(_text(element, _q("ZdADatum"))),
        beginn=_date(_text(element, _q("Laufzeit/Beginn"))),
        ende=_date(_text(element, _q("Laufzeit/Ende"))),
        aussonderung=_read_aussonderung(element),
        dokumente=[read_dokument(d) for d in element.findall(_q("Dokument"))],
        felder=_felder(element),
    )


def read_akte(element: ET.Element) -> Akte:
    inhalt = element.find(_q("Akteninhalt"))
    return Akte(
        id=_text(element, _q("Identifikation/ID")),
        betreff=_text(element, _q("AllgemeineMetadaten/Betreff")),
        medium=_medium(element),
        kennzeichen=_text(element, _q("AllgemeineMetadaten/Kennzeichen")),
        aktenplan=_text(element, _q("AllgemeineMetadaten/Aktenplaneinheit/Kennzeichen")),
        aktenplan_titel=_text(element, _q("AllgemeineMetadaten/Aktenplaneinheit/Inhaltsangabe")),
        federfuehrung=_text(element, _q("AllgemeineMetadaten/Federfuehrung")),
        typ=_text(element, _q("Typ")),
        zda=_date(_text(element, _q("ZdADatum"))),
        beginn=_date(_text(element, _q("Laufzeit/Beginn"))),
        ende=_date(_text(element, _q("Laufzeit/Ende"))),
        aussonderung=_read_aussonderung(element),
        vorgaenge=[read_vorgang(v) for v in inhalt.findall(_q("Vorgang"))] if inhalt is not None else [],
        dokumente=[read_dokument(d) for d in inhalt.findall(_q("Dokument"))] if inhalt is not None else [],
        felder=_felder(element),
    )


def read_schriftgutobjekte(root: ET.Element, name: str = "Schriftgutobjekt") -> list[Schriftgutobjekt]:
    found: list[Schriftgutobjekt] = []
    for wrapper in root.findall(_q(name)):
        if (element := wrapper.find(_q("Akte"))) is not None:
            found.append(read_akte(element))
        elif (element := wrapper.find(_q("Vorgang"))) is not None:
            found.append(read_vorgang(element))
        elif (element := wrapper.find(_q("Dokument"))) is not None:
            found.append(read_dokument(element))
    return found


def message_type(root: ET.Element) -> str:
    """``Abgabe.Abgabe.0401`` … from the root element's name."""
    return root.tag.removeprefix(X)


# -- the container ----------------------------------------------------------------------------


def container_name(prozess_id: str, root_name: str) -> str:
    """``{ProzessID}_{Nachrichtentyp}.xdomea``, e.g. ``…_Abgabe.Abgabe.0401.xdomea``."""
    return f"{prozess_id}_{root_name}.xdomea"


def pack(prozess_id: str, root_name: str, xml: bytes, files: dict[str, bytes]) -> tuple[str, bytes]:
    """The message container: the XML named like the container, and the files it names."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(f"{prozess_id}_{root_name}.xml", xml)
        for name, data in files.items():
            zipped.writestr(name, data)
    return container_name(prozess_id, root_name), buffer.getvalue()


@dataclass
class Container:
    """A received message: its validated root element and the files beside it."""

    name: str
    xml: bytes
    root: ET.Element
    files: dict[str, bytes]

    @property
    def type(self) -> str:
        return message_type(self.root)


def unpack(name: str, data: bytes) -> Container:
    """Open and validate a message container; raises ``XdomeaInvalid`` with a German reason."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise XdomeaInvalid(f"Die Nachricht ist größer als {MAX_MESSAGE_BYTES // 2**20} MB.")
    try:
        zipped = zipfile.ZipFile(io.BytesIO(data))
        members = zipped.infolist()
    except zipfile.BadZipFile:
        raise XdomeaInvalid("Die Nachricht ist kein zip-Container.") from None
    if len(members) > MAX_MEMBERS:
        raise XdomeaInvalid("Die Nachricht enthält zu viele Dateien.")
    if sum(m.file_size for m in members) > MAX_MESSAGE_BYTES:
        raise XdomeaInvalid("Die Nachricht ist entpackt zu groß.")
    xmls = [m for m in members if m.filename.endswith(".xml") and "/" not in m.filename]
    if len(xmls) != 1:
        raise XdomeaInvalid("Die Nachricht muss genau eine XML-Datei auf oberster Ebene enthalten.")
    files: dict[str, bytes] = {}
    for member in members:
        if member.is_dir() or member is xmls[0]:
            continue
        if "/" in member.filename or "\\" in member.filename or member.filename.startswith("."):
            raise XdomeaInvalid(f"Unzulässiger Dateiname im Container: {member.filename!r}")
        files[member.filename] = zipped.read(member)
    xml = zipped.read(xmls[0])
    root = validate(xml)
    return Container(name=name, xml=xml, root=root, files=files)


def fields_json(value: Any) -> str:
    """A value for an extension field."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
