"""The fee catalogue (gebuehren.toml): tariffs with dated rates, booking lines of a
procedure's fee, the rate of the reference day, and the loader's German problems."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rathaus.platform.kernel.procedures import Inputs, ProcedureProblems, Procedures, judge
from rathaus.platform.kernel.procedures.expressions import rate_on
from rathaus.platform.kernel.procedures.fees import FeeError
from rathaus.platform.testing import write_procedure

CATALOGUE = """
[[tarife]]
id = "probe-satz"
text = "Probegebühr je Stück"
haushaltsstelle = "1100.1110"
objektnummer = "12345678"
legal_basis = "Probesatzung § 1"
rates = { "2026-01-01" = 250, "2027-01-01" = 300 }

[[tarife]]
id = "probe-grund"
text = "Grundgebühr"
haushaltsstelle = "1100.1111"
objektnummer = "12345679"
rates = { "2026-01-01" = 1000 }
"""

LINES = """
[fee]
field = "gebuehr"
payment = "before"

[[fee.lines]]
tariff = "probe-grund"

[[fee.lines]]
tariff = "probe-satz"
quantity = "stueck"
"""

FORM = """
[[form]]
name = "stueck"
parent = "angaben"
label = "Stück"
datatype = "num_int"

[[form]]
name = "gebuehr"
parent = "angaben"
kind = "locked"
label = "Gebühr"
datatype = "num_currency"
compute = "tarif('probe-grund') + stueck * tarif('probe-satz')"
"""


def load(folder: Path, extra: str = LINES, form: str = FORM, catalogue: str = CATALOGUE) -> Procedures:
    folder.mkdir(parents=True, exist_ok=True)
    write_procedure(folder, "probe", extra='valid_from = "2026-01-01"\n' + extra, form=form)
    (folder / "gebuehren.toml").write_text(catalogue, encoding="utf-8")
    return Procedures.load([folder])


def test_the_rate_of_a_day_is_the_latest_that_started() -> None:
    rates = ((date(2026, 1, 1), 250), (date(2027, 1, 1), 300))
    assert rate_on(rates, date(2025, 12, 31)) is None
    assert rate_on(rates, date(2026, 1, 1)) == 250
    assert rate_on(rates, date(2026, 12, 31)) == 250
    assert rate_on(rates, date(2027, 1, 1)) == 300


def test_booking_lines_at_the_rates_of_the_day_the_application_came_in(tmp_path: Path) -> None:
    definition = load(tmp_path / "leistungen").get("probe", 1)
    data = {"betreff": "x", "stueck": 3}
    lines = definition.fee_lines(data, date(2026, 12, 31))
    assert [(x.tariff, x.haushaltsstelle, x.objektnummer, x.amount_cents) for x in lines] == [
        ("probe-grund", "1100.1111", "12345679", 1000),
        ("probe-satz", "1100.1110", "12345678", 750),
    ]
    assert lines[0].text == "Grundgebühr"
    assert lines[1].text == "Probegebühr je Stück: 3 × 2,50 €"
    # a rate change on 1 January applies to applications from that day on
    assert definition.fee_cents(data, date(2026, 12, 31)) == 1750
    assert definition.fee_cents(data, date(2027, 1, 1)) == 1900
    # a line whose quantity is 0 or empty is no line
    assert [x.tariff for x in definition.fee_lines({"stueck": 0}, date(2026, 6, 1))] == ["probe-grund"]


def test_the_form_shows_the_fee_from_the_same_catalogue_on_its_reference_day(tmp_path: Path) -> None:
    definition = load(tmp_path / "leistungen").get("probe", 1)
    for day, expected in ((date(2026, 12, 31), 17.5), (date(2027, 1, 1), 19)):
        result = judge(definition, Inputs({"betreff": "x", "stueck": 3}, today=day))
        assert result.ok, result.errors
        assert result.data["gebuehr"] == expected
        assert definition.fee_cents(result.data, day) == int(expected * 100)


def test_a_day_before_every_rate_is_refused_with_a_german_message(tmp_path: Path) -> None:
    definition = load(tmp_path / "leistungen").get("probe", 1)
    with pytest.raises(FeeError, match="keinen Gebührensatz"):
        definition.fee_lines({"stueck": 1}, date(2025, 6, 1))


def test_a_fixed_fee_without_lines_is_one_line_without_booking_data(tmp_path: Path) -> None:
    definition = load(tmp_path / "leistungen", extra='[fee]\ncents = 1200\npayment = "before"', form="").get(
        "probe", 1
    )
    [line] = definition.fee_lines({}, date(2026, 6, 1))
    assert (line.tariff, line.haushaltsstelle, line.amount_cents) == ("", "", 1200)
    assert definition.fee_cents({}) == 1200


@pytest.mark.parametrize(
    ("extra", "form", "catalogue", "message"),
    [
        (LINES.replace('"probe-grund"', '"gibts-nicht"'), FORM, CATALOGUE, "Den Tarif „gibts-nicht“ gibt es"),
        (LINES.replace('"stueck"', '"stueck +"'), FORM, CATALOGUE, "ist nicht lesbar"),
        (LINES.replace('"stueck"', '"anzahl_x"'), FORM, CATALOGUE, "„anzahl_x“ ist weder ein Feld"),
        (LINES, FORM.replace("tarif('probe-satz')", "tarif('probe-x')"), CATALOGUE, "den Tarif „probe-x“"),
        (LINES, FORM.replace("tarif('probe-satz')", "tarif(stueck)"), CATALOGUE, "in Anführungszeichen"),
        (
            LINES,
            FORM,
            CATALOGUE.replace('"2026-01-01" = 250, ', ""),
            "Der Tarif „probe-satz“ hat am 01.01.2026 (valid_from des Verfahrens) noch keinen Satz",
        ),
        (LINES.replace("[fee]", "[fee]\ncents = 100"), FORM, CATALOGUE, "entweder Buchungszeilen"),
        (
            LINES,
            FORM,
            CATALOGUE.replace('haushaltsstelle = "1100.1110"', 'haushaltsstelle = ""'),
            "Haushaltsstelle",
        ),
        (LINES, FORM, CATALOGUE.replace('"2027-01-01"', '"2027-13-01"'), "„2027-13-01“ ist kein Datum"),
        (LINES, FORM, CATALOGUE + CATALOGUE.split("[[tarife]]")[2].join(["[[tarife]]", ""]), "gibt es schon"),
    ],
    ids=[
        "unknown tariff",
        "bad expression",
        "unknown name",
        "unknown tariff in tarif()",
        "tarif() of a field",
        "no rate on valid_from",
        "cents and lines",
        "no haushaltsstelle",
        "bad date",
        "duplicate tariff",
    ],
)
def test_the_loader_names_each_problem_in_german(
    tmp_path: Path, extra: str, form: str, catalogue: str, message: str
) -> None:
    with pytest.raises(ProcedureProblems) as raised:
        load(tmp_path / "leistungen", extra, form, catalogue)
    assert message in str(raised.value)


def test_every_builtin_service_with_a_fee_books_it_on_tariff_lines() -> None:
    procedures = Procedures.load()
    charged = [d for d in procedures.all() if d.procedure.fee.payment != "none"]
    assert {d.id for d in charged} >= {
        "bewohnerparkausweis",
        "gewerbeanmeldung",
        "halteverbotszone",
        "reisegewerbekarte",
        "sondernutzung",
        "sperrmuell",
    }
    for definition in charged:
        assert definition.fee_quantities, definition.id
        assert definition.procedure.fee.cents == 0
        for tariff in definition.tariffs.values():
            assert tariff.haushaltsstelle and tariff.objektnummer


def test_the_halteverbotszone_costs_more_from_2027() -> None:
    definition = Procedures.load().get("halteverbotszone", 1)
    assert definition.fee_cents({}, date(2026, 12, 31)) == 3000
    assert definition.fee_cents({}, date(2027, 1, 1)) == 3500


@pytest.mark.parametrize(
    ("area", "von", "bis", "lines"),
    [
        (12.5, "2030-04-13", "2030-04-17", [("sondernutzung-qm-tag", 6250)]),
        (2, "2030-04-13", "2030-04-15", [("sondernutzung-mindestgebuehr", 3000)]),
    ],
)
def test_the_sondernutzung_form_and_its_forderung_agree(
    area: float, von: str, bis: str, lines: list[tuple[str, int]]
) -> None:
    definition = Procedures.load().get("sondernutzung", 1)
    day = date(2026, 11, 1)
    values = {"flaeche_qm": area, "von": von, "bis": bis}
    data = judge(definition, Inputs(values, today=day)).data
    booked = definition.fee_lines(data, day)
    assert [(x.tariff, x.amount_cents) for x in booked] == lines
    assert round(data["gebuehr"] * 100) == sum(x.amount_cents for x in booked)


def test_sperrmuell_books_each_started_cubic_metre_over_the_free_amount() -> None:
    definition = Procedures.load().get("sperrmuell", 1)
    day = date(2026, 11, 1)
    for volume, cents in ((2, 0), (2.1, 2500), (3.5, 5000)):
        data = judge(definition, Inputs({"menge_m3": volume}, today=day)).data
        assert definition.fee_cents(data, day) == cents == round(data["gebuehr"] * 100)
