"""``rathaus trace <case-id>``: one case's spans from every module, as a tree with timings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

CASE_ID = "rathaus.case_id"


@dataclass
class SpanRow:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    start: int
    end: int
    attributes: dict[str, Any]
    children: list[SpanRow] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return (self.end - self.start) / 1e6


def _attr_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    return value


def read_spans(data_dir: Path) -> list[SpanRow]:
    rows = []
    for path in sorted((data_dir / "telemetry").glob("spans-*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    request = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a kill
                    continue
                for rs in request.get("resourceSpans", []):
                    resource = {a["key"]: _attr_value(a["value"]) for a in rs["resource"]["attributes"]}
                    service = str(resource.get("service.name", "?"))
                    for ss in rs.get("scopeSpans", []):
                        for s in ss.get("spans", []):
                            rows.append(
                                SpanRow(
                                    trace_id=s["traceId"],
                                    span_id=s["spanId"],
                                    parent_id=s.get("parentSpanId"),
                                    name=s["name"],
                                    service=service,
                                    start=int(s["startTimeUnixNano"]),
                                    end=int(s["endTimeUnixNano"]),
                                    attributes={
                                        a["key"]: _attr_value(a["value"]) for a in s.get("attributes", [])
                                    },
                                )
                            )
    return rows


def case_tree(spans: list[SpanRow], case_id: str) -> list[SpanRow]:
    """The roots of the case's span forest, children sorted by start time."""
    selected = {s.span_id: s for s in spans if s.attributes.get(CASE_ID) == case_id}
    roots: list[SpanRow] = []
    for span in selected.values():
        parent = selected.get(span.parent_id or "")
        (parent.children if parent else roots).append(span)
    for span in selected.values():
        span.children.sort(key=lambda s: s.start)
    return sorted(roots, key=lambda s: s.start)


def print_trace(data_dir: Path, case_id: str, out: TextIO) -> int:
    roots = case_tree(read_spans(data_dir), case_id)
    if not roots:
        out.write(f"no spans recorded for case {case_id} under {data_dir / 'telemetry'}\n")
        return 1
    t0 = roots[0].start
    services = set()

    def walk(span: SpanRow, depth: int) -> None:
        services.add(span.service)
        offset = (span.start - t0) / 1e6
        out.write(f"{'  ' * depth}{span.service:18} {span.name}  +{offset:.1f} ms  {span.ms:.1f} ms\n")
        for child in span.children:
            walk(child, depth + 1)

    out.write(f"case {case_id}\n")
    for root in roots:
        walk(root, 0)
    out.write(
        f"{sum(1 for _ in _all(roots))} spans from {len(services)} services: {', '.join(sorted(services))}\n"
    )
    return 0


def _all(roots: list[SpanRow]) -> Any:
    for span in roots:
        yield span
        yield from _all(span.children)
