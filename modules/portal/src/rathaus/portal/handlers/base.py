"""What every use case of the portal shares: the kernel and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rathaus.platform.kernel import Kernel

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def now() -> str:
    return datetime.now(UTC).isoformat()


class Base:
    def __init__(self, kernel: Kernel, clock: Clock = system_clock) -> None:
        self.kernel = kernel
        # what sessions and passkey challenges measure time by; tests set their own
        self.clock = clock
