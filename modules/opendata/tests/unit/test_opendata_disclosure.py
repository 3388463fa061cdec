"""Disclosure control: suppression and the auditor, on random and on hand-made tables."""

from __future__ import annotations

import itertools
import random

import pytest

from rathaus.opendata.domain.audit import InconsistentTable, Range, disclosed, ranges
from rathaus.opendata.domain.disclosure import Cell, Published, Table, suppress


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


def brute_force(p: Published, bound: int) -> dict[Cell, set[int]]:
    """Every value each suppressed cell takes in some consistent table whose suppressed inner
    cells are <= bound (the margins follow from the inner cells)."""
    inner = [c for c in p.suppressed() if None not in c]
    seen: dict[Cell, set[int]] = {c: set() for c in p.suppressed()}
    for combo in itertools.product(range(bound + 1), repeat=len(inner)):
        values = {c: v for c, v in p.values.items() if None not in c and v is not None}
        values |= dict(zip(inner, combo, strict=True))
        full = Table(p.rows, p.cols, {(r, c): values[(r, c)] for r in p.rows for c in p.cols}).values()
        if all(p.values[c] in (None, v) for c, v in full.items()):
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
        assert r.low <= truth[cell] and (r.high is None or truth[cell] <= r.high)
        # the cycle argument: both neighbours of the true value stay possible
        assert r.low <= truth[cell] - 1 and (r.high is None or r.high >= truth[cell] + 1)


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


def test_auditor_matches_brute_force_on_any_pattern() -> None:
    rnd = random.Random(5)
    for _ in range(200):
        cols = rnd.randint(1, 3)
        t = table([[rnd.choice([0, 1, 2, 3]) for _ in range(cols)] for _ in range(rnd.randint(1, 3))])
        truth = t.values()
        cells = rnd.sample(list(truth), rnd.randint(1, min(6, len(truth))))
        p = hide(t, set(cells))
        grand = p.values[(None, None)]
        bound = grand if grand is not None else max(truth.values()) + 3
        seen = brute_force(p, bound)
        for cell, r in ranges(p).items():
            assert r.low == min(seen[cell]) and seen[cell] == set(range(r.low, max(seen[cell]) + 1))
            if r.high is None:  # unbounded: brute force climbs to its own limit along a cycle
                assert max(seen[cell]) > truth[cell]
            else:
                assert r.high == max(seen[cell])


def test_single_cell_hides_everything_and_is_unbounded() -> None:
    p = suppress(table([[2]]))
    assert set(p.suppressed()) == {("r0", "c0"), ("r0", None), (None, "c0"), (None, None)}
    assert set(ranges(p).values()) == {Range(0, None)}


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
