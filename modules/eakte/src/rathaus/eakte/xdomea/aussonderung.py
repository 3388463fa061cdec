"""The Aussonderung messages of xdomea 3.0.0 (xdomea-Nachrichten-AussonderungDurchfuehren):
0501 Anbieteverzeichnis (metadata only), 0502 Bewertungsverzeichnis (A/V per object), 0503
Aussonderung (metadata and primary documents), the receipts 0504/0505/0507 and 0506
AussonderungImportBestaetigen (per object: IDSGO, Erfolgreich, Archivkennung). Built and
read here as plain data; ``schema.validate`` checks them against the XSDs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from xml.etree import ElementTree as ET

from rathaus.eakte.xdomea.kopf import (
    CODES,
    NS,
    Header,
    Party,
    Q,
    code,
    flag,
    root,
    serialise,
    sub,
    text,
)

UNLIMITED = "unbefristet"
ART_URI = "urn:xoev-de:xdomea:codeliste:aussonderungsart"
VORSCHLAG_URI = "urn:xoev-de:xdomea:codeliste:bewertungsvorschlag"
FORMAT_URI = "urn:xoev-de:xdomea:codeliste:dateiformat"
# media type -> (Dateiformat code, format version) of the xdomea code list "Dateiformat"
FORMATS = {
    "application/pdf": ("018", "1.7"),
    "image/png": ("019", "1.2"),
    "image/jpeg": ("011", "1.02"),
    "application/xml": ("030", "1.0"),
    "text/xml": ("030", "1.0"),
    "text/plain": ("045", "1"),
}
OTHER_FORMAT = ("100", "unbekannt")


@dataclass(frozen=True)
class Document:
    """A document of a file object; ``member`` is its file name in the package (0503 only)."""

    sgo_id: str
    title: str
    kind: str
    received: date | None
    media_type: str = "application/pdf"
    member: str = ""
    original_name: str = ""


@dataclass(frozen=True)
class FileObject:
    """One Schriftgutobjekt offered or handed over: a Vorgang with its documents."""

    sgo_id: str
    aktenzeichen: str
    betreff: str
    aktenplan: str
    typ: str
    aussonderungsart: str  # A | B | V
    bewertungsvorschlag: str  # A | B | V
    aufbewahrung: str  # years or "unbefristet"
    aufbewahrungsende: date | None
    opened: date
    zda: date | None
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class Appraisal:
    """One BewertetesObjekt of a 0502: the archive's A (takes it) or V (does not)."""

    sgo_id: str
    art: str


@dataclass(frozen=True)
class ImportResult:
    """One AusgesondertesSGO of a 0506."""

    sgo_id: str
    ok: bool
    archivkennung: str = ""
    errors: tuple[str, ...] = ()


@dataclass
class Message:
    """What a received Aussonderung message says."""

    code: str
    prozess_id: str
    created: str
    sender: str  # the sender's Behördenschlüssel
    receipt_wanted: bool = False  # Kopf/Empfangsbestaetigung
    objects: list[FileObject] = field(default_factory=list)  # 0501, 0503
    appraisals: list[Appraisal] = field(default_factory=list)  # 0502
    results: list[ImportResult] = field(default_factory=list)  # 0506


def _vorgang(parent: ET.Element, obj: FileObject, with_files: bool) -> None:
    sgo = sub(parent, "Schriftgutobjekt")
    vorgang = sub(sgo, "Vorgang")
    sub(sub(vorgang, "Identifikation"), "ID", obj.sgo_id)
    meta = sub(vorgang, "AllgemeineMetadaten")
    sub(meta, "Betreff", obj.betreff)
    sub(meta, "Kennzeichen", obj.aktenzeichen)
    sub(sub(meta, "Aktenplaneinheit"), "Kennzeichen", obj.aktenplan)
    archiv = sub(vorgang, "ArchivspezifischeMetadaten")
    dauer = sub(archiv, "Aufbewahrungsdauer")
    if obj.aufbewahrung == UNLIMITED or not obj.aufbewahrung.isdigit():
        sub(dauer, "Unbefristet", "1")
    else:
        sub(dauer, "AnzahlJahre", obj.aufbewahrung)
    code(sub(archiv, "Aussonderungsart"), "Aussonderungsart", obj.aussonderungsart, list_uri=ART_URI)
    if obj.bewertungsvorschlag in ("A", "V"):  # the code list has no B: no proposal then
        code(archiv, "Bewertungsvorschlag", obj.bewertungsvorschlag, list_uri=VORSCHLAG_URI)
    if obj.aufbewahrungsende:
        sub(archiv, "Aufbewahrungsende", obj.aufbewahrungsende.isoformat())
    sub(vorgang, "Typ", obj.typ)
    sub(vorgang, "ZdA", flag(obj.zda is not None))
    if obj.zda:
        sub(vorgang, "ZdADatum", obj.zda.isoformat())
    laufzeit = sub(vorgang, "Laufzeit")
    sub(laufzeit, "Beginn", obj.opened.isoformat())
    if obj.zda:
        sub(laufzeit, "Ende", obj.zda.isoformat())
    for doc in obj.documents:
        dokument = sub(vorgang, "Dokument")
        sub(sub(dokument, "Identifikation"), "ID", doc.sgo_id)
        sub(sub(dokument, "AllgemeineMetadaten"), "Betreff", doc.title)
        if doc.received:
            sub(dokument, "Posteingangsdatum", doc.received.isoformat())
        sub(dokument, "Typ", doc.kind)
        if with_files:
            if not doc.member:
                raise ValueError(f"document {doc.sgo_id} has no file in the package")
            version = sub(dokument, "Version")
            sub(version, "Nummer", "1")
            fmt = sub(version, "Format")
            format_code, format_version = FORMATS.get(doc.media_type, OTHER_FORMAT)
            code(fmt, "Name", format_code, list_uri=FORMAT_URI)
            if format_code == OTHER_FORMAT[0]:
                sub(fmt, "SonstigerName", doc.media_type or "unbekannt")
            sub(fmt, "Version", format_version)
            primaer = sub(fmt, "Primaerdokument")
            sub(primaer, "Dateiname", doc.member)
            if doc.original_name:
                sub(primaer, "DateinameOriginal", doc.original_name)


def anbieteverzeichnis(header: Header, objects: list[FileObject], receipt: bool = True) -> bytes:
    """0501: the files due, metadata only (no primary documents)."""
    element, kopf = root(header)
    sub(kopf, "Empfangsbestaetigung", flag(receipt))
    for obj in objects:
        _vorgang(element, obj, with_files=False)
    return serialise(element)


def bewertungsverzeichnis(header: Header, appraisals: list[Appraisal], receipt: bool = True) -> bytes:
    """0502: the archive's decision per offered object."""
    element, kopf = root(header)
    sub(kopf, "Empfangsbestaetigung", flag(receipt))
    for item in appraisals:
        objekt = sub(element, "BewertetesObjekt")
        sub(objekt, "ID", item.sgo_id)
        code(sub(objekt, "Aussonderungsart"), "Aussonderungsart", item.art, list_uri=ART_URI)
    return serialise(element)


def aussonderung(header: Header, objects: list[FileObject], receipt: bool = True) -> bytes:
    """0503: the archivable objects with metadata and the primary documents' file names."""
    element, kopf = root(header)
    sub(kopf, "Importbestaetigung", "1")
    sub(kopf, "RueckmeldungArchivkennung", "1")
    sub(kopf, "Empfangsbestaetigung", flag(receipt))
    for obj in objects:
        _vorgang(element, obj, with_files=True)
    return serialise(element)


def receipt(header: Header) -> bytes:
    """0504, 0505 or 0507: a receipt with nothing but the header."""
    if header.code not in ("0504", "0505", "0507"):
        raise ValueError(f"{header.code} is not a receipt")
    element, _ = root(header)
    return serialise(element)


def import_bestaetigen(header: Header, results: list[ImportResult]) -> bytes:
    """0506: per handed-over object whether the archive imported it, with its Archivkennung."""
    element, _ = root(header)
    for result in results:
        sgo = sub(element, "AusgesondertesSGO")
        sub(sgo, "IDSGO", result.sgo_id)
        sub(sgo, "Erfolgreich", flag(result.ok))
        for error in result.errors:
            sub(sgo, "Fehlermeldung", error)
        if result.archivkennung:
            sub(sgo, "Archivkennung", result.archivkennung)
    return serialise(element)


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _objects(element: ET.Element) -> list[FileObject]:
    found: list[FileObject] = []
    for vorgang in element.iterfind(f"{Q}Schriftgutobjekt/{Q}Vorgang"):
        docs = tuple(
            Document(
                sgo_id=text(d, "Identifikation/ID"),
                title=text(d, "AllgemeineMetadaten/Betreff"),
                kind=text(d, "Typ"),
                received=_day(text(d, "Posteingangsdatum")),
                member=text(d, "Version/Format/Primaerdokument/Dateiname"),
                original_name=text(d, "Version/Format/Primaerdokument/DateinameOriginal"),
            )
            for d in vorgang.iterfind(f"{Q}Dokument")
        )
        years = text(vorgang, "ArchivspezifischeMetadaten/Aufbewahrungsdauer/AnzahlJahre")
        found.append(
            FileObject(
                sgo_id=text(vorgang, "Identifikation/ID").lower(),
                aktenzeichen=text(vorgang, "AllgemeineMetadaten/Kennzeichen"),
                betreff=text(vorgang, "AllgemeineMetadaten/Betreff"),
                aktenplan=text(vorgang, "AllgemeineMetadaten/Aktenplaneinheit/Kennzeichen"),
                typ=text(vorgang, "Typ"),
                aussonderungsart=text(
                    vorgang, "ArchivspezifischeMetadaten/Aussonderungsart/Aussonderungsart/code"
                ),
                bewertungsvorschlag=text(vorgang, "ArchivspezifischeMetadaten/Bewertungsvorschlag/code"),
                aufbewahrung=years or UNLIMITED,
                aufbewahrungsende=_day(text(vorgang, "ArchivspezifischeMetadaten/Aufbewahrungsende")),
                opened=_day(text(vorgang, "Laufzeit/Beginn")) or date.min,
                zda=_day(text(vorgang, "ZdADatum")),
                documents=docs,
            )
        )
    return found


def parse(xml: bytes) -> Message:
    """Read an Aussonderung message (validate it first: this trusts its structure)."""
    element = ET.fromstring(xml)  # noqa: S314 - expat without external entities
    if not element.tag.startswith("{" + NS + "}") or element.tag[len(Q) :] not in CODES:
        raise ValueError("Die Nachricht ist keine xdomea-Aussonderungsnachricht.")
    message = Message(
        code=CODES[element.tag[len(Q) :]],
        prozess_id=text(element, "Kopf/ProzessID").lower(),
        created=text(element, "Kopf/Erstellungszeitpunkt"),
        sender=text(element, "Kopf/Absender/Behoerdenkennung/Behoerdenschluessel/code"),
        receipt_wanted=_bool(text(element, "Kopf/Empfangsbestaetigung")),
    )
    if message.code in ("0501", "0503"):
        message.objects = _objects(element)
    elif message.code == "0502":
        message.appraisals = [
            Appraisal(text(o, "ID").lower(), text(o, "Aussonderungsart/Aussonderungsart/code").upper())
            for o in element.iterfind(f"{Q}BewertetesObjekt")
        ]
    elif message.code == "0506":
        message.results = [
            ImportResult(
                sgo_id=text(r, "IDSGO").lower(),
                ok=_bool(text(r, "Erfolgreich")),
                archivkennung=text(r, "Archivkennung"),
                errors=tuple((e.text or "").strip() for e in r.iterfind(f"{Q}Fehlermeldung")),
            )
            for r in element.iterfind(f"{Q}AusgesondertesSGO")
        ]
    return message


def header(prozess_id: str, code_: str, sender: Party, receiver: Party, created: datetime) -> Header:
    return Header(prozess_id=prozess_id, code=code_, sender=sender, receiver=receiver, created=created)
