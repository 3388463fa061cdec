"""Disclosure control for the count tables of one dataset, each a two-way table with its
margins (row totals, column totals, grand total), as published: which cells stay empty.

A table here is rows × columns of non-negative counts (Stadtbezirk × Monat). Every
published number is a *cell*: an inner cell ``(row, col)``, a row total ``(row, None)``,
a column total ``(None, col)`` or the grand total ``(None, None)``. The count tables of a
dataset (applications, grants, refusals) share their rows and columns.

Primary suppression: every cell with a count of 1 or 2 (margins included: a district
total of 2 tells as much as an inner cell of 2).

Zero cells: a 0 is published as 0 and is never suppressed (no one is behind it). So
anyone may know that a suppressed cell is *at least 1*, and the control assumes they do.

Secondary suppression, one table: a table with its margins is a circulation

    S --row total--> row --inner cell--> column --column total--> K --grand total--> S

(each node passes on what it receives exactly when rows and columns add up). A suppressed
cell can take another value without changing any published number exactly when it lies
on a cycle of suppressed cells: add 1 to the cells the cycle passes in their direction and
subtract 1 from those it passes against it. Every value stays at least 1 if the cells passed
against their direction are at least 2. So every suppressed cell gets such a cycle through
it, passed in its own direction (the cell can be one larger than it is): the cheapest path
of cells from its head back to its tail (Dijkstra; already suppressed cells for free; then
as few grand totals as possible, as few totals, as few cells that would have to be hidden
in the other tables of the dataset too, small counts before large ones; against the
direction only cells of at least 2). Such a path always exists: an inner cell, its column
total, the grand total and its row total form a cycle all in their own direction. The
cells added move along that same cycle (one up, the others up or down), so none of them
can be derived either. Additions only add cycles: a cell protected once stays protected.

Joint control across the tables of a dataset: a cell suppressed in one count table is
suppressed in every other count table of the dataset at the same (Stadtbezirk, Monat) or
total, unless it is 0 there; secondary suppression then runs again on every table for the
cells hidden that way, and both steps repeat until nothing changes. The processing times
publish the number of Bescheide per month and overall, the sum of the grants' and the
refusals' column totals (or grand totals); it is published only where both are
(``rathaus.opendata.domain.times``), so it adds no equation on hidden cells.

``rathaus.opendata.domain.audit`` checks the result independently (exact ranges by flows,
every table, the aligned pattern and every published sum that spans tables).

What the joint control protects: within a table, no suppressed cell can be derived from the
published cells and totals, even knowing that a suppressed cell is at least 1. Within the
dataset, the numbers of Bescheide in the processing times add nothing to that. Across the
tables, a (Stadtbezirk, Monat) or total is either shown in every table where it is not 0 or
hidden in all of them. So an exact figure that adds or subtracts tables at one place (the
Bescheide of a district and month = grants + refusals; the applications still undecided),
known from outside, for example a district's Bescheide in a press release, cannot be turned
into a hidden value by subtracting a published neighbour: it involves published values
only, or at least two hidden ones.

What it does not protect: (1) Such an outside figure over two or more hidden values is still
one more equation; together with the tables' own it narrows their ranges and can, in rare
constellations, pin one. The auditor refuses such a sum when the dataset itself would
publish it (it cannot verify it), but cannot know what others know. (2) A 0 stays published
beside a cell hidden in another table (it protects no one, and a hidden 0 could not move
down along a cycle, which the guarantees above rest on): who knows the exact sum at that
place from outside learns the hidden cell. (3) Inequalities
across places and months: the applications count in the month a case was opened, the
Bescheide in the month they were delivered; a Bescheid needs an application, so up to any
month a district's Bescheide never exceed its applications. Not modelled; with few cases
and a district's whole history visible they narrow a range, down to one value at worst.
(4) Publications at different times (differencing): the numbers change as cases arrive, and
two downloads a day apart can isolate one case, its district, month and duration. (5)
Knowledge about individual cases from elsewhere (a neighbour's application) combined with
the tables. Suppression limits what the tables themselves tell; it is no guarantee against
someone who already knows most of a cell.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

Cell = tuple[str | None, str | None]  # (row, col); None stands for the total over that side
MIN_PUBLISHED = 3  # counts 1 and 2 are suppressed


@dataclass(frozen=True)
class Table:
    """True counts: ``counts[(row, col)]``, missing = 0."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def values(self) -> dict[Cell, int]:
        """Every cell of the table with its margins."""
        out: dict[Cell, int] = {}
        for r in self.rows:
            for c in self.cols:
                n = self.counts.get((r, c), 0)
                if n < 0:
                    raise ValueError(f"negative count in {(r, c)}")
                out[(r, c)] = n
        for r in self.rows:
            out[(r, None)] = sum(out[(r, c)] for c in self.cols)
        for c in self.cols:
            out[(None, c)] = sum(out[(r, c)] for r in self.rows)
        out[(None, None)] = sum(out[(r, None)] for r in self.rows)
        return out


@dataclass(frozen=True)
class Published:
    """A table as published: every cell with its margins; ``None`` = suppressed."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    values: Mapping[Cell, int | None]

    def suppressed(self) -> list[Cell]:
        return [cell for cell, v in self.values.items() if v is None]


def cells_of(rows: Iterable[str], cols: Iterable[str]) -> list[Cell]:
    rows, cols = list(rows), list(cols)
    inner: list[Cell] = [(r, c) for r in rows for c in cols]
    return [*inner, *((r, None) for r in rows), *((None, c) for c in cols), (None, None)]


def primary(values: Mapping[Cell, int]) -> set[Cell]:
    return {cell for cell, n in values.items() if 0 < n < MIN_PUBLISHED}


def suppress(table: Table) -> Published:
    """Suppress primary cells and enough complements that none can be derived."""
    return suppress_together({"": table})[""]


def suppress_together(
    tables: Mapping[str, Table], fixed: Mapping[str, Collection[Cell]] | None = None
) -> dict[str, Published]:
    """The count tables of one dataset (same rows and columns), protected each and jointly:
    primary cells, the pattern aligned across the tables, complements, until nothing changes.
    ``fixed[key]``: cells of a table whose value anyone can compute from elsewhere (another
    dataset of the portal): never chosen as complements while a cycle avoids them."""
    shapes = {(t.rows, t.cols) for t in tables.values()}
    if len(shapes) > 1:
        raise ValueError("the tables of a dataset share their rows and columns")
    if not tables:
        return {}
    rows, cols = shapes.pop()
    order = {cell: i for i, cell in enumerate(cells_of(rows, cols))}
    values = {key: t.values() for key, t in tables.items()}
    hidden: dict[str, set[Cell]] = {key: set() for key in tables}
    fresh = {key: primary(v) for key, v in values.items()}
    while any(fresh.values()):
        for key in tables:
            # a complement shown in another table would have to be hidden there too
            spread = {
                cell: sum(
                    1
                    for other in tables
                    if other != key and values[other][cell] > 0 and cell not in hidden[other]
                )
                for cell in order
            }
            known = (fixed or {}).get(key, ())
            hidden[key] = protect(values[key], hidden[key], fresh[key], order, spread, known)
        anywhere = set().union(*hidden.values())
        fresh = {key: {cell for cell in anywhere if values[key][cell] > 0} - hidden[key] for key in tables}
    return {
        key: Published(rows, cols, {cell: None if cell in hidden[key] else n for cell, n in v.items()})
        for key, v in values.items()
    }


def protect(
    values: Mapping[Cell, int],
    hidden: set[Cell],
    fresh: set[Cell],
    order: Mapping[Cell, int],
    spread: Mapping[Cell, int] | None = None,
    fixed: Collection[Cell] = (),
) -> set[Cell]:
    """``hidden`` and ``fresh`` with complements: every ``fresh`` cell on a cycle that lets it
    grow by one. The cells of ``hidden`` are protected already (more suppressed cells never
    take a cycle away), and so are the complements, which move along their cell's cycle.
    ``spread[cell]``: in how many other tables hiding the cell would hide a shown value.
    ``fixed``: cells known from elsewhere, which cannot move: a cycle avoids them; if none
    can, the cheapest one through them is taken and the auditor, told the same, refuses."""
    hidden = hidden | fresh
    known = frozenset(fixed)
    for cell in sorted(fresh, key=order.__getitem__):
        try:
            cycle = _cheapest_cycle(values, hidden, cell, spread or {}, known)
        except ValueError:
            if not known:
                raise
            cycle = _cheapest_cycle(values, hidden, cell, spread or {})
        hidden.update(cycle)
    return hidden


Node = str | tuple[str, str]  # "S", "K", ("r", row) or ("c", col)


def _ends(cell: Cell) -> tuple[Node, Node]:
    """Tail and head of a cell in the circulation."""
    row, col = cell
    if row is not None and col is not None:
        return ("r", row), ("c", col)
    if row is not None:
        return "S", ("r", row)
    if col is not None:
        return ("c", col), "K"
    return "K", "S"


Cost = tuple[int, int, int, int, int]


def _cost(cell: Cell, n: int, hidden: set[Cell], spread: Mapping[Cell, int]) -> Cost:
    if cell in hidden:
        return (0, 0, 0, 0, 0)
    row, col = cell
    grand = int(row is None and col is None)
    margin = int(row is None or col is None)
    return (grand, margin, spread.get(cell, 0), n, 1)


def _cheapest_cycle(
    values: Mapping[Cell, int],
    hidden: set[Cell],
    start: Cell,
    spread: Mapping[Cell, int],
    fixed: frozenset[Cell] = frozenset(),
) -> list[Cell]:
    """The cells of the cheapest path from ``start``'s head back to its tail, so that adding
    1 along the cycle (subtracting where a cell is passed against its direction) keeps every
    value at least 1; none of the ``fixed`` cells."""
    graph: dict[Node, list[tuple[Node, Cell]]] = {}
    for cell, n in values.items():
        if n > 0 and cell != start and cell not in fixed:
            tail, head = _ends(cell)
            graph.setdefault(tail, []).append((head, cell))  # along: +1
            if n >= 2:
                graph.setdefault(head, []).append((tail, cell))  # against: -1, stays >= 1
    target, source = _ends(start)
    zero: Cost = (0, 0, 0, 0, 0)
    best: dict[Node, Cost] = {source: zero}
    via: dict[Node, tuple[Node, Cell]] = {}
    tie = itertools.count()
    queue: list[tuple[Cost, int, Node]] = [(zero, next(tie), source)]
    while queue:
        cost, _, node = heapq.heappop(queue)
        if node == target:
            break
        if cost > best.get(node, cost):
            continue
        for nxt, cell in graph.get(node, ()):
            step = _cost(cell, values[cell], hidden, spread)
            total: Cost = (
                cost[0] + step[0],
                cost[1] + step[1],
                cost[2] + step[2],
                cost[3] + step[3],
                cost[4] + step[4],
            )
            if nxt not in best or total < best[nxt]:
                best[nxt], via[nxt] = total, (node, cell)
                heapq.heappush(queue, (total, next(tie), nxt))
    if target not in via:
        raise ValueError(f"no complementary cells for {start}")  # impossible for a count >= 1
    path: list[Cell] = []
    node = target
    while node != source:
        node, cell = via[node]
        path.append(cell)
    return path
