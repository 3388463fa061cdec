"""Request/reply between two kernels over a real nats-server."""

from __future__ import annotations

import msgspec
import pytest

from rathaus.contracts.rpc import rpc
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.rpc import RpcFailed


class Question(msgspec.Struct, frozen=True, kw_only=True):
    n: int


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    square: int


SQUARE = rpc(module="broker", operation="test.square", version=1, request=Question, response=Answer)
NOBODY = rpc(module="broker", operation="test.nobody", version=1, request=Question, response=Answer)


async def test_request_reply_answers_and_reports_failures(settings: Settings) -> None:
    server, client = Kernel("broker", settings), Kernel("portal", settings)

    async def square(q: Question) -> Answer:
        if q.n < 0:
            raise ValueError("negative")
        return Answer(square=q.n * q.n)

    server.answer(SQUARE, square)
    await server.start(ModuleApp())
    await client.start(ModuleApp())
    try:
        assert await client.ask(SQUARE, Question(n=7)) == Answer(square=49)
        with pytest.raises(RpcFailed, match="ValueError"):
            await client.ask(SQUARE, Question(n=-1))
        with pytest.raises(RpcFailed):
            await client.ask(NOBODY, Question(n=1), timeout=0.5)
    finally:
        await client.stop(ModuleApp())
        await server.stop(ModuleApp())
