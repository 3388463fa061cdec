"""Data broker: the evidence exchange (request/reply) and its events, version 1."""

from __future__ import annotations

import msgspec

from rathaus.contracts.common import Address, Person
from rathaus.contracts.envelope import DataClass, Event, contract
from rathaus.contracts.rpc import rpc


class Vehicle(msgspec.Struct, frozen=True, kw_only=True):
    kennzeichen: str  # licence plate, e.g. "M-AB 1234"
    make: str
    model: str
    holder_since: str  # ISO date


class EvidenceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The portal asks, on the citizen's explicit request, for register data."""

    account_id: str
    assurance_level: str  # "niedrig" | "substantiell" | "hoch"
    person: Person  # the identity the account was verified with
    registers: list[str]  # "melderegister", "fahrzeugregister"
    purpose: str
    legal_basis: str
    service_id: str
    case_id: str
    requester: str = "portal"


class EvidenceResponse(msgspec.Struct, frozen=True, kw_only=True):
    released: bool
    message: str  # for the citizen, in German, when nothing was released
    evidence_id: str = ""
    address: Address | None = None
    stadtbezirk: str = ""  # e.g. "02 Ludwigsvorstadt-Isarvorstadt"
    parkzone: str = ""  # residents' parking zone (Parklizenzgebiet)
    vehicles: list[Vehicle] = []


FETCH_EVIDENCE = rpc(
    module="broker", operation="evidence.fetch", version=1, request=EvidenceRequest, response=EvidenceResponse
)


class TransparencyQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which register exchanges concern the person of this account?"""

    account_id: str
    person: Person


class TransparencyEntry(msgspec.Struct, frozen=True, kw_only=True):
    at: str  # ISO datetime
    requester: str
    purpose: str
    legal_basis: str
    registers: list[str]
    case_id: str
    released: bool
    attributes: list[str] = []  # the register attributes asked for, e.g. "melderegister.strasse"
    data: list[str] = []  # the same in German words, a line per register


class TransparencyLog(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[TransparencyEntry]


QUERY_TRANSPARENCY = rpc(
    module="broker",
    operation="transparency.query",
    version=1,
    request=TransparencyQuery,
    response=TransparencyLog,
)


@contract(producer="broker", entity="evidence", happened="released", version=1, data_class=DataClass.INTERNAL)
class EvidenceReleased(Event, frozen=True, kw_only=True):
    """Register data was released for a case (the data itself stays out of the event)."""

    evidence_id: str
    case_id: str
    service_id: str
    registers: list[str]
    purpose: str
    legal_basis: str
    requester: str
    released_at: str
    attributes: list[str] = []  # which register attributes (version 2 requests)


class AddressQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Where does an address lie? Asked of the city's street directory (public data)."""

    street: str
    house_number: str
    postal_code: str


class AddressInfo(msgspec.Struct, frozen=True, kw_only=True):
    found: bool
    stadtbezirk: str = ""  # e.g. "02 Ludwigsvorstadt-Isarvorstadt"
    parkzone: str = ""  # residents' parking zone, "" when the address lies in none
    message: str = ""  # for the citizen, in German, when the address was not found


LOOKUP_ADDRESS = rpc(
    module="broker", operation="address.lookup", version=1, request=AddressQuery, response=AddressInfo
)
