"""`rathaus up` on two cores: the gateway passes the requests of the second process's
modules on as they came (bodies streamed both ways, cookies and redirects untouched, the
client's address forwarded) and says so in German when that process is away. With
``--replicas`` it takes the processes of a module in turn and passes over one that is away."""

from __future__ import annotations

import hashlib
import os

import httpx
import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect

from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Settings
from rathaus.platform.runtime.platform import MSG_OTHER_PROCESS_AWAY, Gateway, OtherProcess, Platform
from rathaus.platform.runtime.processes import free_port


@post("/arbeitsplatz/echo", status_code=201)
async def echo(request: Request[None, None, None]) -> Response[bytes]:
    body = await request.body()
    seen = {
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "query": request.url.query,
        "host": request.headers.get("host"),
        "forwarded_for": request.headers.get("x-forwarded-for"),
        "cookie": request.cookies.get("sitzung"),
    }
    return Response(
        msgspec.json.encode(seen),
        media_type="application/json",
        cookies=[Cookie(key="a", value="1"), Cookie(key="b", value="2", httponly=True)],
    )


@get("/arbeitsplatz/weiter")
async def onward() -> Redirect:
    return Redirect("/arbeitsplatz/ziel")


@get("/arbeitsplatz/gross", media_type="application/octet-stream")
async def large() -> bytes:
    return bytes(range(256)) * 16_384  # 4 MiB


async def test_requests_of_the_second_process_pass_on_as_they_came(settings: Settings) -> None:
    second = Litestar([echo, onward, large])
    async with serve_asgi(second) as second_base:
        platform = Platform(settings, ())
        platform.others = [OtherProcess(second_base, ("eakte",))]
        async with (
            serve_asgi(Gateway(platform)) as front,
            httpx.AsyncClient(base_url=front, timeout=30) as client,
        ):
            upload = os.urandom(3_000_000)
            r = await client.post(
                "/arbeitsplatz/echo?schritt=2&x=%C3%A4",
                content=upload,
                headers={"content-type": "application/octet-stream"},
                cookies={"sitzung": "s1"},
            )
            assert r.status_code == 201, r.text
            seen = r.json()
            assert seen["length"] == len(upload) and seen["sha256"] == hashlib.sha256(upload).hexdigest()
            assert seen["query"] == "schritt=2&x=%C3%A4"
            assert seen["host"] == front.removeprefix("http://")  # the name the browser used
            assert seen["forwarded_for"] == "127.0.0.1" and seen["cookie"] == "s1"
            assert len(r.headers.get_list("set-cookie")) == 2

            r = await client.get("/arbeitsplatz/weiter")
            assert r.status_code in (302, 303, 307) and r.headers["location"] == "/arbeitsplatz/ziel"

            r = await client.get("/arbeitsplatz/gross")
            assert r.status_code == 200 and r.content == bytes(range(256)) * 16_384

            # a path outside the second process's prefixes is not passed on
            assert (await client.get("/arbeitsplatzfremd")).status_code == 404


async def test_the_second_process_away_is_a_german_502(settings: Settings) -> None:
    platform = Platform(settings, ())
    platform.others = [OtherProcess(f"http://127.0.0.1:{free_port()}", ("eakte",))]  # nobody listens
    async with (
        serve_asgi(Gateway(platform)) as front,
        httpx.AsyncClient(base_url=front, timeout=30) as client,
    ):
        r = await client.get("/arbeitsplatz/")
        assert r.status_code == 502 and r.json()["detail"] == MSG_OTHER_PROCESS_AWAY
        health = (await client.get("/health")).json()
        assert health["ok"] is False
        assert any("nicht erreichbar" in str(c.get("error")) for c in health["components"].values())


def replica_app(name: str) -> Litestar:
    @get("/arbeitsplatz/wer")
    async def who() -> dict[str, str]:
        return {"replica": name}

    @post("/arbeitsplatz/hochladen", status_code=201)
    async def upload(request: Request[None, None, None]) -> dict[str, str]:
        return {"replica": name, "sha256": hashlib.sha256(await request.body()).hexdigest()}

    return Litestar([who, upload])


async def test_replicas_are_taken_in_turn_and_one_away_is_passed_over(settings: Settings) -> None:
    async with serve_asgi(replica_app("a")) as first, serve_asgi(replica_app("b")) as second:
        platform = Platform(settings, ())
        away = f"http://127.0.0.1:{free_port()}"  # a replica killed: nobody listens
        platform.others = [
            OtherProcess(first, ("eakte",)),
            OtherProcess(away, ("eakte",), replica=1),
            OtherProcess(second, ("eakte",), replica=2),
        ]
        async with (
            serve_asgi(Gateway(platform)) as front,
            httpx.AsyncClient(base_url=front, timeout=30) as client,
        ):
            answered = [(await client.get("/arbeitsplatz/wer")).json()["replica"] for _ in range(6)]
            # in turn; the turn of the one away goes to the next
            assert answered == ["a", "b", "b", "a", "b", "b"]
            upload = os.urandom(1_000_000)
            for _ in range(3):  # a body is sent whole to whichever replica takes it
                r = await client.post("/arbeitsplatz/hochladen", content=upload)
                assert r.status_code == 201 and r.json()["sha256"] == hashlib.sha256(upload).hexdigest()
            health = (await client.get("/health")).json()
            assert health["ok"] is False  # the replica away shows, by its number
            assert any(
                name.endswith(" #1") and "nicht erreichbar" in str(state.get("error"))
                for name, state in health["components"].items()
            ), health
