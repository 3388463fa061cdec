"""Rules of the Geschäftsgang (routes of a Verfügung), the Wiedervorlage and the Vertretung.
Plain Python.

A route is a list of steps; steps with the same number run in parallel, the next number
starts when every step before it is done or skipped. A Mitzeichnung with objections counts as
done for the route (the originator reads the objection) but stays answerable until the
decision; the Schlusszeichnung is the final sign-off, alone in the last step, and releases
the draft decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from rathaus.eakte.domain import DecisionRefused

KENNTNIS, MITZEICHNUNG, SCHLUSSZEICHNUNG, BEARBEITUNG = (
    "kenntnis",
    "mitzeichnung",
    "schlusszeichnung",
    "bearbeitung",
)
STEP_KINDS = {
    KENNTNIS: "zur Kenntnis",
    MITZEICHNUNG: "zur Mitzeichnung",
    SCHLUSSZEICHNUNG: "zur Schlusszeichnung",
    BEARBEITUNG: "zur Bearbeitung",
}
FUTURE, CURRENT, DONE, SKIPPED = "future", "current", "done", "skipped"
STATE_TEXT = {FUTURE: "folgt", CURRENT: "in Arbeit", DONE: "erledigt", SKIPPED: "übersprungen"}
# the answer of a step; "angefordert" while it waits for its addressee
REQUESTED = "angefordert"
NOTED, COSIGNED, OBJECTED, SIGNED, RETURNED, WORKED = (
    "zur_kenntnis_genommen",
    "mitgezeichnet",
    "einwaende",
    "schlussgezeichnet",
    "zurueckgegeben",
    "bearbeitet",
)
ANSWERS = {
    KENNTNIS: {NOTED: "Zur Kenntnis genommen"},
    MITZEICHNUNG: {COSIGNED: "Mitzeichnen", OBJECTED: "Einwände erheben"},
    SCHLUSSZEICHNUNG: {SIGNED: "Schlusszeichnen", RETURNED: "Zurückgeben"},
    BEARBEITUNG: {WORKED: "Erledigt"},
}
ANSWER_TEXT = {
    "": "–",
    REQUESTED: "angefordert",
    NOTED: "zur Kenntnis genommen",
    COSIGNED: "mitgezeichnet",
    OBJECTED: "Einwände erhoben",
    SIGNED: "schlussgezeichnet",
    RETURNED: "zurückgegeben",
    WORKED: "bearbeitet",
}
ROLE_TEXT = {"leitung": "Leitung", "sachbearbeitung": "Sachbearbeitung"}
RUNNING, FINISHED, STOPPED = "laeuft", "abgeschlossen", "zurueckgegeben"
ROUTE_TEXT = {RUNNING: "läuft", FINISHED: "abgeschlossen", STOPPED: "zurückgegeben"}
MIN_NOTE = 20  # characters of an objection's or a return's note
MAX_STEPS = 20


class RouteRefused(DecisionRefused):
    """A route or a step's answer that cannot be taken as asked; the message is for staff."""


class DocumentLocked(ValueError):
    """A document in a running route: no new version until the route ends."""


@dataclass(frozen=True)
class Step:
    number: int
    kind: str
    unit: str
    person: str = ""  # a username; "" addresses the unit
    role: str = ""  # reserved to a level, e.g. "leitung"
    instruction: str = ""
    due: str = ""  # ISO date or ""
    state: str = FUTURE
    answer: str = ""


@dataclass(frozen=True)
class Worker:
    """Who works a step: a member of staff, possibly acting for an absent colleague."""

    username: str
    unit: str
    role: str
    acting_for: str = ""


def check_route(steps: Sequence[Step], *, units: Iterable[str], today: date) -> list[Step]:
    """The drafted steps, ordered; raises RouteRefused with a German message."""
    known = set(units)
    if not steps:
        raise RouteRefused("Ein Geschäftsgang braucht mindestens einen Schritt.")
    if len(steps) > MAX_STEPS:
        raise RouteRefused(f"Ein Geschäftsgang hat höchstens {MAX_STEPS} Schritte.")
    seen: set[tuple[int, str, str, str]] = set()
    for i, step in enumerate(steps, 1):
        if step.number < 1:
            raise RouteRefused(f"Schritt {i}: Die Nummer ist eine ganze Zahl ab 1.")
        if step.kind not in STEP_KINDS:
            raise RouteRefused(f"Schritt {i}: Bitte wählen Sie die Art des Schritts.")
        if step.unit not in known:
            raise RouteRefused(f"Schritt {i}: Die Organisationseinheit „{step.unit}“ gibt es nicht.")
        if step.role not in ("", *ROLE_TEXT):
            raise RouteRefused(f"Schritt {i}: Die Ebene „{step.role}“ gibt es nicht.")
        if step.due:
            try:
                due = date.fromisoformat(step.due)
            except ValueError:
                raise RouteRefused(f"Schritt {i}: „{step.due}“ ist kein Datum (TT.MM.JJJJ).") from None
            if due < today:
                raise RouteRefused(f"Schritt {i}: Die Frist liegt in der Vergangenheit.")
        key = (step.number, step.kind, step.unit, step.person)
        if key in seen:
            raise RouteRefused(f"Schritt {i} steht doppelt im Geschäftsgang.")
        seen.add(key)
    finals = [s for s in steps if s.kind == SCHLUSSZEICHNUNG]
    last = max(s.number for s in steps)
    if len(finals) > 1:
        raise RouteRefused("Ein Geschäftsgang hat höchstens eine Schlusszeichnung.")
    if finals and (finals[0].number != last or sum(1 for s in steps if s.number == last) > 1):
        raise RouteRefused("Die Schlusszeichnung ist der letzte Schritt, allein.")
    return sorted(steps, key=lambda s: s.number)


def start(steps: Sequence[Step]) -> list[Step]:
    """The route's first number becomes current, the rest waits (a step skipped from the
    start, e.g. a Mitzeichnung given before, stays skipped)."""
    open_numbers = [s.number for s in steps if s.state != SKIPPED]
    first = min(open_numbers) if open_numbers else 0
    return [
        s
        if s.state == SKIPPED
        else replace(s, state=CURRENT, answer=REQUESTED)
        if s.number == first
        else replace(s, state=FUTURE)
        for s in steps
    ]


def advance(steps: Sequence[Step]) -> list[Step]:
    """After a step is done or skipped: when no step of the current number is open, the
    next number starts. Returns the steps with their new states."""
    result = list(steps)
    if any(s.state == CURRENT for s in result):
        return result
    waiting = [s.number for s in result if s.state == FUTURE]
    if not waiting:
        return result
    nxt = min(waiting)
    return [replace(s, state=CURRENT, answer=REQUESTED) if s.number == nxt else s for s in result]


def finished(steps: Iterable[Step]) -> bool:
    return all(s.state in (DONE, SKIPPED) for s in steps)


def addressed_to(step: Step, worker: Worker) -> bool:
    """Whether the step is the worker's (or the absent colleague's they act for)."""
    if step.person:
        return step.person in (worker.username, worker.acting_for)
    return step.unit == worker.unit


def check_answer(step: Step, worker: Worker, action: str, note: str, *, decided: bool) -> str:
    """The note to record for a step's answer; raises RouteRefused (PermissionError when the
    step is not addressed to the worker)."""
    if not addressed_to(step, worker):
        raise PermissionError("not addressed")
    if step.role and worker.role != step.role:
        raise RouteRefused(
            f"Dieser Schritt ({STEP_KINDS[step.kind]}) ist der {ROLE_TEXT.get(step.role, step.role)} vorbehalten."
        )
    revising = step.kind == MITZEICHNUNG and step.state == DONE and step.answer == OBJECTED
    if decided and step.kind == MITZEICHNUNG:
        raise RouteRefused("Der Vorgang ist bereits entschieden; die Mitzeichnung ist abgeschlossen.")
    if decided and step.kind == SCHLUSSZEICHNUNG:
        raise RouteRefused(
            "Der Vorgang ist bereits entschieden; eine Schlusszeichnung ist nicht mehr möglich."
        )
    if step.state == FUTURE:
        raise RouteRefused("Dieser Schritt ist noch nicht an der Reihe.")
    if step.state == SKIPPED:
        raise RouteRefused("Dieser Schritt wurde übersprungen.")
    if step.state == DONE and not revising:
        if step.answer == COSIGNED:
            raise RouteRefused("Ihre Organisationseinheit hat bereits mitgezeichnet.")
        raise RouteRefused("Dieser Schritt ist bereits erledigt.")
    allowed = ANSWERS[step.kind]
    if action not in allowed:
        choices = " oder ".join(f"„{label}“" for label in allowed.values())
        raise RouteRefused(f"Bitte wählen Sie {choices}.")
    note = note.strip()
    if action == OBJECTED and len(note) < MIN_NOTE:
        raise RouteRefused(f"Einwände brauchen eine Begründung (mindestens {MIN_NOTE} Zeichen).")
    if action == RETURNED and len(note) < MIN_NOTE:
        raise RouteRefused(f"Eine Rückgabe braucht eine Begründung (mindestens {MIN_NOTE} Zeichen).")
    return note


def check_skip(step: Step, reason: str, *, mandatory_units: Iterable[str] = ()) -> str:
    """The reason to record for skipping a step; raises RouteRefused."""
    if step.state not in (FUTURE, CURRENT):
        raise RouteRefused("Nur offene oder folgende Schritte lassen sich überspringen.")
    if step.kind == SCHLUSSZEICHNUNG:
        raise RouteRefused("Die Schlusszeichnung lässt sich nicht überspringen.")
    if step.kind == MITZEICHNUNG and step.unit in set(mandatory_units):
        raise RouteRefused(
            f"Die Mitzeichnung durch {step.unit} schreibt das Verfahren vor; sie lässt sich nicht überspringen."
        )
    reason = reason.strip()
    if len(reason) < 5:
        raise RouteRefused("Bitte begründen Sie, warum der Schritt übersprungen wird.")
    return reason


def check_unlocked(document_id: str, locked: Iterable[str]) -> None:
    """Raises DocumentLocked when the document travels in a running route."""
    if document_id in set(locked):
        raise DocumentLocked(
            "Das Dokument ist im laufenden Geschäftsgang gesperrt: Eine neue Version ist erst möglich, "
            "wenn der Geschäftsgang abgeschlossen oder zurückgegeben ist."
        )


def due_from(today: date, days: int) -> str:
    return (today + timedelta(days=days)).isoformat() if days else ""


# -- Wiedervorlage ------------------------------------------------------------------------------


def check_wiedervorlage(day: str, note: str, *, today: date) -> tuple[date, str]:
    """A follow-up date (after today) and its note; raises RouteRefused."""
    try:
        when = date.fromisoformat(day.strip())
    except ValueError:
        raise RouteRefused("Bitte geben Sie das Datum der Wiedervorlage an (TT.MM.JJJJ).") from None
    if when <= today:
        raise RouteRefused("Die Wiedervorlage muss nach dem heutigen Tag liegen.")
    if when > today + timedelta(days=3 * 366):
        raise RouteRefused("Eine Wiedervorlage liegt höchstens drei Jahre in der Zukunft.")
    note = note.strip()
    if not note:
        raise RouteRefused("Bitte notieren Sie, worum es bei der Wiedervorlage geht.")
    if len(note) > 1000:
        raise RouteRefused("Der Vermerk der Wiedervorlage hat höchstens 1000 Zeichen.")
    return when, note


# -- Vertretung ---------------------------------------------------------------------------------


def check_vertretung(
    absent: str, deputy: str, start_day: str, end_day: str, *, today: date
) -> tuple[date, date]:
    """A deputy for a period; raises RouteRefused."""
    if not deputy:
        raise RouteRefused("Bitte wählen Sie, wer Sie vertritt.")
    if deputy == absent:
        raise RouteRefused("Sie können sich nicht selbst vertreten.")
    try:
        begin, end = date.fromisoformat(start_day.strip()), date.fromisoformat(end_day.strip())
    except ValueError:
        raise RouteRefused("Bitte geben Sie Beginn und Ende der Abwesenheit an (TT.MM.JJJJ).") from None
    if end < begin:
        raise RouteRefused("Das Ende der Abwesenheit liegt vor ihrem Beginn.")
    if end < today:
        raise RouteRefused("Die Abwesenheit liegt ganz in der Vergangenheit.")
    if (end - begin).days > 366:
        raise RouteRefused("Eine Vertretung gilt höchstens ein Jahr; legen Sie danach eine neue an.")
    return begin, end


def deputising(begin: str, end: str, today: date) -> bool:
    return date.fromisoformat(begin) <= today <= date.fromisoformat(end)
