"""The mapping of an identity provider's level values (acr, AuthnContextClassRef) to
Rathaus's assurance levels, and the differences shown before an account is changed."""

from __future__ import annotations

import pytest

from rathaus.platform.kernel.settings import DEFAULT_LEVELS, IdentityProviderSettings
from rathaus.portal.domain import Account
from rathaus.portal.domain.identity import (
    Attributes,
    differences,
    from_oidc_claims,
    level_at_least,
    map_level,
)


@pytest.mark.parametrize(
    ("value", "level", "known"),
    [
        ("STORK-QAA-Level-1", "niedrig", True),
        ("STORK-QAA-Level-2", "niedrig", True),
        ("STORK-QAA-Level-3", "substantiell", True),
        ("STORK-QAA-Level-4", "hoch", True),
        ("http://eidas.europa.eu/LoA/low", "niedrig", True),
        ("http://eidas.europa.eu/LoA/substantial", "substantiell", True),
        ("http://eidas.europa.eu/LoA/high", "hoch", True),
        (" STORK-QAA-Level-3 ", "substantiell", True),  # whitespace around an XML text value
        ("stork-qaa-level-4", "niedrig", False),  # values are compared exactly
        ("urn:unknown:level", "niedrig", False),  # never higher than the lowest when unknown
        ("", "niedrig", False),
        (None, "niedrig", False),
    ],
)
def test_default_mapping(value: str | None, level: str, known: bool) -> None:
    assert map_level(DEFAULT_LEVELS, value) == (level, known)


def test_a_configured_mapping_and_bundids_basis() -> None:
    levels = {"basis": "basis", "elster": "substantiell", "eid": "hoch", "kaputt": "super"}  # unchecked here
    assert map_level(levels, "basis") == ("niedrig", True)  # BundID's "basis" is our "niedrig"
    assert map_level(levels, "eid") == ("hoch", True)
    assert map_level(levels, "kaputt") == ("niedrig", False)  # a wrong target never grants more
    assert map_level(levels, "STORK-QAA-Level-4") == ("niedrig", False)  # not in this mapping


def test_settings_refuse_a_wrong_mapping_and_twice_the_same_id() -> None:
    from pydantic import ValidationError

    from rathaus.platform.kernel.settings import IdentitySettings

    with pytest.raises(ValidationError, match="'kaputt' -> 'super'"):
        IdentityProviderSettings(id="a", label="A", issuer="https://a.example", levels={"kaputt": "super"})
    with pytest.raises(ValidationError, match="request_levels"):
        IdentityProviderSettings(id="a", label="A", issuer="https://a.example", request_levels={"basis": "x"})
    with pytest.raises(ValidationError, match="pattern"):
        IdentityProviderSettings(id="../boese", label="A", issuer="https://a.example")
    one = {"id": "a", "label": "A", "issuer": "https://a.example"}
    with pytest.raises(ValidationError, match="unique: a"):
        IdentitySettings(providers=[one, one])  # type: ignore[list-item]


def test_the_default_mapping_is_each_providers_own_copy() -> None:
    a = IdentityProviderSettings(id="a", label="A", issuer="https://a.example")
    b = IdentityProviderSettings(id="b", label="B", issuer="https://b.example")
    a.levels["STORK-QAA-Level-1"] = "hoch"
    assert b.levels == DEFAULT_LEVELS and DEFAULT_LEVELS["STORK-QAA-Level-1"] == "niedrig"


@pytest.mark.parametrize(
    ("have", "needed", "ok"),
    [
        ("niedrig", "niedrig", True),
        ("niedrig", "substantiell", False),
        ("substantiell", "substantiell", True),
        ("hoch", "substantiell", True),
        ("substantiell", "hoch", False),
        (None, "niedrig", False),
        ("basis", "niedrig", False),  # only stored names count
    ],
)
def test_level_at_least(have: str | None, needed: str, ok: bool) -> None:
    assert level_at_least(have, needed) is ok


def test_attributes_from_claims_and_differences() -> None:
    claims = {
        "given_name": "  Erika ",
        "family_name": "Mustermann",
        "birthdate": "1964-08-12",
        "address": {"street_address": "Heidestraße 17", "postal_code": "51147", "locality": "Köln"},
        "email": "Erika@Example.ORG",
        "organisation": ["not", "an", "object"],
    }
    a = from_oidc_claims(claims)
    assert (a.name, a.address, a.email, a.organisation) == (
        "Erika Mustermann",
        "Heidestraße 17, 51147 Köln",
        "erika@example.org",
        {},
    )
    assert Attributes.from_dict(a.as_dict()) == a
    account = Account("id", "e@example.org", "Erika", "Musterfrau", "1964-08-12", "niedrig")
    diffs = differences(account, a)
    assert [(d.field, d.account, d.provider) for d in diffs] == [("family_name", "Musterfrau", "Mustermann")]
    # a value the provider did not send is no difference: nothing is taken away
    assert differences(account, Attributes(family_name="Musterfrau")) == []
    assert not Attributes(given_name="Erika").complete
