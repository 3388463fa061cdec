"""The expression language of procedure rules: conditions, checks and computed values.

Written in the procedure files as Python-like expressions, for example::

    einzugsdatum <= heute() + 14
    summe(hunde, wenn(listenhund, satz_listenhund, wenn(position == 1, satz_erster, satz_weiterer)))
    art == "abmeldung" and not vorhanden(abmeldedatum)

An expression is parsed with :mod:`ast` and interpreted here node by node: only the
nodes and functions below exist, nothing of Python is executed, so a procedure file
cannot reach the process. Names are field names, the procedure's constants, group
names (for the aggregate functions) and ``position`` (the 1-based row in a repeating
group). Values: ``None`` (empty), ``str``, ``int``, ``Decimal``, ``bool``, ``date``,
``time``, ``datetime`` and, for a group, a list of rows. An operation on an empty value
is empty; a condition that is empty counts as false.
"""

from __future__ import annotations

import ast
import operator
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

Row = Mapping[str, Any]


class ExpressionError(ValueError):
    """An expression that cannot be parsed or refers to something unknown (German message)."""


@dataclass(frozen=True)
class Scope:
    """What names an expression may use where it stands (for the check at load time)."""

    fields: frozenset[str]  # fields readable here (top level plus the current row's)
    groups: Mapping[str, frozenset[str]]  # repeating group -> the names readable in one of its rows
    constants: frozenset[str]
    in_row: bool = False
    codelists: frozenset[str] = frozenset()
    tariffs: frozenset[str] = frozenset()  # the fee catalogue's tariffs, for tarif("…")


@dataclass
class Context:
    """What an expression is evaluated against."""

    values: Mapping[str, Any]  # top-level field values (a repeating group: a list of rows)
    today: date
    constants: Mapping[str, Any] = field(default_factory=dict)
    codelists: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    register: Mapping[str, Sequence[str]] = field(default_factory=dict)  # confirmed register data
    holidays: Callable[[date], bool] = lambda _day: False
    row: Row | None = None
    position: int = 0
    # tariff -> its rates as (valid_from, cents), oldest first; tarif("…") reads the one of
    # ``today``, the reference day (the portal: today; a filed case: the day it came in)
    tariffs: Mapping[str, Sequence[tuple[date, int]]] = field(default_factory=dict)

    def in_row(self, row: Row, position: int) -> Context:
        return Context(
            self.values,
            self.today,
            self.constants,
            self.codelists,
            self.register,
            self.holidays,
            row,
            position,
            self.tariffs,
        )


def rate_on(rates: Sequence[tuple[date, int]], day: date) -> int | None:
    """The rate in cents valid on ``day``: the latest with valid_from <= day (None before the first)."""
    found = None
    for start, cents in rates:
        if start <= day:
            found = cents
    return found


def _tariff(ctx: Context, name: Any) -> Decimal | None:
    cents = rate_on(ctx.tariffs.get(str(name), ()), ctx.today)
    return None if cents is None else Decimal(cents) / 100


def decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return None


def _number(value: Decimal) -> int | Decimal:
    return int(value) if value == value.to_integral_value() else value


def _arith(op: Callable[[Any, Any], Any], symbol: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if isinstance(a, date) and not isinstance(a, datetime):
            if symbol == "-" and isinstance(b, date) and not isinstance(b, datetime):
                return (a - b).days
            days = decimal(b)
            if days is not None and symbol in "+-":
                return op(a, timedelta(days=int(days)))
            return None
        if symbol == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        da, db = decimal(a), decimal(b)
        if da is None or db is None:
            return None
        try:
            return _number(op(da, db))
        except (ArithmeticError, InvalidOperation):
            return None

    return apply


BINARY = {
    ast.Add: _arith(operator.add, "+"),
    ast.Sub: _arith(operator.sub, "-"),
    ast.Mult: _arith(operator.mul, "*"),
    ast.Div: _arith(operator.truediv, "/"),
    ast.FloorDiv: _arith(operator.floordiv, "//"),
    ast.Mod: _arith(operator.mod, "%"),
}


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    if a is None or b is None:
        return None
    da, db = decimal(a), decimal(b)
    if da is not None and db is not None:
        return da, db
    if type(a) is type(b) or (isinstance(a, str) and isinstance(b, str)):
        return a, b
    return None


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def apply(a: Any, b: Any) -> bool:
        pair = _comparable(a, b)
        if pair is None:
            return False
        try:
            return bool(op(*pair))
        except TypeError:
            return False

    return apply


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    pair = _comparable(a, b)
    return pair is not None and pair[0] == pair[1]


def _contains(item: Any, container: Any) -> bool:
    if not isinstance(container, list | tuple):
        return False
    return any(_equal(item, x) for x in container)


COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: _equal,
    ast.NotEq: lambda a, b: not _equal(a, b),
    ast.Lt: _compare(operator.lt),
    ast.LtE: _compare(operator.le),
    ast.Gt: _compare(operator.gt),
    ast.GtE: _compare(operator.ge),
    ast.In: _contains,
    ast.NotIn: lambda a, b: not _contains(a, b),
}


def truthy(value: Any) -> bool:
    """A condition: empty (None) is false, as are False, 0 and ""."""
    return bool(value) if value is not None else False


def fold(value: str) -> str:
    """Compare register values as a clerk would: case, spaces and ß/ss aside."""
    text = unicodedata.normalize("NFKC", value).casefold().replace("ß", "ss")
    return "".join(text.split())


def _round(mode: str) -> Callable[..., Any]:
    def apply(value: Any, places: Any = 0) -> Any:
        number = decimal(value)
        digits = decimal(places)
        if number is None or digits is None:
            return None
        quantum = Decimal(1).scaleb(-int(digits))
        return _number(number.quantize(quantum, rounding=mode))

    return apply


def _age(born: Any, today: date) -> Any:
    if not isinstance(born, date):
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _next_working_day(day: Any, ctx: Context) -> Any:
    if not isinstance(day, date):
        return None
    while day.weekday() >= 5 or ctx.holidays(day):
        day += timedelta(days=1)
    return day


def _parse_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _min_max(pick: Callable[..., Any]) -> Callable[..., Any]:
    def apply(*values: Any) -> Any:
        present = [v for v in values if v is not None]
        if not present:
            return None
        try:
            return pick(present, key=lambda v: decimal(v) if decimal(v) is not None else v)
        except TypeError:
            return None

    return apply


# name -> (min args, max args, function(ctx, *args)); aggregate functions are special forms
FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "heute": (0, 0, lambda ctx: ctx.today),
    "vorhanden": (1, 1, lambda ctx, v: v is not None and v != [] and v != ""),
    "leer": (1, 1, lambda ctx, v: v is None or v == [] or v == ""),
    "laenge": (1, 1, lambda ctx, v: len(v) if isinstance(v, str | list) else None),
    "wenn": (3, 3, lambda ctx, *_: None),  # a special form (only the chosen branch is evaluated)
    "min": (1, 9, lambda ctx, *v: _min_max(min)(*v)),
    "max": (1, 9, lambda ctx, *v: _min_max(max)(*v)),
    "abs": (1, 1, lambda ctx, v: abs(decimal(v)) if decimal(v) is not None else None),  # type: ignore[arg-type]
    "runden": (1, 2, lambda ctx, v, n=0: _round(ROUND_HALF_UP)(v, n)),
    "abrunden": (1, 2, lambda ctx, v, n=0: _round(ROUND_FLOOR)(v, n)),
    "aufrunden": (1, 2, lambda ctx, v, n=0: _round(ROUND_CEILING)(v, n)),
    "jahr": (1, 1, lambda ctx, d: d.year if isinstance(d, date) else None),
    "monat": (1, 1, lambda ctx, d: d.month if isinstance(d, date) else None),
    "wochentag": (1, 1, lambda ctx, d: d.isoweekday() if isinstance(d, date) else None),
    "alter": (1, 1, lambda ctx, d: _age(d, ctx.today)),
    "naechster_werktag": (1, 1, lambda ctx, d: _next_working_day(d, ctx)),
    "datum": (1, 1, lambda ctx, v: _parse_date(v)),
    "codewert": (
        3,
        3,
        lambda ctx, liste, code, spalte: (
            ctx.codelists.get(liste, {}).get(str(code), {}).get(spalte) if code is not None else None
        ),
    ),
    "tarif": (1, 1, _tariff),  # a tariff's rate in euros on the reference day
    "aus_register": (
        2,
        2,
        lambda ctx, attribut, wert: (
            wert is not None
            and fold(str(wert)) in {fold(str(v)) for v in ctx.register.get(str(attribut), ())}
        ),
    ),
}
AGGREGATES = {"anzahl": (1, 1), "summe": (2, 2), "alle": (2, 2), "irgendein": (2, 2)}
ROW_NAMES = {"position"}
LITERAL_NAMES = {"wahr": True, "falsch": False, "leer_wert": None}


@dataclass(frozen=True)
class Expression:
    """A parsed expression: evaluate it, or ask which names it uses."""

    source: str
    tree: ast.expr

    def __call__(self, ctx: Context) -> Any:
        return _eval(self.tree, ctx)

    def names(self) -> set[str]:
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)} - set(LITERAL_NAMES)


@cache
def parse(source: str | int | float) -> Expression:
    """Parse an expression; raises ``ExpressionError`` with a German message."""
    text = str(source).strip()
    if not text:
        raise ExpressionError("Der Ausdruck ist leer.")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as error:
        raise ExpressionError(f"Der Ausdruck „{text}“ ist nicht lesbar (Zeichen {error.offset}).") from None
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED):
            raise ExpressionError(
                f"Im Ausdruck „{text}“ ist „{ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__}“ nicht erlaubt."
            )
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise ExpressionError(f"Im Ausdruck „{text}“ ist nur der Aufruf benannter Funktionen erlaubt.")
        if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool):
            raise ExpressionError(f"Im Ausdruck „{text}“ ist der Wert {node.value!r} nicht erlaubt.")
    return Expression(text, tree)


ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    *BINARY,
    ast.Compare,
    *COMPARE,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
)


def check(expr: Expression, scope: Scope) -> None:
    """Every name and function the expression uses exists where it stands; raises ``ExpressionError``."""
    _check(expr.tree, scope, expr.source)


def _check(node: ast.AST, scope: Scope, source: str) -> None:
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if node.keywords:
            raise ExpressionError(f"„{source}“: {name}() kennt keine benannten Argumente.")
        count = len(node.args)
        if name in AGGREGATES:
            low, high = AGGREGATES[name]
            if not low <= count <= high:
                raise ExpressionError(f"„{source}“: {name}() braucht {low} Argument(e).")
            group = node.args[0]
            if not isinstance(group, ast.Name) or group.id not in scope.groups:
                raise ExpressionError(
                    f"„{source}“: das erste Argument von {name}() muss eine wiederholbare Gruppe sein."
                )
            if count == 2:
                row_scope = Scope(
                    fields=scope.fields | scope.groups[group.id],
                    groups=scope.groups,
                    constants=scope.constants,
                    in_row=True,
                    codelists=scope.codelists,
                    tariffs=scope.tariffs,
                )
                _check(node.args[1], row_scope, source)
            return
        if name not in FUNCTIONS:
            known = ", ".join(sorted([*FUNCTIONS, *AGGREGATES]))
            raise ExpressionError(f"„{source}“: die Funktion {name}() gibt es nicht. Es gibt: {known}.")
        low, high, _ = FUNCTIONS[name]
        if not low <= count <= high:
            wanted = f"{low}" if low == high else f"{low} bis {high}"
            raise ExpressionError(f"„{source}“: {name}() braucht {wanted} Argument(e), nicht {count}.")
        first = node.args[0] if node.args else None
        lists = scope.codelists
        if name == "codewert" and isinstance(first, ast.Constant) and lists and str(first.value) not in lists:
            raise ExpressionError(f"„{source}“: die Codeliste „{first.value!s}“ gibt es nicht.")
        if name == "tarif":
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                raise ExpressionError(
                    f"„{source}“: tarif() braucht die Kennung eines Tarifs in Anführungszeichen."
                )
            if first.value not in scope.tariffs:
                raise ExpressionError(
                    f"„{source}“: den Tarif „{first.value}“ gibt es im Gebührenverzeichnis (gebuehren.toml) nicht."
                )
        for arg in node.args:
            _check(arg, scope, source)
        return
    if isinstance(node, ast.Name):
        name = node.id
        if name in LITERAL_NAMES or name in scope.fields or name in scope.constants:
            return
        if name in ROW_NAMES and scope.in_row:
            return
        if name in scope.groups:
            raise ExpressionError(
                f"„{source}“: „{name}“ ist eine wiederholbare Gruppe; verwenden Sie anzahl({name}) "
                f"oder summe({name}, …)."
            )
        raise ExpressionError(
            f"„{source}“: „{name}“ ist weder ein Feld noch eine Konstante dieses Verfahrens."
        )
    for child in ast.iter_child_nodes(node):
        _check(child, scope, source)


def _eval(node: ast.expr, ctx: Context) -> Any:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, float):
            return Decimal(str(value))
        return value
    if isinstance(node, ast.Name):
        return _name(node.id, ctx)
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(truthy(_eval(v, ctx)) for v in node.values)
        return any(truthy(_eval(v, ctx)) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, ctx)
        if isinstance(node.op, ast.Not):
            return not truthy(value)
        number = decimal(value)
        if number is None:
            return None
        return _number(-number if isinstance(node.op, ast.USub) else number)
    if isinstance(node, ast.BinOp):
        return BINARY[type(node.op)](_eval(node.left, ctx), _eval(node.right, ctx))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, ctx)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, ctx)
            if not COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if truthy(_eval(node.test, ctx)) else node.orelse, ctx)
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, ctx) for e in node.elts]
    if isinstance(node, ast.Call):
        return _call(node, ctx)
    raise ExpressionError(f"nicht auswertbar: {ast.unparse(node)}")


def _name(name: str, ctx: Context) -> Any:
    if name in LITERAL_NAMES:
        return LITERAL_NAMES[name]
    if name == "position" and ctx.row is not None:
        return ctx.position
    if ctx.row is not None and name in ctx.row:
        return ctx.row[name]
    if name in ctx.values:
        return ctx.values[name]
    if name in ctx.constants:
        return ctx.constants[name]
    return None


def _call(node: ast.Call, ctx: Context) -> Any:
    assert isinstance(node.func, ast.Name)
    name = node.func.id
    if name in AGGREGATES:
        assert isinstance(node.args[0], ast.Name)
        rows = ctx.values.get(node.args[0].id) or []
        if name == "anzahl":
            return len(rows)
        results = [_eval(node.args[1], ctx.in_row(row, i + 1)) for i, row in enumerate(rows)]
        if name == "alle":
            return all(truthy(r) for r in results)
        if name == "irgendein":
            return any(truthy(r) for r in results)
        total = Decimal(0)
        for r in results:
            number = decimal(r)
            if number is not None:
                total += number
        return _number(total)
    if name == "wenn":
        test, then, otherwise = node.args
        return _eval(then if truthy(_eval(test, ctx)) else otherwise, ctx)
    _, _, function = FUNCTIONS[name]
    args = [_eval(a, ctx) for a in node.args]
    try:
        return function(ctx, *args)
    except (TypeError, ValueError, ArithmeticError, InvalidOperation):
        return None


def as_json(value: Any) -> Any:
    """A value as it is kept in an application's data (JSON): numbers stay numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


__all__ = [
    "Context",
    "Expression",
    "ExpressionError",
    "Scope",
    "as_json",
    "check",
    "parse",
    "rate_on",
    "truthy",
]
