"""What the `rathaus users` command asks of the E-Akte."""

from __future__ import annotations

from rathaus.eakte.handlers import EAkte
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
