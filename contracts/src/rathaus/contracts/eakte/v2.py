"""E-Akte events, version 2: decisions of any service, any applicant, any decision mode."""

from __future__ import annotations

from typing import Any

from rathaus.contracts.common_v2 import Party
from rathaus.contracts.envelope import DataClass, Event, contract


@contract(producer="eakte", entity="decision", happened="made", version=2, data_class=DataClass.PERSONAL)
class DecisionMade(Event, frozen=True, kw_only=True):
    """The case was decided; carries what the Bescheid needs.

    ``mode``: "clerk" (staff decided), "automatic" (§ 35a VwVfG) or "fiction"
    (§ 42a VwVfG: the permit counts as granted because the deadline passed).
    ``facts``: what the decision fixes (validity, fee), ``data`` the application's data.
    """

    case_id: str
    aktenzeichen: str
    service_id: str
    service_version: int
    procedure_digest: str
    outcome: str  # "granted" | "refused"
    mode: str = "clerk"
    reasons: str
    recipient: Party
    data: dict[str, Any]
    facts: dict[str, str]
    unit: str
    decided_by: str  # staff id (pseudonymous) or "system"
    decided_at: str
    submitted_at: str = ""
