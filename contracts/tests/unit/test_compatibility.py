"""The compatibility check: a published contract version may only gain optional fields."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import msgspec

from rathaus.contracts import DataClass, Event, contract
from rathaus.contracts.schemas import check, compare, generate, schema_of


class Address(msgspec.Struct, frozen=True, kw_only=True):
    street: str
    postal_code: str


@contract(producer="platform", entity="compat", happened="tested", version=1, data_class=DataClass.INTERNAL)
class CompatTested(Event, frozen=True, kw_only=True):
    case_id: str
    count: int
    address: Address
    tags: list[str] = []


def variant(**fields: object) -> dict[str, object]:
    """The schema of CompatTested as it would be with other fields."""
    spec = [(name, *kind) if isinstance(kind, tuple) else (name, kind) for name, kind in fields.items()]
    struct = msgspec.defstruct("CompatTested", spec, bases=(Event,), frozen=True, kw_only=True)
    return schema_of(dataclasses.replace(CompatTested.__contract__, struct=struct))
    struct.__contract__ = CompatTested.__contract__  # type: ignore[attr-defined]
    return schema_of(
        struct.__contract__.__class__(**{**CompatTested.__contract__.__dict__, "struct": struct})
    )


PUBLISHED = schema_of(CompatTested.__contract__)
BASE = {"case_id": str, "count": int, "address": Address, "tags": (list[str], [])}


def test_unchanged_and_an_added_optional_field_are_compatible() -> None:
    assert compare(PUBLISHED, PUBLISHED) == []
    assert compare(PUBLISHED, variant(**BASE, note=(str, ""))) == []


def test_removed_retyped_and_required_fields_are_breaking() -> None:
    without = {k: v for k, v in BASE.items() if k != "count"}
    assert compare(PUBLISHED, variant(**without)) == ["data.count: removed"]
    assert compare(PUBLISHED, variant(**{**BASE, "count": str})) == [
        "data.count: type changed from {'type': 'integer'} to {'type': 'string'}"
    ]
    assert compare(PUBLISHED, variant(**BASE, note=str)) == [
        "data.note: new field must be optional with a default"
    ]
    assert compare(PUBLISHED, variant(**{**BASE, "tags": list[str]})) == ["data.tags: became required"]


def test_a_change_inside_a_nested_struct_is_breaking() -> None:
    class Address(msgspec.Struct, frozen=True, kw_only=True):  # same name, other shape
        street: str

    assert compare(PUBLISHED, variant(**{**BASE, "address": Address})) == [
        "data.address.postal_code: removed"
    ]


def test_check_fails_on_a_published_schema_the_code_no_longer_matches(tmp_path: Path) -> None:
    generate(tmp_path)
    assert [p for p in check(tmp_path) if "compat" in p] == []
    published = tmp_path / "platform.compat.tested.v1.json"
    schema = json.loads(published.read_text())
    schema["properties"]["legacy"] = {"type": "string"}  # the published version had a field
    schema["required"].append("legacy")  # that the code has since dropped
    published.write_text(json.dumps(schema))
    assert check(tmp_path) == ["platform.compat.tested.v1: data.legacy: removed"]


def test_generate_never_overwrites_a_published_schema(tmp_path: Path) -> None:
    generate(tmp_path)
    published = tmp_path / "platform.compat.tested.v1.json"
    published.write_text('{"frozen": true}')
    generate(tmp_path)
    assert published.read_text() == '{"frozen": true}'
