"""The portal's rules: validation, upload checks by content, statuses, login lock (the search:
test_portal_search.py)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from rathaus.contracts.procedures import Evidence, Field, procedure
from rathaus.portal.domain import (
    MAX_FAILURES,
    STATUS_ORDER,
    address_key,
    check_upload,
    clean,
    euro,
    format_date,
    format_datetime,
    incomplete,
    later_status,
    lock_after_failure,
    register_button,
    safe_filename,
    safe_next,
    steps,
    supplied_by_register,
    validate_field,
    validate_registration,
    validate_step,
)

SCAN = Path(__file__).parents[4] / "e2e" / "data" / "fahrzeugschein-scan.pdf"
FAHRZEUGSCHEIN = Evidence(kind="fahrzeugschein", label="Fahrzeugschein", register="fahrzeugregister")
TODAY = date(2026, 11, 23)
BP = procedure("bewohnerparkausweis")


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def test_form_steps_come_from_the_procedure() -> None:
    assert steps(BP) == ["person", "fahrzeug", "nachweise", "zusammenfassung"]
    assert steps(procedure("hundesteuer")) == ["zusammenfassung"]


def test_validation_messages_are_german_and_name_the_field() -> None:
    fields = {f.name: f for f in BP.fields}
    assert validate_field(fields["street"], "  ") == "Bitte geben Sie „Straße“ an."
    assert validate_field(fields["postal_code"], "12345") == (
        "Bitte geben Sie eine Münchner Postleitzahl mit fünf Ziffern ein (80000 bis 81999)."
    )
    assert validate_field(fields["postal_code"], "80337") is None
    assert validate_field(fields["house_number"], "12a") is None
    assert "wie auf dem Schild" in (validate_field(fields["kennzeichen"], "MEM1964") or "")
    assert validate_field(fields["kennzeichen"], "M-EM 1964") is None
    assert validate_field(fields["birth_date"], "12.08.1964") == (
        "Bitte geben Sie „Geburtsdatum“ als Datum an (TT.MM.JJJJ)."
    )
    assert validate_field(fields["birth_date"], "2030-01-01", TODAY) == (
        "„Geburtsdatum“ darf nicht in der Zukunft liegen."
    )
    assert validate_field(fields["halter"], "vielleicht") == (
        "Bitte wählen Sie bei „Ich bin Halterin oder Halter des Fahrzeugs“ eine der Möglichkeiten."
    )
    assert validate_field(Field(name="e", label="E-Mail", type="email"), "kein-at") == (
        "Bitte geben Sie eine gültige E-Mail-Adresse an."
    )
    assert validate_field(Field(name="x", label="Hinweis", required=False), "") is None
    errors = validate_step(BP.fields, {"given_name": "Erika"}, TODAY)
    assert "given_name" not in errors and set(errors) >= {"street", "kennzeichen", "halter"}


def test_registration_checks_every_field() -> None:
    ok = {
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birth_date": "1964-08-12",
        "email": "erika@example.org",
        "password": "lang-genug-2026",
        "password_repeat": "lang-genug-2026",
    }
    assert validate_registration(ok, TODAY) == {}
    assert validate_registration({**ok, "password": "kurz", "password_repeat": "kurz"}, TODAY) == {
        "password": "Das Passwort muss mindestens 10 Zeichen lang sein."
    }
    assert validate_registration({**ok, "password_repeat": "anders-2026!"}, TODAY) == {
        "password_repeat": "Die beiden Passwörter stimmen nicht überein."
    }
    assert set(validate_registration({**ok, "given_name": "", "email": "x"}, TODAY)) == {
        "given_name",
        "email",
    }


def test_uploads_are_judged_by_content() -> None:
    pdf = SCAN.read_bytes()
    assert check_upload(FAHRZEUGSCHEIN, pdf, "scan.pdf") == (None, "application/pdf")
    assert check_upload(FAHRZEUGSCHEIN, image("PNG"), "foto.pdf") == (None, "image/png")
    assert check_upload(FAHRZEUGSCHEIN, image("JPEG"), "foto.png") == (None, "image/jpeg")
    message, media = check_upload(FAHRZEUGSCHEIN, b"Nur Text, kein PDF." * 10, "fahrzeugschein.pdf")
    assert media == "" and message == "Diese Datei ist keine erlaubte Datei. Erlaubt sind: PDF, PNG, JPEG."
    assert check_upload(FAHRZEUGSCHEIN, image("GIF"), "bild.png")[1] == ""
    assert check_upload(FAHRZEUGSCHEIN, b"", "leer.pdf") == ("Die Datei ist leer.", "")
    small = Evidence(kind="k", label="K", max_bytes=1024 * 1024)
    assert check_upload(small, pdf + b"\0" * (1024 * 1024), "gross.pdf") == (
        "Die Datei ist zu groß (höchstens 1 MB).",
        "",
    )
    corrupt = "Die Datei ist beschädigt oder kann nicht geöffnet werden."
    assert check_upload(FAHRZEUGSCHEIN, pdf[:1500], "kaputt.pdf") == (corrupt, "")
    assert check_upload(FAHRZEUGSCHEIN, b"%PDF-1.7\n kein PDF", "kaputt.pdf") == (corrupt, "")
    assert check_upload(FAHRZEUGSCHEIN, image("PNG")[:60], "kaputt.png") == (corrupt, "")
    assert check_upload(FAHRZEUGSCHEIN, image("JPEG")[:200], "kaputt.jpg") == (corrupt, "")
    only_pdf = Evidence(kind="k", label="K", media_types=["application/pdf"])
    assert (
        check_upload(only_pdf, image("PNG"), "x.png")[0]
        == "Diese Datei ist keine erlaubte Datei. Erlaubt sind: PDF."
    )


def test_filenames_and_typed_values_are_cleaned() -> None:
    assert safe_filename("C:\\Users\\erika\\Scan 1.pdf") == "Scan 1.pdf"
    assert safe_filename('../../"böse"<x>.pdf') == "bösex.pdf"
    assert safe_filename("") == "datei"
    assert clean("  Zenetti\tstraße \n ") == "Zenetti straße"
    assert clean("Zenetti\x00straße") == "Zenettistraße"
    assert clean("M-EM   1964") == "M-EM 1964"


@pytest.mark.parametrize(
    ("current", "new", "later"),
    [
        (None, "eingegangen", True),
        ("eingegangen", "in_pruefung", True),
        ("zur_entscheidung", "in_pruefung", False),
        ("zugestellt", "entschieden", False),
        ("entschieden", "entschieden", False),
        ("eingegangen", "unbekannt", False),
    ],
)
def test_an_older_status_never_overwrites_a_newer_one(current: str | None, new: str, later: bool) -> None:
    assert later_status(current, new) is later


def test_status_order_is_the_case_order() -> None:
    assert STATUS_ORDER[0] == "eingegangen" and STATUS_ORDER[-1] == "zugestellt"


def test_register_data_can_replace_the_registration_certificate() -> None:
    use = {"registers": ["melderegister", "fahrzeugregister"], "vehicles": ["M-EM 1964"]}
    assert supplied_by_register(FAHRZEUGSCHEIN, {"kennzeichen": "m-em1964"}, [use])
    assert not supplied_by_register(FAHRZEUGSCHEIN, {"kennzeichen": "M-AB 1"}, [use])
    assert not supplied_by_register(FAHRZEUGSCHEIN, {"kennzeichen": "M-EM 1964"}, [])
    draft = {"values": {"kennzeichen": "M-AB 1"}, "attachments": [], "evidence": [use]}
    assert (
        "nachweise",
        "Bitte laden Sie „Zulassungsbescheinigung Teil I (Fahrzeugschein)“ hoch.",
    ) in incomplete(BP, draft, TODAY)


def test_addresses_compare_like_a_clerk_would() -> None:
    registered = {"street": "Zenettistraße", "house_number": "12", "postal_code": "80337"}
    assert address_key(registered) == address_key({**registered, "street": "Zenettistr."})
    assert address_key(registered) == address_key({**registered, "street": "zenettistrasse"})
    assert address_key(registered) != address_key({**registered, "house_number": "14"})


def test_only_local_targets_after_login() -> None:
    assert safe_next("/antraege") == "/antraege"
    assert safe_next("/leistungen/x/antrag?y=1") == "/leistungen/x/antrag?y=1"
    for bad in (
        "https://boese.example/",
        "//boese.example",
        "/\\boese.example",
        "",
        None,
        "antraege",
        "/a b",
    ):
        assert safe_next(bad) == "/"


def test_login_locks_after_five_failures() -> None:
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert MAX_FAILURES == 5
    assert lock_after_failure(4, moment) is None
    assert lock_after_failure(5, moment) == moment + timedelta(minutes=15)
    assert lock_after_failure(6, moment) == moment + timedelta(minutes=15)


def test_labels_and_formats() -> None:
    assert register_button(["melderegister", "fahrzeugregister"]) == (
        "Daten aus dem Melde- und Fahrzeugregister abrufen"
    )
    assert register_button(["melderegister"]) == "Daten aus dem Melderegister abrufen"
    assert euro(3000) == "30,00 €" and euro(0) == "gebührenfrei"
    assert format_date("2026-11-26") == "26.11.2026"
    assert format_datetime("2026-11-23T13:05:00+00:00") == "23.11.2026, 14:05 Uhr"
