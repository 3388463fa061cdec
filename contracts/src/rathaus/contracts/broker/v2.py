"""Data broker, version 2: register data by attribute, for any form that declares a
prefill (FIM vorbefuellung), and the street directory's facts of an address."""

from __future__ import annotations

import msgspec

from rathaus.contracts.broker.v1 import AddressQuery
from rathaus.contracts.common import Person
from rathaus.contracts.envelope import DataClass, Event, contract
from rathaus.contracts.rpc import rpc


class EvidenceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The portal asks, on the citizen's explicit request, for register attributes.

    ``attributes`` like "melderegister.strasse" or "fahrzeugregister.kennzeichen": only
    these are released (data minimisation)."""

    account_id: str
    assurance_level: str  # "niedrig" | "substantiell" | "hoch"
    person: Person  # the identity the account was verified with
    attributes: list[str]
    purpose: str
    legal_basis: str
    service_id: str
    case_id: str
    requester: str = "portal"


class EvidenceResponse(msgspec.Struct, frozen=True, kw_only=True):
    released: bool
    message: str  # for the citizen, in German, when nothing was released
    evidence_id: str = ""
    values: dict[str, list[str]] = {}  # attribute -> values (a person may hold several vehicles)


FETCH_EVIDENCE = rpc(
    module="broker", operation="evidence.fetch", version=2, request=EvidenceRequest, response=EvidenceResponse
)


class AddressFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the street directory knows of an address (public data)."""

    found: bool
    attributes: dict[str, str] = {}  # "stadtbezirk", "parkzone", …
    message: str = ""  # for the citizen, in German, when the address was not found


LOOKUP_ADDRESS = rpc(
    module="broker", operation="address.lookup", version=2, request=AddressQuery, response=AddressFacts
)


class DirectoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One address of the street directory, keyed as rathaus.contracts.addresses keys it."""

    street_key: str
    house_number: str  # house_key() of the number, e.g. "12a"
    postal_code: str
    attributes: dict[str, str]  # "stadtbezirk", "parkzone" ("" for none), …


@contract(
    producer="broker",
    entity="street-directory",
    happened="published",
    version=1,
    data_class=DataClass.PUBLIC,
)
class StreetDirectoryPublished(Event, frozen=True, kw_only=True):
    """An edition of the city's street directory (public data), in parts that fit a message.

    Published by the data broker when the directory it holds has changed (at start, after
    a yearly update). Whoever looks addresses up keeps the newest complete edition: all
    ``parts`` of one ``edition`` (the digest of its entries) arrived."""

    edition: str
    part: int  # 1 … parts
    parts: int
    entries: list[DirectoryEntry]
    published_at: str  # ISO datetime: a later edition replaces an earlier one, never the reverse
