"""The search benchmark, run by ``rathaus bench --only suche`` in a process of its own:
generate a corpus of N documents, build the index (time, size on disk, documents/s), then
measure the latency of searches as the page runs them (unit filter, top 20 with snippets,
facet counts) over a mix of term, two-term, phrase, prefix and faceted queries. Prints
one JSON object. ``python -m rathaus.eakte.search.bench --docs 10000 --dir /tmp/x``."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rathaus.eakte.search.corpus import Corpus
from rathaus.eakte.search.engine import SearchIndex
from rathaus.eakte.search.query import parse

CHUNK = 10_000
WARMUP = 100


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def build(corpus: Corpus, path: Path, threads: int, heap: int) -> dict[str, Any]:
    shutil.rmtree(path, ignore_errors=True)
    index = SearchIndex(path, writer_heap=heap, writer_threads=threads)
    started = time.perf_counter()
    generating = 0.0
    entries = corpus.entries()
    done = False
    while not done:
        t = time.perf_counter()
        chunk = [e for _, e in zip(range(CHUNK), entries, strict=False)]
        generating += time.perf_counter() - t
        done = len(chunk) < CHUNK
        index.add(chunk)
    index.commit(0)
    committed = time.perf_counter() - started
    index.close()  # waits for the merges
    merged = time.perf_counter() - started
    searcher = index.index.searcher()
    return {
        "docs": searcher.num_docs,
        "build_s": committed,
        "build_and_merge_s": merged,
        "generate_s": generating,
        "docs_per_s": searcher.num_docs / committed,
        "size_bytes": index.size_bytes(),
        "segments": searcher.num_segments,
        "writer_threads": threads,
        "writer_heap_mb": heap // 1_000_000,
    }


def measure(corpus: Corpus, path: Path, count: int) -> dict[str, Any]:
    index = SearchIndex(path)  # opened as after a restart
    queries = corpus.queries(count + WARMUP)
    by_kind: dict[str, list[float]] = defaultdict(list)
    cpu: list[float] = []
    hits: dict[str, list[int]] = defaultdict(list)
    for i, (kind, text, unit, filters) in enumerate(queries):
        t, c = time.perf_counter(), time.thread_time()
        results = index.search(parse(text), unit, filters, limit=20)
        elapsed, used = time.perf_counter() - t, time.thread_time() - c
        if i >= WARMUP:
            by_kind[kind].append(elapsed)
            cpu.append(used)
            hits[kind].append(results.total)
    every = [v for values in by_kind.values() for v in values]
    out: dict[str, Any] = {
        "queries": len(every),
        "p50_ms": pct(every, 50) * 1000,
        "p95_ms": pct(every, 95) * 1000,
        "p99_ms": pct(every, 99) * 1000,
        "max_ms": max(every) * 1000,
        # CPU time of the searching thread (tantivy searches on the caller's thread): what
        # a query costs without waiting for a core on a shared machine
        "cpu_p50_ms": pct(cpu, 50) * 1000,
        "cpu_p99_ms": pct(cpu, 99) * 1000,
        "kinds": {},
    }
    for kind, values in by_kind.items():
        out["kinds"][kind] = {
            "n": len(values),
            "p50_ms": pct(values, 50) * 1000,
            "p99_ms": pct(values, 99) * 1000,
            "mean_hits": sum(hits[kind]) / len(hits[kind]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--docs", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--dir", required=True, help="where the index is built (deleted first)")
    p.add_argument("--threads", type=int, default=2, help="indexing threads of the writer")
    p.add_argument("--heap-mb", type=int, default=512, help="the writer's memory budget")
    p.add_argument("--keep", action="store_true", help="keep the index afterwards")
    p.add_argument(
        "--measure-only", action="store_true", help="search an index kept by an earlier run (same --docs)"
    )
    args = p.parse_args(argv)
    path = Path(args.dir)
    corpus = Corpus(args.docs)
    result: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    if not args.measure_only:
        result["build"] = build(corpus, path, args.threads, args.heap_mb * 1_000_000)
    else:
        for _ in corpus.entries():  # the same random state as after a build: the same queries
            pass
    result["search"] = measure(corpus, path, args.queries)
    result["load_after"] = os.getloadavg()[0]
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not args.keep:
        shutil.rmtree(path, ignore_errors=True)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
