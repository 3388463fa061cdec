"""The bus: a FastStream ``NatsBroker`` per module (msgspec serializer, OpenTelemetry
middleware) and one JetStream stream per producing module, declared from the contracts."""

from __future__ import annotations

import logging
from typing import Any

from fast_depends.msgspec import MsgSpecSerializer
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.security import SASLPlaintext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry.sdk.trace import TracerProvider

from rathaus.contracts.catalogue import producers
from rathaus.platform.kernel.settings import Settings

DEADLETTER_STREAM = "RATHAUS_DEADLETTER"
DEADLETTER_PREFIX = "rathaus.deadletter"
REPLAY_PREFIX = "rathaus.replay"
DEDUP_WINDOW_SECONDS = 120.0


def stream_name(producer: str) -> str:
    return f"RATHAUS_{producer.upper()}"


class _FetchTimeoutNoise(logging.Filter):
    """Drop faststream's "raised an exception, retrying" record for a pull fetch timeout.

    nats-py's ``fetch`` raises a plain ``asyncio.TimeoutError`` on some idle paths where
    faststream only expects ``nats.errors.TimeoutError``; its supervisor restarts the
    consume task at once (nothing is lost) but logs an ERROR with a traceback that says
    nothing to an operator. Every other supervisor record passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, TimeoutError) and "retrying" in record.getMessage())


BUS_LOG = logging.getLogger("rathaus.bus")
BUS_LOG.addFilter(_FetchTimeoutNoise())


def make_broker(settings: Settings, name: str, provider: TracerProvider) -> NatsBroker:
    """A broker for one module; connects on ``start()``."""
    auth: dict[str, Any] = {}
    if settings.nats.user:
        auth = {"security": SASLPlaintext(username=settings.nats.user, password=settings.nats.password or "")}
    return NatsBroker(
        settings.nats.url,
        name=f"rathaus-{name}",
        serializer=MsgSpecSerializer(),
        middlewares=[NatsTelemetryMiddleware(tracer_provider=provider)],
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        logger=BUS_LOG,  # the platform's logging configuration, not faststream's own handler
        log_level=logging.DEBUG,  # access logs ("Received", "Processed") only when debugging
        **auth,
    )


def stream_configs(replicas: int = 1) -> list[StreamConfig]:
    """Every stream the platform needs: one per producer, plus dead letters and replays."""
    configs = [
        StreamConfig(
            name=stream_name(producer),
            subjects=[f"rathaus.{producer}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=DEDUP_WINDOW_SECONDS,
            discard=DiscardPolicy.OLD,
        )
        for producer in producers()
    ]
    configs.append(
        StreamConfig(
            name=DEADLETTER_STREAM,
            subjects=[f"{DEADLETTER_PREFIX}.>", f"{REPLAY_PREFIX}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=DEDUP_WINDOW_SECONDS,
        )
    )
    return configs


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create or update the streams; safe to run from every process at start."""
    for config in stream_configs(replicas):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
