"""Older contract versions in the shape of the current ones, for consumers that still meet
them in the streams after an upgrade (events published before services as data)."""

from __future__ import annotations

from typing import Any

from rathaus.contracts.common_v2 import Party
from rathaus.contracts.portal import v1, v2
from rathaus.platform.kernel.procedures.definition import Definition
from rathaus.platform.kernel.procedures.engine import coerce
from rathaus.platform.kernel.procedures.expressions import as_json


def application(event: v1.ApplicationSubmitted, definition: Definition) -> v2.ApplicationSubmitted:
    """A version-1 application (still in the streams from before an upgrade) in the shape of
    version 2: its form becomes typed data of version 1 of its service, its applicant a Party."""
    data: dict[str, Any] = {}
    for name, raw in event.form.items():
        node = definition.nodes.get(name)
        value, problem = (None, None) if node is None else coerce(node, raw, "form")
        data[name] = as_json(value) if node is not None and problem is None and value is not None else raw
    labels = {n.name: n.element for n in definition.file_fields()}
    return v2.ApplicationSubmitted(
        case_id=event.case_id,
        service_id=event.service_id,
        service_version=definition.version,
        procedure_digest=definition.digest,
        applicant=Party(
            person=event.applicant.person,
            address=event.applicant.address,
            email=event.applicant.email,
            account_id=event.account_id,
        ),
        data=data,
        attachments=[
            v2.AttachedFile(
                field=a.kind,
                document_type=(labels[a.kind].document_type if a.kind in labels else "") or a.kind,
                title=labels[a.kind].label if a.kind in labels else a.kind,
                blob=a.blob,
            )
            for a in event.attachments
        ],
        evidence=event.evidence,
        stadtbezirk=event.form.get("stadtbezirk", ""),
        submitted_at=event.submitted_at,
    )
