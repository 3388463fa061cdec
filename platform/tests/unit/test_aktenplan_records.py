"""The records fields of the file plan (aktenplan.toml): checked when the data is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.platform.kernel.procedures import ProcedureProblems, Procedures
from rathaus.platform.testing import write_procedure

PLAN = """
[[eintraege]]
code = "1"
title = "Allgemeine Verwaltung"
{fields}

[[eintraege]]
code = "1.1"
title = "Probe"
parent = "1"
"""


def load(folder: Path, fields: str) -> Procedures:
    folder.mkdir(parents=True, exist_ok=True)
    write_procedure(folder, "probe", extra='valid_from = "2026-01-01"\n')
    (folder / "aktenplan.toml").write_text(PLAN.format(fields=fields), encoding="utf-8")
    return Procedures.load([folder])


def test_records_fields_are_read_with_the_plan(tmp_path: Path) -> None:
    procedures = load(tmp_path, 'aussonderungsart = "A"\naufbewahrung = "30"\ngueltig_ab = "2026-01-01"')
    entry = procedures.plan["1"]
    assert (entry.aussonderungsart, entry.aufbewahrung, entry.gueltig_ab) == ("A", "30", "2026-01-01")
    assert procedures.plan["1.1"].aussonderungsart == ""  # inherited


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ('aussonderungsart = "X"', "keine von A (archivwürdig)"),
        ('aufbewahrung = "zehn"', "keine Zahl von Jahren"),
        ('aufbewahrung = "0"', "keine Zahl von Jahren"),
        ('gueltig_ab = "2026-02-30"', "kein Datum"),
        ('gueltig_ab = "2027-01-01"\ngueltig_bis = "2026-01-01"', "gueltig_bis liegt vor gueltig_ab"),
    ],
)
def test_bad_records_fields_are_named_in_german(tmp_path: Path, fields: str, message: str) -> None:
    with pytest.raises(ProcedureProblems) as raised:
        load(tmp_path, fields)
    assert message in str(raised.value)
    assert "Eintrag 1" in str(raised.value)


def test_every_entry_of_the_city_has_records_fields_up_its_plan() -> None:
    plan = Procedures.load().plan
    for code in plan:
        art = keep = ""
        current = code
        while current:
            entry = plan[current]
            art, keep = art or entry.aussonderungsart, keep or entry.aufbewahrung
            current = entry.parent
        assert art and keep, code
