"""What every xdomea 3.0.0 message shares: the namespace, the header (Kopf, NkBasisType)
with sender and receiver, the message names, and the transport package: a zip named
``{ProzessID}_{Nachrichtentyp-Name}.xdomea`` holding the XML and the primary documents."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

NS = "urn:xoev-de:xdomea:schema:3.0.0"
Q = "{" + NS + "}"
ET.register_namespace("xdomea", NS)
PRODUCT = "Rathaus E-Akte"
PRODUCT_VERSION = "1"

# Nachrichtentyp code -> element name (xdomea-Nachrichten-*.xsd)
NAMES = {
    "0501": "Aussonderung.Anbieteverzeichnis.0501",
    "0502": "Aussonderung.Bewertungsverzeichnis.0502",
    "0503": "Aussonderung.Aussonderung.0503",
    "0504": "Aussonderung.AnbietungEmpfangBestaetigen.0504",
    "0505": "Aussonderung.BewertungEmpfangBestaetigen.0505",
    "0506": "Aussonderung.AussonderungImportBestaetigen.0506",
    "0507": "Aussonderung.AussonderungEmpfangBestaetigen.0507",
}
CODES = {name: code for code, name in NAMES.items()}
FILENAME = re.compile(
    r"^(?P<prozess>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"_(?P<name>[A-Za-z]+\.[A-Za-z]+\.(?P<code>\d{4}))\.xdomea$"
)
MAX_PACKAGE_BYTES = 2 * 1024**3  # a package larger than this unpacked is refused (zip bomb)
MAX_PACKAGE_FILES = 100_000


@dataclass(frozen=True)
class Party:
    """Sender or receiver: the authority's key (Behördenschlüssel) and name."""

    code: str
    name: str


@dataclass(frozen=True)
class Header:
    prozess_id: str
    code: str  # Nachrichtentyp, e.g. "0501"
    sender: Party
    receiver: Party
    created: datetime


def filename(prozess_id: str, code: str) -> str:
    """``{ProzessID}_{Nachrichtentyp-Name}.xdomea``, e.g. ``…_Aussonderung.Anbieteverzeichnis.0501.xdomea``."""
    return f"{prozess_id}_{NAMES[code]}.xdomea"


def parse_filename(name: str) -> tuple[str, str] | None:
    """(ProzessID, Nachrichtentyp code) of a package's file name, or None."""
    match = FILENAME.match(name)
    if not match or match["name"] not in CODES:
        return None
    return match["prozess"].lower(), match["code"]


def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, Q + tag)
    if text is not None:
        element.text = text
    return element


def code(
    parent: ET.Element, tag: str, value: str, name: str | None = None, list_uri: str | None = None
) -> ET.Element:
    """A xoev-code ``Code`` (unqualified ``code`` and ``name`` children)."""
    element = sub(parent, tag)
    if list_uri:
        element.set("listURI", list_uri)
        element.set("listVersionID", "1.0")
    ET.SubElement(element, "code").text = value
    if name:
        ET.SubElement(element, "name").text = name
    return element


def contact(parent: ET.Element, tag: str, party: Party) -> None:
    element = sub(parent, tag)
    behoerde = sub(element, "Behoerdenkennung")
    code(behoerde, "Behoerdenschluessel", party.code, party.name)
    institution = sub(element, "Institution")
    sub(institution, "Name", party.name)


def root(header: Header) -> tuple[ET.Element, ET.Element]:
    """The message's root element and its Kopf with the NkBasisType fields."""
    element = ET.Element(Q + NAMES[header.code])
    kopf = sub(element, "Kopf")
    sub(kopf, "ProzessID", header.prozess_id)
    code(kopf, "Nachrichtentyp", header.code)
    sub(kopf, "Erstellungszeitpunkt", header.created.replace(microsecond=0).isoformat())
    contact(kopf, "Absender", header.sender)
    contact(kopf, "Empfaenger", header.receiver)
    system = sub(kopf, "SendendesSystem")
    sub(system, "Produktname", PRODUCT)
    sub(system, "Version", PRODUCT_VERSION)
    return element, kopf


def flag(value: bool) -> str:
    return "1" if value else "0"


def serialise(element: ET.Element) -> bytes:
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def new_prozess_id() -> str:
    return str(uuid.uuid4())


def pack(name: str, xml: bytes, files: dict[str, bytes] | None = None) -> bytes:
    """The transport package: the XML as ``<name without .xdomea>.xml`` and the primary
    documents under the names the XML gives them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.removesuffix(".xdomea") + ".xml", xml)
        for member, data in (files or {}).items():
            archive.writestr(member, data)
    return buffer.getvalue()


def unpack(package: bytes) -> tuple[bytes, dict[str, bytes]]:
    """The XML and the other files of a package; raises ValueError (German) for a package
    that is not a zip, has no single XML message, or is too large unpacked."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        raise ValueError("Die Datei ist kein xdomea-Paket (kein ZIP-Archiv).") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_PACKAGE_FILES or sum(m.file_size for m in members) > MAX_PACKAGE_BYTES:
            raise ValueError("Das xdomea-Paket ist zu groß.")
        xmls = [m for m in members if m.filename.endswith(".xml") and "/" not in m.filename]
        message = [m for m in xmls if re.search(r"_[A-Za-z]+\.[A-Za-z]+\.\d{4}\.xml$", m.filename)] or xmls
        if len(message) != 1:
            raise ValueError("Das xdomea-Paket enthält nicht genau eine Nachricht (XML-Datei).")
        xml = archive.read(message[0])
        files = {m.filename: archive.read(m) for m in members if m is not message[0]}
    return xml, files


def text(element: ET.Element | None, path: str) -> str:
    """The text at ``path`` (xdomea-qualified steps separated by '/'), '' when absent."""
    if element is None:
        return ""
    found = element.find(
        "/".join(Q + step if step not in ("code", "name") else step for step in path.split("/"))
    )
    return (found.text or "").strip() if found is not None else ""
