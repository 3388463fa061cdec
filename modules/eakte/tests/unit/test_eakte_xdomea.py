"""The shared xdomea 3.0.0 builder: Akte, Vorgang and Dokument with their metadata build
XML valid against the official XSDs and read back the same; containers refuse what is not
safe or not valid."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, date, datetime

import pytest

from rathaus.eakte.xdomea import abgabe
from rathaus.eakte.xdomea.common import (
    Akte,
    Aussonderung,
    Behoerde,
    Dokument,
    Kopf,
    Version,
    Vorgang,
    XdomeaInvalid,
    member_name,
    object_id,
    unpack,
    validate,
)

CITY = Behoerde("09162000", "Landeshauptstadt München", "BAU-T/31")
DISTRICT = Behoerde("09184000", "Landratsamt München")


def head() -> Kopf:
    return Kopf(str(uuid.uuid4()), "", CITY, DISTRICT, datetime(2026, 11, 30, 9, 0, tzinfo=UTC), instanz="x")


def dokument(name: str = "plan.pdf") -> Dokument:
    doc_id = object_id("dokument", name)
    return Dokument(
        id=doc_id,
        betreff="Lageplan",
        typ="nachweis",
        posteingang=date(2026, 11, 23),
        versionen=[
            Version("1", member_name(doc_id, "1", name), name, data=b"%PDF v1"),
            Version("2", member_name(doc_id, "2", name), name, data=b"%PDF v2"),
        ],
        felder={"sha256-v1": "a" * 64},
    )


def vorgang() -> Vorgang:
    return Vorgang(
        id=object_id("vorgang", "case-1"),
        betreff="Sondernutzung – Mustermann Bau GmbH",
        kennzeichen="661.20-2026-000001",
        aktenplan="661.20",
        aktenplan_titel="Sondernutzungserlaubnisse",
        federfuehrung="BAU-T/31",
        zda=date(2026, 12, 1),
        beginn=date(2026, 11, 23),
        ende=date(2026, 12, 1),
        aussonderung=Aussonderung(10, "B", "A", date(2036, 12, 31)),
        dokumente=[dokument()],
        felder={"service_id": "test-mitzeichnung", "data": '{"a":1}'},
    )


def test_a_vorgang_round_trips_through_a_valid_0401() -> None:
    name, data = abgabe.build_abgabe(head(), [vorgang()])
    assert name.endswith("_Abgabe.Abgabe.0401.xdomea")
    message = abgabe.read(unpack(name, data))
    assert isinstance(message, abgabe.Abgabe)
    assert message.kopf.absender == CITY and message.kopf.empfaenger == DISTRICT
    assert message.kopf.flags == {"Importbestaetigung": True, "Empfangsbestaetigung": True}
    [read] = message.objekte
    assert isinstance(read, Vorgang)
    expected = vorgang()
    for version in expected.dokumente[0].versionen:
        version.data = b""  # bytes travel as files beside the XML
    assert read == expected
    assert sorted(message.files.values()) == [b"%PDF v1", b"%PDF v2"]


def test_an_akte_with_vorgang_and_unlimited_retention_is_valid_too() -> None:
    akte = Akte(
        id=object_id("akte", "1"),
        betreff="Akte",
        kennzeichen="661.20",
        aussonderung=Aussonderung(None, "A"),
        vorgaenge=[vorgang()],
        dokumente=[dokument("brief.txt")],
        zda=date(2026, 12, 1),
    )
    name, data = abgabe.build_abgabe(head(), [akte])
    [read] = abgabe.read(unpack(name, data)).objekte  # type: ignore[union-attr]
    assert isinstance(read, Akte)
    assert read.aussonderung == Aussonderung(None, "A", "", None)
    assert [v.kennzeichen for v in read.vorgaenge] == ["661.20-2026-000001"]
    assert len(unpack(name, data).files) == 4


def test_confirmations_are_valid_and_read_back() -> None:
    confirm = head()
    confirm.felder = {"Aktenzeichen": "661.20-2026-000007"}
    name, data = abgabe.build_import_bestaetigung(
        confirm,
        [abgabe.Ergebnis(object_id("v"), True), abgabe.Ergebnis(object_id("w"), False, ["kein Platz"])],
    )
    read = abgabe.read(unpack(name, data))
    assert isinstance(read, abgabe.ImportBestaetigung)
    assert read.kopf.felder == {"Aktenzeichen": "661.20-2026-000007"}
    assert [(r.erfolgreich, r.fehler) for r in read.ergebnisse] == [(True, []), (False, ["kein Platz"])]
    name, data = abgabe.build_empfang_bestaetigung(head())
    assert isinstance(abgabe.read(unpack(name, data)), abgabe.EmpfangBestaetigung)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_unsafe_or_invalid_containers_are_refused() -> None:
    name, data = abgabe.build_abgabe(head(), [vorgang()])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    xml = next(v for k, v in members.items() if k.endswith(".xml"))
    with pytest.raises(XdomeaInvalid, match="kein zip"):
        unpack(name, b"no zip")
    with pytest.raises(XdomeaInvalid, match="Unzulässiger Dateiname"):
        unpack(name, zipped({**members, "../etc/passwd": b"x"}))
    with pytest.raises(XdomeaInvalid, match="genau eine XML-Datei"):
        unpack(name, zipped({"a.xml": xml, "b.xml": xml}))
    missing = {k: v for k, v in members.items() if k.endswith(".xml")}
    with pytest.raises(XdomeaInvalid, match="fehlt im Container"):
        abgabe.read(unpack(name, zipped(missing)))
    with pytest.raises(XdomeaInvalid, match=r"nicht gültig nach xdomea 3\.0\.0"):
        validate(xml.replace(b"<code>0401</code>", b"<code>9999</code>"))
    entity = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    with pytest.raises(XdomeaInvalid, match="kein wohlgeformtes XML"):
        validate(entity)
