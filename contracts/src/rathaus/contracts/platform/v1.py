"""Events of the case orchestration (the workflow), version 1."""

from __future__ import annotations

from rathaus.contracts.envelope import DataClass, Event, contract


@contract(
    producer="platform", entity="case", happened="status-changed", version=1, data_class=DataClass.INTERNAL
)
class CaseStatusChanged(Event, frozen=True, kw_only=True):
    """The case moved to another step: what a citizen's "Meine Anträge" shows."""

    case_id: str
    service_id: str
    status: str  # eingegangen | in_pruefung | zur_entscheidung | entschieden | zugestellt
    at: str


@contract(
    producer="platform", entity="decision", happened="requested", version=1, data_class=DataClass.INTERNAL
)
class RequestDecision(Event, frozen=True, kw_only=True):
    """Command to the E-Akte: the case is complete; put it in the unit's inbox with a deadline."""

    case_id: str
    unit: str
    due_at: str
    mode: str = "clerk"  # "automatic": the E-Akte decides by the procedure's rule (§ 35a VwVfG)


@contract(
    producer="platform", entity="decision", happened="overdue", version=1, data_class=DataClass.INTERNAL
)
class DecisionOverdue(Event, frozen=True, kw_only=True):
    """A decision deadline passed: level 1 is a reminder, level 2 an escalation to the unit's lead."""

    case_id: str
    unit: str
    level: int
    due_at: str


@contract(
    producer="platform", entity="delivery", happened="requested", version=1, data_class=DataClass.INTERNAL
)
class DeliverDecision(Event, frozen=True, kw_only=True):
    """Command to output management: render and deliver the decision of this case."""

    case_id: str
    channel: str
    template: str


@contract(producer="platform", entity="fiction", happened="reached", version=1, data_class=DataClass.INTERNAL)
class FictionReached(Event, frozen=True, kw_only=True):
    """Command to the E-Akte: the decision deadline passed with no decision; the permit
    counts as granted (Genehmigungsfiktion, § 42a VwVfG) unless a decision came first."""

    case_id: str
    unit: str
    basis: str  # the legal basis of the fiction
    deadline: str  # ISO datetime the deadline ran out
