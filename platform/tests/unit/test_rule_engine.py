"""The rule engine on small procedures written for each test: visibility, requiredness,
cross-field rules, computed values, repeating groups, code lists, the form path (strings
as posted) against the JSON path (typed), and the JSON Schema derived from the same file.
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rathaus.platform.kernel.calendar import is_holiday
from rathaus.platform.kernel.procedures import Definition, Inputs, Procedures, Result, judge, path_key
from rathaus.platform.kernel.procedures.engine import clean
from rathaus.platform.kernel.procedures.schema import submission_schema

TODAY = date(2026, 12, 15)  # a Tuesday; ten days later is Christmas Day

HEADER = """
id = "probe"
version = 1
title = "Probeverfahren"
summary = "Ein Verfahren für Tests."
lebenslagen = ["Test"]
unit = "TEST"
aktenplan = "1"

[templates]
granted = "bescheid.html"
refused = "bescheid.html"

[open_data]
dataset = "probe"
title = "Probe"
summary = "Probe"
"""

CODELIST = """
id = "farben"
version = "1"
title = "Farben"
[[values]]
code = "rot"
name = "Rot"
extra = { zuschlag = 5 }
[[values]]
code = "gruen"
name = "Grün"
[[values]]
code = "blau"
name = "Blau"
"""


def procedure(tmp_path: Path, body: str) -> Definition:
    """A procedure from the header above and ``body`` (constants, form, rules), checked by the loader."""
    folder = tmp_path / "leistungen"
    (folder / "probe").mkdir(parents=True, exist_ok=True)
    (folder / "codelisten").mkdir(exist_ok=True)
    (folder / "probe" / "v1.toml").write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    (folder / "probe" / "bescheid.html").write_text("Bescheid", encoding="utf-8")
    (folder / "codelisten" / "farben.toml").write_text(CODELIST, encoding="utf-8")
    return Procedures.load([folder], builtin=False).get("probe", 1)


def run(definition: Definition, values: dict[str, Any], origin: str = "json", **kw: Any) -> Result:
    return judge(definition, Inputs(values, origin, today=kw.pop("today", TODAY), **kw))


def errors(result: Result) -> dict[str, str]:
    return {path_key(p): m for p, m in result.errors.items()}


def warnings(result: Result) -> dict[str, str]:
    return {path_key(p): m for p, m in result.warnings.items()}


# -- visibility ---------------------------------------------------------------------------------

VISIBILITY = """
[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "art"
parent = "seite"
kind = "select"
label = "Art"
codelist = "farben"

[[form]]
name = "grund"
parent = "seite"
label = "Grund"
max_length = 10
visible_if = "art == 'rot'"

[[form]]
name = "seit"
parent = "seite"
label = "Seit"
datatype = "date"
visible_if = "art == 'rot'"

[[form]]
name = "extra"
kind = "group"
label = "Nur für Rot"
visible_if = "art == 'rot'"

[[form]]
name = "hinweis"
parent = "extra"
label = "Hinweis"
"""


def test_a_field_appears_and_is_required_only_when_its_condition_holds(tmp_path: Path) -> None:
    d = procedure(tmp_path, VISIBILITY)
    shown = run(d, {"art": "rot"})
    assert errors(shown) == {
        "grund": "Bitte geben Sie „Grund“ an.",
        "seit": "Bitte geben Sie „Seit“ an.",
        "hinweis": "Bitte geben Sie „Hinweis“ an.",
    }
    assert ("grund",) in shown.visible and ("hinweis",) in shown.visible
    hidden = run(d, {"art": "blau"})
    assert hidden.ok
    assert ("grund",) not in hidden.visible and ("extra",) not in hidden.visible


def test_a_hidden_fields_value_is_dropped(tmp_path: Path) -> None:
    d = procedure(tmp_path, VISIBILITY)
    result = run(d, {"art": "blau", "grund": "weil", "hinweis": "x"})
    assert result.ok
    assert result.data == {"art": "blau"}


def test_an_unreadable_value_in_a_hidden_field_does_not_refuse(tmp_path: Path) -> None:
    # The applicant typed a date, then chose an answer that hides the field: the value is
    # dropped, and so is the complaint about it (it cannot be corrected where it is not shown).
    d = procedure(tmp_path, VISIBILITY)
    for origin in ("form", "json"):
        result = run(d, {"art": "blau", "seit": "gestern"}, origin)
        assert result.ok, errors(result)
        assert result.data == {"art": "blau"}
    shown = run(d, {"art": "rot", "seit": "gestern", "grund": "g", "hinweis": "h"}, "form")
    assert errors(shown) == {"seit": "Bitte geben Sie „Seit“ als Datum (TT.MM.JJJJ) an."}


# -- requiredness ---------------------------------------------------------------------------------

REQUIRED = """
[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "name"
parent = "seite"
label = "Name"

[[form]]
name = "spitzname"
parent = "seite"
label = "Spitzname"
multiplicity = "0:1"

[[form]]
name = "firma"
parent = "seite"
label = "Ich handle für eine Firma"
datatype = "bool"
multiplicity = "0:1"

[[form]]
name = "firmenname"
parent = "seite"
label = "Firmenname"
multiplicity = "0:1"
required_if = "firma"

[[form]]
name = "vertretung"
parent = "seite"
kind = "group"
label = "Vertretung"
multiplicity = "0:1"

[[form]]
name = "v_name"
parent = "vertretung"
label = "Name der Vertretung"

[[form]]
name = "v_seit"
parent = "vertretung"
label = "Vertretung seit"
datatype = "date"
"""


def test_multiplicity_and_required_if(tmp_path: Path) -> None:
    d = procedure(tmp_path, REQUIRED)
    assert errors(run(d, {})) == {"name": "Bitte geben Sie „Name“ an."}
    assert run(d, {"name": "Anna"}).ok  # 0:1 fields may stay empty
    assert errors(run(d, {"name": "Anna", "firma": True})) == {
        "firmenname": "Bitte geben Sie „Firmenname“ an."
    }
    assert run(d, {"name": "Anna", "firma": True, "firmenname": "Radlwerk"}).ok


def test_an_optional_group_left_empty_is_absent(tmp_path: Path) -> None:
    d = procedure(tmp_path, REQUIRED)
    empty = run(d, {"name": "Anna", "v_name": "  "})
    assert empty.ok
    assert ("v_name",) not in empty.required
    begun = run(d, {"name": "Anna", "v_name": "Berta"})
    assert errors(begun) == {"v_seit": "Bitte geben Sie „Vertretung seit“ an."}
    assert ("v_seit",) in begun.required


# -- cross-field rules, per row too -------------------------------------------------------------

RULES = """
[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "von"
parent = "seite"
label = "Von"
datatype = "date"

[[form]]
name = "bis"
parent = "seite"
label = "Bis"
datatype = "date"

[[form]]
name = "posten"
parent = "seite"
kind = "group"
label = "Posten"
multiplicity = "0:5"

[[form]]
name = "menge"
parent = "posten"
label = "Menge"
datatype = "num_int"

[[form]]
name = "hoechstens"
parent = "posten"
label = "Höchstens"
datatype = "num_int"

[[rules]]
check = "leer(von) or leer(bis) or bis >= von"
message = "„Bis“ darf nicht vor „Von“ liegen."
fields = ["bis"]

[[rules]]
check = "leer(von) or von >= heute()"
message = "Der Beginn liegt in der Vergangenheit."
severity = "warning"
fields = ["von"]

[[rules]]
check = "menge <= hoechstens"
message = "Die Menge übersteigt das Höchstmaß."
fields = ["menge"]
group = "posten"

[[rules]]
check = "position == 1 or menge < 100"
message = "Ab dem zweiten Posten sind es weniger als 100."
severity = "warning"
fields = ["menge"]
group = "posten"
"""


def test_an_error_refuses_and_a_warning_does_not(tmp_path: Path) -> None:
    d = procedure(tmp_path, RULES)
    wrong = run(d, {"von": "2026-12-20", "bis": "2026-12-19"})
    assert errors(wrong) == {"bis": "„Bis“ darf nicht vor „Von“ liegen."}
    late = run(d, {"von": "2026-12-01", "bis": "2026-12-19"})
    assert late.ok
    assert warnings(late) == {"von": "Der Beginn liegt in der Vergangenheit."}


def test_a_rule_of_a_repeating_group_is_checked_per_row(tmp_path: Path) -> None:
    d = procedure(tmp_path, RULES)
    rows = [
        {"menge": 200, "hoechstens": 300},
        {"menge": 5, "hoechstens": 3},
        {"menge": 150, "hoechstens": 300},
    ]
    result = run(d, {"von": "2026-12-20", "bis": "2026-12-21", "posten": rows})
    assert errors(result) == {"posten[1].menge": "Die Menge übersteigt das Höchstmaß."}
    assert warnings(result) == {"posten[2].menge": "Ab dem zweiten Posten sind es weniger als 100."}


def test_a_field_message_comes_before_a_rule_on_it(tmp_path: Path) -> None:
    d = procedure(tmp_path, RULES)
    result = run(d, {"von": "2026-12-20", "bis": "morgen"})
    assert errors(result) == {"bis": "Bitte geben Sie „Bis“ als Datum (TT.MM.JJJJ) an."}


# -- computed values ------------------------------------------------------------------------------

COMPUTED = """
[constants]
satz_qm_tag = 1.50
mindestgebuehr = 30.00
satz_erster = 100.00
satz_weiterer = 150.00
vorlauf_tage = 10

[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "flaeche"
parent = "seite"
label = "Fläche"
datatype = "num"

[[form]]
name = "von"
parent = "seite"
label = "Von"
datatype = "date"

[[form]]
name = "bis"
parent = "seite"
label = "Bis"
datatype = "date"

[[form]]
name = "tage"
parent = "seite"
kind = "locked"
label = "Tage"
datatype = "num_int"
compute = "bis - von + 1"

[[form]]
name = "gebuehr"
parent = "seite"
kind = "locked"
label = "Gebühr"
datatype = "num_currency"
compute = "wenn(vorhanden(tage), max(mindestgebuehr, flaeche * tage * satz_qm_tag), leer_wert)"

[[form]]
name = "tiere"
parent = "seite"
kind = "group"
label = "Tiere"
multiplicity = "0:5"

[[form]]
name = "farbe"
parent = "tiere"
kind = "select"
label = "Farbe"
codelist = "farben"

[[form]]
name = "steuer"
parent = "tiere"
kind = "locked"
label = "Steuer"
datatype = "num_currency"
compute = "wenn(position == 1, satz_erster, satz_weiterer) + wenn(vorhanden(codewert('farben', farbe, 'zuschlag')), codewert('farben', farbe, 'zuschlag'), 0)"

[[form]]
name = "summe_steuer"
parent = "seite"
kind = "locked"
label = "Steuer gesamt"
datatype = "num_currency"
compute = "summe(tiere, steuer)"

[[form]]
name = "abholtag"
parent = "seite"
kind = "locked"
label = "Abholtag"
datatype = "date"
compute = "naechster_werktag(heute() + vorlauf_tage)"
"""


def test_a_fee_from_area_and_days(tmp_path: Path) -> None:
    d = procedure(tmp_path, COMPUTED)
    result = run(d, {"flaeche": 12.5, "von": "2026-12-20", "bis": "2026-12-24"})
    assert result.ok
    assert result.data["tage"] == 5
    assert result.data["gebuehr"] == 93.75  # 12.5 m² × 5 days × 1.50 €
    assert d.fee_cents(result.data) == 0  # the file declares no [fee]; the value is in the data
    small = run(d, {"flaeche": 1, "von": "2026-12-20", "bis": "2026-12-20"})
    assert small.data["gebuehr"] == 30  # the minimum fee


def test_a_value_sent_for_a_computed_field_is_ignored(tmp_path: Path) -> None:
    d = procedure(tmp_path, COMPUTED)
    result = run(d, {"flaeche": 10, "von": "2026-12-20", "bis": "2026-12-21", "gebuehr": 0.01, "tage": 99})
    assert (result.data["tage"], result.data["gebuehr"]) == (2, 30)


def test_a_sum_over_rows_with_position(tmp_path: Path) -> None:
    d = procedure(tmp_path, COMPUTED)
    rows = [{"farbe": "blau"}, {"farbe": "rot"}, {"farbe": "gruen"}]
    result = run(d, {"flaeche": 1, "von": "2026-12-20", "bis": "2026-12-20", "tiere": rows})
    assert [r["steuer"] for r in result.data["tiere"]] == [100, 155, 150]
    assert result.data["summe_steuer"] == 405


def test_the_next_working_day_skips_bavarian_holidays(tmp_path: Path) -> None:
    d = procedure(tmp_path, COMPUTED)
    values = {"flaeche": 1, "von": "2026-12-20", "bis": "2026-12-20"}
    # 15.12. + 10 = Friday 25.12. (Christmas), Saturday 26.12. (St Stephen's Day), Sunday -> Monday 28.12.
    assert run(d, values, holidays=is_holiday).data["abholtag"] == "2026-12-28"
    # 27.12.2026 + 10 = Wednesday 6.1.2027 (Epiphany, a holiday in Bavaria) -> Thursday
    assert run(d, values, today=date(2026, 12, 27), holidays=is_holiday).data["abholtag"] == "2027-01-07"
    # the Bavarian calendar is the default; another calendar can be given
    assert judge(d, Inputs(values, today=TODAY)).data["abholtag"] == "2026-12-28"
    assert run(d, values, holidays=lambda _day: False).data["abholtag"] == "2026-12-25"


# -- repeating groups and code lists ------------------------------------------------------------

ROWS = """
[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "personen"
parent = "seite"
kind = "group"
label = "Personen"
multiplicity = "2:3"
row_label = "Person"

[[form]]
name = "vorname"
parent = "personen"
label = "Vorname"

[[form]]
name = "farbe"
parent = "personen"
kind = "select"
label = "Lieblingsfarbe"
codelist = "farben"
multiplicity = "0:1"
"""


def test_a_repeating_group_counts_its_rows(tmp_path: Path) -> None:
    d = procedure(tmp_path, ROWS)
    assert errors(run(d, {"personen": [{"vorname": "Anna"}]})) == {
        "personen": "Bitte geben Sie mindestens 2 × „Person“ an."
    }
    assert run(d, {"personen": [{"vorname": "Anna"}, {"vorname": "Ben"}]}).ok
    four = [{"vorname": n} for n in ("A", "B", "C", "D")]
    assert errors(run(d, {"personen": four})) == {
        "personen": "Bei „Personen“ sind höchstens 3 Angaben möglich."
    }
    assert errors(run(d, {"personen": "Anna, Ben"})) == {
        "personen": "Bei „Personen“ wird eine Liste erwartet."
    }


def test_each_row_is_checked_at_its_own_path(tmp_path: Path) -> None:
    d = procedure(tmp_path, ROWS)
    result = run(d, {"personen": [{"vorname": "Anna", "farbe": "lila"}, {"farbe": "rot"}]})
    assert errors(result) == {
        "personen[0].farbe": "Bitte wählen Sie bei „Lieblingsfarbe“ eine der Möglichkeiten.",
        "personen[1].vorname": "Bitte geben Sie „Vorname“ an.",
    }


def test_a_select_takes_only_codes_of_its_list(tmp_path: Path) -> None:
    d = procedure(tmp_path, VISIBILITY)
    assert errors(run(d, {"art": "Rot"})) == {"art": "Bitte wählen Sie bei „Art“ eine der Möglichkeiten."}
    assert errors(run(d, {"art": None})) == {"art": "Bitte wählen Sie bei „Art“ eine der Möglichkeiten."}
    assert run(d, {"art": "gruen"}).data == {"art": "gruen"}


LATIN_ONLY = """
[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "name"
parent = "seite"
label = "Name"
datatype = "text_latin"
"""


def test_text_latin_takes_latin_letters_with_diacritics_only(tmp_path: Path) -> None:
    d = procedure(tmp_path, LATIN_ONLY)
    for name in ("Zoë Ðorđević", "Ærøskøbing", "Łódź-Straße 5/7", "Müller (geb. Meier)", "Nguyễn", "O’Brien"):
        assert run(d, {"name": name}).ok, name
    for name in ("Иван", "王芳", "Γιώργος", "٣٤"):
        assert errors(run(d, {"name": name})) == {
            "name": "Bitte verwenden Sie bei „Name“ nur lateinische Buchstaben, Ziffern und Satzzeichen."
        }, name


# -- the form path and the JSON path ------------------------------------------------------------

TYPES = """
[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "betrag"
parent = "seite"
label = "Betrag"
datatype = "num_currency"
min_value = 0
max_value = 10000

[[form]]
name = "flaeche"
parent = "seite"
label = "Fläche"
datatype = "num"
min_value = 0.5
max_value = 100

[[form]]
name = "anzahl"
parent = "seite"
label = "Anzahl"
datatype = "num_int"
multiplicity = "0:1"

[[form]]
name = "geboren"
parent = "seite"
label = "Geburtsdatum"
datatype = "date"
max_value = "heute()"

[[form]]
name = "zeit"
parent = "seite"
label = "Uhrzeit"
datatype = "time"
multiplicity = "0:1"

[[form]]
name = "einverstanden"
parent = "seite"
label = "Einverstanden"
datatype = "bool"
"""


def test_strings_as_the_form_posts_them_mean_the_same_as_typed_json(tmp_path: Path) -> None:
    d = procedure(tmp_path, TYPES)
    form = run(
        d,
        {
            "betrag": "1.234,50 €",
            "flaeche": "12,5",
            "anzahl": " 3 ",
            "geboren": "17.05.1990",
            "zeit": "07:30",
            "einverstanden": "ja",
        },
        "form",
    )
    typed = run(
        d,
        {
            "betrag": 1234.5,
            "flaeche": 12.5,
            "anzahl": 3,
            "geboren": "1990-05-17",
            "zeit": "07:30",
            "einverstanden": True,
        },
    )
    assert form.ok and typed.ok
    assert (
        form.data
        == typed.data
        == {
            "betrag": 1234.5,
            "flaeche": 12.5,
            "anzahl": 3,
            "geboren": "1990-05-17",
            "zeit": "07:30",
            "einverstanden": True,
        }
    )


def test_the_form_path_refuses_in_german(tmp_path: Path) -> None:
    d = procedure(tmp_path, TYPES)
    result = run(
        d,
        {"betrag": "12,345", "flaeche": "viel", "anzahl": "2,5", "geboren": "31.02.1990", "zeit": "7 Uhr"},
        "form",
    )
    assert errors(result) == {
        "betrag": "Bitte geben Sie bei „Betrag“ einen Betrag mit höchstens zwei Nachkommastellen an.",
        "flaeche": "Bitte geben Sie bei „Fläche“ eine Zahl an.",
        "anzahl": "Bitte geben Sie bei „Anzahl“ eine ganze Zahl an.",
        "geboren": "Bitte geben Sie „Geburtsdatum“ als Datum (TT.MM.JJJJ) an.",
        "zeit": "Bitte geben Sie „Uhrzeit“ als Uhrzeit (HH:MM) an.",
        "einverstanden": "Bitte bestätigen Sie: „Einverstanden“.",  # an unchecked box is "no"
    }


def test_the_json_path_wants_json_types(tmp_path: Path) -> None:
    d = procedure(tmp_path, TYPES)
    result = run(d, {"betrag": "12,50", "flaeche": 3, "geboren": 19900517, "einverstanden": "ja"})
    assert errors(result) == {
        "betrag": "Bitte geben Sie bei „Betrag“ eine Zahl an.",
        "geboren": "Bei „Geburtsdatum“ wird ein Text erwartet.",
        "einverstanden": "Bei „Einverstanden“ wird ja oder nein (true oder false) erwartet.",
    }


def test_the_schema_takes_every_amount_in_cents(tmp_path: Path) -> None:
    # JSON Schema's multipleOf with 0.01 fails on binary floats (19.99 / 0.01 is not whole),
    # so the schema would refuse amounts the engine accepts.
    d = procedure(tmp_path, TYPES)
    validator = jsonschema.Draft202012Validator(submission_schema(d, "https://rathaus.example"))
    for cents in (7, 29, 57, 435, 1999, 99999):
        amount = cents / 100
        angaben = {"betrag": amount, "flaeche": 1, "geboren": "1990-05-17", "einverstanden": True}
        assert run(d, angaben).ok
        assert validator.is_valid({"service_id": "probe", "version": 1, "angaben": angaben}), amount


# -- property: form and JSON agree, and the schema never refuses what the engine accepts ------

PROPERTY = """
[[form]]
name = "seite"
kind = "group"
label = "Seite"

[[form]]
name = "kennzeichen"
parent = "seite"
label = "Kennzeichen"
pattern = "[A-Z]{1,3}-[A-Z]{1,2} ?[0-9]{1,4}"
pattern_message = "Bitte geben Sie ein Kennzeichen wie M-AB 1234 ein."

[[form]]
name = "notiz"
parent = "seite"
label = "Notiz"
multiplicity = "0:1"
max_length = 12

[[form]]
name = "menge"
parent = "seite"
label = "Menge"
datatype = "num"
min_value = 1
max_value = 100

[[form]]
name = "betrag"
parent = "seite"
label = "Betrag"
datatype = "num_currency"
multiplicity = "0:1"
min_value = 0

[[form]]
name = "stueck"
parent = "seite"
label = "Stück"
datatype = "num_int"
multiplicity = "0:1"
min_value = 0
max_value = 10

[[form]]
name = "tag"
parent = "seite"
label = "Tag"
datatype = "date"
min_value = "datum('2000-01-01')"
max_value = "heute()"

[[form]]
name = "eilig"
parent = "seite"
label = "Eilig"
datatype = "bool"
multiplicity = "0:1"

[[form]]
name = "farbe"
parent = "seite"
kind = "select"
label = "Farbe"
codelist = "farben"

[[form]]
name = "grund"
parent = "seite"
label = "Grund"
max_length = 8
visible_if = "farbe == 'rot' or eilig"

[[form]]
name = "frist"
parent = "seite"
label = "Frist in Tagen"
datatype = "num_int"
min_value = 1
max_value = 30
visible_if = "eilig"

[[form]]
name = "posten"
parent = "seite"
kind = "group"
label = "Posten"
multiplicity = "0:3"

[[form]]
name = "bezeichnung"
parent = "posten"
label = "Bezeichnung"
max_length = 10

[[form]]
name = "wert"
parent = "posten"
label = "Wert"
datatype = "num_int"
min_value = 1
max_value = 9

[[rules]]
check = "leer(stueck) or leer(menge) or stueck <= menge"
message = "Es können nicht mehr Stück als die Menge sein."
fields = ["stueck"]

[[rules]]
check = "wert < 8 or position > 1"
message = "Der erste Posten hat einen Wert unter 8."
fields = ["wert"]
group = "posten"
"""

LETTERS = "ABCMXZabcäöüß0189 -,."
texts = st.text(alphabet=LETTERS, min_size=1, max_size=16).filter(lambda t: clean(t) == t)
short_texts = st.text(alphabet=LETTERS, min_size=1, max_size=8).filter(lambda t: clean(t) == t)
plates = st.from_regex(r"[A-Z]{1,3}-[A-Z]{1,2} ?[0-9]{1,4}", fullmatch=True)
days = st.dates(min_value=date(1890, 1, 1), max_value=date(2100, 12, 31))


def decimals(low: float, high: float, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False)


def whole(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=low, max_value=high).map(Decimal)


row = st.fixed_dictionaries({"bezeichnung": short_texts, "wert": whole(1, 7)})
VALID = st.fixed_dictionaries(
    {
        "kennzeichen": plates,
        "notiz": st.one_of(st.none(), short_texts),
        "menge": decimals(10, 100, 3),
        "betrag": st.one_of(st.none(), decimals(0, 1000, 2)),
        "stueck": st.one_of(st.none(), whole(0, 10)),
        "tag": st.dates(min_value=date(2000, 1, 1), max_value=TODAY),
        "eilig": st.booleans(),
        "farbe": st.sampled_from(["rot", "gruen", "blau"]),
        "grund": short_texts,  # dropped where it is not shown
        "frist": whole(1, 30),
        "posten": st.lists(row, max_size=3),
    }
)
bad_rows = st.lists(
    st.fixed_dictionaries(
        {
            "bezeichnung": st.one_of(st.none(), texts),
            "wert": st.one_of(st.none(), whole(-2, 12), decimals(0, 10, 2)),
        }
    ),
    max_size=5,
)
INVALID: dict[str, st.SearchStrategy[Any]] = {  # values that may be wrong (or, by chance, right)
    "kennzeichen": st.one_of(st.none(), texts),
    "notiz": texts,
    "menge": st.one_of(st.none(), decimals(-5, 150, 3)),
    "betrag": decimals(-5, 1000, 3),
    "stueck": st.one_of(whole(-3, 15), decimals(0, 10, 1)),
    "tag": st.one_of(st.none(), days),
    "farbe": st.one_of(st.none(), st.just("lila")),
    "grund": st.one_of(st.none(), texts),
    "frist": st.one_of(st.none(), whole(-2, 40), decimals(0, 30, 2)),
    "posten": bad_rows,
}


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid typed submission with up to three fields made (probably) wrong."""
    typed = draw(VALID)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        name = draw(st.sampled_from(sorted(INVALID)))
        typed[name] = draw(INVALID[name])
    return typed


def as_json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def as_posted(value: Any, style: int) -> Any:
    """A typed value as the HTML form posts it (``style`` varies the spelling a person uses)."""
    if value is None:
        return "" if style % 2 else None
    if isinstance(value, bool):
        return ("ja", "on", "true")[style % 3] if value else None  # an unchecked box is not posted
    if isinstance(value, Decimal):
        text = f"{value:f}"
        if "." in text and style % 3 == 0:
            sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
            whole_part, _, fraction = digits.partition(".")  # "-0.79": the sign is kept apart
            text = sign + f"{int(whole_part):,}".replace(",", ".") + "," + fraction
        return text.replace(".", ",", 1) if style % 3 == 1 else text
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y") if style % 2 else value.isoformat()
    if isinstance(value, str):  # as typed, with stray spaces
        inner = value.replace(" ", "  ") if style % 4 == 3 else value
        return ("", " ", "\t")[style % 3] + inner + ("", "  ")[style % 2]
    return value


def encode(typed: dict[str, Any], style: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same submission as JSON (None left out) and as the form posts it."""
    json_values: dict[str, Any] = {}
    form_values: dict[str, Any] = {}
    for i, (name, value) in enumerate(typed.items()):
        if name == "posten":
            json_values[name] = [{k: as_json_value(v) for k, v in r.items() if v is not None} for r in value]
            form_values[name] = [
                {k: as_posted(v, style + j) for k, v in r.items()} for j, r in enumerate(value)
            ]
            continue
        if value is not None:
            json_values[name] = as_json_value(value)
        posted = as_posted(value, style + i)
        if posted is not None:
            form_values[name] = posted
    return json_values, form_values


def only_visible(values: dict[str, Any], result: Result) -> dict[str, Any]:
    """What a client sends that follows the schema's advice: no values for fields not shown."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "posten" and ("posten",) in result.visible:
            out[name] = [
                {k: v for k, v in r.items() if ("posten", i, k) in result.visible}
                for i, r in enumerate(value)
            ]
        elif (name,) in result.visible:
            out[name] = value
    return out


@pytest.fixture(scope="module")
def property_procedure(tmp_path_factory: pytest.TempPathFactory) -> Definition:
    return procedure(tmp_path_factory.mktemp("eigenschaften"), PROPERTY)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(typed=submissions(), style=st.integers(min_value=0, max_value=5))
def test_form_and_json_are_judged_alike(
    property_procedure: Definition, typed: dict[str, Any], style: int
) -> None:
    d = property_procedure
    json_values, form_values = encode(typed, style)
    by_json = run(d, json_values, "json")
    by_form = run(d, form_values, "form")
    assert errors(by_form) == errors(by_json)
    assert warnings(by_form) == warnings(by_json)
    if by_json.ok:
        assert by_form.data == by_json.data
        body = {"service_id": "probe", "version": 1, "angaben": only_visible(json_values, by_json)}
        validator = jsonschema.Draft202012Validator(submission_schema(d, "https://rathaus.example"))
        assert [e.message for e in validator.iter_errors(body)] == []
        # and what the engine keeps is valid against the schema too
        assert validator.is_valid({"service_id": "probe", "version": 1, "angaben": by_json.data})


def test_the_property_generator_reaches_both_outcomes(property_procedure: Definition) -> None:
    # the property above is only worth something if valid submissions occur: one by hand
    accepted = {
        "kennzeichen": "M-AB 1234",
        "menge": Decimal("12.5"),
        "betrag": Decimal("19.99"),
        "tag": TODAY - timedelta(days=3),
        "eilig": True,
        "farbe": "gruen",
        "grund": "Umzug",
        "frist": Decimal(7),
        "posten": [{"bezeichnung": "Kiste", "wert": Decimal(3)}],
    }
    json_values, form_values = encode(accepted, 1)
    assert run(property_procedure, json_values).ok
    assert run(property_procedure, form_values, "form").ok
