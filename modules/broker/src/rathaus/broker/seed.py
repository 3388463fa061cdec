"""The synthetic registers of the demo city: residents across Munich's 25 Stadtbezirke
and their residents' parking zones (Parklizenzgebiete), with the day each moved in
(Einzugsdatum), vehicles for about half of them.
Deterministic (fixed seed) and idempotent."""

from __future__ import annotations

import random

import sqlalchemy as sa
from faker import Faker
from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.broker.domain import house_key, moved_in, normalise, street_key
from rathaus.broker.store import residents, strassen, vehicles

# district -> (postal codes, residents' parking zones; none at the edge of the city)
STADTBEZIRKE: dict[str, tuple[list[str], list[str]]] = {
    "01 Altstadt-Lehel": (["80331", "80333", "80538", "80539"], ["Lehel", "Altstadt"]),
    "02 Ludwigsvorstadt-Isarvorstadt": (
        ["80336", "80337", "80469"],
        ["Schlachthofviertel", "Gärtnerplatz", "Glockenbach"],
    ),
    "03 Maxvorstadt": (["80333", "80335", "80799"], ["Maxvorstadt-Universität", "Josephsplatz"]),
    "04 Schwabing-West": (["80796", "80797", "80801"], ["Hohenzollernplatz", "Elisabethmarkt"]),
    "05 Au-Haidhausen": (["81541", "81667", "81669"], ["Haidhausen-Nord", "Au"]),
    "06 Sendling": (["81369", "81371", "81373"], ["Sendlinger Kirche", "Harras"]),
    "07 Sendling-Westpark": (["81373", "81377"], ["Westpark"]),
    "08 Schwanthalerhöhe": (["80339"], ["Westend"]),
    "09 Neuhausen-Nymphenburg": (["80634", "80636", "80637", "80639"], ["Neuhausen", "Rotkreuzplatz"]),
    "10 Moosach": (["80992", "80993", "80997"], []),
    "11 Milbertshofen-Am Hart": (["80807", "80809", "80937"], []),
    "12 Schwabing-Freimann": (["80802", "80803", "80804", "80805"], ["Münchner Freiheit", "Schwabing-Nord"]),
    "13 Bogenhausen": (["81675", "81677", "81679", "81925"], ["Bogenhausen-Süd"]),
    "14 Berg am Laim": (["81671", "81673"], []),
    "15 Trudering-Riem": (["81825", "81827", "81829"], []),
    "16 Ramersdorf-Perlach": (["81539", "81549", "81735", "81737"], []),
    "17 Obergiesing-Fasangarten": (["81539", "81541", "81549"], ["Obergiesing"]),
    "18 Untergiesing-Harlaching": (["81543", "81545", "81547"], ["Untergiesing"]),
    "19 Thalkirchen-Obersendling-Forstenried-Fürstenried-Solln": (["81379", "81475", "81476", "81477"], []),
    "20 Hadern": (["81375", "81377"], []),
    "21 Pasing-Obermenzing": (["81241", "81243", "81245", "81247"], ["Pasing Zentrum"]),
    "22 Aubing-Lochhausen-Langwied": (["81243", "81249"], []),
    "23 Allach-Untermenzing": (["80997", "80999"], []),
    "24 Feldmoching-Hasenbergl": (["80933", "80935", "80995"], []),
    "25 Laim": (["80686", "80687", "80689"], ["Laim-Nord"]),
}
MAKES = [
    ("Volkswagen", "Golf"),
    ("BMW", "3er"),
    ("Audi", "A4"),
    ("Mercedes-Benz", "A-Klasse"),
    ("Opel", "Corsa"),
    ("Škoda", "Octavia"),
    ("Renault", "Zoe"),
    ("Fiat", "500"),
    ("Tesla", "Model 3"),
]
DEMO = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birth_date": "1964-08-12",
    "street": "Zenettistraße",
    "house_number": "12",
    "postal_code": "80337",
    "city": "München",
    "stadtbezirk": "02 Ludwigsvorstadt-Isarvorstadt",
    "parkzone": "Schlachthofviertel",
    "main_residence": True,
    "moved_in": "2019-03-01",
}
DEMO_VEHICLE = {
    "kennzeichen": "M-EM 1964",
    "make": "Volkswagen",
    "model": "Golf",
    "holder_since": "2019-03-01",
}
SIZE = 2000


def synthetic_residents(
    count: int = SIZE, seed: int = 20261122
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    fake = Faker("de_DE")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    people: list[dict[str, object]] = [{"id": 1, **DEMO}]
    cars: list[dict[str, object]] = [{**DEMO_VEHICLE, "holder_id": 1}]
    plates = {DEMO_VEHICLE["kennzeichen"]}
    districts = list(STADTBEZIRKE)
    for rid in range(2, count + 1):
        district = districts[rng.randrange(len(districts))]
        codes, zones = STADTBEZIRKE[district]
        person: dict[str, object] = {
            "id": rid,
            "given_name": fake.first_name(),
            "family_name": fake.last_name(),
            "birth_date": fake.date_of_birth(minimum_age=18, maximum_age=95).isoformat(),
            "street": fake.street_name(),
            "house_number": str(rng.randint(1, 140)),
            "postal_code": rng.choice(codes),
            "city": "München",
            "stadtbezirk": district,
            "parkzone": rng.choice(zones) if zones and rng.random() < 0.9 else "",
            "main_residence": rng.random() < 0.95,
        }
        person["moved_in"] = moved_in(rid, str(person["birth_date"]))
        people.append(person)
        if rng.random() < 0.5:
            while True:
                letters = "".join(rng.choice("ABCDEFGHKLMNPRSTUVWXYZ") for _ in range(rng.randint(1, 2)))
                plate = f"M-{letters} {rng.randint(1, 9999)}"
                if plate not in plates:
                    plates.add(plate)
                    break
            make, model = rng.choice(MAKES)
            cars.append(
                {
                    "kennzeichen": plate,
                    "holder_id": rid,
                    "make": make,
                    "model": model,
                    "holder_since": fake.date_between(start_date="-15y").isoformat(),
                }
            )
    for person in people:
        person["given_key"] = normalise(str(person["given_name"]))
        person["family_key"] = normalise(str(person["family_name"]))
    return people, cars


def street_directory(people: list[dict[str, object]]) -> list[dict[str, object]]:
    """The demo city's street directory: every address its residents live at."""
    rows: dict[tuple[str, str, str], dict[str, object]] = {}
    for p in people:
        key = (street_key(str(p["street"])), house_key(str(p["house_number"])), str(p["postal_code"]))
        rows.setdefault(
            key,
            {
                "street_key": key[0],
                "house_number": key[1],
                "postal_code": key[2],
                "street": p["street"],
                "stadtbezirk": p["stadtbezirk"],
                "parkzone": p["parkzone"],
            },
        )
    return list(rows.values())


async def seed_registers(session: AsyncSession) -> bool:
    """Fill the registers once; False when they already hold data."""
    if (await session.execute(sa.select(sa.func.count()).select_from(residents))).scalar_one():
        return False
    people, cars = synthetic_residents()
    await session.execute(residents.insert(), people)
    await session.execute(vehicles.insert(), cars)
    await seed_street_directory(session)
    return True


async def seed_street_directory(session: AsyncSession) -> None:
    """The street directory of the demo city, once (also for a data dir seeded before it existed)."""
    if (await session.execute(sa.select(sa.func.count()).select_from(strassen))).scalar_one():
        return
    if not (await session.execute(sa.select(sa.func.count()).select_from(residents))).scalar_one():
        return  # not a demo city
    people, _ = synthetic_residents()
    await session.execute(strassen.insert(), street_directory(people))
