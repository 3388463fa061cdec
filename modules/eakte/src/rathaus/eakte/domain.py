"""Rules of the E-Akte: Aktenzeichen, audit chain, decisions, facts, co-signing. Plain Python."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rathaus.contracts.aktenzeichen import format_aktenzeichen
from rathaus.platform.kernel.calendar import munich_day

ROLES = ("sachbearbeitung", "leitung", "poststelle", "kasse", "registratur")
# kasse: the Zahlungsabgleich; registratur: the records manager (Aktenplan administration)
RECORDS_MANAGER = "registratur"
DECIDING_ROLES = ("sachbearbeitung", "leitung")
OUTCOMES = {"granted": "Bewilligen", "refused": "Ablehnen"}
MODES = {"clerk": "durch die Sachbearbeitung", "automatic": "automatisch", "fiction": "durch Fiktion"}
STATUS_TEXT = {
    "eingegangen": "Eingegangen",
    "in_pruefung": "In Prüfung",
    "zur_entscheidung": "Zur Entscheidung",
    "entschieden": "Entschieden",
    "zugestellt": "Zugestellt",
}
GENESIS = "0" * 64
SYSTEM = "system"
DEFAULT_REASONS = "Die Voraussetzungen für die Erteilung liegen vor."
MIN_REASONS = 20  # characters of a refusal's reasons, and of an objection's note

# Mitzeichnung (co-signing), one row per co-signing unit; grows into a Geschäftsgang
# (xdomea Beteiligungsschritt) with further kinds and steps later.
MITZEICHNUNG = "mitzeichnung"
PENDING, COSIGNED, OBJECTED = "angefordert", "mitgezeichnet", "einwaende"
COSIGN_STATUS_TEXT = {
    PENDING: "Zur Mitzeichnung",
    COSIGNED: "Mitgezeichnet",
    OBJECTED: "Einwände erhoben",
}
COSIGN_ACTIONS = {COSIGNED: "Mitzeichnen", OBJECTED: "Einwände erheben"}


class DecisionRefused(ValueError):
    """A decision or co-signature that cannot be taken as asked; the message is for the clerk."""


@dataclass(frozen=True)
class Staff:
    staff_id: str
    username: str
    display_name: str
    role: str
    unit: str
    acting_for: str = ""  # Vertretung: the absent colleague's username (unit is then theirs)


@dataclass(frozen=True)
class Taken:
    """A decision already recorded for a case."""

    outcome: str
    mode: str
    decided_at: str
    reasons: str = ""


@dataclass(frozen=True)
class Cosignature:
    """A co-signing unit's part in a case (Mitzeichnung)."""

    unit: str
    status: str
    note: str = ""


def aktenzeichen(aktenplan: str, year: int, serial: int) -> str:
    return format_aktenzeichen(aktenplan, year, serial)


def audit_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The hash of an audit entry chains it to the one before: a changed entry breaks the chain."""
    body = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def verify_chain(entries: list[dict[str, Any]]) -> bool:
    prev = GENESIS
    for entry in entries:
        body = {k: v for k, v in entry.items() if k not in ("seq", "prev_hash", "hash")}
        if entry["prev_hash"] != prev or entry["hash"] != audit_hash(prev, body):
            return False
        prev = entry["hash"]
    return True


# -- who applied ------------------------------------------------------------------------------


def party_name(party: dict[str, Any]) -> str:
    """How an Akte is titled after its applicant: a person, an organisation, or anonymous."""
    organisation = party.get("organisation")
    if organisation and organisation.get("name"):
        return str(organisation["name"])
    person = party.get("person")
    if person and (person.get("family_name") or person.get("given_name")):
        return ", ".join(p for p in (person.get("family_name"), person.get("given_name")) if p)
    return "anonym"


def akte_title(service_title: str, party: dict[str, Any], limit: int = 200) -> str:
    title = f"{service_title} – {party_name(party)}"
    return title if len(title) <= limit else title[: limit - 1] + "…"


# -- decisions -----------------------------------------------------------------------------------


def outcomes(refusable: bool) -> dict[str, str]:
    """The outcomes a clerk can choose for a procedure."""
    return {k: v for k, v in OUTCOMES.items() if refusable or k != "refused"}


def check_decision(
    outcome: str,
    reasons: str,
    *,
    refusable: bool,
    taken: Taken | None = None,
    cosignatures: Iterable[Cosignature] = (),
    unit_names: dict[str, str] | None = None,
    proposed: str = "",
) -> str:
    """The reasons to record for a clerk's decision; raises DecisionRefused with a message.

    Co-signing (Mitzeichnung): while a co-signing unit has not answered, nothing can be
    decided. An objection (Einwände) blocks a grant — the objecting unit may still
    co-sign after all — but not a refusal: refusing is how the responsible unit follows
    an objection, and the refusal carries its own reasons.
    """
    names = unit_names or {}
    if outcome not in OUTCOMES or (outcome == "refused" and not refusable):
        choices = "„Bewilligen“ oder „Ablehnen“" if refusable else "„Bewilligen“"
        raise DecisionRefused(f"Bitte wählen Sie {choices}.")
    if taken is not None:
        if taken.mode == "fiction":
            raise DecisionRefused(
                "Die Genehmigung gilt bereits als erteilt (Genehmigungsfiktion, § 42a VwVfG): "
                "Die Frist für die Entscheidung ist abgelaufen. Eine Entscheidung ist nicht mehr möglich."
            )
        raise DecisionRefused("Dieser Vorgang ist bereits entschieden.")
    listed = list(cosignatures)
    pending = [names.get(c.unit, c.unit) for c in listed if c.status == PENDING]
    if pending:
        raise DecisionRefused(
            f"Die Mitzeichnung durch {', '.join(pending)} steht noch aus. "
            "Entscheiden können Sie, sobald alle beteiligten Stellen mitgezeichnet oder Einwände erhoben haben."
        )
    objecting = [names.get(c.unit, c.unit) for c in listed if c.status == OBJECTED]
    if objecting and outcome == "granted":
        raise DecisionRefused(
            f"{', '.join(objecting)} hat Einwände erhoben. Bewilligen können Sie erst, wenn die Stelle "
            "doch mitzeichnet; ablehnen können Sie mit Begründung."
        )
    reasons = reasons.strip()
    if outcome == "refused" and len(reasons) < MIN_REASONS:
        raise DecisionRefused(f"Eine Ablehnung braucht eine Begründung (mindestens {MIN_REASONS} Zeichen).")
    return reasons or proposed.strip() or DEFAULT_REASONS


def check_cosign(action: str, note: str, current: Cosignature | None, *, decided: bool) -> str:
    """The note to record for a co-signing unit's answer; raises DecisionRefused."""
    if current is None:
        raise DecisionRefused(
            "Ihre Organisationseinheit ist an diesem Vorgang nicht zur Mitzeichnung beteiligt."
        )
    if decided:
        raise DecisionRefused("Der Vorgang ist bereits entschieden; die Mitzeichnung ist abgeschlossen.")
    if action not in COSIGN_ACTIONS:
        raise DecisionRefused("Bitte wählen Sie „Mitzeichnen“ oder „Einwände erheben“.")
    if current.status == COSIGNED:
        raise DecisionRefused("Ihre Organisationseinheit hat bereits mitgezeichnet.")
    note = note.strip()
    if action == OBJECTED and len(note) < MIN_REASONS:
        raise DecisionRefused(f"Einwände brauchen eine Begründung (mindestens {MIN_REASONS} Zeichen).")
    return note


def automatic_reasons(title: str, version: int, proposed: str) -> str:
    """The reasons of a decision the system took alone (§ 35a VwVfG)."""
    text = (
        "Dieser Bescheid wurde vollständig durch automatische Einrichtungen erlassen (§ 35a VwVfG). "
        f"Nach den Angaben im Antrag liegen die Voraussetzungen des Verfahrens „{title}“ "
        f"(Version {version}) vor."
    )
    return f"{text} {proposed.strip()}" if proposed.strip() else text


def fiction_reasons(basis: str, deadline: str) -> str:
    """The reasons of a permit that counts as granted (§ 42a VwVfG)."""
    return (
        f"Die beantragte Genehmigung gilt als erteilt ({basis}): Über den vollständigen Antrag "
        f"wurde nicht innerhalb der Frist entschieden, die am {german_date(deadline)} abgelaufen ist."
    )


# -- facts --------------------------------------------------------------------------------------


def euro(cents: int) -> str:
    """3000 -> '30,00 EUR'; 123450 -> '1.234,50 EUR'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{rest:02d} EUR"


def german_date(iso: str) -> str:
    try:
        return date.fromisoformat(iso[:10]).strftime("%d.%m.%Y")
    except ValueError:
        return iso


def decision_facts(outcome: str, day: date, valid_days: int, fee_cents: int) -> dict[str, str]:
    """What a decision fixes: a grant's validity (when the procedure has one) and its fee."""
    if outcome != "granted":
        return {}
    facts = {"gebuehr": euro(fee_cents), "gebuehr_cent": str(fee_cents)}
    if valid_days > 0:
        facts["gueltig_ab"] = day.isoformat()
        facts["gueltig_bis"] = (day + timedelta(days=valid_days)).isoformat()
    return facts


# -- fees (Forderung) ----------------------------------------------------------------------------

OPEN, PAID, REFUND_OPEN, REFUNDED = "offen", "bezahlt", "erstattung_offen", "erstattet"
CLAIM_STATUS_TEXT = {OPEN: "Offen", PAID: "Bezahlt", REFUND_OPEN: "Erstattung offen", REFUNDED: "Erstattet"}
ATTEMPT_STATUS_TEXT = {
    "INITIAL": "Begonnen",
    "PAYED": "Bezahlt",
    "FAILED": "Fehlgeschlagen",
    "CANCELED": "Abgebrochen",
    "EXPIRED": "Abgelaufen",
}
FINAL_FAILURES = ("FAILED", "CANCELED", "EXPIRED")
REFUND_REASONS = {"refused": "Antrag abgelehnt", "double_payment": "Doppelte Zahlung"}
# a refund task: open (nobody proposed yet) -> proposed -> booked (a second person approved)
TASK_OPEN, TASK_PROPOSED, TASK_BOOKED = "offen", "vorgeschlagen", "gebucht"
TASK_STATUS_TEXT = {TASK_OPEN: "Offen", TASK_PROPOSED: "Zur Genehmigung", TASK_BOOKED: "Erstattet"}
# the day in Munich of an ISO timestamp: the kernel's, so that the E-Akte's Forderung and the
# workflow's payment step agree on the day whose rates apply
local_day = munich_day


def luhn_digit(digits: str) -> int:
    """The Luhn check digit of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def kassenzeichen(year: int, serial: int) -> str:
    """Year, a seven-digit serial and a Luhn check digit: 12 digits, e.g. 202600000018."""
    if not 0 < serial < 10_000_000:
        raise ValueError("Der Nummernkreis der Kassenzeichen dieses Jahres ist erschöpft.")
    body = f"{year:04d}{serial:07d}"
    return body + str(luhn_digit(body))


def valid_kassenzeichen(text: str) -> bool:
    return len(text) == 12 and text.isdigit() and luhn_digit(text[:-1]) == int(text[-1])


def claim_purpose(kz: str) -> str:
    """XBezahldienste ``purpose``: at most 27 characters."""
    return f"Gebühr {kz}"[:27]


def claim_description(service_title: str, az: str) -> str:
    """XBezahldienste ``description``: at most 250 characters, no personal data."""
    tail = f", Az. {az}"
    return service_title[: 250 - len(tail)] + tail


def check_refund(
    amount_text: str,
    note: str,
    *,
    limit_cents: int,
    status: str,
    proposed_by: str | None,
    me: str,
    proposing: bool,
) -> int:
    """The amount in cents of a refund proposal, or checks an approval; raises DecisionRefused."""
    if status == TASK_BOOKED:
        raise DecisionRefused("Diese Erstattung ist bereits gebucht.")
    if not proposing:
        if status != TASK_PROPOSED or proposed_by is None:
            raise DecisionRefused("Es gibt noch keinen Vorschlag, der genehmigt werden könnte.")
        if proposed_by == me:
            raise DecisionRefused(
                "Eine Erstattung genehmigt eine zweite Person: Sie haben sie selbst vorgeschlagen (Vier-Augen-Prinzip)."
            )
        return 0
    if status != TASK_OPEN:
        raise DecisionRefused("Für diese Erstattung liegt bereits ein Vorschlag vor.")
    cents = parse_euro(amount_text)
    if cents is None or cents <= 0:
        raise DecisionRefused("Bitte geben Sie den Betrag in Euro an, zum Beispiel 30,00.")
    if cents > limit_cents:
        raise DecisionRefused(f"Erstattet werden können höchstens {euro(limit_cents)}.")
    if len(note.strip()) < MIN_REASONS:
        raise DecisionRefused(f"Bitte begründen Sie die Erstattung (mindestens {MIN_REASONS} Zeichen).")
    return cents


def parse_euro(text: str) -> int | None:
    """'30,00' / '30' / '1.234,50 €' -> cents; None when it is no amount."""
    import re

    cleaned = text.replace("€", "").replace("EUR", "").strip().replace(" ", "")
    if not re.fullmatch(r"\d{1,3}(\.\d{3})*(,\d{1,2})?|\d+(,\d{1,2})?", cleaned):
        return None
    whole, _, rest = cleaned.replace(".", "").partition(",")
    return int(whole) * 100 + int((rest + "00")[:2])


def csv_amount(cents: int) -> str:
    """For the Stadtkasse's CSV: a decimal comma, no thousands separator."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole},{rest:02d}"


# -- reconciliation (Zahlungsabgleich) ---------------------------------------------------------

MATCHED, DOUBLE, UNDERPAID, OVERPAID, ORPHAN = (
    "abgeglichen",
    "doppelt",
    "unterzahlt",
    "ueberzahlt",
    "ohne_vorgang",
)
FINDING_TEXT = {
    MATCHED: "Bezahlt und zugeordnet",
    DOUBLE: "Doppelt bezahlt",
    UNDERPAID: "Zu wenig bezahlt",
    OVERPAID: "Zu viel bezahlt",
    ORPHAN: "Bezahlt, aber kein Vorgang",
}


@dataclass(frozen=True)
class Finding:
    """One result of comparing a provider's transaction with the Forderungen; ``key`` is
    what makes it unique (a second run for the same day finds the same keys)."""

    key: str
    kind: str
    transaction_id: str
    kassenzeichen: str
    amount_cents: int
    expected_cents: int
    claim_id: str = ""


def reconcile(
    transaction_id: str,
    kz: str,
    amount_cents: int,
    claim: dict[str, Any] | None,
    paid_transactions: set[str],
) -> list[Finding]:
    """What a PAYED transaction means: ``claim`` is the Forderung found by Kassenzeichen or
    transaction (None: none), ``paid_transactions`` every transaction known to have paid it."""
    if claim is None:
        return [Finding(f"{ORPHAN}:{transaction_id}", ORPHAN, transaction_id, kz, amount_cents, 0)]
    expected = int(claim["amount_cents"])
    kz = claim["kassenzeichen"]
    found: list[Finding] = []

    def add(kind: str, key: str) -> None:
        found.append(Finding(key, kind, transaction_id, kz, amount_cents, expected, claim["claim_id"]))

    if amount_cents < expected:
        add(UNDERPAID, f"{UNDERPAID}:{transaction_id}")
    elif amount_cents > expected:
        add(OVERPAID, f"{OVERPAID}:{transaction_id}")
    else:
        add(MATCHED, f"{MATCHED}:{transaction_id}")
    if len(paid_transactions | {transaction_id}) > 1:
        add(DOUBLE, f"{DOUBLE}:{kz}")
    return found


# -- the two-way Postkorb: messages to the applicant, Nachforderung -----------------------------

TO_APPLICANT, FROM_APPLICANT = "an_antragsteller", "von_antragsteller"
REQUEST_OPEN, REQUEST_ANSWERED, REQUEST_REMINDED, REQUEST_LAPSED = (
    "offen",
    "eingegangen",
    "erinnert",
    "nach_aktenlage",
)
REQUEST_STATUS_TEXT = {
    REQUEST_OPEN: "Unterlagen angefordert",
    REQUEST_ANSWERED: "Antwort eingegangen",
    REQUEST_REMINDED: "Frist abgelaufen, Antragsteller/in erinnert",
    REQUEST_LAPSED: "Nicht eingegangen: nach Aktenlage entscheiden",
}
MAX_SUBJECT, MAX_MESSAGE, MAX_REQUESTED = 200, 10_000, 20
OTHER_DOCUMENT = "nachweis"  # the document type of a requested document that is no form field


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    subject: str
    text: str
    request: bool  # a Nachforderung: asks for documents with a deadline


@dataclass(frozen=True)
class MessageCatalogue:
    """Templates and Nachforderung deadlines, as data (contracts' procedures/nachrichten.toml)."""

    templates: dict[str, Template]
    deadline_days: int
    grace_days: int
    per_service: dict[str, tuple[int, int]]

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> MessageCatalogue:
        defaults = raw.get("nachforderung", {})
        days, grace = int(defaults.get("frist_tage", 14)), int(defaults.get("zweite_frist_tage", 14))
        return cls(
            templates={
                t["id"]: Template(
                    t["id"], t["titel"], t["betreff"], t["text"].strip(), bool(t["nachforderung"])
                )
                for t in raw.get("vorlage", [])
            },
            deadline_days=days,
            grace_days=grace,
            per_service={
                sid: (int(v.get("frist_tage", days)), int(v.get("zweite_frist_tage", grace)))
                for sid, v in raw.get("leistung", {}).items()
            },
        )

    def days(self, service_id: str) -> tuple[int, int]:
        """(deadline, grace) in days for a service's Nachforderung."""
        return self.per_service.get(service_id, (self.deadline_days, self.grace_days))


def deadline_on_working_day(day: date, is_working_day: Any) -> date:
    """A deadline that ends on a Saturday, Sunday or holiday ends on the next working day
    (§ 31 Abs. 3 VwVfG)."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def default_deadline(today: date, days: int, is_working_day: Any) -> date:
    return deadline_on_working_day(today + timedelta(days=days), is_working_day)


@dataclass(frozen=True)
class Draft:
    """A message as staff wrote it, checked; ``errors`` by field, in German."""

    subject: str
    text: str
    template: str
    requested: tuple[tuple[str, str], ...]  # (document type, title)
    deadline: date | None
    errors: dict[str, str]


def fill_template(
    template: Template, *, aktenzeichen: str, deadline: date | None, requested: list[str]
) -> str:
    listed = "\n".join(f"- {title}" for title in requested) or "- (bitte angeben)"
    frist = deadline.strftime("%d.%m.%Y") if deadline else "(Frist)"
    return (
        template.text.replace("{aktenzeichen}", aktenzeichen)
        .replace("{frist}", frist)
        .replace("{unterlagen}", listed)
    )


def check_message(
    *,
    subject: str,
    text: str,
    template: str,
    fields: list[str],
    others: str,
    deadline: str,
    file_fields: dict[str, str],
    catalogue: MessageCatalogue,
    today: date,
) -> Draft:
    """Staff's message form: a subject, a text, and for a Nachforderung the documents and a
    deadline after today (on a working day: the form proposes one)."""
    errors: dict[str, str] = {}
    subject, text = subject.strip(), text.strip().replace("\r\n", "\n")
    if template and template not in catalogue.templates:
        errors["template"] = "Diese Vorlage gibt es nicht."
    if not subject:
        errors["subject"] = "Bitte geben Sie einen Betreff an."
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"Der Betreff darf höchstens {MAX_SUBJECT} Zeichen lang sein."
    if not text:
        errors["text"] = "Bitte schreiben Sie eine Nachricht."
    elif len(text) > MAX_MESSAGE:
        errors["text"] = f"Die Nachricht darf höchstens {MAX_MESSAGE} Zeichen lang sein."
    requested = [(f, file_fields[f]) for f in fields if f in file_fields]
    if any(f not in file_fields for f in fields):
        errors["documents"] = "Bitte wählen Sie nur Unterlagen aus der Liste."
    requested += [(OTHER_DOCUMENT, line.strip()[:200]) for line in others.splitlines() if line.strip()]
    if len(requested) > MAX_REQUESTED:
        errors["documents"] = f"Bitte fordern Sie höchstens {MAX_REQUESTED} Unterlagen auf einmal an."
    due: date | None = None
    if requested:
        try:
            due = date.fromisoformat(deadline.strip())
        except ValueError:
            errors["deadline"] = "Bitte geben Sie die Frist als Datum an (TT.MM.JJJJ)."
        else:
            if due <= today:
                errors["deadline"] = "Die Frist muss nach dem heutigen Tag liegen."
    return Draft(subject, text, template, tuple(requested), due, errors)


# -- records management (xdomea records fields) ----------------------------------------------

# a Vorgang's lifecycle (vorgaenge.lifecycle)
LIFECYCLE_OPEN = "offen"
LIFECYCLE_ZDA = "zda"  # zu den Akten verfügt: closed, retention runs
LIFECYCLE_CANCELLED = "storniert"  # opened by mistake
LIFECYCLE_HANDED_OVER = "abgegeben"  # Abgabe to another authority (xdomea 0401)
LIFECYCLE_ARCHIVED = "ausgesondert"  # taken by the archive (xdomea 0506)
LIFECYCLE_DESTROYED = "vernichtet"  # destroyed after the archive's decision, logged
LIFECYCLE_TEXT = {
    LIFECYCLE_OPEN: "Offen",
    LIFECYCLE_ZDA: "zdA",
    LIFECYCLE_CANCELLED: "Storniert",
    LIFECYCLE_HANDED_OVER: "Abgegeben",
    LIFECYCLE_ARCHIVED: "Ans Archiv abgegeben",
    LIFECYCLE_DESTROYED: "Vernichtet",
}
AUSSONDERUNGSART_TEXT = {"A": "archivwürdig", "B": "bewerten", "V": "vernichten"}
UNLIMITED = "unbefristet"


@dataclass(frozen=True)
class RecordsFields:
    """The records fields in force for a file-plan entry, inherited down the plan."""

    aussonderungsart: str  # A | B | V ("B" when nothing up the plan says otherwise)
    aufbewahrung: str  # years ("10") or "unbefristet" ("unbefristet" when nothing says)


def effective_records(plan: dict[str, dict[str, Any]], code: str) -> RecordsFields:
    """The Aussonderungsart and retention of an entry: its own, else the nearest parent's.
    ``plan`` maps codes to rows with parent, aussonderungsart, aufbewahrung. Nothing set
    anywhere up the plan means "B" (the archive decides) and unlimited retention: nothing
    is ever destroyed because a field was missing."""
    art = keep = ""
    seen: set[str] = set()
    current: str | None = code
    while current and current in plan and current not in seen:
        seen.add(current)
        row = plan[current]
        art = art or (row.get("aussonderungsart") or "")
        keep = keep or (row.get("aufbewahrung") or "")
        current = row.get("parent")
    return RecordsFields(aussonderungsart=art or "B", aufbewahrung=keep or UNLIMITED)


def retention_end(zda_day: date, aufbewahrung: str) -> date | None:
    """The last day of retention: the retention period counts from the end of the year in
    which the file was closed (zdA), so a file closed on 10 May 2026 with 10 years is kept
    until 31 December 2036. None for unlimited retention."""
    if aufbewahrung == UNLIMITED or not aufbewahrung:
        return None
    return date(zda_day.year + int(aufbewahrung), 12, 31)
