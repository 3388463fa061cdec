"""JSON Schemas of the published contracts, and the compatibility check.

A published version may only gain optional fields. Anything else (a removed or
retyped field, a field that became required or optional, a changed enum) is a
breaking change and must be published as a new version beside the old one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from rathaus.contracts.catalogue import contracts, rpcs
from rathaus.contracts.envelope import Contract

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"
_NOISE = {"title", "description", "default", "examples", "$comment"}


def _struct_schema(struct: type, **meta: Any) -> dict[str, Any]:
    (body,), defs = msgspec.json.schema_components([struct], ref_template="#/$defs/{name}")
    body = defs.pop(body["$ref"].removeprefix("#/$defs/"))  # the contract itself at the top
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", **meta, **body}
    if defs:
        schema["$defs"] = defs
    return schema


def schema_of(meta: Contract) -> dict[str, Any]:
    """The JSON Schema of one contract version, with its CloudEvents metadata."""
    return _struct_schema(
        meta.struct,
        **{
            "$id": meta.dataschema,
            "x-cloudevents-type": meta.type,
            "x-nats-subject": meta.subject,
            "x-data-class": meta.data_class.value,
        },
    )


def published_schemas() -> dict[str, dict[str, Any]]:
    """Name -> schema of every event contract and of both halves of every request/reply."""
    out = {meta.name: schema_of(meta) for meta in contracts()}
    for entry in rpcs():
        for half, struct in (("request", entry.request), ("response", entry.response)):
            out[f"{entry.name}.{half}"] = _struct_schema(struct, **{"x-nats-subject": entry.subject})
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(directory: Path = SCHEMA_DIR) -> list[str]:
    """Write the schema of every contract version not yet published; return the new names.

    A schema already published is never overwritten: changing it is what
    :func:`check` forbids.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in published_schemas().items():
        path = directory / f"{name}.json"
        if not path.exists():
            path.write_text(render(schema))
            written.append(name)
    return written


def check(directory: Path = SCHEMA_DIR) -> list[str]:
    """Compare the code's contracts with the published schemas; return the problems."""
    current = published_schemas()
    problems = []
    for path in sorted(directory.glob("*.json")):
        name = path.stem
        published = json.loads(path.read_text())
        if name not in current:
            problems.append(f"{name}: published contract was removed")
            continue
        problems += [f"{name}: {p}" for p in compare(published, current[name])]
    for name in sorted(set(current) - {p.stem for p in directory.glob("*.json")}):
        problems.append(f"{name}: not published yet (run `make schemas` and commit)")
    return problems


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Breaking differences between two versions of one contract's schema."""
    for key in ("x-cloudevents-type", "x-nats-subject", "x-data-class"):
        if old.get(key) != new.get(key):
            return [f"{key} changed from {old.get(key)!r} to {new.get(key)!r}"]
    return _compare(old, new, old.get("$defs", {}), new.get("$defs", {}), "data")


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(defs[ref.removeprefix("#/$defs/")], defs)
    return node


def _compare(
    old: dict[str, Any], new: dict[str, Any], odefs: dict[str, Any], ndefs: dict[str, Any], at: str
) -> list[str]:
    old, new = _resolve(old, odefs), _resolve(new, ndefs)
    if old.get("type") == "object" and "properties" in old:
        if new.get("type") != "object" or "properties" not in new:
            return [f"{at}: was an object, is now {new.get('type')!r}"]
        problems = []
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for field, sub in old["properties"].items():
            if field not in new["properties"]:
                problems.append(f"{at}.{field}: removed")
                continue
            if (field in old_required) != (field in new_required):
                state = "required" if field in new_required else "optional"
                problems.append(f"{at}.{field}: became {state}")
            problems += _compare(sub, new["properties"][field], odefs, ndefs, f"{at}.{field}")
        for field in sorted(new_required - set(old["properties"])):
            problems.append(f"{at}.{field}: new field must be optional with a default")
        return problems
    for combinator in ("anyOf", "oneOf"):
        if combinator in old:
            if len(old[combinator]) != len(new.get(combinator, [])):
                return [f"{at}: {combinator} alternatives changed"]
            return [
                p
                for i, (o, n) in enumerate(zip(old[combinator], new[combinator], strict=True))
                for p in _compare(o, n, odefs, ndefs, f"{at}[{i}]")
            ]
    if "items" in old:
        if "items" not in new:
            return [f"{at}: was an array"]
        return _compare(old["items"], new["items"], odefs, ndefs, f"{at}[]")
    if _plain(old) != _plain(new):
        return [f"{at}: type changed from {_plain(old)} to {_plain(new)}"]
    return []


def _plain(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in _NOISE}
