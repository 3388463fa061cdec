"""`rathaus trace`: spans of one case from several services, as a tree with timings."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rathaus.platform.runtime.trace import print_trace


def span(trace: str, sid: str, parent: str | None, name: str, start_ms: int, end_ms: int, case: str) -> dict:
    out = {
        "traceId": trace,
        "spanId": sid,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start_ms * 1_000_000),
        "endTimeUnixNano": str(end_ms * 1_000_000),
        "attributes": [{"key": "rathaus.case_id", "value": {"stringValue": case}}],
        "status": {"code": 0},
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def write(path: Path, service: str, spans: list[dict]) -> None:
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}],
            }
        ]
    }
    with path.open("a") as f:
        f.write(json.dumps(request) + "\n")


def test_prints_the_case_tree_across_services_and_ignores_other_cases(tmp_path: Path) -> None:
    tel = tmp_path / "telemetry"
    tel.mkdir()
    write(
        tel / "spans-portal-1.jsonl", "rathaus-portal", [span("t1", "a", None, "POST /antrag", 0, 50, "c1")]
    )
    write(
        tel / "spans-eakte-2.jsonl",
        "rathaus-eakte",
        [
            span("t1", "b", "a", "eakte handle submitted", 60, 80, "c1"),
            span("t9", "z", None, "other case", 0, 5, "c2"),
        ],
    )
    (tel / "spans-eakte-2.jsonl").open("a").write('{"cut short by a kill')
    out = io.StringIO()
    assert print_trace(tmp_path, "c1", out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "case c1"
    assert lines[1].startswith("rathaus-portal") and "POST /antrag" in lines[1] and "50.0 ms" in lines[1]
    assert lines[2].startswith("  rathaus-eakte") and "+60.0 ms" in lines[2]
    assert "other case" not in out.getvalue()
    assert lines[-1] == "2 spans from 2 services: rathaus-eakte, rathaus-portal"
    assert print_trace(tmp_path, "unknown", io.StringIO()) == 1
