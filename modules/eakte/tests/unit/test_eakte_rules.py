from datetime import date
from pathlib import Path

import pytest

from rathaus.eakte.domain import (
    COSIGNED,
    GENESIS,
    OBJECTED,
    PENDING,
    Cosignature,
    DecisionRefused,
    Taken,
    akte_title,
    aktenzeichen,
    audit_hash,
    check_cosign,
    check_decision,
    decision_facts,
    euro,
    outcomes,
    verify_chain,
)


def chain(n: int) -> list[dict[str, object]]:
    entries, prev = [], GENESIS
    for i in range(n):
        body = {"at": f"2026-11-22T10:0{i}", "actor": "s", "action": "a", "case_id": "c", "details": {"i": i}}
        h = audit_hash(prev, body)
        entries.append({"seq": i + 1, **body, "prev_hash": prev, "hash": h})
        prev = h
    return entries


def test_the_audit_chain_detects_a_changed_or_removed_entry() -> None:
    entries = chain(4)
    assert verify_chain(entries)
    tampered = [dict(e) for e in entries]
    tampered[1]["actor"] = "jemand anders"
    assert not verify_chain(tampered)
    assert not verify_chain(entries[:1] + entries[2:])


def test_aktenzeichen_and_the_akte_title_of_any_applicant() -> None:
    assert aktenzeichen("523.11", 2026, 7) == "523.11-2026-000007"
    erika = {"person": {"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12"}}
    assert akte_title("Bewohnerparkausweis", erika) == "Bewohnerparkausweis – Mustermann, Erika"
    business = {**erika, "organisation": {"organisation_id": "o", "name": "Muster GmbH"}}
    assert akte_title("Gewerbe", business) == "Gewerbe – Muster GmbH"
    assert (
        akte_title("Fundsache", {"person": None, "organisation": None, "email": ""}) == "Fundsache – anonym"
    )
    assert len(akte_title("x" * 300, erika)) == 200


def test_facts_of_a_grant_validity_and_fee() -> None:
    facts = decision_facts("granted", date(2026, 11, 22), 730, 3000)
    assert facts == {
        "gueltig_ab": "2026-11-22",
        "gueltig_bis": "2028-11-21",  # 730 days, 2028 is a leap year
        "gebuehr": "30,00 EUR",
        "gebuehr_cent": "3000",
    }
    without_validity = decision_facts("granted", date(2026, 11, 22), 0, 123450)
    assert "gueltig_ab" not in without_validity and "gueltig_bis" not in without_validity
    assert without_validity["gebuehr"] == "1.234,50 EUR"
    assert decision_facts("refused", date(2026, 11, 22), 730, 3000) == {}
    assert euro(0) == "0,00 EUR" and euro(5) == "0,05 EUR" and euro(100000000) == "1.000.000,00 EUR"


def test_a_clerks_decision() -> None:
    assert check_decision("granted", "", refusable=True, proposed="Vorschlag.") == "Vorschlag."
    assert (
        check_decision("granted", "", refusable=True) == "Die Voraussetzungen für die Erteilung liegen vor."
    )
    assert check_decision("refused", "  Kein Hauptwohnsitz im Gebiet.  ", refusable=True) == (
        "Kein Hauptwohnsitz im Gebiet."
    )
    with pytest.raises(DecisionRefused, match="Begründung"):
        check_decision("refused", "kurz", refusable=True)
    with pytest.raises(DecisionRefused):
        check_decision("vielleicht", "egal", refusable=True)
    # a procedure without refusal (a confirmation) offers only the grant
    assert outcomes(False) == {"granted": "Bewilligen"}
    assert set(outcomes(True)) == {"granted", "refused"}
    with pytest.raises(DecisionRefused, match="„Bewilligen“\\."):
        check_decision("refused", "Eine lange und gute Begründung.", refusable=False)


def test_a_decision_after_another_and_after_the_fiction_is_refused() -> None:
    clerk = Taken("granted", "clerk", "2026-11-22T10:00:00+00:00")
    with pytest.raises(DecisionRefused, match="bereits entschieden"):
        check_decision("granted", "", refusable=True, taken=clerk)
    fiction = Taken("granted", "fiction", "2026-11-22T10:00:00+00:00")
    with pytest.raises(DecisionRefused, match="Genehmigungsfiktion"):
        check_decision("refused", "Die Unterlagen waren unvollständig.", refusable=True, taken=fiction)


def test_co_signing_rules_for_the_decision() -> None:
    names = {"KVR-III/11": "Verkehrsanordnungen (KVR-III/11)"}
    pending = [Cosignature("KVR-III/11", PENDING)]
    for outcome in ("granted", "refused"):
        with pytest.raises(DecisionRefused, match=r"Mitzeichnung durch Verkehrsanordnungen \(KVR-III/11\)"):
            check_decision(
                outcome,
                "Eine lange und gute Begründung.",
                refusable=True,
                cosignatures=pending,
                unit_names=names,
            )
    objected = [Cosignature("KVR-III/11", OBJECTED, "Die Zufahrt der Feuerwehr wird versperrt.")]
    with pytest.raises(DecisionRefused, match="Einwände"):
        check_decision("granted", "", refusable=True, cosignatures=objected, unit_names=names)
    # an objection does not block a refusal: that is how the responsible unit follows it
    reasons = check_decision(
        "refused", "Die Zufahrt der Feuerwehr bliebe versperrt.", refusable=True, cosignatures=objected
    )
    assert reasons.startswith("Die Zufahrt")
    # co-signed after all: a grant is possible
    cosigned = [Cosignature("KVR-III/11", COSIGNED), Cosignature("BAU-T/32", COSIGNED)]
    assert check_decision("granted", "", refusable=True, cosignatures=cosigned, proposed="Ok.") == "Ok."


def test_a_co_signing_units_answer() -> None:
    pending = Cosignature("KVR-III/11", PENDING)
    assert check_cosign(COSIGNED, "", pending, decided=False) == ""
    with pytest.raises(DecisionRefused, match="mindestens 20 Zeichen"):
        check_cosign(OBJECTED, "zu kurz", pending, decided=False)
    note = check_cosign(OBJECTED, " Die Zufahrt der Feuerwehr wird versperrt. ", pending, decided=False)
    assert note == "Die Zufahrt der Feuerwehr wird versperrt."
    objected = Cosignature("KVR-III/11", OBJECTED, note)
    assert check_cosign(COSIGNED, "Nach Umplanung einverstanden.", objected, decided=False)
    with pytest.raises(DecisionRefused, match="bereits mitgezeichnet"):
        check_cosign(
            OBJECTED, "Doch nicht, die Zufahrt ist zu eng.", Cosignature("X", COSIGNED), decided=False
        )
    with pytest.raises(DecisionRefused, match="bereits entschieden"):
        check_cosign(COSIGNED, "", pending, decided=True)
    with pytest.raises(DecisionRefused, match="nicht zur Mitzeichnung beteiligt"):
        check_cosign(COSIGNED, "", None, decided=False)
    with pytest.raises(DecisionRefused, match="Bitte wählen"):
        check_cosign("egal", "", pending, decided=False)


def test_the_automatic_rule_is_evaluated_on_the_case_data(procedure_dir: Path) -> None:
    from rathaus.eakte.handlers.decisions import automatic_verdict
    from rathaus.platform.kernel.procedures import Procedures

    procedures = Procedures.load([procedure_dir])
    automatic = procedures.get("test-automatisch", 1)
    assert automatic_verdict(automatic, {"exemplare": 2, "zweck": "Wohnungsamt"}) == (True, "")
    holds, why = automatic_verdict(automatic, {"exemplare": 5})
    assert not holds and "exemplare <= 3" in why
    holds, why = automatic_verdict(automatic, {})  # empty is false: a clerk decides
    assert not holds
    # a co-signature outstanding: a clerk decides
    holds, why = automatic_verdict(automatic, {"exemplare": 1}, [Cosignature("KVR-III/11", PENDING)])
    assert not holds and "Mitzeichnung" in why
    # a procedure a clerk decides is never decided by the system, whatever the command says
    holds, why = automatic_verdict(procedures.get("test-mitzeichnung", 1), {})
    assert not holds and "keine automatische Entscheidung" in why


def test_without_a_rule_the_system_always_decides_an_automatic_procedure(tmp_path: Path) -> None:
    from rathaus.eakte.handlers.decisions import automatic_verdict
    from rathaus.platform.kernel.procedures import Procedures

    folder = tmp_path / "immer"
    folder.mkdir()
    (folder / "v1.toml").write_text(
        """
id = "test-immer"
version = 1
title = "Immer automatisch"
summary = "Test."
lebenslagen = ["Test"]
unit = "AWM-3/1"
aktenplan = "712.10"
[decision]
mode = "automatic"
refusable = false
[template_texts]
granted = "<p>Bestätigt.</p>"
[open_data]
dataset = "test-immer"
title = "Test"
summary = "Test"
[[form]]
name = "termin"
kind = "group"
label = "Termin"
[[form]]
name = "wunschtag"
parent = "termin"
label = "Wunschtag"
datatype = "date"
""",
        encoding="utf-8",
    )
    always = Procedures.load([tmp_path]).get("test-immer", 1)
    assert always.automatic_if is None
    assert automatic_verdict(always, {}) == (True, "")
