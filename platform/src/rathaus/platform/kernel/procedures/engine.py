"""The one rule engine: what a submission's values mean, which fields are visible and
required, what is computed, what is wrong — for the HTML form and the JSON API alike.

Values come in as the form posts them (strings) or as JSON (typed); either way they are
turned into typed values first (``coerce``), then computed values and visibility are
settled, then every visible field and every rule is checked. The result is the
application's data as it is kept (JSON), the German messages by field path, and the
warnings (shown, recorded, not refusing).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from rathaus.platform.kernel.calendar import is_holiday
from rathaus.platform.kernel.procedures.definition import DIRECTORY_SOURCE, Definition, Node
from rathaus.platform.kernel.procedures.expressions import Context, as_json, decimal, truthy

Path = tuple[str | int, ...]
TEXT_MAX = 200  # a text field without max_length takes at most this many characters
LONG_TEXT = 500  # from this max_length on, a text field is a text area
# text_latin: Latin letters (with diacritics), digits, spaces and common punctuation, DIN
# SPEC 91379 in spirit. Letters are judged by their Unicode name: \w would take Cyrillic too.
LATIN_PUNCTUATION = frozenset(".,;:!?'\"()[]/&%+-–—§€@#*°ʼ’‚‘“”„_")
SOURCE_NAMES = {
    "melderegister": "Melderegister",
    "fahrzeugregister": "Fahrzeugregister",
    "konto": "Ihrem Konto",
    "unternehmen": "Ihrem Unternehmenskonto",
    DIRECTORY_SOURCE: "Straßenverzeichnis",
}


def clean(value: str) -> str:
    """What is kept of a typed text: no surrounding or doubled spaces, no control characters."""
    value = "".join(
        " " if ch.isspace() else ch for ch in value if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(value.split())


def latin(text: str) -> bool:
    """Only Latin letters (also with diacritics or combining marks), digits 0-9, spaces, punctuation."""
    for ch in text:
        if ch.isspace() or ch in LATIN_PUNCTUATION or "0" <= ch <= "9":
            continue
        if not unicodedata.name(ch, "").startswith(("LATIN ", "COMBINING ")):
            return False
    return True


def text_max(node: Node) -> int:
    return node.element.max_length or TEXT_MAX


def path_key(path: Path) -> str:
    """('zuziehende', 0, 'vorname') -> 'zuziehende[0].vorname' (the API's keys)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def html_name(path: Path) -> str:
    """('zuziehende', 0, 'vorname') -> 'zuziehende-0-vorname' (the form's input names)."""
    return "-".join(str(p) for p in path)


@dataclass
class Result:
    data: dict[str, Any]  # JSON: visible fields with their typed values, computed ones included
    errors: dict[Path, str] = field(default_factory=dict)
    warnings: dict[Path, str] = field(default_factory=dict)
    visible: set[Path] = field(default_factory=set)
    required: set[Path] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Inputs:
    """What the engine judges: raw values, the files attached, the values of prefill sources."""

    values: Mapping[str, Any]  # name -> value; a repeating group -> list of row mappings
    origin: str = "json"  # "json" (typed) or "form" (strings as posted)
    files: Mapping[str, Any] = field(default_factory=dict)  # file field -> attachment (any truthy)
    sources: Mapping[str, Sequence[str]] = field(default_factory=dict)  # "melderegister.strasse" -> values
    today: date = field(default_factory=date.today)
    holidays: Callable[[date], bool] = is_holiday  # naechster_werktag() skips these (Bavaria)


# -- typed values ---------------------------------------------------------------------------


def german_number(text: str) -> Decimal:
    text = text.replace(" ", "").replace("€", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    return Decimal(text)


def _parse_date(text: str) -> date:
    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
        day, month, year = (int(p) for p in text.split("."))
        return date(year, month, day)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    return date.fromisoformat(text)


def coerce(node: Node, raw: Any, origin: str) -> tuple[Any, str | None]:
    """(typed value or None, German message or None)."""
    e = node.element
    label = e.label
    if raw is None or (isinstance(raw, str) and not clean(raw)):
        return (False, None) if e.datatype == "bool" and origin == "form" else (None, None)
    kind = e.datatype
    if kind in ("text", "text_latin"):
        if not isinstance(raw, str):
            return None, f"Bei „{label}“ wird ein Text erwartet."
        return clean(raw), None
    if kind == "bool":
        if origin == "form":
            return (str(raw).strip().casefold() in ("ja", "true", "on", "1")), None
        if not isinstance(raw, bool):
            return None, f"Bei „{label}“ wird ja oder nein (true oder false) erwartet."
        return raw, None
    if kind in ("num", "num_int", "num_currency"):
        try:
            if origin == "form" and isinstance(raw, str):
                number = german_number(raw)
            elif isinstance(raw, int | float) and not isinstance(raw, bool):
                number = Decimal(str(raw))
            else:
                raise ValueError(raw)
            if not number.is_finite():
                raise ValueError(raw)
        except (InvalidOperation, ValueError):
            return None, f"Bitte geben Sie bei „{label}“ eine Zahl an."
        if kind == "num_int":
            if number != number.to_integral_value():
                return None, f"Bitte geben Sie bei „{label}“ eine ganze Zahl an."
            return int(number), None
        if kind == "num_currency" and number != number.quantize(Decimal("0.01")):
            return None, f"Bitte geben Sie bei „{label}“ einen Betrag mit höchstens zwei Nachkommastellen an."
        return number, None
    if not isinstance(raw, str):
        return None, f"Bei „{label}“ wird ein Text erwartet."
    text = raw.strip()
    try:
        if kind == "date":
            return _parse_date(text), None
        if kind == "time":
            if not re.fullmatch(r"\d{2}:\d{2}", text):
                raise ValueError(text)
            return time.fromisoformat(text), None
        if kind == "datetime":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
                raise ValueError(text)
            return datetime.fromisoformat(text.replace(" ", "T")), None
    except ValueError:
        forms = {
            "date": "als Datum (TT.MM.JJJJ)",
            "time": "als Uhrzeit (HH:MM)",
            "datetime": "mit Datum und Uhrzeit",
        }
        return None, f"Bitte geben Sie „{label}“ {forms[kind]} an."
    return None, None  # file: presence is judged from the attachments


def display_number(value: Any, datatype: str) -> str:
    number = decimal(value)
    if number is None:
        return str(value)
    if datatype == "num_currency":
        text = f"{number:,.2f}"
    elif datatype == "num_int":
        text = f"{int(number):,}"
    else:
        text = f"{number.normalize():f}" if number == number.normalize() else f"{number:f}"
        text = f"{Decimal(text):,}" if "." not in text else text
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


# -- judging ----------------------------------------------------------------------------------


class Judge:
    def __init__(self, definition: Definition, inputs: Inputs) -> None:
        self.d = definition
        self.inputs = inputs
        self.errors: dict[Path, str] = {}
        self.warnings: dict[Path, str] = {}
        self.codelists = {
            name: {c.code: {"name": c.name, **c.extra} for c in cl.values}
            for name, cl in definition.codelists.items()
        }

    def context(self, values: Mapping[str, Any]) -> Context:
        return Context(
            values,
            self.inputs.today,
            self.d.constants,
            self.codelists,
            self.inputs.sources,
            self.inputs.holidays,
            tariffs=self.d.rates,
        )

    # typed values of what was given, by field; sources fill what comes from them
    def typed(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        raw = self.inputs.values
        for node in self.d.fields():
            if node.repeating_group:
                continue
            values[node.name] = self._value(node, raw.get(node.name), (node.name,))
        for group in self.d.repeating_groups():
            given = raw.get(group.name)
            if given is None:
                given = []
            if not isinstance(given, list | tuple) or not all(isinstance(r, Mapping) for r in given):
                self.errors[(group.name,)] = f"Bei „{group.element.label}“ wird eine Liste erwartet."
                given = []
            rows = []
            for i, row in enumerate(given):
                typed_row = {}
                for node in self.d.fields():
                    if node.repeating_group == group.name:
                        typed_row[node.name] = self._value(
                            node, row.get(node.name), (group.name, i, node.name)
                        )
                rows.append(typed_row)
            values[group.name] = rows
        return values

    def _value(self, node: Node, raw: Any, path: Path) -> Any:
        e = node.element
        if node.is_file:
            return self.inputs.files.get(e.name) or None
        if e.prefill and (
            e.prefill_mode == "required" or e.kind == "hidden" or e.prefill.startswith(DIRECTORY_SOURCE)
        ):
            found = self.inputs.sources.get(e.prefill) or ()
            raw = found[0] if found else None
            value, _ = coerce(node, raw, "json" if not isinstance(raw, str) else "form")
            return value
        if not node.user_supplied:
            return None  # computed below; a value sent for it is ignored
        value, message = coerce(node, raw, self.inputs.origin)
        if message:
            self.errors[path] = message
        return value

    def settle(self, values: dict[str, Any]) -> set[Path]:
        """Compute, judge visibility, drop the invisible, until nothing changes."""
        visible: set[Path] = set()
        for _ in range(6):
            self.compute(values)
            now = self.visibility(values)
            self.drop_invisible(values, now)
            if now == visible:
                break
            visible = now
        self.compute(values)
        # an invisible field's value is dropped, and so is what was wrong with it: the
        # applicant cannot correct a field that is not shown
        self.errors = {path: message for path, message in self.errors.items() if path in visible}
        return visible

    def compute(self, values: dict[str, Any]) -> None:
        for name in self.d.order:
            node = self.d.node(name)
            assert node.compute is not None
            if node.repeating_group:
                ctx = self.context(values)
                for i, row in enumerate(values.get(node.repeating_group, [])):
                    row[name] = self._typed_result(node, node.compute(ctx.in_row(row, i + 1)))
            else:
                values[name] = self._typed_result(node, node.compute(self.context(values)))

    def _typed_result(self, node: Node, value: Any) -> Any:
        kind = node.element.datatype
        if value is None:
            return None
        if kind == "num_currency":
            number = decimal(value)
            return number.quantize(Decimal("0.01")) if number is not None else None
        if kind == "num_int":
            number = decimal(value)
            return int(number) if number is not None else None
        if kind == "bool":
            return truthy(value)
        if kind in ("text", "text_latin") and not isinstance(value, str):
            return as_json(value) if not isinstance(value, Decimal) else display_number(value, "num")
        return value

    def visibility(self, values: Mapping[str, Any]) -> set[Path]:
        visible: set[Path] = set()
        ctx = self.context(values)

        def visit(names: tuple[str, ...], prefix: Path, row_ctx: Context) -> None:
            for name in names:
                node = self.d.node(name)
                if node.visible_if is not None and not truthy(node.visible_if(row_ctx)):
                    continue
                if node.repeats:
                    visible.add((*prefix, name))
                    for i, row in enumerate(values.get(name, [])):
                        visit(node.children, (*prefix, name, i), ctx.in_row(row, i + 1))
                    continue
                visible.add((*prefix, name))
                visit(node.children, prefix, row_ctx)

        visit(self.d.steps, (), ctx)
        return visible

    def drop_invisible(self, values: dict[str, Any], visible: set[Path]) -> None:
        for node in self.d.fields():
            if node.repeating_group:
                for i, row in enumerate(values.get(node.repeating_group, [])):
                    if (node.repeating_group, i, node.name) not in visible:
                        row[node.name] = None
            elif (node.name,) not in visible:
                values[node.name] = None
        for group in self.d.repeating_groups():
            if (group.name,) not in visible:
                values[group.name] = []

    # -- checks ---------------------------------------------------------------------------

    def check(self, values: dict[str, Any], visible: set[Path]) -> set[Path]:
        required: set[Path] = set()
        ctx = self.context(values)

        def visit(
            names: tuple[str, ...], prefix: Path, row: Mapping[str, Any], row_ctx: Context, present: bool
        ) -> None:
            for name in names:
                node = self.d.node(name)
                path = (*prefix, name)
                if path not in visible:
                    continue
                if node.repeats:
                    rows = values.get(name, [])
                    self._count(node, rows)
                    for i, r in enumerate(rows):
                        visit(node.children, (*prefix, name, i), r, ctx.in_row(r, i + 1), True)
                elif node.is_group:
                    # an optional group (0:1) left entirely empty is absent: its fields are not required
                    here = present and (node.low >= 1 or self._filled(node, row))
                    visit(node.children, prefix, row, row_ctx, here)
                elif node.holds_value and self._field(node, path, row.get(name), row_ctx, present):
                    required.add(path)

        visit(self.d.steps, (), values, ctx, True)
        self._rules(values, ctx)
        return required

    def _filled(self, group: Node, row: Mapping[str, Any]) -> bool:
        for child in self.d.children(group.name):
            if child.is_group and self._filled(child, row):
                return True
            if child.user_supplied and row.get(child.name) not in (None, False, ""):
                return True
        return False

    def _count(self, node: Node, rows: list[Any]) -> None:
        e = node.element
        title = e.row_label or e.label
        if (node.name,) in self.errors:
            return  # e.g. no list at all: that message says more than a count
        if len(rows) < node.low:
            self.errors[(node.name,)] = (
                f"Bitte geben Sie mindestens {node.low} × „{title}“ an."
                if node.low > 1
                else f"Bitte geben Sie mindestens eine Angabe bei „{e.label}“ an."
            )
        if node.high is not None and len(rows) > node.high:
            self.errors[(node.name,)] = f"Bei „{e.label}“ sind höchstens {node.high} Angaben möglich."

    def _field(self, node: Node, path: Path, value: Any, ctx: Context, present: bool) -> bool:
        """Check one visible field; True when it is required."""
        e = node.element
        required = present and (
            node.low >= 1 or (node.required_if is not None and truthy(node.required_if(ctx)))
        )
        if path in self.errors:
            return required
        if value is None or (value is False and e.datatype == "bool" and required):
            if e.prefill_mode == "required" and e.prefill and required:
                source = SOURCE_NAMES.get(e.prefill.split(".", 1)[0], e.prefill)
                self.errors[path] = (
                    f"„{e.label}“ wird aus dem {source} übernommen. Bitte rufen Sie Ihre Daten "
                    "aus dem Register ab und bestätigen Sie sie."
                )
            elif required and node.user_supplied:  # nobody can type what is computed or looked up
                self.errors[path] = self._missing(node)
            return required
        message = self._precision(node, value, ctx)
        if message:
            self.errors[path] = message
        return required

    def _missing(self, node: Node) -> str:
        e = node.element
        if e.datatype == "file":
            return f"Bitte laden Sie „{e.label}“ hoch."
        if e.kind == "select":
            return f"Bitte wählen Sie bei „{e.label}“ eine der Möglichkeiten."
        if e.datatype == "bool":
            return f"Bitte bestätigen Sie: „{e.label}“."
        return f"Bitte geben Sie „{e.label}“ an."

    def _precision(self, node: Node, value: Any, ctx: Context) -> str | None:
        e = node.element
        label = e.label
        if isinstance(value, str) and e.datatype in ("text", "text_latin"):
            if e.kind == "select":
                if value not in self.codelists.get(e.codelist, {}):
                    return f"Bitte wählen Sie bei „{label}“ eine der Möglichkeiten."
                return None
            if len(value) > text_max(node):
                return f"„{label}“ darf höchstens {text_max(node)} Zeichen lang sein."
            if e.min_length and len(value) < e.min_length:
                return f"„{label}“ muss mindestens {e.min_length} Zeichen lang sein."
            if e.datatype == "text_latin" and not latin(value):
                return (
                    f"Bitte verwenden Sie bei „{label}“ nur lateinische Buchstaben, Ziffern und Satzzeichen."
                )
            if e.pattern and not re.fullmatch(e.pattern, value):
                return e.pattern_message
        low = node.min_value(ctx) if node.min_value is not None else None
        high = node.max_value(ctx) if node.max_value is not None else None
        if e.datatype == "date" and isinstance(value, date):
            if low is not None and isinstance(low, date) and value < low:
                return e.range_message or f"„{label}“ darf nicht vor dem {low:%d.%m.%Y} liegen."
            if high is not None and isinstance(high, date) and value > high:
                return e.range_message or f"„{label}“ darf nicht nach dem {high:%d.%m.%Y} liegen."
            if value.year < 1900:
                return f"Bitte prüfen Sie „{label}“: das Jahr muss nach 1900 liegen."
        number = decimal(value)
        if number is not None and e.datatype in ("num", "num_int", "num_currency"):
            lo, hi = decimal(low), decimal(high)
            if lo is not None and number < lo:
                return e.range_message or f"„{label}“ muss mindestens {display_number(lo, e.datatype)} sein."
            if hi is not None and number > hi:
                return e.range_message or f"„{label}“ darf höchstens {display_number(hi, e.datatype)} sein."
        return None

    def _rules(self, values: dict[str, Any], ctx: Context) -> None:
        for rule in self.d.rules:
            target = self.errors if rule.severity == "error" else self.warnings
            if rule.group:
                for i, row in enumerate(values.get(rule.group, [])):
                    path: Path = (rule.group, i, rule.fields[0]) if rule.fields else (rule.group, i)
                    if path in self.errors:
                        continue
                    if not truthy(rule.check(ctx.in_row(row, i + 1))):
                        target.setdefault(path, rule.message)
                continue
            path = (rule.fields[0],) if rule.fields else ("_regel_" + (rule.id or "antrag"),)
            if any((f,) in self.errors for f in rule.fields):
                continue  # the field's own message comes first
            if not truthy(rule.check(ctx)):
                target.setdefault(path, rule.message)


def judge(definition: Definition, inputs: Inputs) -> Result:
    """Judge a whole submission: typed data, visibility, computed values, every check."""
    j = Judge(definition, inputs)
    values = j.typed()
    visible = j.settle(values)
    required = j.check(values, visible)
    return Result(_data(definition, values), j.errors, j.warnings, visible, required)


def preview(definition: Definition, inputs: Inputs) -> Result:
    """Typed values, visibility and computed values without the checks (to render a form page)."""
    j = Judge(definition, inputs)
    values = j.typed()
    visible = j.settle(values)
    return Result(_data(definition, values), j.errors, {}, visible, set())


def _data(definition: Definition, values: dict[str, Any]) -> dict[str, Any]:
    """What is kept of an application: the non-empty values, as JSON."""
    out: dict[str, Any] = {}
    for node in definition.fields():
        if node.repeating_group or node.is_file:
            continue
        value = values.get(node.name)
        if value is not None:
            out[node.name] = as_json(value)
    for group in definition.repeating_groups():
        rows = values.get(group.name) or []
        if rows:
            out[group.name] = [
                {k: as_json(v) for k, v in row.items() if v is not None and not definition.node(k).is_file}
                for row in rows
            ]
    return out


def typed_data(definition: Definition, data: Mapping[str, Any]) -> dict[str, Any]:
    """Kept JSON data back as typed values (to evaluate expressions on a filed case)."""
    out: dict[str, Any] = {}
    for node in definition.fields():
        if node.repeating_group or node.is_file:
            continue
        out[node.name], _ = coerce(node, data.get(node.name), "json")
    for group in definition.repeating_groups():
        out[group.name] = [
            {
                n.name: coerce(n, row.get(n.name), "json")[0]
                for n in definition.fields()
                if n.repeating_group == group.name and not n.is_file
            }
            for row in data.get(group.name) or []
            if isinstance(row, Mapping)
        ]
    return out


def evaluate(
    definition: Definition, expression: Any, data: Mapping[str, Any], inputs: Inputs | None = None
) -> Any:
    """Evaluate a compiled expression on kept data (e.g. ``decision.automatic_if``)."""
    inputs = inputs or Inputs(values={})
    j = Judge(definition, inputs)
    return expression(j.context(typed_data(definition, data)))
