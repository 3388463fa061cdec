"""Validation against the official xdomea 3.0.0 XSDs (shipped under ``schemes/``): every
message is checked before it is sent and after it is received. One schema per process, the
one of :mod:`rathaus.eakte.xdomea.common`; loading it takes about a second, so the async
variant runs off the event loop."""

from __future__ import annotations

import asyncio

from rathaus.eakte.xdomea.common import XdomeaInvalid
from rathaus.eakte.xdomea.common import validate as _validate

__all__ = ["XdomeaInvalid", "validate", "validate_async"]


def validate(xml: bytes) -> None:
    """Raise :class:`XdomeaInvalid` unless ``xml`` is valid against the xdomea 3.0.0 XSDs."""
    _validate(xml)


async def validate_async(xml: bytes) -> None:
    await asyncio.to_thread(validate, xml)
