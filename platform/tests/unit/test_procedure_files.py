"""The built-in procedure files load and check, and a broken file is named with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.platform.kernel.procedures import ProcedureProblems, Procedures


def test_builtin_procedures_load() -> None:
    procedures = Procedures.load()
    assert procedures.current("bewohnerparkausweis") is not None
    for definition in procedures.all():
        assert len(definition.digest) == 64


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_a_broken_file_is_named_with_its_place(tmp_path: Path) -> None:
    write(
        tmp_path,
        "kaputt.toml",
        """
id = "kaputt"
version = 1
title = "Kaputt"
summary = "x"
lebenslagen = ["Test"]
unit = "POST"
aktenplan = "1"
[open_data]
dataset = "kaputt"
title = "x"
summary = "x"
[[form]]
name = "seite"
kind = "group"
label = "Seite"
[[form]]
name = "feld"
parent = "seite"
label = "Feld"
datatype = "txt"
visible_if = "gibtsnicht == 1"
""",
    )
    with pytest.raises(ProcedureProblems) as raised:
        Procedures.load([tmp_path])
    report = str(raised.value)
    assert "kaputt.toml" in report
    assert "„txt“ ist nicht erlaubt" in report
    assert "„gibtsnicht“ ist weder ein Feld noch eine Konstante" in report
    assert "Die Vorlage für „granted“ fehlt" in report
