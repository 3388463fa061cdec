"""A Bescheid's template context, filters and sandbox, without a bus."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rathaus.contracts.common import Address, Person
from rathaus.contracts.common_v2 import Organisation, Party
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.output.bescheid import TemplateRefused, context, environment, render, template_name
from rathaus.output.domain import (
    AKTE,
    EMAIL,
    POSTKORB,
    choose_channel,
    euro,
    fee_cents,
    forwarded_data,
    german_date,
    german_datetime,
)
from rathaus.platform.kernel.procedures import Procedures

# the keys docs/services.md documents in "Templates", and nothing else
DOCUMENTED = {
    "city",
    "unit",
    "recipient",
    "aktenzeichen",
    "datum",
    "eingang",
    "entscheidung",
    "angaben",
    "text",
    "abschnitte",
    "fakten",
    "leistung",
    "zustellung",
    "fiktion",
}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-11-23", "23.11.2026"),
        ("2026-11-23T10:15:00+01:00", "23.11.2026"),
        ("2026-11-22T23:30:00+00:00", "23.11.2026"),  # past midnight in Munich
        ("2026-07-01T22:30:00Z", "02.07.2026"),  # summer time: UTC+2
        ("2026-11-23T10:15:00", "23.11.2026"),  # no zone: taken as it is
        (date(2027, 1, 6), "06.01.2027"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "01.01.2027"),
        ("", ""),
        (None, ""),
        ("bald", "bald"),  # no date: shown rather than breaking the letter
    ],
)
def test_datum(value: Any, shown: str) -> None:
    assert german_date(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (30, "30,00 €"),
        (30.0, "30,00 €"),
        (1234.5, "1.234,50 €"),
        (Decimal("1234567.891"), "1.234.567,89 €"),
        ("12.345", "12,35 €"),  # half up
        (0.005, "0,01 €"),
        (-7.5, "-7,50 €"),
        (0, "0,00 €"),
        (None, ""),
        ("", ""),
        (True, ""),
        ("dreißig", "dreißig"),
        ("NaN", "NaN"),
    ],
)
def test_euro(value: Any, shown: str) -> None:
    assert euro(value) == shown


def test_german_datetime_is_local_time() -> None:
    assert german_datetime("2026-11-20T09:30:00+00:00") == "20.11.2026, 10:30 Uhr"
    assert german_datetime("") == ""


def test_channel_per_recipient() -> None:
    assert choose_channel(account_id="k1", organisation=False, email="a@example.org") == POSTKORB
    assert choose_channel(account_id="", organisation=True, email="") == POSTKORB
    assert choose_channel(account_id="", organisation=False, email="a@example.org") == EMAIL
    assert choose_channel(account_id="", organisation=False, email="") == AKTE


def test_fee_from_the_facts_then_the_procedure() -> None:
    assert fee_cents({"gebuehr_cent": "4550"}, 0) == 4550
    assert fee_cents({"gebuehr": "30,00 EUR"}, 0) == 3000  # as the v1 E-Akte wrote it
    assert fee_cents({"gebuehr": "1.234,50 €"}, 0) == 123450
    assert fee_cents({}, 1200) == 1200
    assert fee_cents({"gebuehr": "keine"}, 700) == 700


def test_only_the_listed_fields_are_forwarded() -> None:
    data = {"a": "x", "b": "", "c": [1], "d": "geheim"}
    assert forwarded_data(["a", "b", "c", "fehlt"], data) == {"a": "x", "c": [1]}


@pytest.fixture(scope="module")
def builtin() -> Procedures:
    return Procedures.load()


def test_context_of_a_bewohnerparkausweis(builtin: Procedures, decide: Callable[..., DecisionMade]) -> None:
    definition = builtin.get("bewohnerparkausweis", 1)
    decision = decide(definition, aktenzeichen="523.11-2026-000042")
    values = context(
        definition, decision, unit=builtin.units["KVR-III/12"], channel=POSTKORB, day=date(2026, 11, 20)
    )
    assert set(values) == DOCUMENTED
    assert values["city"] == "Landeshauptstadt München"
    assert values["unit"] == {
        "code": "KVR-III/12",
        "name": "Bewohnerparken",
        "department": "Kreisverwaltungsreferat, Hauptabteilung III Straßenverkehr",
        "address": "Ruppertstraße 19 · 80466 München",
    }
    assert values["recipient"] == {
        "person": {"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12"},
        "organisation": None,
        "address": {
            "street": "Zenettistraße",
            "house_number": "12",
            "postal_code": "80337",
            "city": "München",
        },
        "email": "erika@example.org",
    }
    assert (values["aktenzeichen"], values["datum"]) == ("523.11-2026-000042", "2026-11-20")
    assert values["eingang"] == "2026-11-13"  # 23:30 UTC on the 12th is the 13th in Munich
    assert values["entscheidung"] == {
        "outcome": "granted",
        "mode": "clerk",
        "reasons": "Die Voraussetzungen liegen vor.",
        "decided_at": "2026-11-20T09:30:00+00:00",
    }
    assert values["angaben"]["kennzeichen"] == "M-EM 1964"
    assert values["text"]["birth_date"] == "12.08.1964"
    assert values["text"]["halter"] == "Ich bin Halterin oder Halter des Fahrzeugs"  # the code's name
    assert "stadtbezirk" in values["text"]  # hidden fields are data the letter may use
    assert [s.title for s in values["abschnitte"]] == ["Angaben zur Person", "Angaben zum Fahrzeug"]
    assert values["fakten"] == {
        "gueltig_ab": "2026-11-22",
        "gueltig_bis": "2028-11-21",
        "gebuehr": "30,00 €",
        "gebuehr_cent": 3000,
    }
    assert values["leistung"] == {
        "id": "bewohnerparkausweis",
        "version": 1,
        "title": "Bewohnerparkausweis beantragen",
        "legal_basis": definition.procedure.legal_basis,
    }
    assert values["zustellung"]["channel"] == "postkorb"
    assert values["zustellung"]["text"] == "elektronisch, Postkorb"
    assert "dritten Tag" in values["zustellung"]["hinweis"]
    assert values["fiktion"] is None


def test_rows_code_names_and_the_appeal_render(
    write_procedure: Callable[..., Path], decide: Callable[..., DecisionMade], verein: dict[str, Any]
) -> None:
    procedures = Procedures.load([write_procedure()])
    definition = procedures.get("vereinstest", 1)
    decision = decide(
        definition,
        data=verein,
        facts={"gebuehr_cent": "2500"},
        recipient=Party(
            organisation=Organisation(organisation_id="o1", name="Isarfreunde e. V.", legal_form="e. V."),
            person=Person(given_name="Anna", family_name="Berger", birth_date="1980-02-03"),
            address=Address(street="Marienplatz", house_number="1", postal_code="80331"),
        ),
        mode="fiction",
    )
    values = context(
        definition, decision, unit=procedures.units["KVR-I/21"], channel=POSTKORB, day=date.today()
    )
    assert values["fiktion"] == {"basis": "§ 42a VwVfG i. V. m. § 9 Testgesetz"}
    assert template_name(definition, "granted", "fiction") == definition.templates["fiction"]
    html = render(procedures, definition, template_name(definition, "granted", "fiction"), values)
    assert "<td>1</td><td>Anna Berger</td>" in html
    assert "<td>Erste Vorsitzende</td><td>03.02.1980</td>" in html
    assert "<td>Kassenwartin</td><td>09.07.1975</td>" in html
    assert "Beginn: 01.12.2026. Betrag: 25,00 €. Gebühr: 25,00 €." in html
    assert "Vorstand: 2" in html  # abschnitte: the repeating group with its two rows
    assert "Die Erlaubnis gilt als erteilt (§ 42a VwVfG i. V. m. § 9 Testgesetz)." in html
    assert "Isarfreunde e. V.<br>z. Hd. Anna Berger" in html  # the letter layout's address window
    # the Rechtsbehelfsbelehrung of the version, rendered with the same context, not escaped
    assert "<h2>Rechtsbehelfsbelehrung</h2>" in html
    assert (
        "bei der Landeshauptstadt München, Kreisverwaltungsreferat, Hauptabteilung I Sicherheit und Ordnung,"
        in html
    )


def test_values_are_escaped(
    write_procedure: Callable[..., Path], decide: Callable[..., DecisionMade], verein: dict[str, Any]
) -> None:
    procedures = Procedures.load([write_procedure("{{ angaben.vereinsname }}")])
    definition = procedures.get("vereinstest", 1)
    decision = decide(definition, data={**verein, "vereinsname": "<script>alert(1)</script>"})
    values = context(definition, decision, unit=procedures.units["KVR-I/21"], channel=AKTE, day=date.today())
    assert render(procedures, definition, definition.templates["granted"], values) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )


@pytest.mark.parametrize(
    "template",
    [
        "{{ angaben.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ angaben['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% set x = angaben.update({'vereinsname': 'Falsch'}) %}",  # the data stays as it came
        "{% set x = angaben.personen.append(1) %}",
        "{{ text.items.__self__ }}",
    ],
)
def test_the_sandbox_refuses(
    template: str,
    write_procedure: Callable[..., Path],
    decide: Callable[..., DecisionMade],
    verein: dict[str, Any],
) -> None:
    procedures = Procedures.load([write_procedure(template)])
    definition = procedures.get("vereinstest", 1)
    decision = decide(definition, data=copy.deepcopy(verein))
    values = context(definition, decision, unit=procedures.units["KVR-I/21"], channel=AKTE, day=date.today())
    with pytest.raises(TemplateRefused) as refused:
        render(procedures, definition, definition.templates["granted"], values)
    assert "vereinstest@1/granted.html" in str(refused.value)
    assert "Sandbox" in str(refused.value)
    assert decision.data == verein  # not executed: the data is as it came


def test_a_broken_template_is_refused_without_the_data(
    write_procedure: Callable[..., Path], decide: Callable[..., DecisionMade], verein: dict[str, Any]
) -> None:
    procedures = Procedures.load([write_procedure("{{ angaben.vereinsname + 1 }}")])
    definition = procedures.get("vereinstest", 1)
    values = context(
        definition,
        decide(definition, data=verein),
        unit=procedures.units["KVR-I/21"],
        channel=AKTE,
        day=date.today(),
    )
    with pytest.raises(TemplateRefused) as refused:
        render(procedures, definition, definition.templates["granted"], values)
    assert "TypeError" in str(refused.value) and "Isarfreunde" not in str(refused.value)


def test_one_environment_serves_every_version_and_the_shared_parts(builtin: Procedures) -> None:
    env = environment(builtin)
    assert environment(builtin) is env
    names = set(env.list_templates())
    assert {"_brief.html", "rechtsbehelf_klage.html"} <= names
    assert set(builtin.get("bewohnerparkausweis", 1).templates.values()) <= names
    assert env.filters["euro"](30) == "30,00 €"
