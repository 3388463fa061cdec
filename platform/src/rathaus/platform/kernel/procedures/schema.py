"""The JSON Schema (2020-12) of a service version's submission, from its definition.

FIT-Connect style: one schema per service and version at a stable URL. It describes the
body of ``POST /api/antraege``: ``angaben`` (the data, fields by name, a repeating group
as an array of rows) and ``nachweise`` (the files). The schema never refuses what the
rule engine accepts: conditions (visible_if, required_if, rules) are the engine's; the
schema holds what is true unconditionally (types, code lists, lengths, patterns, counts).
Two limits of that promise: a value for a field that is not shown (its visible_if does
not hold) is ignored by the engine but must still have the field's form here, so a client
sends none; and texts are described as the engine keeps them (no leading, trailing or
doubled spaces), while the engine also tidies spaces it receives.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rathaus.platform.kernel.procedures.definition import Definition, Node
from rathaus.platform.kernel.procedures.engine import text_max
from rathaus.platform.kernel.procedures.expressions import Context, decimal

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_url(base_url: str, definition: Definition) -> str:
    return f"{base_url.rstrip('/')}/api/schemas/{definition.id}/{definition.version}.schema.json"


def _constant(node: Node, which: str) -> Decimal | None:
    """A numeric bound that does not depend on anything (a literal in the file)."""
    expr = node.min_value if which == "min" else node.max_value
    if expr is None or expr.names() or "(" in expr.source:
        return None
    value = expr(Context({}, today=date.today()))
    return decimal(value)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def field_schema(definition: Definition, node: Node) -> dict[str, Any]:
    e = node.element
    out: dict[str, Any] = {"title": e.label}
    if e.id:
        out["$comment"] = f"FIM {e.id} v{e.version}"
    if e.help:
        out["description"] = e.help
    kind = e.datatype
    if e.kind == "select":
        codelist = definition.codelists[e.codelist]
        out["enum"] = [c.code for c in codelist.values]
        out["x-codeliste"] = {"id": codelist.id, "version": codelist.version, "uri": codelist.uri}
        return out
    if kind in ("text", "text_latin"):
        out["type"] = "string"
        out["maxLength"] = text_max(node)
        if e.min_length:
            out["minLength"] = e.min_length
        if e.pattern:
            out["pattern"] = f"^(?:{e.pattern})$"
    elif kind == "bool":
        out["type"] = "boolean"
    elif kind in ("num", "num_currency", "num_int"):
        out["type"] = "integer" if kind == "num_int" else "number"
        if kind == "num_currency":
            # euros with at most two decimals; not as multipleOf 0.01, which binary floats
            # fail (19.99 / 0.01 is not whole): the engine checks the decimals
            out["x-nachkommastellen"] = 2
        low, high = _constant(node, "min"), _constant(node, "max")
        if low is not None:
            out["minimum"] = _number(low)
        if high is not None:
            out["maximum"] = _number(high)
    elif kind == "date":
        out.update(type="string", format="date")
    elif kind == "time":
        out.update(type="string", pattern="^[0-9]{2}:[0-9]{2}$")
    elif kind == "datetime":
        out.update(type="string", pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}$")
    if not node.user_supplied:
        out["readOnly"] = True
    return out


def _unconditionally_required(definition: Definition, node: Node) -> bool:
    """Required whatever else was entered: in the schema's ``required``."""
    if not node.user_supplied or node.is_file or node.low < 1:
        return False
    current: Node | None = node
    while current is not None:
        if current.visible_if is not None:
            return False
        parent = current.element.parent
        if not parent:
            break
        current = definition.node(parent)
        if current.repeats:
            break  # inside a row: its own rows decide
        if current.low < 1:
            return False  # an optional group
    return True


def _object(definition: Definition, nodes: list[Node]) -> dict[str, Any]:
    properties = {n.name: field_schema(definition, n) for n in nodes}
    required = [n.name for n in nodes if _unconditionally_required(definition, n)]
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def submission_schema(definition: Definition, base_url: str) -> dict[str, Any]:
    """The schema of a submission of this version (the API's request body)."""
    p = definition.procedure
    values = [n for n in definition.fields() if not n.repeating_group and not n.is_file]
    angaben = _object(definition, values)
    for group in definition.repeating_groups():
        rows = [n for n in definition.fields() if n.repeating_group == group.name]
        array: dict[str, Any] = {
            "type": "array",
            "title": group.element.label,
            "items": _object(definition, rows),
        }
        if group.high is not None:
            array["maxItems"] = group.high
        if group.element.id:
            array["$comment"] = f"FIM {group.element.id} v{group.element.version}"
        angaben["properties"][group.name] = array
    files = [n for n in definition.file_fields()]
    nachweis: dict[str, Any] = {
        "type": "object",
        "properties": {
            "art": {"enum": [n.name for n in files]},
            "dateiname": {"type": "string", "maxLength": 255},
            "inhalt_base64": {"type": "string", "contentEncoding": "base64"},
        },
        "required": ["art", "dateiname", "inhalt_base64"],
        "additionalProperties": False,
    }
    properties: dict[str, Any] = {
        "service_id": {"const": p.id},
        "version": {"const": p.version},
        "vorgangsnummer": {"type": ["string", "null"], "format": "uuid"},
        "angaben": angaben,
        "nachweise": {"type": "array", "items": nachweis, "maxItems": max(len(files), 0)},
        "registerdaten": {
            "type": ["string", "null"],
            "description": "Die Kennung eines bestätigten Registerabrufs (evidence_id), wenn Daten übernommen werden",
        },
        "im_namen_von": {
            "type": ["string", "null"],
            "description": "Die Kennung des Unternehmenskontos, für das der Antrag gestellt wird",
        },
    }
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": schema_url(base_url, definition),
        "title": f"{p.title} (Version {p.version})",
        "description": p.summary,
        "type": "object",
        "properties": properties,
        "required": ["service_id", "angaben"],
        "additionalProperties": False,
        "x-leistung": {
            "id": p.id,
            "version": p.version,
            "leika": f"urn:de:fim:leika:leistung:{p.leika}" if p.leika else "",
            "digest": definition.digest,
        },
    }
    return schema
