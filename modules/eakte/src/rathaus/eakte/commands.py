"""What the `rathaus users` and `rathaus eakte` commands ask of the E-Akte."""

from __future__ import annotations

from rathaus.eakte.handlers import EAkte
from rathaus.eakte.search.indexer import IndexBusy, SearchIndexer
from rathaus.platform.kernel import Kernel


async def add_staff(
    kernel: Kernel, *, username: str, password: str, display_name: str, role: str, unit: str
) -> str:
    """Create a staff account; raises ValueError with a German message."""
    return await EAkte(kernel).add_staff(
        username=username, password=password, display_name=display_name, role=role, unit=unit
    )


async def verify_records(kernel: Kernel) -> tuple[bool, str]:
    """``rathaus audit verify``: the audit chain and every document's bytes; (ok, report)."""
    found = await EAkte(kernel).verify_records()
    return found.ok, found.report()


async def reindex(kernel: Kernel) -> str:
    """Build the search index anew from the E-Akte's store; a German line for the operator."""
    indexer = SearchIndexer(kernel)
    try:
        entries = await indexer.reset()
    except IndexBusy as busy:
        raise ValueError(str(busy)) from None
    finally:
        await indexer.close()
    assert indexer.index is not None
    size = indexer.index.size_bytes() / 2**20
    return f"Suchindex neu aufgebaut: {entries} Einträge, {size:.1f} MiB in {indexer.path}."
