"""Value types shared by several contracts."""

from __future__ import annotations

import msgspec


class BlobRef(msgspec.Struct, frozen=True, kw_only=True):
    """A reference to immutable bytes in the object store: never the bytes themselves."""

    sha256: str
    key: str
    size: int
    media_type: str
    filename: str = ""


class Address(msgspec.Struct, frozen=True, kw_only=True):
    street: str
    house_number: str
    postal_code: str
    city: str = "München"


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """A natural person as the administration knows them."""

    given_name: str
    family_name: str
    birth_date: str  # ISO date, YYYY-MM-DD
