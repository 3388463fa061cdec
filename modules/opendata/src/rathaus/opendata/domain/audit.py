"""The auditor: what the tables of a dataset as published give away about their
suppressed cells.

It knows only what anyone can read: the published cells and totals, that counts are
non-negative integers, that a suppressed cell is at least 1 (zeros are always published;
``floor``), that inner cells add up to the row and column totals, and the published sums
that span tables (``Link``: the Bescheide of a month = grants + refusals). For every
suppressed cell it computes the exact range of values consistent with that; a range of one
value means the cell is disclosed.

Method: a table with its margins is a circulation in the network

    S --row total--> row --inner cell--> column --column total--> K --grand total--> S

(flow is conserved at each node exactly when rows and columns add up). Published cells
are fixed flows, suppressed cells are free edges without an upper bound. One feasible
flow ``f`` is found by max-flow; every other consistent table differs from it by
cycles in the residual network, so the largest value of a suppressed edge u->w is
``f + maxflow(w -> u)`` and the smallest ``f - maxflow(u -> w)`` in the residual network
without that edge (unbounded when an uncapacitated path exists). A lower bound of 1 is
a known flow of 1 plus a free rest. The constraint matrix is a network matrix (totally
unimodular), so these bounds are integers and every integer between them is attained: the
range over reals is the range over integers.

Across tables (``findings``): a published sum over cells of several tables adds nothing to
what the tables tell when all its terms are published (then it is only checked); a sum with
one suppressed term discloses it; one with several is not a network any more and is refused
as unverifiable rather than trusted. So when ``findings`` is empty, the per-table ranges are
the ranges given everything the dataset publishes. It also checks the joint pattern: a cell
suppressed in one count table is suppressed (or 0) in every other.

It is independent of how the suppression was chosen (``disclosure``) and serves as its
test oracle and as a guard before anything is published.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rathaus.opendata.domain.disclosure import Cell, Published

FlowNode = str | tuple[str, str]
Graph = dict[FlowNode, dict[FlowNode, int]]


@dataclass(frozen=True)
class Range:
    low: int
    high: int | None  # None: no upper bound

    @property
    def pinned(self) -> bool:
        return self.high == self.low


class InconsistentTable(ValueError):
    """The published numbers contradict each other (no table fits them)."""


def _edge(cell: Cell) -> tuple[FlowNode, FlowNode]:
    row, col = cell
    if row is not None and col is not None:
        return ("r", row), ("c", col)
    if row is not None:
        return "S", ("r", row)
    if col is not None:
        return ("c", col), "K"
    return "K", "S"


def _max_flow(graph: Graph, source: FlowNode, sink: FlowNode, limit: int) -> int:
    """Edmonds-Karp on residual capacities (changed in place); stops at ``limit``."""
    flow = 0
    while flow < limit:
        parent: dict[FlowNode, FlowNode] = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            node = queue.popleft()
            for nxt, cap in graph.get(node, {}).items():
                if cap > 0 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if sink not in parent:
            break
        push, node = limit - flow, sink
        while node != source:
            push = min(push, graph[parent[node]][node])
            node = parent[node]
        node = sink
        while node != source:
            prev = parent[node]
            graph[prev][node] -= push
            graph.setdefault(node, {})
            graph[node][prev] = graph[node].get(prev, 0) + push
            node = prev
        flow += push
    return flow


def _add(graph: Graph, u: FlowNode, v: FlowNode, cap: int) -> None:
    graph.setdefault(u, {})
    graph[u][v] = graph[u].get(v, 0) + cap
    graph.setdefault(v, {}).setdefault(u, 0)


def ranges(published: Published, floor: int = 1) -> dict[Cell, Range]:
    """For each suppressed cell, the range of values consistent with the publication, if
    every suppressed cell is known to be at least ``floor``."""
    supply: dict[FlowNode, int] = {}
    free: dict[Cell, tuple[FlowNode, FlowNode]] = {}
    for cell, value in published.values.items():
        u, w = _edge(cell)
        if value is None:
            free[cell] = (u, w)
        # a known flow (or the known least part of a free one): what it brings to w must
        # leave w on free edges, and come back at u
        known = floor if value is None else value
        supply[u] = supply.get(u, 0) - known
        supply[w] = supply.get(w, 0) + known
    need = sum(s for s in supply.values() if s > 0)
    big = need + 1  # more than any finite amount the free edges can carry
    graph: Graph = {}
    for u, w in free.values():
        _add(graph, u, w, big)
    for node, s in supply.items():
        if s > 0:
            _add(graph, "σ", node, s)
        elif s < 0:
            _add(graph, node, "τ", -s)
    if _max_flow(graph, "σ", "τ", need) < need:
        raise InconsistentTable("Die veröffentlichten Zahlen widersprechen einander.")
    flow = {cell: big - graph[u][w] for cell, (u, w) in free.items()}
    big = sum(flow.values()) + 1  # a finite residual flow never exceeds the flows to undo
    out: dict[Cell, Range] = {}
    for cell, (u, w) in free.items():
        residual: Graph = {}
        for other, (p, q) in free.items():
            if other != cell:
                _add(residual, p, q, big)
                _add(residual, q, p, flow[other])
        up = _max_flow({k: dict(v) for k, v in residual.items()}, w, u, big)
        down = _max_flow(residual, u, w, flow[cell]) if flow[cell] else 0
        low, high = flow[cell] - down, None if up >= big else flow[cell] + up
        out[cell] = Range(floor + low, None if high is None else floor + high)
    return out


def disclosed(published: Published, floor: int = 1) -> list[Cell]:
    """The suppressed cells whose value can be derived exactly (empty = protected)."""
    return [cell for cell, r in ranges(published, floor).items() if r.pinned]


@dataclass(frozen=True)
class Link:
    """A published number that is the sum of cells of several tables, e.g. the Bescheide
    delivered in a month = the grants' plus the refusals' column total; None = suppressed."""

    name: str
    value: int | None
    terms: tuple[tuple[str, Cell], ...]  # (table, cell)


def findings(tables: Mapping[str, Published], links: Sequence[Link] = (), floor: int = 1) -> list[str]:
    """Everything wrong with a dataset as published (empty = publish): a derivable cell in a
    table, a cell suppressed in one count table and shown in another, a published sum that
    discloses a suppressed cell, contradicts the tables, or cannot be verified."""
    out: list[str] = []
    for key, published in tables.items():
        out += [f"{key} {cell}: ableitbar" for cell in disclosed(published, floor)]
    for key, published in tables.items():
        for cell in published.suppressed():
            for other, p in tables.items():
                if p.values.get(cell) not in (None, 0):
                    out.append(f"{cell}: in {key} gesperrt, in {other} veröffentlicht ({p.values[cell]})")
    for link in links:
        if link.value is None:
            continue
        terms = [tables[key].values[cell] for key, cell in link.terms]
        hidden = [term for term, v in zip(link.terms, terms, strict=True) if v is None]
        if len(hidden) == 1:
            out.append(f"{link.name}: verrät {hidden[0][0]} {hidden[0][1]}")
        elif hidden:
            out.append(f"{link.name}: Summe über {len(hidden)} gesperrte Werte, nicht prüfbar")
        elif sum(v for v in terms if v is not None) != link.value:
            out.append(f"{link.name}: {link.value} passt nicht zu den Tabellen")
    return out
