"""What every use case of the portal shares: the kernel and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

from rathaus.platform.kernel import Kernel


def now() -> str:
    return datetime.now(UTC).isoformat()


class Base:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
