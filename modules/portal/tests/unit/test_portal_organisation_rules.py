"""Rules of organisation accounts: the data form, register numbers, invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rathaus.portal.domain.organisations import (
    LEGAL_FORMS,
    MSG_BAD_EMAIL,
    MSG_BAD_ROLE,
    invitation_expires,
    invitation_state,
    normalise_register_number,
    validate_invitation,
    validate_organisation,
)

GOOD = {
    "name": "  Musterbau   GmbH ",
    "legal_form": "GmbH",
    "register_number": "hrb123456",
    "street": "Zenettistraße",
    "house_number": "12a",
    "postal_code": "80337",
    "city": "München",
}


def test_good_data_is_cleaned_and_accepted() -> None:
    values, errors = validate_organisation(GOOD)
    assert errors == {}
    assert values["name"] == "Musterbau GmbH" and values["register_number"] == "HRB 123456"


def test_every_missing_field_gets_a_german_message_but_the_register_number() -> None:
    values, errors = validate_organisation({})
    assert set(errors) == {"name", "legal_form", "street", "house_number", "postal_code", "city"}
    assert errors["name"] == "Bitte geben Sie „Name des Unternehmens“ an."
    assert errors["legal_form"] == "Bitte wählen Sie eine Rechtsform aus."
    assert values["register_number"] == ""


def test_wrong_values_are_named() -> None:
    _, errors = validate_organisation(
        {
            **GOOD,
            "legal_form": "Briefkastenfirma",
            "register_number": "123456",
            "postal_code": "8033",
            "house_number": "zwölf",
            "name": "x" * 201,
        }
    )
    assert errors["legal_form"] == "Bitte wählen Sie eine Rechtsform aus der Liste."
    assert "HRB 123456" in errors["register_number"]
    assert "fünf Ziffern" in errors["postal_code"]
    assert "Hausnummer" in errors["house_number"]
    assert "höchstens 200 Zeichen" in errors["name"]


def test_register_numbers() -> None:
    assert normalise_register_number("HRB  123456") == "HRB 123456"
    assert normalise_register_number("gnr 77") == "GnR 77"
    assert normalise_register_number("HRA 5 b") == "HRA 5 B"
    assert normalise_register_number("XYZ 5") == "XYZ 5"  # left as typed, then refused
    for number in ("HRB 123456", "VR 1", "PR 99 B"):
        assert validate_organisation({**GOOD, "register_number": number})[1] == {}
    for number in ("HRB 0", "HRB 1234567", "XYZ 5", "HRB-12"):
        assert "register_number" in validate_organisation({**GOOD, "register_number": number})[1]
    assert "Sonstige" in LEGAL_FORMS


def test_invitations() -> None:
    assert validate_invitation(" Lea@Example.ORG ", "member") == ("lea@example.org", {})
    assert validate_invitation("lea", "chef") == ("lea", {"email": MSG_BAD_EMAIL, "role": MSG_BAD_ROLE})
    sent = datetime(2026, 3, 1, 12, tzinfo=UTC)
    expires = invitation_expires(sent).isoformat()
    assert invitation_state("offen", expires, sent + timedelta(days=6, hours=23)) == "offen"
    assert invitation_state("offen", expires, sent + timedelta(days=7)) == "abgelaufen"
    assert invitation_state("angenommen", expires, sent + timedelta(days=8)) == "angenommen"
