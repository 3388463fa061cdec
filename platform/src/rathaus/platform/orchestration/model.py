"""Inputs and signals of the case workflow: plain dataclasses, no personal data.

The workflow's history lives in Temporal; only ids, types, outcomes and procedure
parameters go in, never a citizen's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("eingegangen", "in_pruefung", "zur_entscheidung", "entschieden", "zugestellt")


@dataclass
class CaseSignal:
    """One module event as the workflow sees it."""

    type: str  # CloudEvents type
    event_id: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class ProcedureParams:
    """The part of a procedure (Leistung) the workflow interprets."""

    service_id: str
    unit: str
    attachments_expected: int
    decision_seconds: float
    escalation_seconds: float
    channel: str
    templates: dict[str, str]
    mode: str = "clerk"  # "automatic": the E-Akte decides by the procedure's rule (§ 35a VwVfG)
    fiction_seconds: float = 0  # § 42a VwVfG: granted when not decided within this time
    fiction_basis: str = ""
    payment: str = "none"  # none | before | after_decision | optional (only when there is a fee)
    payment_seconds: float = 3 * 3600  # how long a payment attempt stays open
    appointment: bool = False  # a visit is needed: the decision waits for the check-in


@dataclass
class EmitCommand:
    """What the workflow asks the emit activity to publish."""

    case_id: str
    step: str  # makes the event id deterministic, so a retried activity publishes once
    kind: str  # "status" | "request_decision" | "overdue" | "deliver" | "fiction"
    fields: dict[str, str]


SUBMITTED = "de.rathaus.portal.application.submitted.v1"
SUBMITTED_V2 = "de.rathaus.portal.application.submitted.v2"
CASE_OPENED = "de.rathaus.eakte.case.opened.v1"
DOCUMENT_FILED = "de.rathaus.eakte.document.filed.v1"
DECISION_MADE = "de.rathaus.eakte.decision.made.v1"
DECISION_MADE_V2 = "de.rathaus.eakte.decision.made.v2"
DECISION_DELIVERED = "de.rathaus.output.decision.delivered.v1"
CLAIM_CREATED = "de.rathaus.eakte.claim.created.v1"
PAYMENT_RETURNED = "de.rathaus.portal.payment.returned.v1"
PAYMENT_RESTART = "de.rathaus.portal.payment.restart-requested.v1"
APPOINTMENT_BOOKED = "de.rathaus.portal.appointment.booked.v1"
APPOINTMENT_CANCELLED = "de.rathaus.portal.appointment.cancelled.v1"
CHECKED_IN = "de.rathaus.eakte.appointment.checked-in.v1"
DOCUMENTS_REQUESTED = "de.rathaus.eakte.documents.requested.v1"
REPLY_FILED = "de.rathaus.eakte.reply.filed.v1"
