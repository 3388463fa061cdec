"""An application's data as people read it: sections, labels and formatted values, from
the definition (groups, repeats, code list names), for the portal's summary, the staff
case page and the Bescheid alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rathaus.platform.kernel.procedures.definition import Definition, Node
from rathaus.platform.kernel.procedures.engine import display_number


@dataclass
class Item:
    label: str
    value: str
    name: str = ""


@dataclass
class Section:
    """A group as shown: its items, then its sub-sections (nested groups and repeated rows)."""

    title: str
    name: str
    items: list[Item] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    step: str = ""

    @property
    def empty(self) -> bool:
        return not self.items and all(s.empty for s in self.sections)


def format_value(definition: Definition, node: Node, value: Any) -> str:
    e = node.element
    if value is None or value == "":
        return "–"
    if e.kind == "select":
        return definition.code_name(e.codelist, value)
    kind = e.datatype
    if kind == "bool":
        return "ja" if value is True else "nein"
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).strftime("%d.%m.%Y")
        except ValueError:
            return str(value)
    if kind == "datetime":
        try:
            return datetime.fromisoformat(str(value)).strftime("%d.%m.%Y, %H:%M Uhr")
        except ValueError:
            return str(value)
    if kind == "time":
        return f"{value} Uhr"
    if kind == "num_currency":
        return f"{display_number(value, kind)} €"
    if kind in ("num", "num_int"):
        return display_number(value, kind)
    if kind == "file":
        if isinstance(value, Mapping):
            return str(value.get("filename") or value.get("dateiname") or "Datei")
        return "Datei"
    return str(value)


def sections(
    definition: Definition,
    data: Mapping[str, Any],
    files: Mapping[str, Any] | None = None,
    *,
    hide_empty: bool = True,
) -> list[Section]:
    """The data by the form's groups; ``files`` maps a file field to its attachment."""
    files = files or {}

    def group(node: Node, row: Mapping[str, Any], title: str) -> Section:
        section = Section(title, node.name)
        for child in definition.children(node.name):
            e = child.element
            if child.repeats:
                rows = data.get(child.name) or []
                outer = Section(e.label, child.name)
                for i, r in enumerate(rows):
                    outer.sections.append(group(child, r, f"{e.row_label or e.label} {i + 1}"))
                if rows or not hide_empty:
                    section.sections.append(outer)
            elif child.is_group:
                inner = group(child, row, e.label)
                if not (hide_empty and inner.empty):
                    section.sections.append(inner)
            elif child.is_file:
                attached = files.get(child.name)
                if attached or not hide_empty:
                    section.items.append(Item(e.label, format_value(definition, child, attached), child.name))
            elif child.holds_value and e.kind != "hidden":
                value = row.get(child.name)
                if value is not None or not hide_empty:
                    section.items.append(Item(e.label, format_value(definition, child, value), child.name))
        return section

    out = []
    for step in definition.steps:
        node = definition.node(step)
        section = group(node, data, node.element.label)
        section.step = step
        if not (hide_empty and section.empty):
            out.append(section)
    return out


def flat(definition: Definition, data: Mapping[str, Any]) -> dict[str, str]:
    """Every non-repeating field's value as text, by name (for a template's ``angaben``)."""
    out = {}
    for node in definition.fields():
        if node.repeating_group or node.is_file:
            continue
        value = data.get(node.name)
        if value is not None:
            out[node.name] = format_value(definition, node, value)
    return out
