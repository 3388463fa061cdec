"""Disclosure control: suppression and the auditor, on random and on hand-made tables, one
table and the tables of a dataset together."""

from __future__ import annotations

import itertools
import random

import pytest

from rathaus.opendata.domain.audit import InconsistentTable, Link, Range, disclosed, findings, ranges
from rathaus.opendata.domain.disclosure import Cell, Published, Table, suppress, suppress_together
from rathaus.opendata.domain.times import links, times


def table(rows: list[list[int]]) -> Table:
    names = tuple(f"r{i}" for i in range(len(rows)))
    cols = tuple(f"c{j}" for j in range(len(rows[0])))
    return Table(
        names, cols, {(names[i], cols[j]): n for i, row in enumerate(rows) for j, n in enumerate(row)}
    )


def hide(t: Table, cells: set[Cell]) -> Published:
    return Published(t.rows, t.cols, {c: None if c in cells else v for c, v in t.values().items()})


def consistent(p: Published, v: dict[Cell, int]) -> bool:
    return (
        all(sum(v[(r, c)] for c in p.cols) == v[(r, None)] for r in p.rows)
        and all(sum(v[(r, c)] for r in p.rows) == v[(None, c)] for c in p.cols)
        and sum(v[(r, None)] for r in p.rows) == v[(None, None)]
    )


def brute_force(p: Published, bound: int, floor: int) -> dict[Cell, set[int]]:
    """Every value each suppressed cell takes in some consistent table whose suppressed inner
    cells lie in [floor, bound] (the margins follow from the inner cells, and a suppressed
    margin is at least floor too)."""
    inner = [c for c in p.suppressed() if None not in c]
    seen: dict[Cell, set[int]] = {c: set() for c in p.suppressed()}
    for combo in itertools.product(range(floor, bound + 1), repeat=len(inner)):
        values = {c: v for c, v in p.values.items() if None not in c and v is not None}
        values |= dict(zip(inner, combo, strict=True))
        full = Table(p.rows, p.cols, {(r, c): values[(r, c)] for r in p.rows for c in p.cols}).values()
        if all(v >= floor if p.values[c] is None else p.values[c] == v for c, v in full.items()):
            for c in seen:
                seen[c].add(full[c])
    return seen


def naive_check(p: Published) -> bool:
    """The tempting rule: no row or column (margins included) has exactly one suppressed cell."""
    lines = [[(r, c) for c in (*p.cols, None)] for r in (*p.rows, None)]
    lines += [[(r, c) for r in (*p.rows, None)] for c in (*p.cols, None)]
    return all(sum(p.values[cell] is None for cell in line) != 1 for line in lines)


def check_protected(t: Table, p: Published) -> None:
    truth = t.values()
    for cell, value in p.values.items():
        if value is not None:
            assert value == truth[cell]
        elif truth[cell] == 0:
            raise AssertionError(f"a zero was suppressed: {cell}")
    assert {c for c, n in truth.items() if 0 < n < 3} <= set(p.suppressed())
    for cell, r in ranges(p).items():
        assert not r.pinned, (cell, r, t)
        assert 1 <= r.low <= truth[cell] and (r.high is None or truth[cell] <= r.high)
        # the cycle argument: a small cell can be one larger, all others staying >= 1
        if truth[cell] < 3:
            assert r.high is None or r.high >= truth[cell] + 1


def test_random_tables_are_protected() -> None:
    rnd = random.Random(20261123)
    for _ in range(1500):
        rows, cols = rnd.randint(1, 7), rnd.randint(1, 7)
        weights = rnd.choice([[0, 1, 2], [0, 0, 1, 2, 3, 5, 40], [1, 2, 3], [0, 3, 4, 9]])
        t = table([[rnd.choice(weights) for _ in range(cols)] for _ in range(rows)])
        check_protected(t, suppress(t))


def test_city_sized_table_is_protected() -> None:
    rnd = random.Random(7)
    t = table([[rnd.choice([0, 0, 1, 2, 3, 4, 8, 15, 60]) for _ in range(24)] for _ in range(26)])
    published = suppress(t)
    check_protected(t, published)
    assert (None, None) not in published.suppressed()


@pytest.mark.parametrize("floor", [0, 1])
def test_auditor_matches_brute_force_on_any_pattern(floor: int) -> None:
    rnd = random.Random(5 + floor)
    for _ in range(200):
        cols = rnd.randint(1, 3)
        t = table([[rnd.choice([0, 1, 2, 3]) for _ in range(cols)] for _ in range(rnd.randint(1, 3))])
        truth = t.values()
        candidates = [c for c, v in truth.items() if v >= floor]  # floor 1: zeros stay published
        if not candidates:
            continue
        cells = rnd.sample(candidates, rnd.randint(1, min(6, len(candidates))))
        p = hide(t, set(cells))
        grand = p.values[(None, None)]
        bound = grand if grand is not None else max(truth.values()) + 3
        seen = brute_force(p, bound, floor)
        for cell, r in ranges(p, floor).items():
            assert r.low == min(seen[cell]) and seen[cell] == set(range(r.low, max(seen[cell]) + 1))
            if r.high is None:  # unbounded: brute force climbs to its own limit along a cycle
                assert max(seen[cell]) > truth[cell]
            else:
                assert r.high == max(seen[cell])


def test_knowing_that_a_hidden_value_is_at_least_one_pins_undirected_cycles() -> None:
    # The cycle r0c0 r0c1 r1c1 r1c0 through the two column totals hides every 1 if a cell may
    # fall to 0. But zeros are always published, so anyone knows a hidden cell is at least 1:
    # each row's two hidden cells add up to 2, so both are 1.
    t = table([[1, 1, 5], [1, 1, 5]])
    undirected = hide(t, {("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1"), (None, "c0"), (None, "c1")})
    assert disclosed(undirected, floor=0) == []
    assert ranges(undirected)[("r0", "c0")] == Range(1, 1)
    p = suppress(t)
    check_protected(t, p)


def test_single_cell_hides_everything_and_is_unbounded() -> None:
    p = suppress(table([[2]]))
    assert set(p.suppressed()) == {("r0", "c0"), ("r0", None), (None, "c0"), (None, None)}
    assert set(ranges(p).values()) == {Range(1, None)}


def test_no_small_cells_nothing_suppressed() -> None:
    p = suppress(table([[3, 0, 7], [0, 4, 5]]))
    assert p.suppressed() == []


def test_smallest_complement_first() -> None:
    # r0's 1 needs a partner in its row and column; the 3s are cheaper than the 10s
    t = table([[1, 10, 3], [10, 10, 10], [3, 10, 3]])
    p = suppress(t)
    assert set(p.suppressed()) == {("r0", "c0"), ("r0", "c2"), ("r2", "c0"), ("r2", "c2")}
    check_protected(t, p)


def test_published_zero_in_the_column_forces_the_column_total() -> None:
    # c0 holds only the 2 beside a published 0: hiding the 2 with its row total (two hidden
    # cells in the row) leaves it derivable from c0's total minus that 0
    t = table([[2, 0, 0], [0, 4, 5]])
    naive = hide(t, {("r0", "c0"), ("r0", None)})
    assert disclosed(naive) == [("r0", "c0"), ("r0", None)]
    p = suppress(t)
    assert (None, "c0") in p.suppressed() and ("r0", "c1") not in p.suppressed()
    check_protected(t, p)


def test_bridge_between_two_cycles_is_found() -> None:
    # two suppressed 2x2 blocks joined by one suppressed cell: every row and column holds two
    # suppressed cells, yet the joining cell follows from the totals of rows r0, r1
    t = table([[3, 4, 0, 0, 6], [5, 6, 2, 0, 7], [0, 0, 8, 9, 6], [0, 0, 4, 5, 7], [5, 6, 7, 8, 9]])
    block = {(f"r{i}", f"c{j}") for i in (0, 1) for j in (0, 1)} | {
        (f"r{i}", f"c{j}") for i in (2, 3) for j in (2, 3)
    }
    p = hide(t, block | {("r1", "c2")})
    assert naive_check(p)
    assert disclosed(p) == [("r1", "c2")]
    assert ranges(p)[("r1", "c2")] == Range(2, 2)


def test_margins_can_be_primary() -> None:
    # each inner cell is fine, but a row total of 2 would tell about that row
    t = table([[1, 1, 0], [4, 4, 4]])
    p = suppress(t)
    assert ("r0", None) in p.suppressed()
    check_protected(t, p)


def test_inconsistent_publication_is_refused() -> None:
    t = table([[3, 4], [5, 6]])
    values = dict(hide(t, {("r0", "c0")}).values)
    values[("r1", None)] = 99
    with pytest.raises(InconsistentTable):
        ranges(Published(t.rows, t.cols, values))


def test_zero_rows_and_columns() -> None:
    t = table([[0, 0, 0], [0, 1, 3], [0, 3, 3]])
    p = suppress(t)
    assert all(t.values()[c] > 0 for c in p.suppressed())
    check_protected(t, p)


def test_no_cases_no_cells() -> None:
    p = suppress(Table((), (), {}))
    assert p.values == {(None, None): 0} and ranges(p) == {}


# -- the tables of a dataset together ---------------------------------------------------------


def tables(**grids: list[list[int]]) -> dict[str, Table]:
    return {key: table(grid) for key, grid in grids.items()}


def published_times(p: dict[str, Published], hours: dict[str, list[int]] | None = None) -> list[Link]:
    rows, total = times(p, hours or {})
    return links(rows, total)


def test_safe_alone_derivable_together_now_suppressed() -> None:
    # Month c1 has two grants (one each in r0 and r1) and five refusals. Alone, each table is
    # protected: the grants hide in a cycle with c0 and the totals, the refusals have nothing
    # to hide. But the processing times publish the number of Bescheide per month (grants +
    # refusals): 7 in c1, minus the refusals' published column total 5, gives the hidden 2.
    t = tables(bewilligt=[[4, 1], [5, 1]], abgelehnt=[[3, 5], [0, 0]], antraege=[[9, 6], [6, 4]])
    alone = {key: suppress(x) for key, x in t.items()}
    assert all(disclosed(p) == [] for p in alone.values())
    assert alone["bewilligt"].values[(None, "c1")] is None and alone["abgelehnt"].values[(None, "c1")] == 5
    naive = [Link("Bescheide c1", 7, (("bewilligt", (None, "c1")), ("abgelehnt", (None, "c1"))))]
    assert findings(alone, naive)[-1] == "Bescheide c1: verrät bewilligt (None, 'c1')"
    # and a count of Bescheide for (r0, c1) known from elsewhere would give the grant away too
    assert alone["abgelehnt"].values[("r0", "c1")] == 5

    together = suppress_together(t)
    for key, p in together.items():
        check_protected(t[key], p)
    # hidden in one table -> hidden in the others (unless 0 there), and protected again
    assert together["abgelehnt"].values[(None, "c1")] is None
    assert together["abgelehnt"].values[("r0", "c1")] is None
    assert together["antraege"].values[("r0", "c1")] is None
    rows, total = times(together, {})
    assert [r.bescheide for r in rows if r.monat == "c1"] == [None]  # not published: both hidden
    assert findings(together, links(rows, total)) == []


def test_alignment_leaves_zeros_published() -> None:
    t = tables(bewilligt=[[1, 4], [4, 4]], abgelehnt=[[0, 3], [3, 3]])
    together = suppress_together(t)
    assert together["bewilligt"].values[("r0", "c0")] is None
    assert together["abgelehnt"].values[("r0", "c0")] == 0
    assert findings(together) == []


def test_findings_name_a_misaligned_pattern_and_bad_links() -> None:
    t = tables(bewilligt=[[1, 4], [4, 4]], abgelehnt=[[3, 3], [3, 3]])
    alone = {key: suppress(x) for key, x in t.items()}
    problems = findings(alone)
    assert any("in bewilligt gesperrt, in abgelehnt veröffentlicht" in p for p in problems)
    together = suppress_together(t)
    both = (("bewilligt", ("r0", "c0")), ("abgelehnt", ("r0", "c0")))  # e.g. known from elsewhere
    assert together["abgelehnt"].values[("r0", "c0")] is None
    assert findings(together, [Link("Bescheide r0 c0", 4, both)]) == [
        "Bescheide r0 c0: Summe über 2 gesperrte Werte, nicht prüfbar"
    ]
    assert findings(
        together, [Link("Bescheide c1", 99, (("bewilligt", (None, "c1")), ("abgelehnt", (None, "c1"))))]
    ) == ["Bescheide c1: 99 passt nicht zu den Tabellen"]


def test_random_datasets_are_protected_together() -> None:
    rnd = random.Random(20261124)
    for _ in range(300):
        rows, cols = rnd.randint(1, 6), rnd.randint(1, 6)
        weights = rnd.choice([[0, 1, 2], [0, 0, 1, 2, 3, 5, 40], [1, 2, 3], [0, 3, 4, 9]])
        t = {
            key: table([[rnd.choice(weights) for _ in range(cols)] for _ in range(rows)])
            for key in ("antraege", "bewilligt", "abgelehnt")
        }
        together = suppress_together(t)
        for key, p in together.items():
            check_protected(t[key], p)
        hidden = set().union(*(p.suppressed() for p in together.values()))
        for key, p in together.items():
            assert all(p.values[c] in (None, 0) for c in hidden), key
        assert findings(together, published_times(together)) == []


def test_tables_of_a_dataset_share_their_axes() -> None:
    with pytest.raises(ValueError, match="share"):
        suppress_together({"a": table([[1]]), "b": table([[1, 2]])})
