"""Disclosure control for a two-way table of counts with its margins (row totals,
column totals, grand total), as published: which cells must stay empty.

A table here is rows × columns of non-negative counts (Stadtbezirk × Monat). Every
published number is a *cell*: an inner cell ``(row, col)``, a row total ``(row, None)``,
a column total ``(None, col)`` or the grand total ``(None, None)``.

Primary suppression: every cell with a count of 1 or 2 (margins included: a district
total of 2 tells as much as an inner cell of 2).

Secondary suppression: the published cells and totals are linear equations on the
suppressed ones. Picture the table with its margins as a bipartite graph whose nodes are
the rows (plus the total row) and the columns (plus the total column) and whose edges are
the cells. A suppressed cell lies on a *cycle* of suppressed cells exactly when it can be
moved without changing any published number: add 1 and subtract 1 alternately around the
cycle. A suppressed cell on no cycle is a bridge, and a bridge is pinned by the totals.
So for every primary cell the cheapest path of non-suppressed cells that closes a cycle
with it is suppressed too (Dijkstra; inner cells before totals, the grand total last,
small counts before large ones, already suppressed cells for free). Each addition only
adds cycles, so at the end every suppressed cell lies on one.

Zero cells: a 0 is published as 0 and is never suppressed, neither as primary (no one is
behind it) nor as complement. This is what makes the cycles safe with integers: every
suppressed cell is at least 1, so moving around a cycle by +1 or by -1 keeps all values
non-negative, and each suppressed cell has at least its value - 1 and its value + 1 as
alternatives consistent with everything published. A published 0 is simply known; it
never closes a cycle (an edge of value 0 is not in the graph), so no derivation can rest
on pretending it could change. The complement always exists: a primary inner cell (i, j)
is at least 1, so its row total, column total and the grand total are at least 1 too and
close the cycle (i, j) - (i, total) - (total, total) - (total, j).

``rathaus.opendata.domain.audit`` checks the result independently (flows, not cycles).

What this does not model: each table is protected on its own. Knowledge that links
tables (a permit needs an application, so a district's permits up to a month never exceed
its applications up to that month; a published row means at least one case) or two
publications at different times (differencing) can narrow a range further, in rare
constellations down to one value; neither the suppression nor the auditor checks that.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
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
    values = table.values()
    hidden = primary(values)
    order = {cell: i for i, cell in enumerate(cells_of(table.rows, table.cols))}
    for cell in sorted(hidden, key=order.__getitem__):
        hidden.update(_cheapest_cycle(values, hidden, cell))
    return Published(
        table.rows, table.cols, {cell: None if cell in hidden else n for cell, n in values.items()}
    )


Node = tuple[str, str | None]  # ("r", row) or ("c", col); None = the total row/column


def _cost(cell: Cell, n: int, hidden: set[Cell]) -> tuple[int, int, int, int]:
    if cell in hidden:
        return (0, 0, 0, 0)
    row, col = cell
    grand = int(row is None and col is None)
    margin = int(row is None or col is None)
    return (grand, margin, n, 1)


def _cheapest_cycle(values: Mapping[Cell, int], hidden: set[Cell], start: Cell) -> list[Cell]:
    """The cells of the cheapest path that closes a cycle through ``start``."""
    graph: dict[Node, list[tuple[Node, Cell]]] = {}
    for cell, n in values.items():
        if n > 0 and cell != start:
            a, b = ("r", cell[0]), ("c", cell[1])
            graph.setdefault(a, []).append((b, cell))
            graph.setdefault(b, []).append((a, cell))
    source, target = ("r", start[0]), ("c", start[1])
    zero = (0, 0, 0, 0)
    best: dict[Node, tuple[int, int, int, int]] = {source: zero}
    via: dict[Node, tuple[Node, Cell]] = {}
    tie = itertools.count()
    queue: list[tuple[tuple[int, int, int, int], int, Node]] = [(zero, next(tie), source)]
    while queue:
        cost, _, node = heapq.heappop(queue)
        if node == target:
            break
        if cost > best.get(node, cost):
            continue
        for nxt, cell in graph.get(node, ()):
            step = _cost(cell, values[cell], hidden)
            total = (cost[0] + step[0], cost[1] + step[1], cost[2] + step[2], cost[3] + step[3])
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
