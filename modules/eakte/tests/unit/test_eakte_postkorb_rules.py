"""Rules of staff messages: the form's checks, the proposed deadline on a working day, the
template catalogue as data."""

from __future__ import annotations

from datetime import date

from rathaus.eakte.domain import OTHER_DOCUMENT, Draft, check_message, default_deadline, fill_template
from rathaus.eakte.handlers.postkorb import load_catalogue
from rathaus.platform.kernel.calendar import is_working_day

CATALOGUE = load_catalogue()
FILES = {"fahrzeugschein": "Fahrzeugschein"}
TODAY = date(2026, 12, 1)


def check(fields: tuple[str, ...] = (), **given: str) -> Draft:
    form = {"subject": "Betreff", "text": "Text", "template": "", "others": "", "deadline": "", **given}
    return check_message(**form, fields=list(fields), file_fields=FILES, catalogue=CATALOGUE, today=TODAY)


def test_the_catalogue_is_data_with_per_service_deadlines() -> None:
    assert {"unterlagen_fehlen", "unleserlich", "rueckfrage"} <= set(CATALOGUE.templates)
    assert CATALOGUE.templates["unterlagen_fehlen"].request
    assert not CATALOGUE.templates["rueckfrage"].request
    assert CATALOGUE.days("bewohnerparkausweis") == (10, 7)
    assert CATALOGUE.days("irgendeine") == (14, 14)


def test_a_deadline_on_a_weekend_or_holiday_moves_to_the_next_working_day() -> None:
    assert default_deadline(date(2026, 12, 1), 14, is_working_day) == date(2026, 12, 15)  # a Tuesday
    assert default_deadline(date(2026, 12, 5), 14, is_working_day) == date(2026, 12, 21)  # Saturday -> Monday
    # 25 and 26 December are holidays, the 27th a Sunday: Monday the 28th
    assert default_deadline(date(2026, 12, 11), 14, is_working_day) == date(2026, 12, 28)


def test_a_plain_message_needs_no_deadline() -> None:
    draft = check(deadline="2026-12-15")
    assert draft.errors == {} and draft.requested == () and draft.deadline is None


def test_a_nachforderung_names_documents_and_a_future_deadline() -> None:
    draft = check(fields=("fahrzeugschein",), others="Mietvertrag\n\n", deadline="2026-12-15")
    assert draft.errors == {}
    assert draft.requested == (("fahrzeugschein", "Fahrzeugschein"), (OTHER_DOCUMENT, "Mietvertrag"))
    assert draft.deadline == date(2026, 12, 15)
    assert check(others="x", deadline="2026-12-01").errors == {
        "deadline": "Die Frist muss nach dem heutigen Tag liegen."
    }
    assert "deadline" in check(others="x", deadline="morgen").errors


def test_bad_input_gets_german_messages_by_field() -> None:
    errors = check(subject=" ", text="", template="gibt-es-nicht", fields=("reisepass",)).errors
    assert errors == {
        "template": "Diese Vorlage gibt es nicht.",
        "subject": "Bitte geben Sie einen Betreff an.",
        "text": "Bitte schreiben Sie eine Nachricht.",
        "documents": "Bitte wählen Sie nur Unterlagen aus der Liste.",
    }
    assert "text" in check(text="x" * 10_001).errors
    assert "documents" in check(others="\n".join(f"U{i}" for i in range(21)), deadline="2026-12-15").errors


def test_a_template_is_filled_in_for_the_case() -> None:
    text = fill_template(
        CATALOGUE.templates["unterlagen_fehlen"],
        aktenzeichen="523.11-2026-000042",
        deadline=date(2026, 12, 15),
        requested=["Fahrzeugschein", "Mietvertrag"],
    )
    assert "523.11-2026-000042" in text and "15.12.2026" in text
    assert "- Fahrzeugschein\n- Mietvertrag" in text and "{" not in text
