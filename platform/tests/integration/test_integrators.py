"""Durable integrators against a real nats-server configured as `rathaus up` configures it:
an integrator that was offline gets every event it may see once, in order per case, and
its NATS user can do nothing but read its own consumers."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import nats as nats_py
import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NotFoundError

from rathaus.contracts.catalogue import contracts
from rathaus.contracts.envelope import DataClass
from rathaus.platform.runtime.integrators import Registry, allowed_subjects, reconcile, subject_matches
from rathaus.platform.testing import eventually

CASES = 200


class Integrator:
    """An integrator's program as the README shows it: nats-py, its own inbox prefix, one
    pull subscription bound to its consumer per stream, explicit acks."""

    def __init__(self, name: str, password: str, url: str) -> None:
        self.name, self.password, self.url = name, password, url
        self.nc: Client | None = None
        self.errors: list[str] = []
        self.received: list[tuple[str, str, dict[str, Any]]] = []  # (stream, subject, event)

    async def connect(self) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc))

        self.nc = await nats_py.connect(
            self.url,
            user=self.name,
            password=self.password,
            inbox_prefix=f"_INBOX_{self.name}",
            error_cb=on_error,
            max_reconnect_attempts=0,
        )
        return self.nc

    async def drain(self, streams: list[str]) -> None:
        """Fetch and ack until every consumer has nothing left."""
        assert self.nc is not None
        js = self.nc.jetstream()
        for stream in streams:
            sub = await js.pull_subscribe_bind(durable=f"integrator-{self.name}", stream=stream)
            while True:
                try:
                    msgs = await sub.fetch(batch=200, timeout=1.0)
                except (NatsTimeoutError, TimeoutError):  # nats-py raises either when idle
                    if (await sub.consumer_info()).num_pending == 0:
                        break
                    continue
                for msg in msgs:
                    self.received.append((stream, msg.subject, json.loads(msg.data)))
                    await msg.ack()
            await sub.unsubscribe()

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()

    async def violation(self, what: str) -> bool:
        """Did the server refuse ``what``? (nats-py reports it lower-cased, asynchronously.)"""
        return any("permissions violation" in e and what.lower() in e for e in self.errors)


def password_of(output: str) -> str:
    for line in output.splitlines():
        if line.strip().startswith("Passwort"):
            return line.split()[1]
    raise AssertionError(output)


async def test_an_offline_integrator_gets_every_event_it_may_see_once_in_order_per_case(
    embedded_nats: Any,
) -> None:
    out = embedded_nats.rathaus("add", "stadtwerke", "--subjects", "rathaus.>")
    assert "NATS-Server: Konfiguration neu geladen." in out
    password = password_of(out)
    streams = sorted(allowed_subjects(["rathaus.>"]))
    presse = password_of(embedded_nats.rathaus("add", "presse", "--subjects", "rathaus.platform.case.>"))

    integrator = Integrator("stadtwerke", password, embedded_nats.url)

    async def logged_in() -> bool:  # the reload takes effect a moment after the signal
        try:
            await integrator.connect()
        except Exception:
            return False
        return True

    await eventually(logged_in)
    before = await embedded_nats.publish_cases(5)
    await integrator.drain(streams)
    assert len(integrator.received) == sum(not p.personal for p in before)
    await integrator.close()  # offline from here

    published = await embedded_nats.publish_cases(CASES)
    integrator.received.clear()
    await integrator.connect()  # back
    await integrator.drain(streams)
    await integrator.close()

    readable = [p for p in published if not p.personal]
    got = [event["id"] for _, _, event in integrator.received]
    assert len(got) == len(set(got)), "an event came twice"
    assert set(got) == {p.event_id for p in readable}, "an event is missing, or one it may not see came"
    assert len(got) == CASES * 8  # 12 events per case, 4 of them personal
    personal = {c.subject for c in contracts() if c.data_class is DataClass.PERSONAL}
    assert not [s for _, s, _ in integrator.received if s in personal]
    assert all(e["dataclassification"] != "personal" for _, _, e in integrator.received)
    # in order per case: within each module's stream, a case's events come as published
    expected: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in readable:
        expected[(p.case_id, p.stream)].append(p.event_id)
    received: dict[tuple[str, str], list[str]] = defaultdict(list)
    for stream, _, event in integrator.received:
        received[(event["subject"], stream)].append(event["id"])
    assert received == expected
    print(  # the counts this test verified
        f"integrator offline during {CASES} cases: {len(published)} events published, "
        f"{len(readable)} readable, {len(got)} received, 0 twice, 0 personal, "
        f"{len(expected)} case/stream sequences in order"
    )

    # the other integrator, offline the whole time, gets only its subjects: also complete
    other = Integrator("presse", presse, embedded_nats.url)
    await other.connect()
    await other.drain(sorted(allowed_subjects(["rathaus.platform.case.>"])))
    await other.close()
    wanted = [p for p in before + published if subject_matches("rathaus.platform.case.>", p.subject)]
    assert sorted(e["id"] for _, _, e in other.received) == sorted(p.event_id for p in wanted)


async def test_an_integrator_can_only_read_its_own_consumers(embedded_nats: Any) -> None:
    password = password_of(embedded_nats.rathaus("add", "stadtwerke", "--subjects", "rathaus.eakte.>"))
    embedded_nats.rathaus("add", "presse", "--subjects", "rathaus.>")
    await embedded_nats.publish_cases(3)
    integrator = Integrator("stadtwerke", password, embedded_nats.url)

    async def logged_in() -> bool:
        try:
            await integrator.connect()
        except Exception:
            return False
        return True

    await eventually(logged_in)
    nc = integrator.nc
    assert nc is not None
    js = nc.jetstream()

    async def refused(what: str) -> bool:
        return await integrator.violation(what)

    # its own consumer works
    own = await js.pull_subscribe_bind(durable="integrator-stadtwerke", stream="RATHAUS_EAKTE")
    first = (await own.fetch(1, timeout=5))[0]
    assert first.subject.startswith("rathaus.eakte.")
    await first.ack()

    # a stored message directly from the stream (personal ones are in it): refused
    with pytest.raises((NatsTimeoutError, NoRespondersError)):
        await nc.request("$JS.API.STREAM.MSG.GET.RATHAUS_PORTAL", b'{"seq": 1}', timeout=1)
    await eventually(lambda: refused('"$JS.API.STREAM.MSG.GET.RATHAUS_PORTAL"'))

    # another integrator's consumer: neither its info nor its messages
    with pytest.raises((NatsTimeoutError, NoRespondersError)):
        await js.consumer_info("RATHAUS_PORTAL", "integrator-presse", timeout=1)
    await eventually(lambda: refused('"$JS.API.CONSUMER.INFO.RATHAUS_PORTAL.integrator-presse"'))
    theirs = await js.pull_subscribe_bind(durable="integrator-presse", stream="RATHAUS_PLATFORM")
    with pytest.raises(NatsTimeoutError):
        await theirs.fetch(1, timeout=1)
    await eventually(lambda: refused('"$JS.API.CONSUMER.MSG.NEXT.RATHAUS_PLATFORM.integrator-presse"'))

    # its own name on a stream it was not given (portal: nothing of rathaus.eakte.>)
    with pytest.raises((NatsTimeoutError, NoRespondersError)):
        await js.consumer_info("RATHAUS_PORTAL", "integrator-stadtwerke", timeout=1)
    await eventually(lambda: refused('"$JS.API.CONSUMER.INFO.RATHAUS_PORTAL.integrator-stadtwerke"'))

    # publishing anything: an event, a consumer of its own making, acks of someone else
    await nc.publish("rathaus.eakte.case.opened.v1", b"{}")
    await eventually(lambda: refused('Publish to "rathaus.eakte.case.opened.v1"'))
    with pytest.raises((NatsTimeoutError, NoRespondersError)):
        await js.add_consumer("RATHAUS_EAKTE", durable_name="eigener", timeout=1)
    await eventually(lambda: refused('"$JS.API.CONSUMER.DURABLE.CREATE.RATHAUS_EAKTE.eigener"'))
    await nc.publish("$JS.ACK.RATHAUS_PLATFORM.integrator-presse.1.1.1.0.0", b"+ACK")
    await eventually(lambda: refused('"$JS.ACK.RATHAUS_PLATFORM.integrator-presse.1.1.1.0.0"'))

    # listening: personal events live, another integrator's inbox, the default inbox
    for subject in ("rathaus.portal.application.submitted.v2", "_INBOX_presse.>", "_INBOX.>", "rathaus.>"):
        await nc.subscribe(subject)
        await eventually(lambda s=subject: refused(f'Subscription to "{s}"'))
    await integrator.close()


async def test_replay_repositions_the_consumer(embedded_nats: Any) -> None:
    password = password_of(
        embedded_nats.rathaus("add", "archiv", "--subjects", "rathaus.output.>", "rathaus.platform.case.>")
    )
    integrator = Integrator("archiv", password, embedded_nats.url)

    async def logged_in() -> bool:
        try:
            await integrator.connect()
        except Exception:
            return False
        return True

    await eventually(logged_in)
    streams = sorted(allowed_subjects(["rathaus.output.>", "rathaus.platform.case.>"]))
    assert streams == ["RATHAUS_OUTPUT", "RATHAUS_PLATFORM"]
    await embedded_nats.publish_cases(4)
    middle = datetime.now(UTC)
    later = await embedded_nats.publish_cases(6)
    await integrator.drain(streams)
    assert len(integrator.received) == 10 * 4  # per case 3 status changes and delivered
    integrator.received.clear()
    await integrator.close()

    out = embedded_nats.rathaus("replay", "archiv", "--since", middle.isoformat(timespec="microseconds"))
    assert "neu positioniert" in out
    await integrator.connect()
    await integrator.drain(streams)
    await integrator.close()
    again = sorted(e["id"] for _, _, e in integrator.received)
    patterns = ("rathaus.output.>", "rathaus.platform.case.>")
    wanted = [p for p in later if not p.personal and any(subject_matches(x, p.subject) for x in patterns)]
    assert len(wanted) == 6 * 4
    assert again == sorted(p.event_id for p in wanted)


async def test_cli_refuses_bad_input_in_german(embedded_nats: Any) -> None:
    assert "passt nur auf personenbezogene Ereignisse" in embedded_nats.rathaus_fails(
        "add", "neugier", "--subjects", "rathaus.portal.application.>"
    )
    assert "kein gültiges Subject" in embedded_nats.rathaus_fails("add", "neugier", "--subjects", "foo.>")
    assert "passt auf kein" in embedded_nats.rathaus_fails(
        "add", "neugier", "--subjects", "rathaus.gibtsnicht.>"
    )
    assert "nicht erlaubt" in embedded_nats.rathaus_fails("add", "Rathaus", "--subjects", "rathaus.>")
    embedded_nats.rathaus("add", "neugier", "--subjects", "rathaus.eakte.>")
    assert "gibt es schon" in embedded_nats.rathaus_fails("add", "neugier", "--subjects", "rathaus.>")
    assert "kein Zeitpunkt" in embedded_nats.rathaus_fails("replay", "neugier", "--since", "gestern")
    assert "keinen Integrator" in embedded_nats.rathaus_fails("remove", "niemand")
    listing = embedded_nats.rathaus("list")
    assert "neugier" in listing and "RATHAUS_EAKTE" in listing
    embedded_nats.rathaus("remove", "neugier")
    assert "Keine Integratoren" in embedded_nats.rathaus("list")
    nc = await nats_py.connect(**embedded_nats.platform_login())
    with pytest.raises(NotFoundError):  # its consumer went with it
        await nc.jetstream().consumer_info("RATHAUS_EAKTE", "integrator-neugier")
    await nc.close()


async def test_consumer_filters_follow_the_catalogue_and_keep_their_place(embedded_nats: Any) -> None:
    """At every `rathaus up` the filters are recomputed (a new contract version becomes
    readable); the consumer keeps its position. Here an outdated filter stands for the
    catalogue of an older release."""
    embedded_nats.rathaus("add", "presse", "--subjects", "rathaus.platform.case.>")
    nc = await nats_py.connect(**embedded_nats.platform_login())
    js = nc.jetstream()
    try:
        config = (await js.consumer_info("RATHAUS_PLATFORM", "integrator-presse")).config
        config.filter_subjects = ["rathaus.platform.case.opened-long-ago.v1"]
        await js.add_consumer("RATHAUS_PLATFORM", config)  # as an older release left it
        await embedded_nats.publish_cases(2)
        assert (await js.consumer_info("RATHAUS_PLATFORM", "integrator-presse")).num_pending == 0

        await reconcile(js, Registry.load(embedded_nats.data_dir).get("presse"))
        info = await js.consumer_info("RATHAUS_PLATFORM", "integrator-presse")
        assert info.config.filter_subjects == ["rathaus.platform.case.status-changed.v1"]
        assert info.num_pending == 2 * 3  # three status changes per case, none skipped
    finally:
        await nc.close()
