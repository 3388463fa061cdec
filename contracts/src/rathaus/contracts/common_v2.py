"""Value types of version-2 contracts: an applicant may be a person, an organisation
acting through a member, or anonymous."""

from __future__ import annotations

import msgspec

from rathaus.contracts.common import Address, Person


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    """A business or other organisation as its account (Unternehmenskonto) names it."""

    organisation_id: str
    name: str
    legal_form: str = ""  # Rechtsform, e.g. "GmbH"
    register_number: str = ""  # e.g. "HRB 123456"


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """Who applied, and whom the Bescheid is addressed to.

    A person applying for themselves: ``person``; a member acting for an organisation:
    ``organisation`` and the member as ``person``; an anonymous applicant: neither (an
    e-mail address, if they gave one).
    """

    person: Person | None = None
    organisation: Organisation | None = None
    address: Address | None = None
    email: str = ""
    account_id: str = ""  # the portal account that applied ("" anonymous)
