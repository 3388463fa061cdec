"""Rathaus event contracts: the published language between the modules.

A contract is a frozen, keyword-only ``msgspec.Struct`` registered with :func:`contract`.
Each version lives in its own file, ``<producer>/v<N>.py``; the catalogue of all
published contracts is :data:`rathaus.contracts.catalogue.CATALOGUE`.
"""

from rathaus.contracts.envelope import (
    CloudEvent,
    Contract,
    DataClass,
    Event,
    contract,
    decode_event,
    encode_event,
    new_event,
)

__all__ = [
    "CloudEvent",
    "Contract",
    "DataClass",
    "Event",
    "contract",
    "decode_event",
    "encode_event",
    "new_event",
]
