"""`rathaus bench` runs and prints its table (the bus section: the quickest, real NATS)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_bench_bus_section_prints_figures(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "rathaus"),
            "bench",
            "--only",
            "bus",
            "--messages",
            "200",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kernel = re.search(r"\| bus: kernel publish \+ consume \(200 events\) \| (\d+) events/s", result.stdout)
    raw = re.search(r"\| bus: raw nats-py publish \+ consume \| (\d+) events/s", result.stdout)
    assert kernel and raw and int(kernel.group(1)) > 0 and int(raw.group(1)) > 0, result.stdout
    written = out.read_text()
    assert "`rathaus bench --only bus" in written and "Machine: " in written and "| kernel / raw |" in written
