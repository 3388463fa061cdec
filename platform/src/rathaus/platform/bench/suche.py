"""Full-text search of the E-Akte at scale: the E-Akte's own benchmark program (``python -m
rathaus.eakte.search.bench``, a process of its own: the platform imports no module)
generates a corpus, builds the tantivy index and measures search latency; this section
runs it and turns its JSON into table rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rathaus.platform.bench import Table


def run(workdir: Path, *, docs: int, queries: int) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own program from the venv
        [
            sys.executable, "-m", "rathaus.eakte.search.bench",
            "--docs", str(docs), "--queries", str(queries), "--dir", str(workdir / "suche"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def rows(result: dict[str, Any], table: Table) -> int:
    """Adds the section's rows; returns the peak RSS of the benchmark process in KiB."""
    build, search = result["build"], result["search"]
    table.add(
        f"search index build: {build['docs']:,} generated documents".replace(",", "."),
        f"{build['build_s']:.0f} s, {build['docs_per_s']:.0f} docs/s, "
        f"{build['size_bytes'] / 2**20:.0f} MiB on disk",
        "",
        f"incl. {build['generate_s']:.0f} s corpus generation (pipelined), {build['writer_threads']} "
        f"indexing threads, {build['segments']} segments after "
        f"{build['build_and_merge_s']:.0f} s with merges",
    )
    table.add(
        f"search latency p50 / p95 / p99 ({search['queries']} queries, one at a time)",
        f"{search['p50_ms']:.1f} / {search['p95_ms']:.1f} / {search['p99_ms']:.1f} ms",
        "p99 ≤ 50 ms at 1.000.000",
        "unit filter, top 20 with snippets, facet counts (Aktenplan, Jahr, Status); "
        f"max {search['max_ms']:.0f} ms; load average {result['load_before']:.1f} → "
        f"{result['load_after']:.1f} on the machine",
    )
    if "cpu_p50_ms" in search:
        table.add(
            "… CPU time per search p50 / p99",
            f"{search['cpu_p50_ms']:.1f} / {search['cpu_p99_ms']:.1f} ms",
            "",
            "the searching thread's CPU time: the latency without waiting for a core",
        )
    for kind, figures in search["kinds"].items():
        table.add(
            f"… {kind} queries: p50 / p99",
            f"{figures['p50_ms']:.1f} / {figures['p99_ms']:.1f} ms",
            "",
            f"{figures['mean_hits']:.0f} hits on average",
        )
    return int(result["peak_rss_mb"] * 1024)
