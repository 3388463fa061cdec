from datetime import date

import pytest

from rathaus.eakte.domain import (
    GENESIS,
    DecisionRefused,
    aktenzeichen,
    audit_hash,
    permit_facts,
    validate_decision,
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


def test_aktenzeichen_and_decision_rules() -> None:
    assert aktenzeichen("523.11", 2026, 7) == "523.11-2026-000007"
    assert validate_decision("granted", "") == "Die Voraussetzungen für die Erteilung liegen vor."
    with pytest.raises(DecisionRefused):
        validate_decision("refused", "kurz")
    with pytest.raises(DecisionRefused):
        validate_decision("vielleicht", "egal")


def test_permit_facts() -> None:
    facts = permit_facts(
        {"kennzeichen": "M-EM 1964", "parkzone": "Schlachthofviertel"}, date(2026, 11, 22), 730, 3000
    )
    assert facts["gueltig_bis"] == "2028-11-21" and facts["gebuehr"] == "30,00 EUR"
