"""Abgabe durchführen (xdomea 3.0.0): 0401 Abgabe (the objects with their files), 0402
ImportBestaetigen (per object: imported or not, why), 0403 EmpfangBestaetigen (received).
Every message is validated against the XSDs when built and when read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rathaus.eakte.xdomea.common import (
    Container,
    Kopf,
    Schriftgutobjekt,
    XdomeaInvalid,
    _el,
    _q,
    _text,
    files_of,
    kopf,
    message,
    pack,
    read_kopf,
    read_schriftgutobjekte,
    schriftgutobjekt,
    serialise,
    validate,
)

ABGABE = "Abgabe.Abgabe.0401"
IMPORT_BESTAETIGEN = "Abgabe.ImportBestaetigen.0402"
EMPFANG_BESTAETIGEN = "Abgabe.EmpfangBestaetigen.0403"
TYPES = {ABGABE: "0401", IMPORT_BESTAETIGEN: "0402", EMPFANG_BESTAETIGEN: "0403"}


@dataclass
class Ergebnis:
    """One object's outcome in a 0402."""

    id: str
    erfolgreich: bool
    fehler: list[str] = field(default_factory=list)


@dataclass
class Abgabe:
    """A read 0401: its head, objects, and the files they name."""

    kopf: Kopf
    objekte: list[Schriftgutobjekt]
    files: dict[str, bytes]


@dataclass
class ImportBestaetigung:
    kopf: Kopf
    ergebnisse: list[Ergebnis]


@dataclass
class EmpfangBestaetigung:
    kopf: Kopf


def _head(head: Kopf, root_name: str) -> Kopf:
    head.nachrichtentyp = TYPES[root_name]
    if head.erstellt == datetime.min:
        head.erstellt = datetime.now(UTC)
    return head


def build_abgabe(head: Kopf, objekte: list[Schriftgutobjekt]) -> tuple[str, bytes]:
    """A 0401 container (name, bytes): the objects and every primary file they name; the
    sender asks for both confirmations (receipt and import)."""
    head = _head(head, ABGABE)
    head.flags = {"Importbestaetigung": True, "Empfangsbestaetigung": True}
    root = message(ABGABE)
    kopf(root, head)
    files: dict[str, bytes] = {}
    for obj in objekte:
        schriftgutobjekt(root, obj)
        files.update(files_of(obj))
    xml = serialise(root)
    validate(xml)
    return pack(head.prozess_id, ABGABE, xml, files)


def build_import_bestaetigung(head: Kopf, ergebnisse: list[Ergebnis]) -> tuple[str, bytes]:
    head = _head(head, IMPORT_BESTAETIGEN)
    head.flags = {}
    root = message(IMPORT_BESTAETIGEN)
    kopf(root, head)
    for ergebnis in ergebnisse:
        element = _el(root, "AbgegebenesObjekt")
        _el(element, "IDSGO", ergebnis.id)
        _el(element, "Erfolgreich", "true" if ergebnis.erfolgreich else "false")
        for text in ergebnis.fehler:
            _el(element, "Fehlermeldung", text)
    xml = serialise(root)
    validate(xml)
    return pack(head.prozess_id, IMPORT_BESTAETIGEN, xml, {})


def build_empfang_bestaetigung(head: Kopf) -> tuple[str, bytes]:
    head = _head(head, EMPFANG_BESTAETIGEN)
    head.flags = {}
    root = message(EMPFANG_BESTAETIGEN)
    kopf(root, head)
    xml = serialise(root)
    validate(xml)
    return pack(head.prozess_id, EMPFANG_BESTAETIGEN, xml, {})


def read(container: Container) -> Abgabe | ImportBestaetigung | EmpfangBestaetigung:
    """A validated container as one of the three Abgabe messages."""
    root = container.root
    if container.type == ABGABE:
        abgabe = Abgabe(read_kopf(root), read_schriftgutobjekte(root), container.files)
        for name in _named_files(abgabe.objekte):
            if name not in container.files:
                raise XdomeaInvalid(f"Die Datei {name!r} fehlt im Container.")
        return abgabe
    if container.type == IMPORT_BESTAETIGEN:
        return ImportBestaetigung(
            read_kopf(root),
            [
                Ergebnis(
                    id=_text(o, _q("IDSGO")),
                    erfolgreich=_text(o, _q("Erfolgreich")) in ("true", "1"),
                    fehler=[(f.text or "").strip() for f in o.findall(_q("Fehlermeldung"))],
                )
                for o in root.findall(_q("AbgegebenesObjekt"))
            ],
        )
    if container.type == EMPFANG_BESTAETIGEN:
        return EmpfangBestaetigung(read_kopf(root))
    raise XdomeaInvalid(f"Keine Nachricht der Abgabe: {container.type}")


def _named_files(objekte: list[Schriftgutobjekt]) -> list[str]:
    names: list[str] = []
    for obj in objekte:
        names += list(files_of(obj))
    return names
