"""The load of the fault suite: citizens who apply, a clerk who decides, a watcher of the
case statuses, and a sender of malformed messages."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.kernel.bus import bound_unacknowledged
from rathaus.platform.kernel.procedures import Result
from rathaus.portal.domain import Account
from rathaus.portal.handlers import Portal
from rathaus.portal.handlers.forms import Applicant

SERVICE = "bewohnerparkausweis"
STATUS_SUBJECT = "rathaus.platform.case.status-changed.v1"
STATUS_STREAM = "RATHAUS_PLATFORM"


class Citizens:
    """Applications as the portal's own submit use case stores them: the application row and
    ``ApplicationSubmitted`` in one transaction of the portal's database, published by the
    portal process's relay. So the application is the portal's, and its Bescheid goes to a
    Postkorb. No attachments: nothing to read by OCR."""

    def __init__(self, settings: Settings) -> None:
        self.kernel = Kernel("portal", settings)
        self.portal = Portal(self.kernel)
        self.account: Account | None = None
        self.case_ids: list[str] = []

    async def open(self) -> None:
        email = f"fault-{uuid.uuid4().hex[:8]}@example.org"
        account_id = await self.portal.register(
            email=email,
            password="fault-suite-buergerin-1",
            given_name="Erika",
            family_name="Fehlertest",
            birth_date="1964-08-12",
        )
        self.account = Account(account_id, email, "Erika", "Fehlertest", "1964-08-12", "niedrig")

    async def submit(self, count: int) -> list[str]:
        assert self.account is not None, "open() first"
        definition = self.kernel.procedures.current(SERVICE)
        assert definition is not None
        applicant = Applicant(self.account, self.account.account_id)
        batch = []
        for _ in range(count):
            n = len(self.case_ids) + 1
            draft = {
                "account_id": self.account.account_id,
                "service_id": SERVICE,
                "case_id": str(uuid.uuid4()),
                "values": {
                    "given_name": "Erika",
                    "family_name": "Fehlertest",
                    "birth_date": "1964-08-12",
                    "street": "Zenettistraße",
                    "house_number": str(n),
                    "postal_code": "80337",
                    "stadtbezirk": "02",
                    "parkzone": "Schlachthofviertel",
                    "kennzeichen": f"M-FT {n}",
                    "halter": "ja",
                    # the street directory's answer, as the form keeps it for its address
                    "_ort": {
                        "found": True,
                        "attributes": {"stadtbezirk": "02", "parkzone": "Schlachthofviertel"},
                    },
                },
                "evidence": [],
                "attachments": [],
            }
            # stored as the form stores a judged application; no attachment, so nothing to read by OCR
            judged = Result(data={k: v for k, v in draft["values"].items() if not k.startswith("_")})
            batch.append(await self.portal.submit(applicant, definition, draft, judged))
        self.case_ids += batch
        return batch

    async def close(self) -> None:
        await self.kernel.db.dispose()


class Decider:
    """A clerk of KVR-III/12 on the workspace API: decides every case that waits for a
    decision. A 409 means decided already (an answer lost in a crash): done."""

    def __init__(
        self, base_url: str, username: str, password: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, auth=(username, password), timeout=10, transport=transport
        )
        self.decided: set[str] = set()
        self.conflicts = 0
        self.paused = False
        self._deciding = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="decider")

    async def _run(self) -> None:
        while True:
            if not self.paused:
                async with self._deciding:
                    with contextlib.suppress(httpx.HTTPError):
                        await self._round()
            await asyncio.sleep(0.3)  # polling, as a clerk's inbox refreshes

    async def pause(self) -> None:
        """Away from the desk: decides nothing from now on (a decision being sent goes out)."""
        self.paused = True
        async with self._deciding:
            pass

    def resume(self) -> None:
        self.paused = False

    async def _round(self) -> None:
        answer = await self.client.get("/arbeitsplatz/api/vorgaenge")
        if answer.status_code != 200:
            return  # the E-Akte is starting, or NATS (its staff login) is away
        for case in answer.json():
            if case["status"] != "zur_entscheidung" or case["case_id"] in self.decided:
                continue
            url = f"/arbeitsplatz/api/vorgaenge/{case['case_id']}/entscheidung"
            result = await self.client.post(
                url, json={"outcome": "granted", "reasons": "Die Voraussetzungen liegen vor."}
            )
            if result.status_code == 409:
                self.conflicts += 1
            if result.status_code in (201, 409):
                self.decided.add(case["case_id"])

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()


class EitherReplica(httpx.AsyncBaseTransport):
    """What a load balancer in front of a module's replicas does: each request goes to the
    next replica in turn; a replica that refuses the connection (killed, not back yet) is
    passed over for that request. A refused connection sent nothing, so trying the next
    replica cannot apply a request twice."""

    def __init__(self, base_urls: list[str]) -> None:
        self.targets = [httpx.URL(u) for u in base_urls]
        self.answered_by: Counter[str] = Counter()  # base URL -> requests it answered
        self._turn = itertools.count()
        self._http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        first = next(self._turn)
        for k in range(len(self.targets)):
            target = self.targets[(first + k) % len(self.targets)]
            request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
            request.headers["Host"] = request.url.netloc.decode()
            try:
                response = await self._http.handle_async_request(request)
            except httpx.ConnectError:
                if k == len(self.targets) - 1:
                    raise
                continue
            self.answered_by[str(target)] += 1
            return response
        raise httpx.ConnectError("no replica", request=request)

    async def aclose(self) -> None:
        await self._http.aclose()


class StatusWatch:
    """The case statuses as they pass on the bus, for deciding when to strike; the checks
    read the stream itself. Its own durable pull consumer on the platform's stream, with as
    many replicas as the stream: a status published while this client's NATS node is away
    (killed, frozen, cut off) is read once it has reconnected, not lost as a core NATS
    subscription would lose it."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.nc: NatsClient | None = None
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._durable = f"statuswatch-{uuid.uuid4().hex[:12]}"

    async def start(self, **options: Any) -> None:
        async def reconnected() -> None:
            bound_unacknowledged(self.nc, 6)

        self.nc = await nats.connect(
            **options,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            allow_reconnect=True,
            ping_interval=2,  # a node that hangs is noticed in seconds
            max_outstanding_pings=2,
            reconnected_cb=reconnected,
        )
        bound_unacknowledged(self.nc, 6)
        js = self.nc.jetstream(timeout=10)
        replicas = (await js.stream_info(STATUS_STREAM)).config.num_replicas or 1
        sub = await js.pull_subscribe(
            STATUS_SUBJECT,
            durable=self._durable,
            stream=STATUS_STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                num_replicas=replicas,
                inactive_threshold=600,
            ),
        )
        self._running = True
        self._task = asyncio.create_task(self._pull(sub), name="statuswatch")

    async def _pull(self, sub: Any) -> None:
        while self._running:
            try:
                messages = await sub.fetch(64, timeout=0.3)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except nats.errors.Error:  # reconnecting: the same consumer, again
                await asyncio.sleep(0.2)  # a back-off between attempts
                continue
            for msg in messages:
                event = json.loads(msg.data)
                self.seen[event["subject"]].add(event["data"]["status"])
                with contextlib.suppress(nats.errors.Error, TimeoutError):
                    await msg.ack()

    def count(self, case_ids: list[str], status: str) -> int:
        return sum(1 for c in case_ids if status in self.seen.get(c, ()))

    def reached(self, case_ids: list[str], status: str, at_least: int = 1) -> Any:
        async def condition() -> bool:
            return self.count(case_ids, status) >= min(at_least, len(case_ids))

        condition.__name__ = f"{at_least}_of_{len(case_ids)}_cases_{status}"
        return condition

    async def close(self) -> None:
        self._running = False
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self.nc is not None:
            with contextlib.suppress(Exception):  # NATS already gone: the consumer expires
                await self.nc.jetstream(timeout=5).delete_consumer(STATUS_STREAM, self._durable)
            await self.nc.close()


class Malformed:
    """Poison messages on subjects modules consume, each with its own ``Nats-Msg-Id``:
    bytes that are no JSON, and CloudEvents whose data violates the contract."""

    SUBJECTS = {
        "rathaus.portal.application.submitted.v1": "de.rathaus.portal.application.submitted.v1",
        "rathaus.eakte.case.opened.v1": "de.rathaus.eakte.case.opened.v1",
    }

    def __init__(self, nc: NatsClient) -> None:
        self.js = nc.jetstream(timeout=10)
        self.sent: list[tuple[str, bytes]] = []  # (subject, payload)

    async def send(self, count: int) -> None:
        subjects = list(self.SUBJECTS)
        for _ in range(count):
            subject = subjects[len(self.sent) % len(subjects)]
            marker = str(uuid.uuid4())
            if len(self.sent) % 4 < 2:  # alternate kinds across both subjects
                payload = b'{"specversion": "1.0", "id": "' + marker.encode() + b'", "data": {'
            else:
                payload = json.dumps(
                    {
                        "specversion": "1.0",
                        "id": marker,
                        "source": "/rathaus/fault-suite",
                        "type": self.SUBJECTS[subject],
                        "time": datetime.now(UTC).isoformat(),
                        "datacontenttype": "application/json",
                        "subject": marker,
                        "data": {"case_id": 42, "service_id": None},
                    }
                ).encode()
            await self.js.publish(subject, payload, headers={"Nats-Msg-Id": marker})
            self.sent.append((subject, payload))
