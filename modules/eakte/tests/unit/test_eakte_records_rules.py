"""The records fields of the file plan: inheritance down the plan and the end of retention."""

from datetime import date

from rathaus.eakte.domain import RecordsFields, effective_records, retention_end

PLAN = {
    "1": {"parent": None, "aussonderungsart": "B", "aufbewahrung": "10"},
    "10": {"parent": "1", "aussonderungsart": None, "aufbewahrung": None},
    "102": {"parent": "10", "aussonderungsart": "V", "aufbewahrung": None},
    "102.21": {"parent": "102", "aussonderungsart": None, "aufbewahrung": "2"},
    "9": {"parent": None, "aussonderungsart": None, "aufbewahrung": None},
    "loop-a": {"parent": "loop-b", "aussonderungsart": None, "aufbewahrung": None},
    "loop-b": {"parent": "loop-a", "aussonderungsart": None, "aufbewahrung": None},
}


def test_each_field_comes_from_the_nearest_entry_that_sets_it() -> None:
    assert effective_records(PLAN, "102.21") == RecordsFields(aussonderungsart="V", aufbewahrung="2")
    assert effective_records(PLAN, "10") == RecordsFields(aussonderungsart="B", aufbewahrung="10")


def test_nothing_set_means_the_archive_decides_and_nothing_is_destroyed() -> None:
    assert effective_records(PLAN, "9") == RecordsFields(aussonderungsart="B", aufbewahrung="unbefristet")
    assert effective_records(PLAN, "unknown") == RecordsFields(
        aussonderungsart="B", aufbewahrung="unbefristet"
    )
    assert effective_records(PLAN, "loop-a").aufbewahrung == "unbefristet"


def test_retention_counts_from_the_end_of_the_year_of_zda() -> None:
    assert retention_end(date(2026, 5, 10), "10") == date(2036, 12, 31)
    assert retention_end(date(2026, 12, 31), "2") == date(2028, 12, 31)
    assert retention_end(date(2026, 1, 1), "unbefristet") is None
