"""Rules of input management: classification, routing by Aktenzeichen, suggestions, assignment."""

from __future__ import annotations

from rathaus.input.domain import (
    KnownCase,
    classify,
    document_id,
    letter_title,
    normalise,
    online_title,
    route_letter,
    suggest,
    validate_assignment,
)
from rathaus.platform.kernel.procedures import Procedures

FAHRZEUGSCHEIN = "Zulassungsbescheinigung Teil I\n(Fahrzeugschein)\nAmtliches Kennzeichen: M-EM 1964"
CASE = KnownCase("c-1", "523.11-2026-000042", "KVR-III/12", "bewohnerparkausweis")
OTHER = KnownCase("c-2", "941.30-2026-000007", "SKA-2/21", "hundesteuer")


def test_the_hint_is_confirmed_by_its_keywords() -> None:
    result = classify(FAHRZEUGSCHEIN, "fahrzeugschein")
    assert (result.document_type, result.verdict) == ("fahrzeugschein", "bestätigt")
    assert result.label == "Zulassungsbescheinigung Teil I (Fahrzeugschein)"


def test_the_text_corrects_a_wrong_hint() -> None:
    result = classify(FAHRZEUGSCHEIN, "meldebescheinigung")
    assert (result.document_type, result.verdict) == ("fahrzeugschein", "korrigiert")


def test_without_keywords_the_hint_stands_and_a_letter_is_a_letter() -> None:
    assert classify("", "fahrzeugschein").verdict == "übernommen"
    assert classify("", "fahrzeugschein").document_type == "fahrzeugschein"
    assert classify("Sehr geehrte Damen und Herren").document_type == "schreiben"
    assert classify("Hiermit lege ich Widerspruch ein.").document_type == "widerspruch"


def test_a_word_split_at_a_line_break_is_still_found() -> None:
    assert "zulassungsbescheinigung" in normalise("Zulassungs-\nbescheinigung")
    assert classify("Die Zulassungs-\nbescheinigung anbei").document_type == "fahrzeugschein"


def test_an_unknown_kind_keeps_a_readable_label() -> None:
    assert classify("", "mietvertrag").label == "Mietvertrag"


def test_a_known_aktenzeichen_routes_into_its_case_even_when_ocr_adds_spaces() -> None:
    route = route_letter("Ihr Zeichen: 523.11 - 2026 - 000042\nSehr geehrte", {CASE.aktenzeichen: CASE})
    assert route.kind == "case" and route.case == CASE
    assert route.aktenzeichen == ("523.11-2026-000042",)


def test_an_aktenzeichen_not_heard_of_yet_waits() -> None:
    route = route_letter("Az. 523.11-2026-000099", {CASE.aktenzeichen: CASE})
    assert route.kind == "waiting" and route.case is None and route.aktenzeichen == ("523.11-2026-000099",)


def test_no_aktenzeichen_goes_to_triage() -> None:
    route = route_letter("Sehr geehrte Damen und Herren, ich beantrage …", {CASE.aktenzeichen: CASE})
    assert route.kind == "triage" and "kein Aktenzeichen" in route.reason


def test_two_running_cases_in_one_letter_need_a_person() -> None:
    known = {CASE.aktenzeichen: CASE, OTHER.aktenzeichen: OTHER}
    route = route_letter(f"{CASE.aktenzeichen} und {OTHER.aktenzeichen}", known)
    assert route.kind == "triage" and "mehrere" in route.reason
    # one known among unknown ones: into the known case
    assert route_letter(f"{CASE.aktenzeichen}, alt: 102.21-2019-000001", known).case == CASE


def test_suggestion_by_classify_keywords() -> None:
    procedures = {d.id: d.procedure for d in Procedures.load().online()}
    found = suggest("Mein Bewohnerparkausweis läuft ab, bitte verlängern.", procedures)
    assert found is not None and found.service_id == "bewohnerparkausweis" and found.unit == "KVR-III/12"
    assert suggest("Ich habe meine Garage aufgeräumt.", procedures) is None


def test_document_ids_are_deterministic_per_origin_and_content() -> None:
    assert document_id("case-1", "ab" * 32) == document_id("case-1", "ab" * 32)
    assert document_id("case-1", "ab" * 32) != document_id("case-2", "ab" * 32)
    assert document_id("papier", "ab" * 32) != document_id("papier", "cd" * 32)


def test_titles() -> None:
    assert (
        letter_title("Max\nBetreff: Ihr Schreiben vom 3. März\nText", "Schreiben")
        == "Ihr Schreiben vom 3. März"
    )
    assert letter_title("BETR.: Widerspruch", "Widerspruch") == "Widerspruch"
    assert letter_title("kein Betreff hier", "Schreiben") == "Schreiben (Papierpost)"
    assert len(letter_title("Betreff: " + "x" * 300, "Schreiben")) == 120
    assert online_title("Fahrzeugschein", "Bewohnerparkausweis beantragen") == (
        "Fahrzeugschein zum Antrag „Bewohnerparkausweis beantragen“"
    )


def test_assignment_is_validated_with_german_messages() -> None:
    ok = validate_assignment(" 523.11 -2026- 000042 ", "schreiben", "  Nachreichung  ")
    assert ok.errors == {} and ok.aktenzeichen == "523.11-2026-000042" and ok.title == "Nachreichung"
    empty = validate_assignment("", "gibtsnicht", "")
    assert empty.errors == {
        "aktenzeichen": "Bitte geben Sie das Aktenzeichen des Vorgangs ein.",
        "document_type": "Bitte wählen Sie eine Dokumentart aus der Liste.",
        "title": "Bitte geben Sie einen Betreff ein.",
    }
    assert "erwartete Format" in validate_assignment("523-2026-42", "schreiben", "x").errors["aktenzeichen"]
    two = validate_assignment("523.11-2026-000042 941.30-2026-000007", "schreiben", "x")
    assert "aktenzeichen" in two.errors
    assert (
        "höchstens 200" in validate_assignment("523.11-2026-000042", "schreiben", "y" * 201).errors["title"]
    )
