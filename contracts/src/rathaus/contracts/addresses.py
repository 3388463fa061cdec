"""How the city's street directory keys an address, shared by whoever looks one up.

The data broker keeps the directory and publishes it (``broker.street-directory.published``);
the portal keeps a copy to answer the address facts of a form without asking. Both must key
an address alike, so the keys are part of the contract: "Zenettistr. " and "zenettistraße"
are one street, "12 a" and "12A" one house number.
"""

from __future__ import annotations

import unicodedata

# what the citizen reads when the directory does not know the address (whoever answers)
ADDRESS_UNKNOWN = (
    "Diese Anschrift steht nicht im Straßenverzeichnis der Stadt. Bitte prüfen Sie Straße, "
    "Hausnummer und Postleitzahl."
)


def normalise(value: str) -> str:
    """Compare names the way a register clerk would: case, accents and spaces aside."""
    folded = unicodedata.normalize("NFKC", value).casefold().strip()
    return " ".join(folded.split())


def street_key(street: str) -> str:
    """A street as the directory files it: "Zenettistr. " and "zenettistraße" are one street."""
    key = normalise(street).replace("-", " ")
    for short in ("str.", "str"):
        if key.endswith(short):
            key = key.removesuffix(short) + "straße"
    return key.replace("strasse", "straße").replace(" ", "")


def house_key(house_number: str) -> str:
    return normalise(house_number).replace(" ", "")
