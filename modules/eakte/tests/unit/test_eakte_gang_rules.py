"""Rules of the Geschäftsgang (order, parallel steps, Schlusszeichnung reserved to the Leitung,
skipping, locking), the Wiedervorlage and the Vertretung."""

from dataclasses import replace
from datetime import date

import pytest

from rathaus.eakte.domain_gang import (
    BEARBEITUNG,
    COSIGNED,
    CURRENT,
    DONE,
    FUTURE,
    KENNTNIS,
    MITZEICHNUNG,
    OBJECTED,
    REQUESTED,
    SCHLUSSZEICHNUNG,
    SIGNED,
    SKIPPED,
    DocumentLocked,
    RouteRefused,
    Step,
    Worker,
    advance,
    check_answer,
    check_route,
    check_skip,
    check_unlocked,
    check_vertretung,
    check_wiedervorlage,
    deputising,
    finished,
    start,
)

TODAY = date(2026, 11, 30)
UNITS = ("BAU-T/31", "KVR-III/11", "KVR-III/12")
CLERK = Worker("bau", "BAU-T/31", "sachbearbeitung")
LEAD = Worker("bau-leitung", "BAU-T/31", "leitung")
KVR = Worker("kvr", "KVR-III/11", "sachbearbeitung")


def route() -> list[Step]:
    return [
        Step(1, MITZEICHNUNG, "KVR-III/11"),
        Step(1, KENNTNIS, "KVR-III/12"),
        Step(2, BEARBEITUNG, "BAU-T/31", person="bau"),
        Step(3, SCHLUSSZEICHNUNG, "BAU-T/31", role="leitung"),
    ]


def test_steps_run_in_order_and_the_same_number_in_parallel() -> None:
    steps = start(check_route(list(reversed(route())), units=UNITS, today=TODAY))
    assert [s.number for s in steps] == [1, 1, 2, 3]
    assert [s.state for s in steps] == [CURRENT, CURRENT, FUTURE, FUTURE]
    assert steps[0].answer == REQUESTED and steps[2].answer == ""
    # one of two parallel steps done: the next number waits
    steps[0] = replace(steps[0], state=DONE, answer=COSIGNED)
    steps = advance(steps)
    assert [s.state for s in steps] == [DONE, CURRENT, FUTURE, FUTURE]
    steps[1] = replace(steps[1], state=DONE)
    steps = advance(steps)
    assert [s.state for s in steps] == [DONE, DONE, CURRENT, FUTURE]
    steps[2] = replace(steps[2], state=SKIPPED)
    steps = advance(steps)
    assert steps[3].state == CURRENT and not finished(steps)
    steps[3] = replace(steps[3], state=DONE, answer=SIGNED)
    assert finished(advance(steps))


def test_a_step_skipped_from_the_start_stays_skipped() -> None:
    given = [Step(1, MITZEICHNUNG, "KVR-III/11", state=SKIPPED), Step(2, SCHLUSSZEICHNUNG, "BAU-T/31")]
    assert [s.state for s in start(given)] == [SKIPPED, CURRENT]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "mindestens einen Schritt"),
        ([Step(0, KENNTNIS, "BAU-T/31")], "ab 1"),
        ([Step(1, "irgendwas", "BAU-T/31")], "Art des Schritts"),
        ([Step(1, KENNTNIS, "XYZ/1")], "„XYZ/1“ gibt es nicht"),
        ([Step(1, KENNTNIS, "BAU-T/31", due="morgen")], "kein Datum"),
        ([Step(1, KENNTNIS, "BAU-T/31", due="2026-11-01")], "Vergangenheit"),
        ([Step(1, KENNTNIS, "BAU-T/31"), Step(1, KENNTNIS, "BAU-T/31")], "doppelt"),
        (
            [Step(1, SCHLUSSZEICHNUNG, "BAU-T/31"), Step(2, SCHLUSSZEICHNUNG, "BAU-T/31", person="x")],
            "höchstens eine Schlusszeichnung",
        ),
        ([Step(1, SCHLUSSZEICHNUNG, "BAU-T/31"), Step(2, KENNTNIS, "BAU-T/31")], "letzte Schritt"),
        ([Step(1, SCHLUSSZEICHNUNG, "BAU-T/31"), Step(1, KENNTNIS, "KVR-III/11")], "allein"),
    ],
)
def test_a_route_that_cannot_run_is_refused_in_german(steps: list[Step], message: str) -> None:
    with pytest.raises(RouteRefused, match=message):
        check_route(steps, units=UNITS, today=TODAY)


def test_the_schlusszeichnung_is_reserved_to_the_leitung() -> None:
    final = Step(3, SCHLUSSZEICHNUNG, "BAU-T/31", role="leitung", state=CURRENT, answer=REQUESTED)
    with pytest.raises(RouteRefused, match="der Leitung vorbehalten"):
        check_answer(final, CLERK, SIGNED, "", decided=False)
    assert check_answer(final, LEAD, SIGNED, " gut ", decided=False) == "gut"
    with pytest.raises(RouteRefused, match="Schlusszeichnung ist nicht mehr möglich"):
        check_answer(final, LEAD, SIGNED, "", decided=True)
    with pytest.raises(PermissionError):  # another unit's lead
        check_answer(final, Worker("kvr-leitung", "KVR-III/11", "leitung"), SIGNED, "", decided=False)
    with pytest.raises(RouteRefused, match="Rückgabe braucht eine Begründung"):
        check_answer(final, LEAD, "zurueckgegeben", "nein", decided=False)


def test_answers_follow_the_step() -> None:
    waiting = Step(2, BEARBEITUNG, "BAU-T/31", person="bau")
    with pytest.raises(RouteRefused, match="noch nicht an der Reihe"):
        check_answer(waiting, CLERK, "bearbeitet", "", decided=False)
    with pytest.raises(PermissionError):  # addressed to a person, not to the unit
        check_answer(replace(waiting, state=CURRENT), LEAD, "bearbeitet", "", decided=False)
    # a deputy acting for the person works it
    deputy = Worker("kvr", "BAU-T/31", "sachbearbeitung", acting_for="bau")
    assert check_answer(replace(waiting, state=CURRENT), deputy, "bearbeitet", "ok", decided=False) == "ok"
    cosign = Step(1, MITZEICHNUNG, "KVR-III/11", state=CURRENT, answer=REQUESTED)
    with pytest.raises(RouteRefused, match="Einwände brauchen eine Begründung"):
        check_answer(cosign, KVR, OBJECTED, "Nein.", decided=False)
    with pytest.raises(RouteRefused, match="„Mitzeichnen“ oder „Einwände erheben“"):
        check_answer(cosign, KVR, "egal", "", decided=False)
    # an objection can be withdrawn by co-signing until the decision, a co-signature not revised
    objected = replace(cosign, state=DONE, answer=OBJECTED)
    assert check_answer(objected, KVR, COSIGNED, "", decided=False) == ""
    with pytest.raises(RouteRefused, match="bereits entschieden"):
        check_answer(objected, KVR, COSIGNED, "", decided=True)
    with pytest.raises(RouteRefused, match="bereits mitgezeichnet"):
        check_answer(replace(cosign, state=DONE, answer=COSIGNED), KVR, OBJECTED, "x" * 30, decided=False)


def test_skipping() -> None:
    assert check_skip(Step(1, KENNTNIS, "KVR-III/12"), " nicht nötig ") == "nicht nötig"
    with pytest.raises(RouteRefused, match="nicht überspringen"):
        check_skip(Step(3, SCHLUSSZEICHNUNG, "BAU-T/31"), "keine Zeit")
    with pytest.raises(RouteRefused, match="schreibt das Verfahren vor"):
        check_skip(Step(1, MITZEICHNUNG, "KVR-III/11"), "keine Zeit", mandatory_units=["KVR-III/11"])
    with pytest.raises(RouteRefused, match="begründen"):
        check_skip(Step(1, KENNTNIS, "KVR-III/12"), "")
    with pytest.raises(RouteRefused, match="Nur offene"):
        check_skip(Step(1, KENNTNIS, "KVR-III/12", state=DONE), "zu spät")


def test_documents_of_a_running_route_are_locked() -> None:
    check_unlocked("antrag-1", ["lageplan-1"])
    with pytest.raises(DocumentLocked, match="im laufenden Geschäftsgang gesperrt"):
        check_unlocked("lageplan-1", ["lageplan-1"])


def test_wiedervorlage_and_vertretung() -> None:
    assert check_wiedervorlage("2026-12-07", " Stellungnahme da? ", today=TODAY) == (
        date(2026, 12, 7),
        "Stellungnahme da?",
    )
    for day, message in (
        ("", "Datum"),
        ("2026-11-30", "nach dem heutigen Tag"),
        ("2031-01-01", "drei Jahre"),
    ):
        with pytest.raises(RouteRefused, match=message):
            check_wiedervorlage(day, "x", today=TODAY)
    with pytest.raises(RouteRefused, match="worum es"):
        check_wiedervorlage("2026-12-07", " ", today=TODAY)
    assert check_vertretung("a", "b", "2026-11-30", "2026-12-04", today=TODAY) == (
        date(2026, 11, 30),
        date(2026, 12, 4),
    )
    for args, message in (
        (("a", "a", "2026-11-30", "2026-12-04"), "nicht selbst"),
        (("a", "", "2026-11-30", "2026-12-04"), "wer Sie vertritt"),
        (("a", "b", "2026-12-04", "2026-11-30"), "vor ihrem Beginn"),
        (("a", "b", "2026-11-01", "2026-11-02"), "Vergangenheit"),
        (("a", "b", "x", "2026-11-02"), "Beginn und Ende"),
    ):
        with pytest.raises(RouteRefused, match=message):
            check_vertretung(*args, today=TODAY)
    assert deputising("2026-11-30", "2026-12-04", TODAY) and not deputising("2026-12-01", "2026-12-04", TODAY)
