"""Datasets come from the procedure files: one per service, its metadata from the newest
version's [open_data], no dataset in code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rathaus.opendata.domain.datasets import definitions
from rathaus.platform.kernel.procedures import ProcedureProblems, Procedures

PARKING = "bewohnerparkausweise-stadtbezirk-monat"


def test_the_builtin_service_is_a_dataset() -> None:
    found = definitions(Procedures.load())
    parking = found[PARKING]
    assert parking.service_id == "bewohnerparkausweis" and parking.leika == "99108001000000"
    assert parking.title == "Bewohnerparkausweise nach Stadtbezirk und Monat"
    assert [m.key for m in parking.measures] == ["antraege", "bewilligt", "abgelehnt"]
    assert [m.label for m in parking.measures][1:] == ["Erteilte Bewohnerparkausweise", "Abgelehnte Anträge"]
    assert "Parken" in parking.tags and parking.themes == ("TRAN", "GOVE")
    assert "LeiKa-Schlüssel 99108001000000" in parking.notes and "mindestens 5" in parking.notes


def test_a_service_written_as_a_file_is_a_dataset(write_service: Callable[..., Path]) -> None:
    write_service("test-fundsache", 1, "test-fundsachen-alt", dataset_title="Alt", tags=("Fundbüro",))
    root = write_service(
        "test-fundsache", 2, "test-fundsachen-stadtbezirk-monat", leika="99001001000000", dataset_title="Fundsachen",
        themes=("SOCI", "GOVE"), granted_label="Ausgehändigt", refused_label="Nicht ausgehändigt",
    )  # fmt: skip
    found = definitions(Procedures.load([root]))
    # the newest version names it; the city's own services are datasets beside it
    assert {PARKING, "test-fundsachen-stadtbezirk-monat"} <= set(found) and "test-fundsachen-alt" not in found
    fund = found["test-fundsachen-stadtbezirk-monat"]
    assert fund.versions == (1, 2) and fund.title == "Fundsachen" and fund.themes == ("SOCI", "GOVE")
    assert fund.measures[1].label == "Ausgehändigt" and fund.leika == "99001001000000"
    assert fund.tags == ("Test",)


def test_problems_are_named(write_service: Callable[..., Path]) -> None:
    write_service("eins", 1, PARKING)
    root = write_service("zwei", 1, "Zwei Wörter", themes=("XYZ",), tags=("a/b",))
    # checked where every procedure file is checked: `rathaus services check` and the start
    with pytest.raises(ProcedureProblems) as raised:
        Procedures.load([root])
    text = str(raised.value)
    assert f"Den Datensatz „{PARKING}“ veröffentlicht schon die Leistung" in text
    assert "„Zwei Wörter“ ist keine gültige Kennung" in text
    assert "„XYZ“ ist nicht erlaubt" in text
    assert "Das Schlagwort „a/b“ geht nicht" in text
