"""The test identity provider's test persons and login methods: who a tester can log in as,
and which assurance level each method gives (like BundID: username = basis, ELSTER
certificate = substantiell, Online-Ausweis = hoch)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Method:
    id: str
    label: str
    level: str  # BundID's name: basis | substantiell | hoch
    acr: str  # what OIDC returns as acr and SAML as AuthnContextClassRef


METHODS = (
    Method("benutzername", "Benutzername/Passwort", "basis", "STORK-QAA-Level-1"),
    Method("elster", "ELSTER-Zertifikat", "substantiell", "STORK-QAA-Level-3"),
    Method("ausweis", "Online-Ausweis", "hoch", "STORK-QAA-Level-4"),
)
METHOD_BY_ID = {m.id: m for m in METHODS}
LEVEL_RANK = {"basis": 0, "substantiell": 1, "hoch": 2}
ACR_RANK = {m.acr: LEVEL_RANK[m.level] for m in METHODS} | {
    "STORK-QAA-Level-2": 0,
    "http://eidas.europa.eu/LoA/low": 0,
    "http://eidas.europa.eu/LoA/substantial": 1,
    "http://eidas.europa.eu/LoA/high": 2,
}


@dataclass(frozen=True)
class TestPerson:
    """A person (or, with ``organisation``, an organisation identity) the tester can pick."""

    __test__ = False  # not a pytest test class

    id: str
    given_name: str
    family_name: str
    birth_date: str
    street: str
    postal_code: str
    city: str
    email: str
    organisation: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}"

    def claims(self) -> dict[str, object]:
        """The OIDC claims (standard names; the address as the ``address`` object)."""
        out: dict[str, object] = {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birthdate": self.birth_date,
            "address": {
                "street_address": self.street,
                "postal_code": self.postal_code,
                "locality": self.city,
                "country": "DE",
            },
            "email": self.email,
        }
        if self.organisation:
            out["organisation"] = dict(self.organisation)
        return out


PERSONS = (
    TestPerson(
        "erika",
        "Erika",
        "Mustermann",
        "1964-08-12",
        "Heidestraße 17",
        "51147",
        "Köln",
        "erika.mustermann@example.org",
    ),
    TestPerson(
        "max",
        "Max",
        "Mustermann",
        "1985-03-01",
        "Sendlinger Straße 1",
        "80331",
        "München",
        "max.mustermann@example.org",
    ),
    TestPerson(
        "oemer",
        "Ömer",
        "Yılmaz",
        "1990-11-23",
        "Landsberger Straße 88",
        "80339",
        "München",
        "oemer.yilmaz@example.org",
    ),
    TestPerson(
        "leonie",
        "Leonie",
        "Schäfer-Özdemir",
        "2001-02-28",
        "Zenettistraße 12",
        "80337",
        "München",
        "leonie.schaefer@example.org",
    ),
    TestPerson(
        "musterbau",
        "Anna",
        "Bauer",
        "1978-06-15",
        "Zenettistraße 12",
        "80337",
        "München",
        "anna.bauer@musterbau.example",
        organisation={
            "name": "Musterbau GmbH",
            "legal_form": "GmbH",
            "register_number": "HRB 123456",
            "street": "Zenettistraße",
            "house_number": "12",
            "postal_code": "80337",
            "city": "München",
        },
    ),
)
PERSON_BY_ID = {p.id: p for p in PERSONS}


def pseudonym(secret: bytes, client: str, key: str) -> str:
    """A stable subject per person and relying party (like BundID's bPK2): the same person
    gets the same subject at one portal and unlinkable ones at two."""
    digest = hmac.new(secret, f"{client}\x00{key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
