"""A small procedure of our own for output's tests (the real services are written
elsewhere): people as a repeating group, templates as ``[template_texts]``, a code list, a
fee computed from the rows, and a notification of another authority."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rathaus.contracts.common import Address, Person
from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.platform.kernel.procedures import Definition

ROWS = """{% extends "_brief.html" %}
{% block body %}
<h1>Bestätigung: {{ leistung.title }}</h1>
<p>Guten Tag{% if recipient.organisation %} {{ recipient.organisation.name }}{% endif %},</p>
<table class="daten"><tr><th>Nr.</th><th>Name</th><th>Rolle</th><th>Geboren</th></tr>
{% for p in angaben.personen %}<tr><td>{{ loop.index }}</td><td>{{ p.vorname }} {{ p.nachname }}</td>
<td>{{ p.rolle | code("rollen_test") }}</td><td>{{ p.geboren | datum }}</td></tr>{% endfor %}
</table>
<p>Beginn: {{ text.beginn }}. Betrag: {{ angaben.betrag | euro }}. Gebühr: {{ fakten.gebuehr }}.</p>
{% for s in abschnitte %}<h2>{{ s.title }}</h2>{% for sub in s.sections %}<p>{{ sub.title }}: {{ sub.sections | length }}</p>{% endfor %}{% endfor %}
{% if fiktion %}<p>Die Erlaubnis gilt als erteilt ({{ fiktion.basis }}).</p>{% endif %}
{% endblock %}
"""

REFUSED = """{% extends "_brief.html" %}{% block body %}<h1>Ablehnung</h1><p>{{ entscheidung.reasons }}</p>{% endblock %}"""


def procedure_toml(granted: str, version: int = 1) -> str:
    def block(text: str) -> str:
        return "'''\n" + text + "'''"

    return f"""
id = "vereinstest"
version = {version}
title = "Verein anmelden (Test)"
summary = "Ein Verfahren nur für die Tests des Postausgangs."
lebenslagen = ["Test"]
unit = "KVR-I/21"
aktenplan = "124.10"
legal_basis = "§ 1 Testgesetz"
applicants = ["person", "organisation", "anonymous"]
appeal = "rechtsbehelf_widerspruch_oder_klage"

[fee]
field = "betrag"
payment = "after_decision"

[decision]
fiction_days = 30
fiction_basis = "§ 42a VwVfG i. V. m. § 9 Testgesetz"

[constants]
satz = 12.5

[template_texts]
granted = {block(granted)}
refused = {block(REFUSED)}

[[forward]]
recipient = "finanzamt"
name = "Finanzamt München"
legal_basis = "§ 138 AO"
fields = ["vereinsname", "beginn"]

[[forward]]
recipient = "registergericht"
name = "Amtsgericht München – Registergericht"
legal_basis = "§ 2 Testgesetz"
fields = ["vereinsname"]
outcomes = ["refused"]

[open_data]
dataset = "vereinstest"
title = "Test"
summary = "Test"

[[form]]
name = "verein"
kind = "group"
label = "Der Verein"

[[form]]
name = "vereinsname"
parent = "verein"
label = "Name des Vereins"

[[form]]
name = "beginn"
parent = "verein"
label = "Beginn"
datatype = "date"

[[form]]
name = "telefon"
parent = "verein"
label = "Telefon"
multiplicity = "0:1"

[[form]]
name = "betrag"
parent = "verein"
kind = "hidden"
label = "Gebühr"
datatype = "num_currency"
compute = "anzahl(personen) * satz"

[[form]]
name = "personen"
parent = "verein"
kind = "group"
label = "Vorstand"
multiplicity = "1:5"
row_label = "Person"

[[form]]
name = "vorname"
parent = "personen"
label = "Vorname"

[[form]]
name = "nachname"
parent = "personen"
label = "Nachname"

[[form]]
name = "rolle"
parent = "personen"
kind = "select"
label = "Rolle"
codelist = "rollen_test"

[[form]]
name = "geboren"
parent = "personen"
label = "Geburtsdatum"
datatype = "date"
"""


CODELIST = """
id = "rollen_test"
version = "1"
title = "Rollen im Vorstand"
[[values]]
code = "v1"
name = "Erste Vorsitzende"
[[values]]
code = "kasse"
name = "Kassenwartin"
"""


@pytest.fixture
def write_procedure(tmp_path: Path) -> Callable[..., Path]:
    """Writes the test procedure (with the granted template given) into a fresh directory
    and returns that directory, for ``settings.procedure_dirs``."""
    count = 0

    def write(granted: str = ROWS, version: int = 1) -> Path:
        nonlocal count
        count += 1
        root = tmp_path / f"leistungen-{count}"
        (root / "vereinstest").mkdir(parents=True)
        (root / "codelisten").mkdir()
        (root / "vereinstest" / f"v{version}.toml").write_text(
            procedure_toml(granted, version), encoding="utf-8"
        )
        (root / "codelisten" / "rollen_test.toml").write_text(CODELIST, encoding="utf-8")
        return root

    return write


ERIKA = Party(
    person=Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12"),
    address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
    email="erika@example.org",
    account_id="konto-erika",
)
PARKEN = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birth_date": "1964-08-12",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "stadtbezirk": "02",
    "parkzone": "Schlachthofviertel",
    "kennzeichen": "M-EM 1964",
    "halter": "ja",
}
PARK_FACTS = {
    "gueltig_ab": "2026-11-22",
    "gueltig_bis": "2028-11-21",
    "gebuehr": "30,00 €",
    "gebuehr_cent": "3000",
}
VEREIN = {
    "vereinsname": "Isarfreunde e. V.",
    "beginn": "2026-12-01",
    "telefon": "089 1234567",
    "betrag": 25.0,
    "personen": [
        {"vorname": "Anna", "nachname": "Berger", "rolle": "v1", "geboren": "1980-02-03"},
        {"vorname": "Bernd", "nachname": "Huber", "rolle": "kasse", "geboren": "1975-07-09"},
    ],
}


@pytest.fixture
def verein() -> dict[str, Any]:
    """The data of an application of the test procedure (a fresh copy)."""
    return copy.deepcopy(VEREIN)


@pytest.fixture
def decide() -> Callable[..., DecisionMade]:
    """A DecisionMade v2 of a definition: the Bewohnerparkausweis of Erika Mustermann by
    default; any field can be given."""

    def make(definition: Definition, **fields: Any) -> DecisionMade:
        values: dict[str, Any] = {
            "case_id": str(uuid.uuid4()),
            "aktenzeichen": f"{definition.procedure.aktenplan}-2026-{uuid.uuid4().int % 10**6:06d}",
            "service_id": definition.id,
            "service_version": definition.version,
            "procedure_digest": definition.digest,
            "outcome": "granted",
            "reasons": "Die Voraussetzungen liegen vor.",
            "recipient": ERIKA,
            "data": PARKEN,
            "facts": PARK_FACTS,
            "unit": definition.procedure.unit,
            "decided_by": "s1",
            "decided_at": "2026-11-20T09:30:00+00:00",
            "submitted_at": "2026-11-12T23:30:00+00:00",  # 00:30 on the 13th in Munich
        }
        values.update(fields)
        return DecisionMade(**values)

    return make
