"""`rathaus up` on two cores: the gateway passes the requests of the second process's
modules on as they came (bodies streamed both ways, cookies and redirects untouched, the
client's address forwarded) and says so in German when that process is away."""

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
from rathaus.platform.runtime.platform import MSG_OTHER_PROCESS_AWAY, Gateway, Platform
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
        platform.remote = {"/arbeitsplatz": second_base}
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
    platform.remote = {"/arbeitsplatz": f"http://127.0.0.1:{free_port()}"}  # nobody listens
    async with (
        serve_asgi(Gateway(platform)) as front,
        httpx.AsyncClient(base_url=front, timeout=30) as client,
    ):
        r = await client.get("/arbeitsplatz/")
        assert r.status_code == 502 and r.json()["detail"] == MSG_OTHER_PROCESS_AWAY
        health = (await client.get("/health")).json()
        assert health["ok"] is False
        assert any("nicht erreichbar" in str(c.get("error")) for c in health["components"].values())
