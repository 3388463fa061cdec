from datetime import date

from rathaus.broker.domain import (
    ATTRIBUTES,
    MSG_ASSURANCE,
    MSG_NO_PURPOSE,
    MSG_NOTHING_ASKED,
    REGISTER_V1_ATTRIBUTES,
    REGISTERS,
    catalogue,
    described,
    moved_in,
    normalise,
    refusal,
    registers_of,
    requested,
    street_key,
    v1_attributes,
)
from rathaus.broker.seed import STADTBEZIRKE, synthetic_residents
from rathaus.broker.store import RESIDENT_COLUMNS, VEHICLE_COLUMNS
from rathaus.platform.kernel.procedures.loader import SOURCE_ATTRIBUTES

STREET = ["melderegister.strasse"]
PINNED = "2015-03-22"


def test_only_verified_accounts_with_purpose_and_known_attributes_get_data() -> None:
    assert refusal("substantiell", "Antrag", "§ 1", STREET) is None
    assert refusal("hoch", "Antrag", "§ 1", [*STREET, "fahrzeugregister.kennzeichen"]) is None
    assert refusal("niedrig", "Antrag", "§ 1", STREET) == MSG_ASSURANCE
    assert refusal("", "Antrag", "§ 1", STREET) == MSG_ASSURANCE
    assert refusal("substantiell", " ", "§ 1", STREET) == MSG_NO_PURPOSE
    assert refusal("substantiell", "Antrag", "", STREET) == MSG_NO_PURPOSE
    assert refusal("substantiell", "Antrag", "§ 1", []) == MSG_NOTHING_ASKED


def test_an_unknown_register_or_attribute_is_refused_by_name_before_the_level() -> None:
    assert refusal("niedrig", "Antrag", "§ 1", ["steuerregister.einkommen"]) == (
        "Das Register „steuerregister“ ist nicht angebunden."
    )
    assert refusal("substantiell", "Antrag", "§ 1", [*STREET, "melderegister.religion"]) == (
        "Die Angabe „melderegister.religion“ führt das Melderegister nicht."
    )
    # a version 1 register name alone is not an attribute
    assert "„melderegister“" in (refusal("hoch", "Antrag", "§ 1", ["melderegister"]) or "")


def test_requests_are_logged_each_attribute_once_in_a_stable_order() -> None:
    asked = ["fahrzeugregister.kennzeichen", " melderegister.strasse", "melderegister.strasse", ""]
    assert requested(asked) == ["fahrzeugregister.kennzeichen", "melderegister.strasse"]
    assert registers_of(requested(asked)) == ["fahrzeugregister", "melderegister"]


def test_a_version_1_request_stands_for_the_attributes_its_answer_carries() -> None:
    assert v1_attributes(["melderegister"]) == sorted(REGISTER_V1_ATTRIBUTES["melderegister"])
    both = v1_attributes(["fahrzeugregister", "melderegister"])
    assert "fahrzeugregister.halter_seit" in both and "melderegister.parkzone" in both
    assert "melderegister.vorname" not in both  # version 1 never released names
    assert v1_attributes(["steuerregister"]) == ["steuerregister"]  # refused by name later


def test_the_broker_knows_every_register_attribute_a_form_may_ask_for() -> None:
    for register in REGISTERS:
        assert {f"{register}.{a}" for a in SOURCE_ATTRIBUTES[register]} <= set(ATTRIBUTES)
    # and keeps each one somewhere
    assert set(RESIDENT_COLUMNS) | set(VEHICLE_COLUMNS) == set(ATTRIBUTES)
    assert not set(RESIDENT_COLUMNS) & set(VEHICLE_COLUMNS)


def test_attributes_read_in_german_words_per_register() -> None:
    asked = ["melderegister.strasse", "fahrzeugregister.kennzeichen", "melderegister.vorname"]
    assert described(asked) == ["Melderegister: Vorname, Anschrift (Straße)", "Fahrzeugregister: Kennzeichen"]
    assert described(["melderegister.religion"]) == ["Melderegister: melderegister.religion"]
    assert described(["steuerregister"]) == ["steuerregister: steuerregister"]
    assert described([]) == []
    names = dict(catalogue())
    assert names.keys() == {"Melderegister", "Fahrzeugregister"}
    assert "Einzugsdatum" in names["Melderegister"] and "Kennzeichen" in names["Fahrzeugregister"]


def test_moved_in_is_fixed_by_id_and_birth_date_and_lies_in_adult_life() -> None:
    # pinned: migration broker_0004 wrote these dates into registers seeded before it
    assert moved_in(2, "1980-05-17") == moved_in(2, "1980-05-17") == PINNED
    assert moved_in(3, "1980-05-17") != PINNED
    for rid, born, eighteenth in [
        (4, "1930-01-01", date(1948, 1, 1)),
        (5, "2000-02-29", date(2018, 2, 28)),
        (6, "2007-06-30", date(2025, 6, 30)),
        (7, "2010-12-31", date(2028, 12, 31)),  # not yet 18 by the end of 2025: the birthday itself
    ]:
        day = date.fromisoformat(moved_in(rid, born))
        assert eighteenth <= day <= max(date(2025, 12, 31), eighteenth)


def test_names_compare_like_a_register_clerk() -> None:
    assert normalise("  ERIKA ") == normalise("erika")
    assert normalise("Müller") == normalise("MÜLLER")
    assert normalise("Anna  Lena") == "anna lena"


def test_synthetic_registers_cover_all_25_districts_and_are_deterministic() -> None:
    people, cars = synthetic_residents(count=2000)
    assert len(STADTBEZIRKE) == 25
    assert {p["stadtbezirk"] for p in people} == set(STADTBEZIRKE)
    assert people[0]["family_name"] == "Mustermann" and cars[0]["kennzeichen"] == "M-EM 1964"
    assert people[0]["moved_in"] == "2019-03-01"
    assert all(p["moved_in"] == moved_in(int(str(p["id"])), str(p["birth_date"])) for p in people[1:])
    assert 800 < len(cars) < 1200
    assert len({c["kennzeichen"] for c in cars}) == len(cars)
    assert synthetic_residents(count=50) == synthetic_residents(count=50)


def test_street_keys_fold_the_ways_people_write_a_street() -> None:
    assert street_key("Zenettistr.") == street_key("zenettistraße") == street_key("Zenettistrasse")
    assert street_key("Rosenheimer Straße") == street_key("Rosenheimer Str")
    assert street_key("Sankt-Martin-Straße") == street_key("Sankt Martin Straße")
    assert street_key("Ungererstraße") != street_key("Zenettistraße")
