"""Request/reply over NATS with versioned contracts, for where a person waits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from faststream.nats import NatsBroker

from rathaus.contracts.rpc import Rpc, RpcError

log = logging.getLogger("rathaus.rpc")
Req = TypeVar("Req", bound=msgspec.Struct)
Res = TypeVar("Res", bound=msgspec.Struct)


class RpcFailed(Exception):
    """The other module could not answer (error reply, no responder, or time-out)."""


def serve(
    broker: NatsBroker, module: str, contract: Rpc[Req, Res], handler: Callable[[Req], Awaitable[Res]]
) -> None:
    """Answer requests of ``contract`` with ``handler`` (one queue group per module)."""

    async def on_request(body: bytes) -> bytes:
        try:
            request = msgspec.json.decode(body, type=contract.request)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return msgspec.json.encode(RpcError(error=f"invalid request: {exc}"))
        try:
            return msgspec.json.encode(await handler(request))
        except Exception as exc:
            log.exception("%s failed to answer %s", module, contract.name)
            return msgspec.json.encode(RpcError(error=type(exc).__name__))

    broker.subscriber(contract.subject, queue=module, decoder=_raw, title=f"{module}:{contract.name}")(
        on_request
    )


async def call(broker: NatsBroker, contract: Rpc[Req, Res], request: Req, timeout: float = 5.0) -> Res:
    """Ask and wait for the answer; raises :class:`RpcFailed` when there is none."""
    try:
        reply = await broker.request(msgspec.json.encode(request), contract.subject, timeout=timeout)
    except Exception as exc:  # no responders, time-out, connection loss
        raise RpcFailed(f"{contract.name}: {type(exc).__name__}") from exc
    body = bytes(reply.body)
    try:
        return msgspec.json.decode(body, type=contract.response)
    except msgspec.ValidationError:
        error = msgspec.json.decode(body, type=RpcError)
        raise RpcFailed(f"{contract.name}: {error.error}") from None


async def _raw(message: Any) -> bytes:
    return bytes(message.body)
