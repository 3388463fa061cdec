"""Older contract versions in the shape of the current ones, for consumers that still
meet them in the streams after an upgrade (events published before version 2 existed).

A version-1 event names no procedure digest: the case is interpreted with version 1 of
its service as the platform knows it (``procedure_digest`` is "").
"""

from __future__ import annotations

from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte import v1 as eakte_v1
from rathaus.contracts.eakte import v2 as eakte_v2
from rathaus.contracts.portal import v1 as portal_v1
from rathaus.contracts.portal import v2 as portal_v2


def application(event: portal_v1.ApplicationSubmitted) -> portal_v2.ApplicationSubmitted:
    """ApplicationSubmitted v1 (a flat form of strings) as v2."""
    return portal_v2.ApplicationSubmitted(
        case_id=event.case_id,
        service_id=event.service_id,
        service_version=1,
        procedure_digest="",
        applicant=Party(
            person=event.applicant.person,
            address=event.applicant.address,
            email=event.applicant.email,
            account_id=event.account_id,
        ),
        data=dict(event.form),
        attachments=[
            portal_v2.AttachedFile(field=a.kind, document_type=a.kind, title=a.kind, blob=a.blob)
            for a in event.attachments
        ],
        evidence=list(event.evidence),
        stadtbezirk=event.form.get("stadtbezirk", ""),
        submitted_at=event.submitted_at,
    )


def decision(event: eakte_v1.DecisionMade) -> eakte_v2.DecisionMade:
    """DecisionMade v1 as v2: its facts were all a version-1 Bescheid needed, so they are
    the data as well."""
    return eakte_v2.DecisionMade(
        case_id=event.case_id,
        aktenzeichen=event.aktenzeichen,
        service_id=event.service_id,
        service_version=1,
        procedure_digest="",
        outcome=event.outcome,
        mode="clerk",
        reasons=event.reasons,
        recipient=Party(
            person=event.recipient.person,
            address=event.recipient.address,
            email=event.recipient.email,
        ),
        data=dict(event.facts),
        facts=dict(event.facts),
        unit=event.unit,
        decided_by=event.decided_by,
        decided_at=event.decided_at,
    )
