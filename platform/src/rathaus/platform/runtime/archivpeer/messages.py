"""The Test-Archiv's own reading and writing of xdomea 3.0.0 Aussonderung messages (an
implementation of its own, as a real archive has: the tests validate what it writes against
the XSDs, and the E-Akte refuses anything invalid)."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

NS = "urn:xoev-de:xdomea:schema:3.0.0"
Q = "{" + NS + "}"
NAMES = {
    "0501": "Aussonderung.Anbieteverzeichnis.0501",
    "0502": "Aussonderung.Bewertungsverzeichnis.0502",
    "0503": "Aussonderung.Aussonderung.0503",
    "0504": "Aussonderung.AnbietungEmpfangBestaetigen.0504",
    "0505": "Aussonderung.BewertungEmpfangBestaetigen.0505",
    "0506": "Aussonderung.AussonderungImportBestaetigen.0506",
    "0507": "Aussonderung.AussonderungEmpfangBestaetigen.0507",
}
CODES = {v: k for k, v in NAMES.items()}
FILENAME = re.compile(
    r"^(?P<pid>[0-9a-fA-F-]{36})_(?P<name>Aussonderung\.[A-Za-z]+\.(?P<code>\d{4}))\.xdomea$"
)
MAX_UNPACKED = 2 * 1024**3


class Unreadable(ValueError):
    """A package the Test-Archiv cannot read (German text)."""


@dataclass
class Offered:
    sgo_id: str
    aktenzeichen: str
    vorschlag: str
    art: str
    documents: list[dict[str, str]] = field(default_factory=list)  # id, title, member


@dataclass
class Received:
    code: str
    prozess_id: str
    sender_code: str
    sender_name: str
    receipt_wanted: bool
    objects: list[Offered]
    files: dict[str, bytes]


def parse_name(name: str) -> tuple[str, str] | None:
    match = FILENAME.match(name)
    return (match["pid"].lower(), match["code"]) if match and match["name"] in CODES else None


def _t(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    steps = [s if s in ("code", "name") else Q + s for s in path.split("/")]
    found = element.find("/".join(steps))
    return (found.text or "").strip() if found is not None else ""


def read(package: bytes) -> Received:
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        raise Unreadable("kein ZIP-Archiv") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if sum(m.file_size for m in members) > MAX_UNPACKED:
            raise Unreadable("Paket zu groß")
        xmls = [m for m in members if re.search(r"_Aussonderung\.[A-Za-z]+\.\d{4}\.xml$", m.filename)]
        if len(xmls) != 1:
            raise Unreadable("nicht genau eine Nachricht im Paket")
        try:
            root = ET.fromstring(archive.read(xmls[0]))  # noqa: S314 - expat, no external entities
        except ET.ParseError as exc:
            raise Unreadable(f"kein wohlgeformtes XML ({exc})") from None
        files = {m.filename: archive.read(m) for m in members if m is not xmls[0]}
    local = root.tag[len(Q) :] if root.tag.startswith(Q) else ""
    if local not in CODES:
        raise Unreadable("keine xdomea-3.0.0-Aussonderungsnachricht")
    objects = []
    for vorgang in root.iterfind(f"{Q}Schriftgutobjekt/{Q}Vorgang"):
        objects.append(
            Offered(
                sgo_id=_t(vorgang, "Identifikation/ID").lower(),
                aktenzeichen=_t(vorgang, "AllgemeineMetadaten/Kennzeichen"),
                vorschlag=_t(vorgang, "ArchivspezifischeMetadaten/Bewertungsvorschlag/code"),
                art=_t(vorgang, "ArchivspezifischeMetadaten/Aussonderungsart/Aussonderungsart/code"),
                documents=[
                    {
                        "id": _t(d, "Identifikation/ID"),
                        "title": _t(d, "AllgemeineMetadaten/Betreff"),
                        "member": _t(d, "Version/Format/Primaerdokument/Dateiname"),
                    }
                    for d in vorgang.iterfind(f"{Q}Dokument")
                ],
            )
        )
    return Received(
        code=CODES[local],
        prozess_id=_t(root, "Kopf/ProzessID").lower(),
        sender_code=_t(root, "Kopf/Absender/Behoerdenkennung/Behoerdenschluessel/code"),
        sender_name=_t(root, "Kopf/Absender/Institution/Name"),
        receipt_wanted=_t(root, "Kopf/Empfangsbestaetigung") in ("1", "true"),
        objects=objects,
        files=files,
    )


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, Q + tag)
    if text is not None:
        element.text = text
    return element


def _code(parent: ET.Element, tag: str, value: str, name: str = "") -> None:
    element = _sub(parent, tag)
    ET.SubElement(element, "code").text = value
    if name:
        ET.SubElement(element, "name").text = name


def _party(parent: ET.Element, tag: str, code: str, name: str) -> None:
    element = _sub(parent, tag)
    _code(_sub(element, "Behoerdenkennung"), "Behoerdenschluessel", code, name)
    _sub(_sub(element, "Institution"), "Name", name)


def write(
    code: str,
    prozess_id: str,
    me: tuple[str, str],
    them: tuple[str, str],
    *,
    appraisals: list[tuple[str, str]] | None = None,
    results: list[tuple[str, bool, str, str]] | None = None,
) -> tuple[str, bytes]:
    """(file name, package) of a 0502, 0504, 0506 or 0507 from the archive ``me`` to ``them``."""
    ET.register_namespace("xdomea", NS)
    root = ET.Element(Q + NAMES[code])
    kopf = _sub(root, "Kopf")
    _sub(kopf, "ProzessID", prozess_id)
    _code(kopf, "Nachrichtentyp", code)
    _sub(kopf, "Erstellungszeitpunkt", datetime.now(UTC).replace(microsecond=0).isoformat())
    _party(kopf, "Absender", *me)
    _party(kopf, "Empfaenger", *them)
    system = _sub(kopf, "SendendesSystem")
    _sub(system, "InstanzID", str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-archiv:{me[0]}")))
    _sub(system, "Produktname", "Rathaus Test-Archiv")
    if code == "0502":
        _sub(kopf, "Empfangsbestaetigung", "1")
        for sgo_id, art in appraisals or []:
            objekt = _sub(root, "BewertetesObjekt")
            _sub(objekt, "ID", sgo_id)
            _code(_sub(objekt, "Aussonderungsart"), "Aussonderungsart", art)
    if code == "0506":
        for sgo_id, ok, kennung, error in results or []:
            sgo = _sub(root, "AusgesondertesSGO")
            _sub(sgo, "IDSGO", sgo_id)
            _sub(sgo, "Erfolgreich", "1" if ok else "0")
            if error:
                _sub(sgo, "Fehlermeldung", error)
            if kennung:
                _sub(sgo, "Archivkennung", kennung)
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    name = f"{prozess_id}_{NAMES[code]}.xdomea"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.removesuffix(".xdomea") + ".xml", xml)
    return name, buffer.getvalue()
