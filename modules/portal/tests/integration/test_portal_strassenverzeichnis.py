"""The portal's copy of the street directory: kept from the data broker's events, it answers
a form's address facts as the broker would, without a round trip (issue 12, lean path)."""

from __future__ import annotations

from modules.portal.tests.conftest import World
from rathaus.broker.seed import synthetic_residents
from rathaus.contracts.broker import v1, v2
from rathaus.contracts.broker.v2 import DirectoryEntry, StreetDirectoryPublished
from rathaus.platform.testing import eventually
from rathaus.portal.handlers import Portal


async def test_the_portals_copy_answers_every_address_as_the_broker_does(world: World) -> None:
    portal = Portal(world.portal)

    async def copy_complete() -> bool:
        return await portal.directory_facts("Zenettistr.", "12", "80337") is not None

    await eventually(copy_complete)
    people, _ = synthetic_residents()
    queries = {(str(p["street"]), str(p["house_number"]), str(p["postal_code"])) for p in people[:150]}
    queries |= {
        ("Nirgendwostraße", "1", "80331"),  # unknown
        ("Zenettistraße", "12", "80331"),  # known street, wrong postal code
        ("zenettistraße", "99", "80337"),  # unknown house number: the street answers
        ("Zenettistr.", "12 ", "80337 "),
    }
    for street, house, postal in sorted(queries):
        remote = await world.portal.ask(
            v2.LOOKUP_ADDRESS, v1.AddressQuery(street=street, house_number=house, postal_code=postal)
        )
        local = await portal.directory_facts(street, house, postal)
        assert local == {
            "found": remote.found,
            "attributes": dict(remote.attributes),
            "message": remote.message,
        }, (
            street,
            house,
            postal,
        )


def _part(edition: str, part: int, parts: int, zone: str, at: str) -> StreetDirectoryPublished:
    entries = [
        DirectoryEntry(
            street_key="zenettistraße",
            house_number=str(part),
            postal_code="80337",
            attributes={"stadtbezirk": "02 Ludwigsvorstadt-Isarvorstadt", "parkzone": zone},
        )
    ]
    return StreetDirectoryPublished(edition=edition, part=part, parts=parts, entries=entries, published_at=at)


async def test_an_edition_counts_once_complete_and_a_later_one_replaces_it(
    world_without_broker: World,
) -> None:
    """Parts in any order and twice; a later edition replaces the one in use and its rows go;
    an earlier edition replayed afterwards changes nothing."""
    world = world_without_broker
    portal = Portal(world.portal)

    async def apply(event: StreetDirectoryPublished) -> None:
        async with world.portal.transaction() as uow:
            await portal.on_street_directory(event, uow)

    first = "2027-01-01T00:00:00+00:00"
    await apply(_part("e1", 2, 2, "Schlachthofviertel", first))
    await apply(_part("e1", 2, 2, "Schlachthofviertel", first))
    assert await portal.directory_facts("Zenettistraße", "1", "80337") is None  # incomplete
    await apply(_part("e1", 1, 2, "Schlachthofviertel", first))
    facts = await portal.directory_facts("Zenettistraße", "1", "80337")
    assert facts is not None and facts["attributes"]["parkzone"] == "Schlachthofviertel"

    await apply(_part("e2", 1, 1, "Neue Zone", "2028-01-01T00:00:00+00:00"))
    facts = await portal.directory_facts("Zenettistraße", "1", "80337")
    assert facts is not None and facts["attributes"]["parkzone"] == "Neue Zone"
    # house number 2 was only in the first edition: the street answers for it now
    facts = await portal.directory_facts("Zenettistraße", "2", "80337")
    assert facts is not None and facts["found"] and facts["attributes"]["parkzone"] == "Neue Zone"

    await apply(_part("e1", 1, 2, "Schlachthofviertel", first))  # replayed from the dead letters
    await apply(_part("e1", 2, 2, "Schlachthofviertel", first))
    facts = await portal.directory_facts("Zenettistraße", "1", "80337")
    assert facts is not None and facts["attributes"]["parkzone"] == "Neue Zone"
