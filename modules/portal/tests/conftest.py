"""The portal as a citizen meets it: the portal module and the real data broker on a real
nats-server, the portal's HTTP app on a real port, and an HTTP client that handles the CSRF
token the way a browser does (cookie plus the hidden form field of the page it came from)."""

from __future__ import annotations

import mailbox
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import nats.js.api
import pytest

from rathaus.platform.browser import serve_asgi
from rathaus.platform.kernel import Kernel, ModuleApp, Settings
from rathaus.platform.kernel.web import create_module_app
from rathaus.platform.runtime.mailsink import MailSink
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually
from rathaus.portal import PREFIX, TITLE
from rathaus.portal.bootstrap import bootstrap

SCAN = Path(__file__).parents[3] / "e2e" / "data" / "fahrzeugschein-scan.pdf"
PASSWORD = "Ein-gutes-Passwort-2026"
ERIKA = {"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12"}
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
INVITATION_LINK = re.compile(r"https?://\S+(/konto/einladungen/[A-Za-z0-9_-]+)")
SHOWN = re.compile(r'name="_felder" value="([^"]*)"')


class Citizen:
    """One browser-like HTTP client: cookies, CSRF token from the page, no JavaScript."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client
        self.email = f"buergerin-{uuid.uuid4().hex[:8]}@example.org"

    async def hidden(self, page: str) -> dict[str, str]:
        """The hidden fields a browser would send with the page's form: the CSRF token and,
        on a form page, the names of the fields it shows."""
        response = await self.http.get(page)
        match = TOKEN.search(response.text)
        assert match, (page, response.status_code, response.text[:500])
        out = {"_csrf_token": match.group(1)}
        shown = SHOWN.search(response.text)
        if shown:
            out["_felder"] = shown.group(1)
        return out

    async def token(self, page: str) -> str:
        return (await self.hidden(page))["_csrf_token"]

    async def post(
        self, path: str, data: dict[str, str], *, page: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Submit a form of ``page`` (default: the path itself) to ``path``, as a browser would."""
        return await self.http.post(path, data={**await self.hidden(page or path), **data}, **kwargs)

    async def register(self, **person: str) -> httpx.Response:
        data = {**ERIKA, **person, "email": self.email, "password": PASSWORD, "password_repeat": PASSWORD}
        return await self.post(f"{PREFIX}/konto/registrieren", data)

    async def login(self, password: str = PASSWORD, next: str = "") -> httpx.Response:
        page = f"{PREFIX}/konto/anmelden" + (f"?next={next}" if next else "")
        return await self.post(
            f"{PREFIX}/konto/anmelden", {"email": self.email, "password": password, "next": next}, page=page
        )

    async def logout(self) -> httpx.Response:
        return await self.post(f"{PREFIX}/konto/abmelden", {}, page=f"{PREFIX}/konto")


class SetClock:
    """The portal's clock in a test: real time, plus what the test moved it on by (so a
    session can be an hour idle in no time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class World:
    portal: Kernel
    app: ModuleApp
    broker: Kernel | None
    base_url: str
    settings: Settings
    clients: list[httpx.AsyncClient]
    clock: SetClock = field(default_factory=SetClock)

    async def citizen(self) -> Citizen:
        client = httpx.AsyncClient(base_url=self.base_url, follow_redirects=False, timeout=30)
        self.clients.append(client)
        return Citizen(client)

    async def submitted_events(self, case_id: str) -> list[dict[str, Any]]:
        """Every ApplicationSubmitted of this case on JetStream (after the outbox has drained)."""

        async def drained() -> bool:
            return (await self.portal.outbox_storage.stats()).pending == 0

        await eventually(drained)
        nc = await nats.connect(self.settings.nats.url)
        try:
            js = nc.jetstream()
            info = await js.stream_info("RATHAUS_PORTAL")
            sub = await js.subscribe(
                "rathaus.portal.application.submitted.v2",
                ordered_consumer=True,
                deliver_policy=nats.js.api.DeliverPolicy.ALL,
            )
            events = []
            for _ in range(info.state.messages):
                event = msgspec.json.decode((await sub.next_msg(timeout=5)).data)
                if event["subject"] == case_id:
                    events.append(event)
            return events
        finally:
            await nc.close()


async def start_world(settings: Settings, *, with_broker: bool) -> AsyncIterator[World]:
    broker_app: ModuleApp | None = None
    broker: Kernel | None = None
    if with_broker:
        from rathaus.broker.bootstrap import bootstrap as broker_bootstrap

        broker = Kernel("broker", settings)
        broker_app = broker_bootstrap(broker)
        await broker.start(broker_app, seed=True)
    portal = Kernel("portal", settings)
    clock = SetClock()
    app = bootstrap(portal, clock)
    await portal.start(app)
    web = create_module_app(portal, prefix=PREFIX, title=TITLE, routes=app.routes, templates=app.templates)
    async with serve_asgi(web) as base:
        world = World(portal, app, broker, base, settings, [], clock)
        try:
            yield world
        finally:
            for client in world.clients:
                await client.aclose()
    await portal.stop(app)
    if broker is not None and broker_app is not None:
        await broker.stop(broker_app)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    """Portal and data broker on one nats-server; the portal's pages on a real port."""
    async for w in start_world(settings, with_broker=True):
        yield w


@pytest.fixture
async def world_without_broker(settings: Settings) -> AsyncIterator[World]:
    """The portal alone: the registers cannot be reached."""
    async for w in start_world(settings, with_broker=False):
        yield w


@pytest.fixture
def scan() -> Callable[[], bytes]:
    return SCAN.read_bytes


class Mails:
    """The local mail sink of ``rathaus up`` (a real SMTP server writing a Maildir), for one test;
    ``stop()`` takes the mail server down, ``start()`` brings it back on the same port."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.sink: MailSink | None = None
        self.seen: set[str] = set()

    def start(self) -> None:
        self.sink = MailSink(self.data_dir, self.port)
        self.sink.start()

    def stop(self) -> None:
        if self.sink is not None:
            self.sink.stop()
            self.sink = None

    def to(self, address: str) -> list[Any]:
        return [m for m in mailbox.Maildir(str(self.data_dir / "mail"), create=True) if m["To"] == address]

    def links(self, address: str) -> list[str]:
        """The invitation links (paths) mailed to an address."""
        bodies = [m.get_payload(decode=True).decode() for m in self.to(address)]
        return [found.group(1) for body in bodies for found in INVITATION_LINK.finditer(body)]

    def new_link(self, address: str) -> str:
        """The one invitation link mailed to an address since the last call."""
        fresh = set(self.links(address)) - self.seen
        assert len(fresh) == 1, fresh
        self.seen |= fresh
        return fresh.pop()

    def new_token(self, address: str) -> str:
        return self.new_link(address).rsplit("/", 1)[1]


@pytest.fixture
def mails(settings: Settings, tmp_path: Path) -> Iterator[Mails]:
    """A mail sink on a free port that the portal sends its e-mails to."""
    mails = Mails(tmp_path / "mailsink", free_port())
    mails.start()
    settings.smtp.host, settings.smtp.port = "127.0.0.1", mails.port
    yield mails
    mails.stop()
