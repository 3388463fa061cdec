"""Inspect and replay dead letters (``rathaus deadletters list|replay``).

A replay sends the original bytes to ``rathaus.replay.<consumer>.<subject>``, which
only the consumer that failed listens to; the entry leaves the dead-letter list once
the replay is accepted. If the replay fails again, it comes back as a new entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

import msgspec
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from rathaus.contracts import decode_event
from rathaus.platform.kernel.bus import DEADLETTER_PREFIX, DEADLETTER_STREAM, REPLAY_PREFIX


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    consumer: str
    subject: str
    event_id: str
    event_type: str
    error: str
    deliveries: int
    failed_at: float
    data: bytes


async def list_dead_letters(nc: Client, consumer: str | None = None) -> list[DeadLetter]:
    js = nc.jetstream()
    info = await js.stream_info(DEADLETTER_STREAM)
    letters: list[DeadLetter] = []
    subject_filter = f"{DEADLETTER_PREFIX}.{consumer}." if consumer else f"{DEADLETTER_PREFIX}."
    if not info.state.messages:
        return letters
    for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
        try:
            msg = await js.get_msg(DEADLETTER_STREAM, seq)
        except NotFoundError:
            continue
        if not (msg.subject or "").startswith(subject_filter):
            continue
        headers = msg.headers or {}
        event_id, event_type = "?", "?"
        try:
            envelope = decode_event(msg.data or b"")
            event_id, event_type = envelope.id, envelope.type
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass  # a malformed envelope is exactly what may land here
        letters.append(
            DeadLetter(
                seq=seq,
                consumer=headers.get("Rathaus-Consumer", ""),
                subject=headers.get("Rathaus-Subject", ""),
                event_id=event_id,
                event_type=event_type,
                error=unquote(headers.get("Rathaus-Error", "")),
                deliveries=int(headers.get("Rathaus-Deliveries", "0")),
                failed_at=float(headers.get("Rathaus-Failed-At", "0")),
                data=msg.data or b"",
            )
        )
    return letters


async def replay(nc: Client, letter: DeadLetter) -> None:
    """Hand a dead letter back to the consumer that failed on it, then drop the entry."""
    js = nc.jetstream()
    await js.publish(
        f"{REPLAY_PREFIX}.{letter.consumer}.{letter.subject}",
        letter.data,
        stream=DEADLETTER_STREAM,
        headers={"Nats-Msg-Id": f"replay:{letter.consumer}:{letter.seq}"},
    )
    await js.delete_msg(DEADLETTER_STREAM, letter.seq)
