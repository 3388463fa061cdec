"""Validation against the official xdomea 3.0.0 XSDs (vendored under ``schemes/``): every
message is checked before it is sent and after it is received. Loading the schema takes
about a second, so it happens once, off the event loop."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).parent / "schemes" / "xdomea_3.0.0" / "xdomea.xsd"
_lock = threading.Lock()
_schema: Any = None


class XdomeaInvalid(ValueError):
    """A message that is not valid xdomea 3.0.0; the text is German and names the first
    problem (never the message's content beyond the element path)."""


def schema() -> Any:
    global _schema
    with _lock:
        if _schema is None:
            import xmlschema

            _schema = xmlschema.XMLSchema(str(SCHEMA))
        return _schema


def validate(xml: bytes) -> None:
    """Raise :class:`XdomeaInvalid` unless ``xml`` is valid against the xdomea 3.0.0 XSDs."""
    from xml.etree import ElementTree

    import xmlschema

    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - expat without external entities
    except ElementTree.ParseError as exc:
        raise XdomeaInvalid(f"Die Nachricht ist kein wohlgeformtes XML ({exc}).") from None
    try:
        schema().validate(root)
    except xmlschema.XMLSchemaValidationError as exc:
        where = re.sub(r"\{[^}]*\}", "", exc.path or "?")
        reason = (exc.reason or "ungültig").splitlines()[0][:300]
        raise XdomeaInvalid(
            f"Die Nachricht ist nicht gültig nach xdomea 3.0.0 ({where}: {reason})."
        ) from None


async def validate_async(xml: bytes) -> None:
    await asyncio.to_thread(validate, xml)
