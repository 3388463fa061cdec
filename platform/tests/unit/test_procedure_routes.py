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


def test_route_templates_do_not_change_a_versions_digest(tmp_path: Path) -> None:
    """A Muster für Verfügung guides the office's work: adding or changing one does not
    change what running cases of the version stand for (their pins hold)."""
    route = """
[[routes]]
id = "muster"
title = "Muster"
[[routes.steps]]
number = 1
kind = "mitzeichnung"
unit = "KVR-III/11"
"""
    digests = []
    for name, text in (("ohne", HEAD), ("mit", HEAD + route)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "wege.toml").write_text(text, encoding="utf-8")
        definition = Procedures.load([folder]).current("wege")
        assert definition is not None
        digests.append(definition.digest)
    assert digests[0] == digests[1]
    changed = tmp_path / "anders"
    changed.mkdir()
    (changed / "wege.toml").write_text(HEAD.replace('summary = "x"', 'summary = "y"', 1), encoding="utf-8")
    other = Procedures.load([changed]).current("wege")
    assert other is not None and other.digest != digests[0]  # the rest of the file still counts
