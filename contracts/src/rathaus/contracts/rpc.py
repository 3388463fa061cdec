"""Request/reply contracts, for where a person waits for the answer (a prefill, a lookup).

Subjects ``rathaus.rpc.<module>.<operation>.v<N>`` lie outside every JetStream stream:
a request is answered by the module, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

Req = TypeVar("Req", bound=msgspec.Struct)
Res = TypeVar("Res", bound=msgspec.Struct)


@dataclass(frozen=True)
class Rpc(Generic[Req, Res]):
    module: str
    operation: str
    version: int
    request: type[Req]
    response: type[Res]

    @property
    def name(self) -> str:
        return f"rpc.{self.module}.{self.operation}.v{self.version}"

    @property
    def subject(self) -> str:
        return f"rathaus.{self.name}"


RPCS: dict[str, Rpc] = {}


def rpc(
    *, module: str, operation: str, version: int, request: type[Req], response: type[Res]
) -> Rpc[Req, Res]:
    """Register a request/reply contract and return it."""
    entry = Rpc(module, operation, version, request, response)
    RPCS[entry.name] = entry
    return entry


class RpcError(msgspec.Struct, frozen=True, kw_only=True):
    """The reply when a request could not be answered."""

    error: str
