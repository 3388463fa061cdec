"""Decisions in one shape: a ``DecisionMade`` v1 (still in the streams from before services
as data, or stored here while it waited for its delivery command) is turned into the v2
shape ("upcasting"), so rendering knows only v2."""

from __future__ import annotations

from typing import Any

import msgspec

from rathaus.contracts.common_v2 import Party
from rathaus.contracts.eakte.v1 import DecisionMade as DecisionMadeV1
from rathaus.contracts.eakte.v2 import DecisionMade
from rathaus.platform.kernel.procedures import Procedures


def upcast(old: DecisionMadeV1, procedures: Procedures) -> DecisionMade:
    """A v1 decision as v2: version 1 of its service, with that version's digest as it is now
    (v1 events carried no digest). v1 carried no form data: the values the Bescheid showed
    were facts (``kennzeichen``, ``parkzone``, ``stadtbezirk`` of the Bewohnerparkausweis).
    Every fact named like a field of the version-1 form is taken as that field's value, so
    the version's template (``angaben.kennzeichen``) renders what the old one did; the other
    facts (validity, fee) stay facts."""
    definition = procedures.get(old.service_id, 1)
    data = {
        name: value
        for name, value in old.facts.items()
        if name in definition.nodes and definition.node(name).holds_value
    }
    r = old.recipient
    return DecisionMade(
        case_id=old.case_id,
        aktenzeichen=old.aktenzeichen,
        service_id=old.service_id,
        service_version=1,
        procedure_digest=definition.digest,
        outcome=old.outcome,
        mode="clerk",  # v1 knew only decisions by staff
        reasons=old.reasons,
        # v1 applications always came from a portal account: the Postkorb, as before (see
        # ``V1_CHANNEL``); the account's id itself was not in the v1 decision
        recipient=Party(person=r.person, address=r.address, email=r.email),
        data=data,
        facts=old.facts,
        unit=old.unit,
        decided_by=old.decided_by,
        decided_at=old.decided_at,
        # v1 carried no date of receipt; the v1 Bescheid printed the decision's date there
        submitted_at=old.decided_at,
    )


V1_CHANNEL = "postkorb"  # every v1 decision was delivered to the Postkorb


def stored(version: int, raw: dict[str, Any], procedures: Procedures) -> DecisionMade:
    """A decision as the bescheide table keeps it (the event's data and its version)."""
    if version == 1:
        return upcast(msgspec.convert(raw, DecisionMadeV1), procedures)
    return msgspec.convert(raw, DecisionMade)
