"""Head sampling (settings.telemetry.sample_ratio): a new trace is kept at that ratio; a
continued one follows its parent, so a sampled case keeps every span across modules."""

from __future__ import annotations

from pathlib import Path

from opentelemetry import propagate

from rathaus.platform.kernel.telemetry import tracer_provider

SAMPLED = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
NOT_SAMPLED = {"traceparent": "00-0af7651916cd43dd8448eb211c80319d-b7ad6b7169203332-00"}


def test_new_traces_follow_the_ratio_continued_ones_their_parent(tmp_path: Path) -> None:
    never = tracer_provider("sampling-0", data_dir=tmp_path, otlp_endpoint=None, sample_ratio=0.0)
    always = tracer_provider("sampling-1", data_dir=tmp_path, otlp_endpoint=None, sample_ratio=1.0)
    try:
        for provider, expected in ((never, False), (always, True)):
            with provider.get_tracer("t").start_as_current_span("new case") as span:
                assert span.is_recording() is expected
        # a message from a sampled case: its consumer records even where new traces are not
        tracer = never.get_tracer("t")
        with tracer.start_as_current_span("handle", context=propagate.extract(SAMPLED)) as span:
            assert span.is_recording()
            with tracer.start_as_current_span("child") as child:
                assert child.is_recording()
        with always.get_tracer("t").start_as_current_span(
            "handle", context=propagate.extract(NOT_SAMPLED)
        ) as s:
            assert not s.is_recording()
    finally:
        never.shutdown()
        always.shutdown()
