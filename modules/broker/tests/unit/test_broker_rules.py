from rathaus.broker.domain import (
    MSG_ASSURANCE,
    MSG_NO_PURPOSE,
    MSG_UNKNOWN_REGISTER,
    normalise,
    refusal,
    street_key,
)
from rathaus.broker.seed import STADTBEZIRKE, synthetic_residents


def test_only_verified_accounts_with_purpose_and_known_registers_get_data() -> None:
    assert refusal("substantiell", "Antrag", "§ 1", ["melderegister"]) is None
    assert refusal("hoch", "Antrag", "§ 1", ["melderegister", "fahrzeugregister"]) is None
    assert refusal("niedrig", "Antrag", "§ 1", ["melderegister"]) == MSG_ASSURANCE
    assert refusal("substantiell", " ", "§ 1", ["melderegister"]) == MSG_NO_PURPOSE
    assert refusal("substantiell", "Antrag", "§ 1", ["steuerregister"]) == MSG_UNKNOWN_REGISTER


def test_names_compare_like_a_register_clerk() -> None:
    assert normalise("  ERIKA ") == normalise("erika")
    assert normalise("Müller") == normalise("MÜLLER")
    assert normalise("Anna  Lena") == "anna lena"


def test_synthetic_registers_cover_all_25_districts_and_are_deterministic() -> None:
    people, cars = synthetic_residents(count=2000)
    assert len(STADTBEZIRKE) == 25
    assert {p["stadtbezirk"] for p in people} == set(STADTBEZIRKE)
    assert people[0]["family_name"] == "Mustermann" and cars[0]["kennzeichen"] == "M-EM 1964"
    assert 800 < len(cars) < 1200
    assert len({c["kennzeichen"] for c in cars}) == len(cars)
    assert synthetic_residents(count=50) == synthetic_residents(count=50)


def test_street_keys_fold_the_ways_people_write_a_street() -> None:
    assert street_key("Zenettistr.") == street_key("zenettistraße") == street_key("Zenettistrasse")
    assert street_key("Rosenheimer Straße") == street_key("Rosenheimer Str")
    assert street_key("Sankt-Martin-Straße") == street_key("Sankt Martin Straße")
    assert street_key("Ungererstraße") != street_key("Zenettistraße")
