"""A procedure version checked and compiled: its form as a tree, its expressions parsed.

Built by ``loader`` from a ``Procedure``; everything the engine, the schema and the
pages need to ask of a form is answered here, without looking at the file again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rathaus.platform.kernel.procedures.expressions import Expression
from rathaus.platform.kernel.procedures.model import Codelist, Element, FeeLine, Procedure, Tariff

VALUE_KINDS = ("input", "select", "hidden", "locked")
REGISTER_SOURCES = ("melderegister", "fahrzeugregister")
ACCOUNT_SOURCES = ("konto", "unternehmen")
DIRECTORY_SOURCE = "strassenverzeichnis"


def multiplicity(text: str) -> tuple[int, int | None]:
    """'0:1' -> (0, 1); '1:*' -> (1, None)."""
    low, _, high = text.partition(":")
    return int(low), None if high.strip() == "*" else int(high)


@dataclass(frozen=True)
class Node:
    """An element of the form with what was compiled from it."""

    element: Element
    low: int
    high: int | None
    children: tuple[str, ...] = ()
    repeating_group: str = ""  # the repeating group this element lies in ("" = top level)
    visible_if: Expression | None = None
    required_if: Expression | None = None
    compute: Expression | None = None
    min_value: Expression | None = None
    max_value: Expression | None = None

    @property
    def name(self) -> str:
        return self.element.name

    @property
    def is_group(self) -> bool:
        return self.element.kind == "group"

    @property
    def repeats(self) -> bool:
        return self.is_group and (self.high is None or self.high > 1)

    @property
    def holds_value(self) -> bool:
        return self.element.kind in VALUE_KINDS

    @property
    def is_file(self) -> bool:
        return self.holds_value and self.element.datatype == "file"

    @property
    def user_supplied(self) -> bool:
        """Typed or uploaded by the applicant (not computed, not only from a source)."""
        e = self.element
        if not self.holds_value or self.compute is not None or e.kind == "hidden":
            return False
        return not (e.kind == "locked" and e.prefill)


@dataclass(frozen=True)
class FeeLineAmount:
    """One booking line of a Forderung, as the Stadtkasse books it."""

    tariff: str
    haushaltsstelle: str
    objektnummer: str
    text: str
    amount_cents: int


@dataclass(frozen=True)
class CompiledRule:
    check: Expression
    message: str
    severity: str
    fields: tuple[str, ...]
    group: str
    id: str


@dataclass(frozen=True)
class Definition:
    """One version of a service, ready to interpret."""

    procedure: Procedure
    path: Path
    digest: str
    nodes: dict[str, Node]
    steps: tuple[str, ...]  # top-level groups in order: the form's pages
    rules: tuple[CompiledRule, ...]
    order: tuple[str, ...]  # computed fields in the order they can be computed
    codelists: dict[str, Codelist]
    constants: dict[str, Any]
    templates: dict[str, str]  # outcome -> template name in the templates' loader
    template_sources: dict[str, str]  # template name -> source (inline or read from file)
    appeal_source: str = ""
    automatic_if: Expression | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    tariffs: dict[str, Tariff] = field(default_factory=dict)  # the fee catalogue's entries it uses
    rates: dict[str, tuple[tuple[date, int], ...]] = field(default_factory=dict)  # tariff -> dated rates
    fee_quantities: tuple[tuple[FeeLine, Expression], ...] = ()  # [[fee.lines]] with their quantity

    # -- identity -------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.procedure.id

    @property
    def version(self) -> int:
        return self.procedure.version

    @property
    def key(self) -> str:
        return f"{self.procedure.id}@{self.procedure.version}"

    @property
    def title(self) -> str:
        return self.procedure.title

    def valid_on(self, day: date) -> bool:
        p = self.procedure
        if p.valid_from and day < date.fromisoformat(p.valid_from):
            return False
        return not (p.valid_until and day > date.fromisoformat(p.valid_until))

    # -- the form ---------------------------------------------------------------------------

    def node(self, name: str) -> Node:
        return self.nodes[name]

    def children(self, name: str) -> list[Node]:
        return [self.nodes[c] for c in self.nodes[name].children]

    def walk(self, names: tuple[str, ...] | None = None) -> Iterator[Node]:
        """Every node in form order, depth first."""
        for name in self.steps if names is None else names:
            node = self.nodes[name]
            yield node
            yield from self.walk(node.children)

    def fields(self) -> list[Node]:
        return [n for n in self.walk() if n.holds_value]

    def file_fields(self) -> list[Node]:
        return [n for n in self.walk() if n.is_file]

    def repeating_groups(self) -> list[Node]:
        return [n for n in self.walk() if n.repeats]

    def step_of(self, name: str) -> str:
        node = self.nodes[name]
        while node.element.parent:
            node = self.nodes[node.element.parent]
        return node.name

    def sources(self) -> set[str]:
        """The prefill sources the form names, e.g. {"melderegister.strasse", "konto.vorname"}."""
        return {n.element.prefill for n in self.walk() if n.element.prefill}

    def registers(self) -> list[str]:
        """The registers that can fill in this form on request (once-only), in a stable order."""
        used = {s.split(".", 1)[0] for s in self.sources()}
        return [r for r in REGISTER_SOURCES if r in used]

    def register_attributes(self) -> list[str]:
        return sorted(s for s in self.sources() if s.split(".", 1)[0] in REGISTER_SOURCES)

    def fee_cents(self, data: dict[str, Any] | None = None, day: date | None = None) -> int:
        """The fee: the sum of the booking lines on the reference day (default today);
        without lines fixed, or the computed field's value in euros as cents."""
        fee = self.procedure.fee
        if self.fee_quantities:
            return sum(line.amount_cents for line in self.fee_lines(data or {}, day or date.today()))
        if fee.field and data is not None:
            value = data.get(fee.field)
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                return int((Decimal(str(value)) * 100).to_integral_value())
            return 0
        return fee.cents

    def fee_lines(self, data: dict[str, Any], day: date) -> list[FeeLineAmount]:
        """The Forderung's booking lines for a case's kept data, at the rates of ``day`` (the
        day the application came in). Without [[fee.lines]] one line without booking data
        holds a fixed or computed fee. Raises ``FeeError`` when a tariff has no rate that day."""
        from rathaus.platform.kernel.procedures.fees import lines_of

        return lines_of(self, data, day)

    def code_name(self, codelist: str, code: Any) -> str:
        found = self.codelists.get(codelist)
        if found is None:
            return str(code)
        for value in found.values:
            if value.code == str(code):
                return value.name
        return str(code)
