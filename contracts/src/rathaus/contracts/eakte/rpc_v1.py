"""Request/reply contracts answered by the E-Akte, version 1."""

from __future__ import annotations

import msgspec

from rathaus.contracts.rpc import rpc


class StaffCredentials(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    password: str


class StaffIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """Who a member of staff is, when the credentials were right."""

    ok: bool
    staff_id: str = ""
    display_name: str = ""
    role: str = ""  # "sachbearbeitung" | "leitung" | "poststelle"
    unit: str = ""


AUTHENTICATE_STAFF = rpc(
    module="eakte",
    operation="staff.authenticate",
    version=1,
    request=StaffCredentials,
    response=StaffIdentity,
)
