"""OpenTelemetry for every process: one tracer provider per module (its own
``service.name``), OTLP/HTTP to a collector when configured, else OTLP JSON lines in a
local file; the case id rides as baggage and lands on every span as ``rathaus.case_id``."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

CASE_ID = "rathaus.case_id"
_providers: dict[tuple[str, str, str, float], TracerProvider] = {}
_lock = threading.Lock()


class CaseIdSpanProcessor(SpanProcessor):
    """Copies the case id from the baggage onto each span as it starts."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        case_id = baggage.get_baggage(CASE_ID, parent_context or context.get_current())
        if case_id:
            span.set_attribute(CASE_ID, str(case_id))

    def on_end(self, span: ReadableSpan) -> None:
        return None


class OtlpJsonFileExporter(SpanExporter):
    """Writes spans as OTLP JSON (one ExportTraceServiceRequest per line)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        by_resource: dict[int, tuple[Any, list[ReadableSpan]]] = {}
        for span in spans:
            by_resource.setdefault(id(span.resource), (span.resource, []))[1].append(span)
        request = {
            "resourceSpans": [
                {
                    "resource": {"attributes": _attributes(resource.attributes)},
                    "scopeSpans": [{"scope": {"name": "rathaus"}, "spans": [_span(s) for s in group]}],
                }
                for resource, group in by_resource.values()
            ]
        }
        line = json.dumps(request, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _attributes(attrs: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in (attrs or {}).items()]


def _span(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    assert ctx is not None
    out: dict[str, Any] = {
        "traceId": format(ctx.trace_id, "032x"),
        "spanId": format(ctx.span_id, "016x"),
        "name": span.name,
        "kind": int(span.kind.value) + 1,
        "startTimeUnixNano": str(span.start_time),
        "endTimeUnixNano": str(span.end_time),
        "attributes": _attributes(span.attributes),
        "status": {"code": span.status.status_code.value},
    }
    if span.parent is not None:
        out["parentSpanId"] = format(span.parent.span_id, "016x")
    return out


def tracer_provider(
    service: str, *, data_dir: Path, otlp_endpoint: str | None, sample_ratio: float = 1.0
) -> TracerProvider:
    """The provider for one module (or the platform); created once per process.

    ``sample_ratio`` < 1 records that share of the traces begun here; a trace continued
    from a message or a request follows its parent's decision."""
    key = (service, str(data_dir.resolve()), otlp_endpoint or "", sample_ratio)
    with _lock:
        if key in _providers:
            return _providers[key]
        provider = TracerProvider(
            resource=Resource.create({"service.name": f"rathaus-{service}", "rathaus.module": service}),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        provider.add_span_processor(CaseIdSpanProcessor())
        exporter: SpanExporter
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
        else:
            exporter = OtlpJsonFileExporter(data_dir / "telemetry" / f"spans-{service}-{os.getpid()}.jsonl")
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
        _providers[key] = provider
        return provider


def shutdown_providers() -> None:
    with _lock:
        for provider in _providers.values():
            provider.shutdown()
        _providers.clear()


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def case_context(case_id: str | None, *, parent: dict[str, str] | None = None) -> Iterator[None]:
    """Run a block in the context of a case: its spans carry ``rathaus.case_id``.

    ``parent`` is a carrier (headers) to continue a trace from, e.g. a message's.
    """
    ctx = propagate.extract(parent) if parent else context.get_current()
    if case_id:
        ctx = baggage.set_baggage(CASE_ID, case_id, ctx)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute(CASE_ID, case_id)
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


def instrument_engine(db: Any, provider: TracerProvider) -> None:
    """SQL spans for one module's engine, under that module's provider.

    ``SQLAlchemyInstrumentor`` is a process-wide singleton that instruments only the
    first engine it is given; with six modules in one process each engine needs its own.
    """
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    usage = get_meter("rathaus.db").create_up_down_counter("db.client.connections.usage")
    EngineTracer(provider.get_tracer("rathaus.db"), db.engine.sync_engine, usage, enable_commenter=False)
