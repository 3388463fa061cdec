"""A DecisionMade v1 becomes v2, and the Bewohnerparkausweis the built-in procedure renders
says what the module's own template said before services as data.

``data/bewohnerparkausweis-erteilt-vor-v2.txt`` is the text of the PDF the module rendered
for this decision with its own ``bescheide/bewohnerparkausweis_erteilt.html``, before that
folder was removed (extracted with pypdfium2, as here)."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import msgspec
import pypdfium2
import pytest

from rathaus.contracts.common import Address, Person
from rathaus.contracts.eakte.v1 import DecisionMade as DecisionMadeV1
from rathaus.contracts.eakte.v1 import Recipient
from rathaus.output.bekanntgabe import POSTKORB, RULES
from rathaus.output.bescheid import context, render, template_name
from rathaus.output.decisions import V1_CHANNEL, stored, upcast
from rathaus.output.render import render_pdf
from rathaus.platform.kernel.procedures import Procedures

BEFORE = Path(__file__).parent / "data" / "bewohnerparkausweis-erteilt-vor-v2.txt"


def v1_decision() -> DecisionMadeV1:
    return DecisionMadeV1(
        case_id="c1",
        aktenzeichen="523.11-2026-000042",
        service_id="bewohnerparkausweis",
        outcome="granted",
        reasons="Die Voraussetzungen liegen vor.",
        unit="KVR-III/12",
        decided_by="s1",
        decided_at="2026-11-20T10:00:00+00:00",
        recipient=Recipient(
            person=Person(given_name="Erika", family_name="Mustermann", birth_date="1964-08-12"),
            address=Address(street="Zenettistraße", house_number="12", postal_code="80337"),
            email="erika@example.org",
        ),
        facts={
            "kennzeichen": "M-EM 1964",
            "parkzone": "Schlachthofviertel",
            "stadtbezirk": "02",
            "gueltig_ab": "2026-11-22",
            "gueltig_bis": "2028-11-21",
            "gebuehr": "30,00 EUR",
        },
    )


@pytest.fixture(scope="module")
def builtin() -> Procedures:
    return Procedures.load()


def test_v1_is_upcast_to_version_1_of_its_service(builtin: Procedures) -> None:
    old = v1_decision()
    new = upcast(old, builtin)
    assert (new.service_version, new.procedure_digest) == (1, builtin.get("bewohnerparkausweis", 1).digest)
    # the facts that are fields of the form became its data; validity and fee stay facts
    assert new.data == {"kennzeichen": "M-EM 1964", "parkzone": "Schlachthofviertel", "stadtbezirk": "02"}
    assert new.facts == old.facts
    assert new.recipient.person == old.recipient.person and new.recipient.email == "erika@example.org"
    assert (new.mode, new.submitted_at, new.unit) == ("clerk", old.decided_at, "KVR-III/12")
    assert V1_CHANNEL == "postkorb"
    # as the table keeps it: the event's data and its version
    assert stored(1, msgspec.to_builtins(old), builtin) == new
    assert stored(2, msgspec.to_builtins(new), builtin) == new


def pdf_text(pdf: bytes) -> str:
    """The words of every page in reading order, without page numbers and list numbers
    (weasyprint writes the latter at the end of a page), whitespace made single."""
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    return normalise(text)


def normalise(text: str) -> str:
    text = re.sub(r"Seite \d+ von \d+", " ", text)
    text = re.sub(r"(?m)^\s*\d+\.\s*$", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def test_the_builtin_procedure_renders_what_the_old_template_said(builtin: Procedures) -> None:
    decision = upcast(v1_decision(), builtin)
    definition = builtin.get("bewohnerparkausweis", 1)
    values = context(
        definition, decision, unit=builtin.units["KVR-III/12"], channel=V1_CHANNEL, day=date(2026, 11, 20)
    )
    html = render(builtin, definition, template_name(definition, "granted", "clerk"), values)
    after = pdf_text(render_pdf(html))
    # the old letter wrote "30,00 EUR"; the filter euro writes "30,00 €"
    before = normalise(BEFORE.read_text(encoding="utf-8")).replace(" EUR", " €")
    parts = {
        "Aktenzeichen": r"Aktenzeichen 523\.11-2026-000042",
        "Kennzeichen und Parklizenzgebiet": r"Für das Fahrzeug mit dem amtlichen Kennzeichen .*? erteilt\.",
        "Gültigkeit": r"Der Bewohnerparkausweis gilt vom .*?\.\d{4}\.",
        "Gebühr": r"Für diesen Bescheid wird eine Gebühr von .*? erhoben\.",
        "Rechtsbehelfsbelehrung": r"Rechtsbehelfsbelehrung Gegen diesen Bescheid .*? Verfahrensgebühr fällig\.",
        "Gründe": r"Gründe Die Voraussetzungen liegen vor\.",
    }
    for name, pattern in parts.items():
        old = re.search(pattern, before)
        assert old is not None, f"{name} is not in the old letter"
        assert old[0] in after, f"{name} differs: before {old[0]!r}"
    # the one sentence changed on purpose: the old letter named a third day after sending for
    # the Postkorb; it now states § 9 OZG (provision or first retrieval, see bekanntgabe.py)
    assert "dritten Tag nach der Übermittlung in Ihren Postkorb" in before
    assert RULES[POSTKORB].letter in after
    # and the old letter really said these values
    for value in (
        "M-EM 1964",
        "Schlachthofviertel (Stadtbezirk 02)",
        "22.11.2026 bis zum 21.11.2028",
        "30,00 €",
    ):
        assert value in before and value in after
    assert "Verfahren Bewohnerparkausweis beantragen (Version 1)" in after
