"""The rules of a file's lifecycle and of the Aktenplan's administration: which states allow
zdA, who reopens, Stornierung, Umschreiben only to usable entries, no deletion of used ones."""

from datetime import date

import pytest

from rathaus.eakte.records import (
    LifecycleRefused,
    check_new_entry,
    check_records_fields,
    check_reopen,
    check_storno,
    check_umschreiben,
    check_writable,
    check_zda,
    deletion_blockers,
    usable,
)

TODAY = date(2026, 11, 30)


def zda(**changes: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "role": "sachbearbeitung",
        "status": "zugestellt",
        "lifecycle": "offen",
        "day_text": "",
        "today": TODAY,
        "decided_day": date(2026, 11, 2),
        "aussonderungsart": "B",
        "aufbewahrung": "10",
        "chosen": "",
    }
    args.update(changes)
    return check_zda(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["entschieden", "zugestellt"])
def test_a_decided_or_delivered_case_is_closed_today_with_retention_from_year_end(status: str) -> None:
    closing = zda(status=status)
    assert closing.day == TODAY and closing.bewertungsvorschlag == "B"
    assert closing.aufbewahrungsende == date(2036, 12, 31)
    assert zda(aufbewahrung="unbefristet").aufbewahrungsende is None


@pytest.mark.parametrize("status", ["eingegangen", "in_pruefung", "zur_entscheidung"])
def test_an_undecided_case_is_not_closed(status: str) -> None:
    with pytest.raises(LifecycleRefused, match="erst, wenn er entschieden"):
        zda(status=status)


def test_zda_is_refused_for_closed_cases_and_other_roles() -> None:
    with pytest.raises(LifecycleRefused, match="storniert und damit bereits abgeschlossen"):
        zda(lifecycle="storniert")
    with pytest.raises(LifecycleRefused, match="zu den Akten verfügt"):
        zda(lifecycle="zda")
    with pytest.raises(LifecycleRefused, match="Sachbearbeitung oder Leitung"):
        zda(role="poststelle")
    assert zda(role="leitung").day == TODAY


def test_the_zda_day_is_not_in_the_future_nor_before_the_decision() -> None:
    assert zda(day_text="2026-11-10").day == date(2026, 11, 10)
    assert zda(day_text="10.11.2026").day == date(2026, 11, 10)
    with pytest.raises(LifecycleRefused, match="nicht in der Zukunft"):
        zda(day_text="2026-12-01")
    with pytest.raises(LifecycleRefused, match=r"nicht vor der Entscheidung \(02\.11\.2026\)"):
        zda(day_text="2026-11-01")
    with pytest.raises(LifecycleRefused, match=r"TT\.MM\.JJJJ"):
        zda(day_text="morgen")


def test_the_case_worker_chooses_a_or_v_only_where_the_plan_says_b() -> None:
    assert zda(chosen="a").bewertungsvorschlag == "A"
    assert zda(chosen="V").bewertungsvorschlag == "V"
    assert zda(aussonderungsart="V").bewertungsvorschlag == "V"
    with pytest.raises(LifecycleRefused, match="nur die Registratur"):
        zda(aussonderungsart="V", chosen="A")
    with pytest.raises(LifecycleRefused, match="A, B oder V"):
        zda(chosen="X")


def test_reopening_needs_the_leitung_and_a_reason() -> None:
    reason = "Widerspruch eingegangen, Vorgang wird fortgeführt."
    assert check_reopen(role="leitung", lifecycle="zda", reason=reason) == reason
    assert check_reopen(role="leitung", lifecycle="storniert", reason=reason) == reason
    with pytest.raises(LifecycleRefused, match="nur die Leitung"):
        check_reopen(role="sachbearbeitung", lifecycle="zda", reason=reason)
    with pytest.raises(LifecycleRefused, match="mindestens 20 Zeichen"):
        check_reopen(role="leitung", lifecycle="zda", reason="Weil.")
    with pytest.raises(LifecycleRefused, match="nicht abgeschlossen"):
        check_reopen(role="leitung", lifecycle="offen", reason=reason)
    with pytest.raises(LifecycleRefused, match="kann nicht wieder geöffnet"):
        check_reopen(role="leitung", lifecycle="ausgesondert", reason=reason)


def test_stornierung_of_an_open_undecided_case_with_a_reason() -> None:
    reason = "Doppelt angelegt, der Antrag liegt bereits vor."
    for role in ("sachbearbeitung", "leitung"):
        assert check_storno(role=role, status="eingegangen", lifecycle="offen", decided=False, reason=reason)
    with pytest.raises(LifecycleRefused, match="entschiedener Vorgang"):
        check_storno(role="leitung", status="entschieden", lifecycle="offen", decided=True, reason=reason)
    with pytest.raises(LifecycleRefused, match="mindestens 20 Zeichen"):
        check_storno(role="leitung", status="eingegangen", lifecycle="offen", decided=False, reason="")
    with pytest.raises(LifecycleRefused, match="Sachbearbeitung oder Leitung"):
        check_storno(role="kasse", status="eingegangen", lifecycle="offen", decided=False, reason=reason)


def test_a_closed_case_is_read_only() -> None:
    check_writable("offen")
    for state in ("zda", "storniert", "abgegeben", "ausgesondert", "vernichtet"):
        with pytest.raises(LifecycleRefused, match="nicht mehr bearbeitet"):
            check_writable(state)


PLAN = {
    "1": {"parent": None, "aktiv": True, "unit": None},
    "102": {"parent": "1", "aktiv": True, "unit": None},
    "102.11": {"parent": "102", "aktiv": True, "unit": "KVR-II/11"},
    "102.21": {"parent": "102", "aktiv": True, "unit": "KVR-II/11"},
    "102.31": {"parent": "102", "aktiv": False, "unit": "KVR-II/11"},
    "102.41": {"parent": "102", "aktiv": True, "unit": "KVR-II/11", "gueltig_bis": "2025-12-31"},
    "102.51": {"parent": "102", "aktiv": True, "unit": "KVR-II/11", "gueltig_ab": "2027-01-01"},
    "5": {"parent": None, "aktiv": False, "unit": None},
    "523.11": {"parent": "5", "aktiv": True, "unit": "KVR-III/12"},
    "124.10": {"parent": "1", "aktiv": True, "unit": "KVR-I/22"},
}
REASON = "Falsch zugeordnet, gehört zu den Meldebescheinigungen."


def umschreiben(target: str, role: str = "sachbearbeitung", lifecycle: str = "offen") -> str:
    return check_umschreiben(
        role=role,
        lifecycle=lifecycle,
        case_unit="KVR-II/11",
        current="102.11",
        target=target,
        plan=PLAN,
        today=TODAY,
        reason=REASON,
    )


def test_umschreiben_within_the_unit_by_the_case_worker() -> None:
    assert umschreiben("102.21") == "KVR-II/11"
    assert usable(PLAN, "102.21", TODAY)


@pytest.mark.parametrize("target", ["102.31", "102.41", "102.51", "523.11"])
def test_umschreiben_to_an_inactive_or_invalid_entry_is_refused(target: str) -> None:
    with pytest.raises(LifecycleRefused, match="stillgelegt oder heute nicht gültig"):
        umschreiben(target, role="leitung")


def test_umschreiben_rules() -> None:
    with pytest.raises(LifecycleRefused, match="nur die Leitung"):
        umschreiben("124.10")
    assert umschreiben("124.10", role="leitung") == "KVR-I/22"
    with pytest.raises(LifecycleRefused, match="keine Akten geführt"):
        umschreiben("102", role="leitung")
    with pytest.raises(LifecycleRefused, match="bereits unter diesem Eintrag"):
        umschreiben("102.11")
    with pytest.raises(LifecycleRefused, match="Eintrag des Aktenplans"):
        umschreiben("999.99")
    with pytest.raises(LifecycleRefused, match="zu den Akten verfügt"):
        umschreiben("102.21", lifecycle="zda")


def test_no_deletion_of_an_entry_in_use() -> None:
    assert (
        deletion_blockers(code="102.61", children=[], cases=0, former=0, procedures=[], in_data=False) == []
    )
    blocked = deletion_blockers(
        code="102", children=["102.11"], cases=2, former=1, procedures=["Meldebescheinigung"], in_data=True
    )
    assert len(blocked) == 5 and "102.11" in blocked[2] and "Meldebescheinigung" in blocked[3]


def test_a_new_entry_continues_its_parent_and_keeps_akten_under_a_file_code() -> None:
    units = {"KVR-II/11"}
    ok = check_new_entry(
        code="102.61", parent="102", title="Auskünfte", unit="KVR-II/11", plan=PLAN, units=units
    )
    assert ok == {}
    assert check_new_entry(code="103", parent="1", title="Gruppe", unit="", plan=PLAN, units=units) == {}
    errors = check_new_entry(code="102.11", parent="102", title="", unit="", plan=PLAN, units=units)
    assert "bereits vergeben" in errors["code"] and "Titel" in errors["title"]
    errors = check_new_entry(code="124.61", parent="102", title="X", unit="KVR-II/11", plan=PLAN, units=units)
    assert "fortsetzen" in errors["code"]
    errors = check_new_entry(code="1026", parent="102", title="X", unit="KVR-II/11", plan=PLAN, units=units)
    assert "123.45" in errors["code"]
    errors = check_new_entry(code="52", parent="5", title="X", unit="", plan=PLAN, units=units)
    assert "stillgelegten" in errors["parent"]
    errors = check_new_entry(code="102.71", parent="102", title="X", unit="NIX", plan=PLAN, units=units)
    assert "gibt es nicht" in errors["unit"]


def test_records_fields_as_entered() -> None:
    assert check_records_fields("A", "unbefristet", "2026-01-01", "") == {}
    assert check_records_fields("", "", "", "") == {}
    errors = check_records_fields("Z", "0", "2026-02-01", "2026-01-01")
    assert set(errors) == {"aussonderungsart", "aufbewahrung", "gueltig_bis"}
    assert "Datum" in check_records_fields("", "", "gestern", "")["gueltig_ab"]
