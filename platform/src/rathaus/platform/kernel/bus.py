"""The bus: a FastStream ``NatsBroker`` per module (msgspec serializer, OpenTelemetry
middleware) and one JetStream stream per producing module, declared from the contracts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from fast_depends.msgspec import MsgSpecSerializer
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.security import SASLPlaintext
from nats.errors import (
    ConnectionReconnectingError,
    NoRespondersError,
    OutboundBufferLimitError,
)
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError, ServiceUnavailableError
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


def bound_unacknowledged(nc: Any, seconds: float) -> None:
    """Close the client's TCP connection when what it sent stays unacknowledged for
    ``seconds`` (TCP_USER_TIMEOUT), so that nats-py reconnects to another node.

    A node cut off by the network (or frozen) acknowledges nothing. nats-py notices that
    through missed pongs only while its ping loop runs, and the loop waits behind a flusher
    stuck on the dead socket once a busy client (pull requests several times a second) has
    filled the socket's buffer: seen as a module whose publishes timed out for minutes
    while its connection stayed on the cut-off node. Linux then gives up after about 15
    minutes of retransmissions; this bounds it to ``seconds``."""
    writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)
    sock = writer.get_extra_info("socket") if writer is not None else None
    if sock is None or not hasattr(socket, "TCP_USER_TIMEOUT"):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(seconds * 1000))


def make_broker(settings: Settings, name: str, provider: TracerProvider) -> NatsBroker:
    """A broker for one module; connects on ``start()``."""
    auth: dict[str, Any] = {}
    holder: list[NatsBroker] = []
    dead_after = settings.nats.ping_interval_seconds * 3

    async def reconnected() -> None:
        if holder and holder[0]._connection is not None:
            bound_unacknowledged(holder[0]._connection, dead_after)

    if settings.nats.user:
        auth = {"security": SASLPlaintext(username=settings.nats.user, password=settings.nats.password or "")}
    broker = NatsBroker(
        settings.nats.servers(),
        name=f"rathaus-{name}",
        serializer=MsgSpecSerializer(),
        middlewares=[NatsTelemetryMiddleware(tracer_provider=provider)],
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        ping_interval=settings.nats.ping_interval_seconds,
        max_outstanding_pings=3,
        logger=BUS_LOG,  # the platform's logging configuration, not faststream's own handler
        log_level=logging.DEBUG,  # access logs ("Received", "Processed") only when debugging
        reconnected_cb=reconnected,
        **auth,
    )
    holder.append(broker)
    return broker


# what a publish may meet while the cluster recovers: no stream leader yet (an election),
# a request that timed out, a connection being re-established
# JetStream's error code when a stream's replicas find too few current peers
NO_PEERS_FOR_PLACEMENT = 10005

RETRYABLE = (
    NoStreamResponseError,
    NoRespondersError,
    NatsTimeoutError,
    TimeoutError,
    ServiceUnavailableError,
    ConnectionReconnectingError,
    OutboundBufferLimitError,
)


async def publish_retrying(
    js: JetStreamContext,
    payload: bytes,
    subject: str,
    *,
    headers: dict[str, str],
    stream: str,
    retry_for: float,
    timeout: float = 5.0,
    on_retry: Callable[[BaseException], None] | None = None,
) -> None:
    """Publish to JetStream and wait for its ack; while the cluster recovers, try again for
    ``retry_for`` seconds.

    nats-py gives up at once on a publish that meets no responder (the stream's leader is
    being elected, 4–9 s after a node died) and never repeats one that timed out. The
    headers (``Nats-Msg-Id`` = the event id) stay the same on every attempt, so a publish
    whose ack was lost but which the stream stored is dropped as a duplicate.
    """
    deadline = time.monotonic() + retry_for
    pause = 0.1
    while True:
        try:
            await js.publish(subject, payload, timeout=timeout, stream=stream, headers=headers)
            return
        except RETRYABLE as exc:
            if time.monotonic() + pause > deadline:
                raise
            if on_retry is not None:
                on_retry(exc)
            await asyncio.sleep(pause)  # a back-off between attempts, not a wait for a condition
            pause = min(pause * 2, 1.0)


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


async def ensure_streams(js: JetStreamContext, replicas: int = 1, *, retry_for: float = 60.0) -> None:
    """Create or update the streams; safe to run from every process at start.

    A cluster that has just started (or lost its meta leader) answers JetStream's API only
    once its nodes have elected one: until then a request times out or meets no responder,
    and is tried again for ``retry_for`` seconds. A meta leader elected before its peers
    are current refuses a replicated stream ("no suitable peers for placement"): tried
    again too, as the peers report in within seconds."""
    deadline = time.monotonic() + retry_for
    pause = 0.2
    for config in stream_configs(replicas):
        while True:
            try:
                try:
                    await js.stream_info(config.name or "")
                except NotFoundError:
                    await js.add_stream(config)
                else:
                    await js.update_stream(config)
                break
            except (*RETRYABLE, BadRequestError) as exc:
                if isinstance(exc, BadRequestError) and exc.err_code != NO_PEERS_FOR_PLACEMENT:
                    raise
                if time.monotonic() + pause > deadline:
                    raise
                await asyncio.sleep(pause)  # a back-off between attempts, not a wait for a condition
                pause = min(pause * 2, 2.0)
