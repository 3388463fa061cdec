"""`rathaus bench --smoke`: a short run of the bus and HTTP sections whose ratios are held
against the floors in floors.toml; `make test` runs it, so a change that halves a ratio
cannot land silently. Exit code 1 when a ratio is below its floor."""

from __future__ import annotations

import asyncio
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

FLOORS = Path(__file__).with_name("floors.toml")
BUS_MESSAGES = 1000
HTTP_USERS, HTTP_SECONDS = 16, 15


@dataclass(frozen=True)
class Check:
    name: str
    ratio: float
    floor: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.ratio >= self.floor


def floors(path: Path = FLOORS) -> dict[str, float]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: float(section["floor"]) for name, section in data.items()}


async def bus_check(floor: float, messages: int = BUS_MESSAGES) -> Check:
    from rathaus.platform.bench import bus

    result = await bus.run(messages)
    return Check(
        "bus: kernel / raw",
        result.ratio,
        floor,
        f"{result.kernel_per_s:.0f} / {result.raw_per_s:.0f} events/s ({messages} events)",
    )


async def http_check(floor: float) -> Check:
    from rathaus.platform.bench import http

    with tempfile.TemporaryDirectory(prefix="rathaus-smoke-") as tmp:
        results, _ = await asyncio.to_thread(http.run, Path(tmp), users=HTTP_USERS, seconds=HTTP_SECONDS)
    by_name = {r.name: r for r in results}
    portal, bare = by_name["Citizen"], by_name["Bare"]
    ratio = portal.per_s / bare.per_s if bare.per_s else 0.0
    if portal.failures:  # a failing portal is no figure at all
        ratio = 0.0
    return Check(
        "http: portal / bare",
        ratio,
        floor,
        f"{portal.per_s:.0f} / {bare.per_s:.0f} requests/s, {portal.failures} failures",
    )


def report(checks: list[Check], out: TextIO) -> int:
    out.write("| ratio | measured | floor | |\n|---|---|---|---|\n")
    for c in checks:
        out.write(
            f"| {c.name} | {c.ratio:.3f} ({c.detail}) | {c.floor:.3f} | {'ok' if c.ok else 'BELOW'} |\n"
        )
    below = [c.name for c in checks if not c.ok]
    if below:
        out.write(f"rathaus bench --smoke: below the floor in {FLOORS}: {', '.join(below)}\n")
        return 1
    out.write("rathaus bench --smoke: every ratio at or above its floor\n")
    return 0


def run(out: TextIO) -> int:
    limits = floors()

    async def measure() -> list[Check]:
        return [await bus_check(limits["bus"]), await http_check(limits["http"])]

    return report(asyncio.run(measure()), out)
