"""Rules of logins through an external identity provider (BundID, BayernID, Mein
Unternehmenskonto): the provider's level values mapped to Rathaus's assurance levels, the
attributes it sends, and how they differ from an account's data (never overwritten
silently)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rathaus.portal.domain.accounts import ASSURANCE_ORDER, Account

LOWEST = ASSURANCE_ORDER[0]
LEVEL_LABELS = {"niedrig": "basis", "substantiell": "substantiell", "hoch": "hoch"}
FIELD_LABELS = {"given_name": "Vorname", "family_name": "Familienname", "birth_date": "Geburtsdatum"}


def map_level(levels: dict[str, str], value: str | None) -> tuple[str, bool]:
    """(Rathaus level, known) for the provider's ``acr`` / ``AuthnContextClassRef``.

    ``levels`` maps the provider's values to niedrig|substantiell|hoch ("basis" is accepted
    as BundID's name for niedrig). A missing or unmapped value counts as the lowest level,
    never higher: ``known`` says whether the value was in the mapping."""
    if not value:
        return LOWEST, False
    mapped = levels.get(value.strip())
    if mapped == "basis":
        mapped = "niedrig"
    if mapped not in ASSURANCE_ORDER:
        return LOWEST, False
    return mapped, True


def level_at_least(have: str | None, needed: str) -> bool:
    rank = ASSURANCE_ORDER.index(have) if have in ASSURANCE_ORDER else -1
    return rank >= ASSURANCE_ORDER.index(needed)


@dataclass(frozen=True)
class Attributes:
    """What the identity provider says about the person (shown before it is used)."""

    given_name: str = ""
    family_name: str = ""
    birth_date: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    email: str = ""
    organisation: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p)

    @property
    def address(self) -> str:
        place = " ".join(p for p in (self.postal_code, self.city) if p)
        return ", ".join(p for p in (self.street, place) if p)

    @property
    def complete(self) -> bool:
        """Enough for an account: names and birth date."""
        return bool(self.given_name and self.family_name and self.birth_date)

    def as_dict(self) -> dict[str, Any]:
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birth_date": self.birth_date,
            "street": self.street,
            "postal_code": self.postal_code,
            "city": self.city,
            "email": self.email,
            "organisation": dict(self.organisation),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attributes:
        org = data.get("organisation")
        return cls(
            **{k: _text(data.get(k)) for k in cls.__dataclass_fields__ if k != "organisation"},
            organisation={str(k): _text(v) for k, v in org.items()} if isinstance(org, dict) else {},
        )


def _text(value: Any, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str | int) else ""


def from_oidc_claims(claims: dict[str, Any]) -> Attributes:
    """Attributes from standard OIDC claims (``birthdate``, the ``address`` object)."""
    address = claims.get("address") if isinstance(claims.get("address"), dict) else {}
    assert isinstance(address, dict)
    street = _text(address.get("street_address"))
    org = claims.get("organisation")
    return Attributes(
        given_name=_text(claims.get("given_name"), 100),
        family_name=_text(claims.get("family_name"), 100),
        birth_date=_text(claims.get("birthdate"), 10),
        street=street,
        postal_code=_text(address.get("postal_code"), 10),
        city=_text(address.get("locality"), 80),
        email=_text(claims.get("email")).lower(),
        organisation={str(k): _text(v) for k, v in org.items()} if isinstance(org, dict) else {},
    )


@dataclass(frozen=True)
class Difference:
    field: str
    label: str
    account: str
    provider: str


def differences(account: Account, received: Attributes) -> list[Difference]:
    """The account's data the provider sees differently (empty values from the provider
    are no difference: nothing is taken away)."""
    out = []
    for name, label in FIELD_LABELS.items():
        mine, theirs = getattr(account, name), getattr(received, name)
        if theirs and mine.casefold() != theirs.casefold():
            out.append(Difference(name, label, mine, theirs))
    return out
