"""The portal's rules: validation, upload checks by content, statuses, search, login lock."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from rathaus.platform.kernel.procedures import Inputs, Procedures, judge
from rathaus.platform.kernel.procedures.engine import clean
from rathaus.portal.domain import (
    MAX_FAILURES,
    STATUS_ORDER,
    SUMMARY,
    address_key,
    check_upload,
    euro,
    format_date,
    format_datetime,
    later_status,
    lock_after_failure,
    read_page,
    register_button,
    row_action,
    safe_filename,
    safe_next,
    shown_steps,
    steps,
    validate_registration,
)
from rathaus.portal.domain.forms import MSG_PIXELS

SCAN = Path(__file__).parents[4] / "e2e" / "data" / "fahrzeugschein-scan.pdf"
TODAY = date(2026, 11, 23)
BP = Procedures.load().get("bewohnerparkausweis", 1)
FAHRZEUGSCHEIN = BP.node("fahrzeugschein")


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def test_form_pages_come_from_the_procedure() -> None:
    assert steps(BP) == ["person", "fahrzeug", "nachweise", SUMMARY]
    assert steps(BP, choose_applicant=True)[0] == "antragsteller"


def test_a_page_whose_group_is_hidden_is_skipped() -> None:
    """The Hundesteuer's Nachweise page is only there when a dog has a Negativzeugnis."""
    definition = Procedures.load().get("hundesteuer", 1)
    order = steps(definition)
    assert order == ["halter", "hunde_seite", "nachweise", SUMMARY]
    dog = {"hundename": "Kira", "rasse": "rottweiler", "haltung_seit": "2026-11-20"}
    values = {"art": "anmeldung", "bereits_gemeldet": 0, "hunde": [dog]}
    without = judge(definition, Inputs(values=values, today=TODAY)).visible
    assert shown_steps(order, without) == ["halter", "hunde_seite", SUMMARY]
    assert shown_steps(order, without, current="nachweise") == order  # the page one is on stays
    values["hunde"] = [{**dog, "negativzeugnis": True}]
    with_certificate = judge(definition, Inputs(values=values, today=TODAY)).visible
    assert shown_steps(order, with_certificate) == order


def test_a_posted_page_fills_the_draft_as_typed() -> None:
    values: dict[str, object] = {"street": "alt", "kennzeichen": "M-EM 1964"}
    form = {
        "_felder": "street house_number",
        "street": "  Zenetti\tstraße ",
        "house_number": "12a",
        "kennzeichen": "X",
    }
    read_page(BP, "person", form, values)
    # only what the page showed is read; a field of another page keeps its value
    assert values["street"] == "Zenetti straße" and values["house_number"] == "12a"
    assert values["kennzeichen"] == "M-EM 1964"


def test_the_form_path_is_judged_by_the_engine_with_german_messages() -> None:
    values = {
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birth_date": "2030-01-01",
        "street": "Zenettistraße",
        "house_number": "12 ½",
        "postal_code": "12345",
        "kennzeichen": "MEM1964",
        "halter": "vielleicht",
    }
    result = judge(BP, Inputs(values=values, origin="form", today=TODAY))
    assert result.errors[("birth_date",)] == "„Geburtsdatum“ darf nicht in der Zukunft liegen."
    assert result.errors[("postal_code",)] == (
        "Bitte geben Sie eine Münchner Postleitzahl mit fünf Ziffern ein (80000 bis 81999)."
    )
    assert "wie auf dem Schild" in result.errors[("kennzeichen",)]
    assert result.errors[("halter",)] == (
        "Bitte wählen Sie bei „Ich bin Halterin oder Halter des Fahrzeugs“ eine der Möglichkeiten."
    )
    assert result.errors[("fahrzeugschein",)] == (
        "Bitte laden Sie „Zulassungsbescheinigung Teil I (Fahrzeugschein)“ hoch."
    )


def test_register_data_can_replace_the_registration_certificate() -> None:
    values = {
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birth_date": "1964-08-12",
        "street": "Zenettistraße",
        "house_number": "12",
        "postal_code": "80337",
        "kennzeichen": "M-EM1964",
        "halter": "ja",
    }
    registered = {"fahrzeugregister.kennzeichen": ["M-EM 1964"]}
    assert judge(BP, Inputs(values=values, origin="form", sources=registered, today=TODAY)).ok
    other = judge(BP, Inputs(values={**values, "kennzeichen": "M-AB 1"}, origin="form", sources=registered))
    assert list(other.errors) == [("fahrzeugschein",)]


def test_rows_of_a_repeating_group_are_added_and_removed(tmp_path: Path) -> None:
    from rathaus.platform.testing import write_procedure

    write_procedure(
        tmp_path,
        "mitreisende",
        form="""
[[form]]
name = "personen"
parent = "angaben"
kind = "group"
label = "Mitreisende"
multiplicity = "1:3"

[[form]]
name = "vorname"
parent = "personen"
label = "Vorname"
""",
    )
    definition = Procedures.load([tmp_path]).get("mitreisende", 1)
    values: dict[str, object] = {"personen": [{"vorname": "Anna"}]}
    assert row_action(definition, "angaben", "hinzufuegen:personen", values) == "gruppe-personen-1"
    assert row_action(definition, "angaben", "hinzufuegen:personen", values) == "gruppe-personen-2"
    row_action(definition, "angaben", "hinzufuegen:personen", values)  # at the maximum of 3: no fourth
    assert values["personen"] == [{"vorname": "Anna"}, {"vorname": ""}, {"vorname": ""}]
    read_page(definition, "angaben", {"_felder": "personen-1-vorname", "personen-1-vorname": "Ben"}, values)
    assert row_action(definition, "angaben", "entfernen:personen:0", values) == "gruppe-personen"
    assert values["personen"] == [{"vorname": "Ben"}, {"vorname": ""}]
    assert row_action(definition, "angaben", "entfernen:unbekannt:0", values) is None


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
    import dataclasses

    import msgspec

    pdf = SCAN.read_bytes()
    assert check_upload(FAHRZEUGSCHEIN, pdf) == (None, "application/pdf")
    assert check_upload(FAHRZEUGSCHEIN, image("PNG")) == (None, "image/png")
    assert check_upload(FAHRZEUGSCHEIN, image("JPEG")) == (None, "image/jpeg")
    message, media = check_upload(FAHRZEUGSCHEIN, b"Nur Text, kein PDF." * 10)
    assert media == "" and message == "Diese Datei ist keine erlaubte Datei. Erlaubt sind: PDF, PNG, JPEG."
    assert check_upload(FAHRZEUGSCHEIN, image("GIF"))[1] == ""
    assert check_upload(FAHRZEUGSCHEIN, b"") == ("Die Datei ist leer.", "")

    def variant(**changes: object) -> object:
        element = msgspec.structs.replace(FAHRZEUGSCHEIN.element, **changes)
        return dataclasses.replace(FAHRZEUGSCHEIN, element=element)

    small = variant(max_bytes=1024 * 1024)
    assert check_upload(small, pdf + b"\0" * (1024 * 1024)) == ("Die Datei ist zu groß (höchstens 1 MB).", "")  # type: ignore[arg-type]
    corrupt = "Die Datei ist beschädigt oder kann nicht geöffnet werden."
    assert check_upload(FAHRZEUGSCHEIN, pdf[:1500]) == (corrupt, "")
    assert check_upload(FAHRZEUGSCHEIN, b"%PDF-1.7\n kein PDF") == (corrupt, "")
    assert check_upload(FAHRZEUGSCHEIN, image("PNG")[:60]) == (corrupt, "")
    assert check_upload(FAHRZEUGSCHEIN, image("JPEG")[:200]) == (corrupt, "")
    # a decompression bomb: a few kilobytes of PNG claiming 60 million pixels (180 MB to decode)
    # is refused from its header, before anything is decoded
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 100_000
    assert check_upload(FAHRZEUGSCHEIN, bomb.getvalue()) == (MSG_PIXELS, "")
    huge = io.BytesIO()  # beyond even Pillow's own limit
    Image.new("1", (20_000, 10_000)).save(huge, "PNG")
    assert check_upload(FAHRZEUGSCHEIN, huge.getvalue()) == (MSG_PIXELS, "")
    only_pdf = variant(media_types=["application/pdf"])
    assert (
        check_upload(only_pdf, image("PNG"))[0] == "Diese Datei ist keine erlaubte Datei. Erlaubt sind: PDF."
    )  # type: ignore[arg-type]


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


def test_addresses_compare_like_a_clerk_would() -> None:
    registered = address_key("Zenettistraße", "12", "80337")
    assert registered == address_key("Zenettistr.", "12", "80337")
    assert registered == address_key("zenettistrasse", "12 ", "80337")
    assert registered != address_key("Zenettistraße", "14", "80337")


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
