"""The Aussonderung without I/O: the xdomea 3.0.0 messages built and read (every one valid
against the XSDs, including the Test-Archiv's own), the transport package, and the rules
that decide what may be destroyed."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime

import pytest

from rathaus.eakte import aussonderung_regeln as rules
from rathaus.eakte.xdomea import aussonderung as msg
from rathaus.eakte.xdomea.kopf import Party, filename, pack, parse_filename, unpack
from rathaus.eakte.xdomea.schema import XdomeaInvalid, validate
from rathaus.platform.runtime.archivpeer import messages as peer

PID = "242f44e8-bebf-4503-a086-db252c6a4277"
CITY = Party("09162000", "Landeshauptstadt München")
ARCHIVE = Party("stadtarchiv", "Stadtarchiv München")
WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def file_object(vorschlag: str = "A", member: str = "") -> msg.FileObject:
    doc = msg.Document(
        sgo_id="d9fc876a-3838-4e15-9203-15c703afe730",
        title="Antrag",
        kind="antrag",
        received=date(2020, 3, 1),
        member=member,
        original_name="antrag.pdf",
    )
    return msg.FileObject(
        sgo_id="bf675c60-12c2-4ab1-826f-dcdf306d1733",
        aktenzeichen="661.20-2020-000017",
        betreff="Sondernutzung – Mustermann Bau GmbH",
        aktenplan="661.20",
        typ="Sondernutzungserlaubnis",
        aussonderungsart="B",
        bewertungsvorschlag=vorschlag,
        aufbewahrung="10",
        aufbewahrungsende=date(2030, 12, 31),
        opened=date(2020, 3, 1),
        zda=date(2020, 6, 30),
        documents=(doc,),
    )


def header(code: str, sender: Party = CITY, receiver: Party = ARCHIVE) -> msg.Header:
    return msg.header(PID, code, sender, receiver, WHEN)


def test_the_offer_is_valid_metadata_only_and_reads_back() -> None:
    xml = msg.anbieteverzeichnis(header("0501"), [file_object()])
    validate(xml)
    assert b"Primaerdokument" not in xml
    read = msg.parse(xml)
    assert (read.code, read.prozess_id, read.sender, read.receipt_wanted) == ("0501", PID, "09162000", True)
    assert read.objects[0].aktenzeichen == "661.20-2020-000017" and read.objects[0].bewertungsvorschlag == "A"


def test_a_b_proposal_is_left_out_because_the_code_list_only_knows_a_and_v() -> None:
    xml = msg.anbieteverzeichnis(header("0501"), [file_object("B")])
    validate(xml)
    assert msg.parse(xml).objects[0].bewertungsvorschlag == ""


def test_the_handover_names_each_primary_document_and_asks_for_the_archive_id() -> None:
    member = "d9fc876a-3838-4e15-9203-15c703afe730_antrag.pdf"
    xml = msg.aussonderung(header("0503"), [file_object(member=member)])
    validate(xml)
    assert b"<xdomea:Importbestaetigung>1<" in xml and b"<xdomea:RueckmeldungArchivkennung>1<" in xml
    assert msg.parse(xml).objects[0].documents[0].member == member
    with pytest.raises(ValueError, match="no file"):
        msg.aussonderung(header("0503"), [file_object()])


def test_appraisal_receipts_and_import_confirmation_are_valid_and_read_back() -> None:
    appraisal = msg.bewertungsverzeichnis(
        header("0502", ARCHIVE, CITY), [msg.Appraisal(file_object().sgo_id, "V")]
    )
    validate(appraisal)
    assert msg.parse(appraisal).appraisals == [msg.Appraisal(file_object().sgo_id, "V")]
    for code in ("0504", "0505", "0507"):
        validate(msg.receipt(header(code)))
    with pytest.raises(ValueError):
        msg.receipt(header("0501"))
    confirmation = msg.import_bestaetigen(
        header("0506", ARCHIVE, CITY),
        [
            msg.ImportResult(file_object().sgo_id, True, "StAM 1/2"),
            msg.ImportResult(PID, False, errors=("defekt",)),
        ],
    )
    validate(confirmation)
    results = msg.parse(confirmation).results
    assert results[0] == msg.ImportResult(file_object().sgo_id, True, "StAM 1/2")
    assert results[1].ok is False and results[1].errors == ("defekt",)


def test_the_test_archives_own_messages_are_valid_too() -> None:
    for code, kwargs in (
        ("0502", {"appraisals": [(PID, "A")]}),
        ("0504", {}),
        ("0506", {"results": [(PID, True, "TEST 1", ""), (PID, False, "", "nein")]}),
        ("0507", {}),
    ):
        name, package = peer.write(
            code, PID, ("stadtarchiv", "Stadtarchiv"), ("09162000", "München"), **kwargs
        )
        assert parse_filename(name) == (PID, code)
        xml, files = unpack(package)
        validate(xml)
        assert files == {}


def test_an_invalid_message_is_refused_in_german() -> None:
    broken = msg.import_bestaetigen(header("0506", ARCHIVE, CITY), [msg.ImportResult(PID, True)]).replace(
        b"<xdomea:Erfolgreich>1</xdomea:Erfolgreich>", b""
    )
    with pytest.raises(XdomeaInvalid, match=r"nicht gültig nach xdomea 3\.0\.0"):
        validate(broken)
    with pytest.raises(XdomeaInvalid, match="kein wohlgeformtes XML"):
        validate(b"<nicht")


def test_the_package_is_named_by_process_and_message_and_holds_one_message() -> None:
    name = filename(PID, "0503")
    assert name == f"{PID}_Aussonderung.Aussonderung.0503.xdomea"
    assert parse_filename(name) == (PID, "0503")
    assert parse_filename("x_Aussonderung.Aussonderung.0503.xdomea") is None
    assert parse_filename(f"{PID}_Abgabe.Abgabe.0401.xdomea") is None  # not ours
    package = pack(name, b"<xml/>", {"a.pdf": b"%PDF"})
    assert unpack(package) == (b"<xml/>", {"a.pdf": b"%PDF"})
    with pytest.raises(ValueError, match="kein ZIP"):
        unpack(b"not a zip")
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as z:
        z.writestr(f"{PID}_Aussonderung.Aussonderung.0503.xml", "<a/>")
        z.writestr(f"{PID}_Aussonderung.Anbieteverzeichnis.0501.xml", "<b/>")
    with pytest.raises(ValueError, match="nicht genau eine Nachricht"):
        unpack(two.getvalue())


def test_only_closed_files_with_ended_retention_are_due() -> None:
    today = date(2026, 11, 30)
    assert rules.is_due("zda", "2025-12-31", today)
    assert not rules.is_due("zda", "2026-11-30", today)  # ends today: not yet
    assert not rules.is_due("zda", None, today)  # unlimited retention
    assert not rules.is_due("offen", "2000-12-31", today)
    assert not rules.is_due("vernichtet", "2000-12-31", today)


def test_files_the_plan_marks_archivwuerdig_go_two_step_the_others_are_offered() -> None:
    assert rules.way("A", "auto") == rules.ZWEISTUFIG
    assert rules.way("B", "auto") == rules.way("V", "auto") == rules.VIERSTUFIG
    assert rules.way("A", rules.VIERSTUFIG) == rules.VIERSTUFIG
    assert rules.way("B", rules.ZWEISTUFIG) is None  # a two-step-only run never touches them


def test_nothing_is_destroyed_without_the_archives_explicit_v_and_the_end_of_the_exchange() -> None:
    assert rules.after_appraisal("A") == rules.ZU_UEBERGEBEN
    assert rules.after_appraisal("V") == rules.ZU_VERNICHTEN
    assert rules.after_appraisal(None) == rules.after_appraisal("B") == rules.UNBEWERTET
    assert rules.may_destroy(rules.ZU_VERNICHTEN, "V", run_closing=True)
    assert not rules.may_destroy(rules.ZU_VERNICHTEN, "V", run_closing=False)
    assert not rules.may_destroy(rules.UNBEWERTET, None, run_closing=True)
    assert not rules.may_destroy(rules.OBJ_UEBERGEBEN, "A", run_closing=True)
    assert not rules.may_destroy(rules.IMPORT_FEHLGESCHLAGEN, "A", run_closing=True)
    assert rules.after_import(rules.OBJ_UEBERGEBEN, True) == rules.AUSGESONDERT
    assert rules.after_import(rules.OBJ_UEBERGEBEN, False) == rules.IMPORT_FEHLGESCHLAGEN
    assert rules.after_import(rules.UNBEWERTET, True) == rules.UNBEWERTET
