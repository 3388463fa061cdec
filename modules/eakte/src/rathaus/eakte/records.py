"""Rules of a file's lifecycle and of the file plan's administration: zdA (zu den Akten),
reopening, Stornierung, Umschreiben, and what a records manager may do with Aktenplan
entries. Plain Python; every refusal carries a German message for the person who asked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from rathaus.eakte.domain import (
    AUSSONDERUNGSART_TEXT,
    DECIDING_ROLES,
    LIFECYCLE_CANCELLED,
    LIFECYCLE_OPEN,
    LIFECYCLE_TEXT,
    LIFECYCLE_ZDA,
    MIN_REASONS,
    UNLIMITED,
    DecisionRefused,
    german_date,
    retention_end,
)

LEITUNG = "leitung"
# zdA is for a case whose business is done: decided (the Bescheid may still be on its way
# and is filed when delivered) or delivered. A case opened by mistake is cancelled instead
# (Stornierung), which closes it too.
ZDA_STATUSES = ("entschieden", "zugestellt")
DECIDED_STATUSES = ZDA_STATUSES
REOPENABLE = (LIFECYCLE_ZDA, LIFECYCLE_CANCELLED)
AUSSONDERUNGSARTEN = tuple(AUSSONDERUNGSART_TEXT)
MAX_YEARS = 200
# an entry under which Akten are kept (it has a responsible unit) has a code like 523.11, so
# that its Aktenzeichen (523.11-2026-000042) is recognised in letters (contracts.aktenzeichen)
FILE_CODE = re.compile(r"\d{3}\.\d{2}")
GROUP_CODE = re.compile(r"\d{1,3}(\.\d{1,2})?")


class LifecycleRefused(DecisionRefused):
    """A lifecycle action that cannot be taken as asked; the message is for the person."""


def closed_message(lifecycle: str) -> str:
    state = LIFECYCLE_TEXT.get(lifecycle, lifecycle)
    if lifecycle == LIFECYCLE_ZDA:
        return (
            "Der Vorgang ist zu den Akten verfügt (zdA) und kann nicht mehr bearbeitet werden. "
            "Die Leitung kann die zdA-Verfügung mit Begründung aufheben."
        )
    if lifecycle == LIFECYCLE_CANCELLED:
        return (
            "Der Vorgang ist storniert und kann nicht mehr bearbeitet werden. "
            "Die Leitung kann die Stornierung mit Begründung aufheben."
        )
    return f"Der Vorgang ist abgeschlossen ({state}) und kann nicht mehr bearbeitet werden."


def check_writable(lifecycle: str) -> None:
    """Staff may change a case (documents, messages, decisions, co-signing, routes) only while
    it is open; raises LifecycleRefused with the reason."""
    if lifecycle != LIFECYCLE_OPEN:
        raise LifecycleRefused(closed_message(lifecycle))


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASONS:
        raise LifecycleRefused(f"{what} braucht eine Begründung (mindestens {MIN_REASONS} Zeichen).")
    return reason


def parse_day(text: str, today: date) -> date:
    """A day from a form: ISO (the date input) or German (TT.MM.JJJJ); empty means today."""
    text = text.strip()
    if not text:
        return today
    try:
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
            d, m, y = (int(p) for p in text.split("."))
            return date(y, m, d)
        return date.fromisoformat(text)
    except ValueError:
        raise LifecycleRefused("Bitte geben Sie das Datum als TT.MM.JJJJ an.") from None


@dataclass(frozen=True)
class Closing:
    """A checked zdA: the day, the Bewertungsvorschlag and the end of retention (None: unlimited)."""

    day: date
    bewertungsvorschlag: str
    aufbewahrungsende: date | None


def check_zda(
    *,
    role: str,
    status: str,
    lifecycle: str,
    day_text: str,
    today: date,
    decided_day: date | None,
    aussonderungsart: str,
    aufbewahrung: str,
    chosen: str,
) -> Closing:
    """zdA verfügen: by a case worker or Leitung, for a decided or delivered case that is
    open; the day is today or earlier, not before the decision. The Bewertungsvorschlag is
    the plan's Aussonderungsart; only where the plan says B (bewerten) may the case worker
    propose A or V for this file."""
    if role not in DECIDING_ROLES:
        raise LifecycleRefused("Zu den Akten verfügen Sachbearbeitung oder Leitung.")
    if lifecycle == LIFECYCLE_CANCELLED:
        raise LifecycleRefused(
            "Der Vorgang ist storniert und damit bereits abgeschlossen; eine zdA-Verfügung ist nicht nötig."
        )
    check_writable(lifecycle)
    if status not in ZDA_STATUSES:
        raise LifecycleRefused(
            "Zu den Akten verfügt werden kann ein Vorgang erst, wenn er entschieden oder der Bescheid "
            "zugestellt ist. Einen irrtümlich angelegten Vorgang stornieren Sie stattdessen."
        )
    day = parse_day(day_text, today)
    if day > today:
        raise LifecycleRefused("Das zdA-Datum darf nicht in der Zukunft liegen.")
    if decided_day is not None and day < decided_day:
        raise LifecycleRefused(
            f"Das zdA-Datum darf nicht vor der Entscheidung ({decided_day.strftime('%d.%m.%Y')}) liegen."
        )
    chosen = chosen.strip().upper()
    if aussonderungsart == "B":
        if chosen and chosen not in AUSSONDERUNGSARTEN:
            raise LifecycleRefused("Bitte wählen Sie als Bewertungsvorschlag A, B oder V.")
        proposal = chosen or "B"
    else:
        if chosen and chosen != aussonderungsart:
            raise LifecycleRefused(
                f"Der Aktenplan legt die Aussonderungsart „{AUSSONDERUNGSART_TEXT[aussonderungsart]}“ "
                f"({aussonderungsart}) fest; ändern kann sie nur die Registratur im Aktenplan."
            )
        proposal = aussonderungsart
    return Closing(day, proposal, retention_end(day, aufbewahrung))


def check_reopen(*, role: str, lifecycle: str, reason: str) -> str:
    """zdA aufheben (or a Stornierung): only the Leitung, with a reason; returns the reason."""
    if lifecycle not in REOPENABLE:
        raise LifecycleRefused(
            "Der Vorgang ist nicht abgeschlossen."
            if lifecycle == LIFECYCLE_OPEN
            else f"Ein Vorgang im Zustand „{LIFECYCLE_TEXT.get(lifecycle, lifecycle)}“ kann nicht wieder geöffnet werden."
        )
    if role != LEITUNG:
        raise LifecycleRefused("Einen abgeschlossenen Vorgang wieder öffnen kann nur die Leitung.")
    what = (
        "Die Aufhebung der zdA-Verfügung" if lifecycle == LIFECYCLE_ZDA else "Die Aufhebung der Stornierung"
    )
    return _reason(reason, what)


def check_storno(*, role: str, status: str, lifecycle: str, decided: bool, reason: str) -> str:
    """Stornierung of a case opened by mistake: by the case worker or the Leitung, with a
    reason, while it is open and undecided (a decided case has a Bescheid: it is not
    cancelled but closed by zdA, or the Bescheid is withdrawn by its own procedure)."""
    if role not in DECIDING_ROLES:
        raise LifecycleRefused("Stornieren können Sachbearbeitung oder Leitung.")
    check_writable(lifecycle)
    if decided or status in DECIDED_STATUSES:
        raise LifecycleRefused(
            "Ein entschiedener Vorgang kann nicht storniert werden; verfügen Sie ihn zu den Akten."
        )
    return _reason(reason, "Eine Stornierung")


def valid_on(row: dict[str, Any], day: date) -> bool:
    """An entry is usable on a day when it is active and the day lies in its validity."""
    iso = day.isoformat()
    return (
        bool(row.get("aktiv", True))
        and (not row.get("gueltig_ab") or row["gueltig_ab"] <= iso)
        and (not row.get("gueltig_bis") or row["gueltig_bis"] >= iso)
    )


def usable(plan: dict[str, dict[str, Any]], code: str, day: date) -> bool:
    """An entry and every entry above it are active and valid on the day."""
    seen: set[str] = set()
    current: str | None = code
    while current and current not in seen:
        row = plan.get(current)
        if row is None or not valid_on(row, day):
            return False
        seen.add(current)
        current = row.get("parent")
    return True


def check_umschreiben(
    *,
    role: str,
    lifecycle: str,
    case_unit: str,
    current: str,
    target: str,
    plan: dict[str, dict[str, Any]],
    today: date,
    reason: str,
) -> str:
    """Umschreiben to another Aktenplan entry; returns the unit responsible afterwards.
    A case worker moves a case within the own unit; to an entry of another unit only the
    Leitung hands it over (the case leaves the unit)."""
    if role not in DECIDING_ROLES:
        raise LifecycleRefused("Umschreiben können Sachbearbeitung oder Leitung.")
    check_writable(lifecycle)
    row = plan.get(target)
    if row is None:
        raise LifecycleRefused("Bitte wählen Sie einen Eintrag des Aktenplans.")
    if target == current:
        raise LifecycleRefused("Der Vorgang liegt bereits unter diesem Eintrag.")
    if not usable(plan, target, today):
        raise LifecycleRefused(
            f"Der Aktenplaneintrag {target} ist stillgelegt oder heute nicht gültig; "
            "darunter werden keine neuen Akten geführt."
        )
    unit = row.get("unit")
    if not unit:
        raise LifecycleRefused(
            f"Unter dem Eintrag {target} werden keine Akten geführt (Gliederungsebene ohne zuständige "
            "Organisationseinheit). Bitte wählen Sie einen Eintrag darunter."
        )
    if unit != case_unit and role != LEITUNG:
        raise LifecycleRefused(
            f"Der Eintrag {target} gehört zu {unit}: Einen Vorgang an eine andere Organisationseinheit "
            "umschreiben kann nur die Leitung."
        )
    _reason(reason, "Eine Umschreibung")
    return str(unit)


# -- the Aktenplan's administration (registratur) ---------------------------------------------


def check_records_fields(art: str, aufbewahrung: str, gueltig_ab: str, gueltig_bis: str) -> dict[str, str]:
    """The records fields of an entry as the records manager entered them; errors by field.
    Empty means inherited (Aussonderungsart, Aufbewahrung) or unlimited (validity)."""
    errors: dict[str, str] = {}
    if art and art not in AUSSONDERUNGSARTEN:
        errors["aussonderungsart"] = "Bitte wählen Sie A (archivwürdig), B (bewerten) oder V (vernichten)."
    keep = aufbewahrung.strip()
    if keep and keep != UNLIMITED and not (keep.isdigit() and 0 < int(keep) <= MAX_YEARS):
        errors["aufbewahrung"] = f"Bitte geben Sie 1 bis {MAX_YEARS} Jahre an oder „{UNLIMITED}“."
    days: dict[str, date] = {}
    for name, value in (("gueltig_ab", gueltig_ab), ("gueltig_bis", gueltig_bis)):
        if value.strip():
            try:
                days[name] = date.fromisoformat(value.strip())
            except ValueError:
                errors[name] = "Bitte geben Sie ein Datum an (TT.MM.JJJJ)."
    if "gueltig_ab" in days and "gueltig_bis" in days and days["gueltig_bis"] < days["gueltig_ab"]:
        errors["gueltig_bis"] = "„Gültig bis“ darf nicht vor „Gültig ab“ liegen."
    return errors


def check_new_entry(
    *, code: str, parent: str, title: str, unit: str, plan: dict[str, dict[str, Any]], units: set[str]
) -> dict[str, str]:
    """A new Aktenplan entry: a code not yet used that continues its parent's code (under 102:
    102.31), a title; an entry with a responsible unit keeps Akten and needs a code like
    523.11 (its Aktenzeichen are recognised in letters). Errors by field."""
    errors: dict[str, str] = {}
    code, parent, title = code.strip(), parent.strip(), title.strip()
    if parent and parent not in plan:
        errors["parent"] = "Diesen übergeordneten Eintrag gibt es nicht."
    elif parent and not plan[parent].get("aktiv", True):
        errors["parent"] = "Unter einem stillgelegten Eintrag können keine neuen Einträge angelegt werden."
    if not code:
        errors["code"] = "Bitte geben Sie das Aktenplankennzeichen an."
    elif code in plan:
        errors["code"] = f"Das Kennzeichen {code} ist bereits vergeben."
    elif unit and not FILE_CODE.fullmatch(code):
        errors["code"] = (
            "Ein Eintrag mit zuständiger Organisationseinheit (hier werden Akten geführt) braucht ein "
            "Kennzeichen der Form 123.45."
        )
    elif not unit and not GROUP_CODE.fullmatch(code):
        errors["code"] = "Das Kennzeichen besteht aus Ziffern, zum Beispiel 12, 124 oder 124.1."
    elif parent and "parent" not in errors and not (code.startswith(parent) and len(code) > len(parent)):
        errors["code"] = f"Das Kennzeichen muss das des übergeordneten Eintrags ({parent}) fortsetzen."
    if not title:
        errors["title"] = "Bitte geben Sie einen Titel an."
    elif len(title) > 200:
        errors["title"] = "Der Titel darf höchstens 200 Zeichen lang sein."
    if unit and unit not in units:
        errors["unit"] = "Diese Organisationseinheit gibt es nicht."
    return errors


def check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise LifecycleRefused("Bitte geben Sie einen Titel an.")
    if len(title) > 200:
        raise LifecycleRefused("Der Titel darf höchstens 200 Zeichen lang sein.")
    return title


def deletion_blockers(
    *, code: str, children: list[str], cases: int, former: int, procedures: list[str], in_data: bool
) -> list[str]:
    """Why an entry cannot be deleted; empty when it may be. Only an entry nobody uses is
    deleted: no Vorgang under it now or before (old Aktenzeichen refer to it), no entry
    below it, no procedure that files under it, not part of the procedure data (it would
    come back with the next start)."""
    reasons = []
    if cases:
        reasons.append(f"{cases} Vorgang/Vorgänge sind unter {code} abgelegt.")
    if former:
        reasons.append(f"Frühere Aktenzeichen von {former} Vorgang/Vorgängen verweisen auf {code}.")
    if children:
        reasons.append(f"Darunter liegen die Einträge {', '.join(children)}.")
    if procedures:
        reasons.append(f"Die Verfahren {', '.join(procedures)} legen neue Vorgänge darunter an.")
    if in_data:
        reasons.append("Der Eintrag stammt aus den Verfahrensdaten (aktenplan.toml).")
    return reasons


def retention_text(aufbewahrung: str) -> str:
    if aufbewahrung == UNLIMITED:
        return "unbefristet"
    return f"{aufbewahrung} Jahr{'e' if aufbewahrung != '1' else ''}"


def retention_end_text(iso: str | None) -> str:
    return german_date(iso) if iso else "unbefristet"
