"""Route templates (Muster für Verfügung) in a procedure file: the built-in Sondernutzung has
one, and a broken template is refused with German messages naming its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathaus.platform.kernel.procedures import ProcedureProblems, Procedures

HEAD = """
id = "wege"
version = 1
title = "Wege"
summary = "x"
lebenslagen = ["Test"]
unit = "BAU-T/31"
aktenplan = "1"
[decision]
cosign = ["KVR-III/11"]
[template_texts]
granted = "<p>Ja.</p>"
refused = "<p>Nein.</p>"
[open_data]
dataset = "wege"
title = "x"
summary = "x"
[[form]]
name = "seite"
kind = "group"
label = "Seite"
"""


def test_the_sondernutzung_has_a_route_with_cosigning_and_final_sign_off_by_the_lead() -> None:
    definition = Procedures.load().current("sondernutzung")
    assert definition is not None
    (route,) = definition.procedure.routes
    assert [(s.number, s.kind, s.unit, s.role) for s in route.steps] == [
        (1, "mitzeichnung", "KVR-III/11", ""),
        (2, "schlusszeichnung", "", "leitung"),
    ]


def test_a_broken_route_template_is_refused(tmp_path: Path) -> None:
    (tmp_path / "wege.toml").write_text(
        HEAD
        + """
[[routes]]
id = "eins"
title = "Eins"
[[routes.steps]]
number = 1
kind = "schlusszeichnung"
role = "chef"
[[routes.steps]]
number = 2
kind = "vorlegen"
[[routes]]
id = "eins"
title = ""
steps = []
""",
        encoding="utf-8",
    )
    with pytest.raises(ProcedureProblems) as raised:
        Procedures.load([tmp_path])
    report = str(raised.value)
    assert "wege.toml" in report
    assert "„chef“ ist nicht erlaubt" in report
    assert "„vorlegen“ ist nicht erlaubt" in report
    assert "muss die Schlusszeichnung der letzte Schritt sein" in report
    assert "lässt die Mitzeichnung durch „KVR-III/11“ aus" in report
    assert "Die Vorlage „eins“ gibt es in diesem Verfahren zweimal" in report
    assert "Eine Vorlage braucht einen Titel" in report
    assert "hat keine Schritte" in report
