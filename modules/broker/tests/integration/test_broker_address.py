"""The street directory over the real bus: the facts of an address (version 2) and the
same answer in version 1's shape."""

from __future__ import annotations

from rathaus.broker.seed import synthetic_residents
from rathaus.contracts.broker import v1, v2
from rathaus.platform.kernel import Kernel

ZENETTI = "02 Ludwigsvorstadt-Isarvorstadt"


async def test_the_facts_of_an_address(kernels: tuple[Kernel, Kernel]) -> None:
    _, portal = kernels
    found = await portal.ask(
        v2.LOOKUP_ADDRESS, v1.AddressQuery(street="Zenettistr.", house_number="12", postal_code="80337")
    )
    assert found == v2.AddressFacts(
        found=True, attributes={"stadtbezirk": ZENETTI, "parkzone": "Schlachthofviertel"}
    )
    # another house number of the same street and postal code: the street answers
    other = await portal.ask(
        v2.LOOKUP_ADDRESS, v1.AddressQuery(street="zenettistraße", house_number="99", postal_code="80337")
    )
    assert other.found and other.attributes["parkzone"] == "Schlachthofviertel"
    unknown = await portal.ask(
        v2.LOOKUP_ADDRESS, v1.AddressQuery(street="Nirgendwostraße", house_number="1", postal_code="80331")
    )
    assert not unknown.found and unknown.attributes == {} and "Straßenverzeichnis" in unknown.message
    wrong_postcode = await portal.ask(
        v2.LOOKUP_ADDRESS, v1.AddressQuery(street="Zenettistraße", house_number="12", postal_code="80331")
    )
    assert not wrong_postcode.found


async def test_an_address_outside_every_parking_zone_has_an_empty_parkzone(
    kernels: tuple[Kernel, Kernel],
) -> None:
    _, portal = kernels
    people, _ = synthetic_residents()
    edge = next(p for p in people if p["parkzone"] == "" and p["main_residence"])
    query = v1.AddressQuery(
        street=str(edge["street"]),
        house_number=str(edge["house_number"]),
        postal_code=str(edge["postal_code"]),
    )
    facts = await portal.ask(v2.LOOKUP_ADDRESS, query)
    assert facts.found and facts.attributes == {"stadtbezirk": edge["stadtbezirk"], "parkzone": ""}


async def test_version_1_still_answers(kernels: tuple[Kernel, Kernel]) -> None:
    _, portal = kernels
    found = await portal.ask(
        v1.LOOKUP_ADDRESS, v1.AddressQuery(street="Zenettistr.", house_number="12", postal_code="80337")
    )
    assert found == v1.AddressInfo(found=True, stadtbezirk=ZENETTI, parkzone="Schlachthofviertel")
    unknown = await portal.ask(
        v1.LOOKUP_ADDRESS, v1.AddressQuery(street="Nirgendwostraße", house_number="1", postal_code="80331")
    )
    assert not unknown.found and "Straßenverzeichnis" in unknown.message
