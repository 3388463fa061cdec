"""Webhooks against a real nats-server and a real HTTP receiver on a local port: a receiver
that is down for a while gets every event after it comes back, each signature verifies
with the documented check, one case's events come in order, a restart of the deliverer
loses nothing, and a delivery given up after the retry period is parked and redelivered."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx

from rathaus.platform.kernel.settings import NatsSettings, Settings, TemporalSettings
from rathaus.platform.runtime.integrator_service import IntegratorService
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.runtime.webhook_store import DeliveryStore
from rathaus.platform.runtime.webhooks import SIGNATURE_HEADER, InvalidWebhook, verify_webhook
from rathaus.platform.testing import eventually

CASES = 200
# short backoffs for a test, but not so short that 800 lanes (200 cases × 4 streams) retrying
# a closed port every 0.4 s (about 2,000 attempts/s, 88,000 in one run) starve the rest of the
# test on a loaded machine: it ran past pytest's 300 s once in CI
FAST = ["--backoff-first", "0.05", "--backoff-max", "2"]


def service_settings(embedded_nats: Any) -> Settings:
    login = embedded_nats.platform_login()
    return Settings(
        data_dir=embedded_nats.data_dir,
        nats=NatsSettings(
            url=embedded_nats.url, port=embedded_nats.port, user=login["user"], password=login["password"]
        ),
        temporal=TemporalSettings(),
        seed_demo=False,
    )


async def test_a_receiver_that_was_down_gets_every_event_signed_and_in_order(
    embedded_nats: Any, webhook_receiver: Any
) -> None:
    port = free_port()
    out = embedded_nats.rathaus(
        "add",
        "leitstelle",
        "--subjects",
        "rathaus.>",
        "--webhook",
        f"http://127.0.0.1:{port}/ereignisse",
        *FAST,
    )
    secret = embedded_nats.secret_from(out, "Signaturschlüssel")
    receiver = webhook_receiver(port, secret)  # down: nothing listens on its port yet
    store = DeliveryStore.of(embedded_nats.data_dir)
    service = IntegratorService(service_settings(embedded_nats), poll_seconds=0.2)
    await service.start()
    try:
        first = await embedded_nats.publish_cases(CASES // 2)

        async def failing() -> bool:  # the deliverer tries, the receiver is away
            return (
                store.counts("leitstelle")["pending"] == 4 * CASES and len(store.attempts("leitstelle")) > 8
            )

        await eventually(failing, timeout=60)
        await service.stop()  # the platform restarts while the receiver is still down
        second = await embedded_nats.publish_cases(CASES // 2)
        service = IntegratorService(service_settings(embedded_nats), poll_seconds=0.2)
        await service.start()
        receiver.start()  # back

        readable = [p for p in first + second if not p.personal]

        async def all_delivered() -> bool:
            return len(receiver.events) >= len(readable)

        await eventually(all_delivered, timeout=120)
        assert receiver.refused == 0  # every signature verified with the documented check
        assert receiver.content_types == {"application/cloudevents+json; charset=utf-8"}
        ids = [e["id"] for e in receiver.events]
        assert sorted(ids) == sorted(p.event_id for p in readable)  # every event, none twice
        assert all(e["dataclassification"] != "personal" for e in receiver.events)
        assert all(e["specversion"] == "1.0" for e in receiver.events)
        expected: dict[tuple[str, str], list[str]] = defaultdict(list)
        for p in readable:
            expected[(p.case_id, p.stream)].append(p.event_id)
        got: dict[tuple[str, str], list[str]] = defaultdict(list)
        stream_of = {p.event_id: p.stream for p in readable}
        for e in receiver.events:
            got[(e["subject"], stream_of[e["id"]])].append(e["id"])
        assert got == expected  # a case's events in the order its module published them
        counts = store.counts("leitstelle")
        assert counts == {"pending": 0, "delivered": len(readable), "parked": 0}
        log = embedded_nats.rathaus("log", "leitstelle", "--limit", "5")
        assert "HTTP 204" in log
        print(  # the counts this test verified
            f"webhook receiver down for {len(store.attempts('leitstelle', 100000)) - len(readable)} failed "
            f"attempts and one deliverer restart: {len(readable)} events delivered, 0 twice, 0 personal, "
            f"{len(expected)} case/stream sequences in order, every signature valid"
        )

        # what the documented check makes of a tampered and of a replayed delivery
        body, signature = receiver.raw[0]
        async with httpx.AsyncClient() as http:
            headers = {"Content-Type": "application/cloudevents+json", SIGNATURE_HEADER: signature}
            tampered = body.replace(b'"specversion":"1.0"', b'"specversion":"1.0","x":1')
            assert tampered != body
            assert (await http.post(receiver.url, content=tampered, headers=headers)).status_code == 400
            assert (await http.post(receiver.url, content=body, headers=headers)).status_code == 200
        assert receiver.refused == 1 and receiver.repeated == 1
        assert len(receiver.events) == len(readable)  # neither was applied
        later = int(signature.split(",")[0][2:]) + 301  # the same delivery replayed after the window
        try:
            verify_webhook(secret, signature, body, now=later)
            raise AssertionError("a replay after the window verified")
        except InvalidWebhook as refused:
            assert "tolerance" in str(refused)
    finally:
        await service.stop()
        receiver.stop()
        store.close()


async def test_a_delivery_given_up_is_parked_listed_and_redelivered(
    embedded_nats: Any, webhook_receiver: Any
) -> None:
    port = free_port()
    service = IntegratorService(service_settings(embedded_nats), poll_seconds=0.2)
    embedded_nats.rathaus("add", "platzhalter", "--subjects", "rathaus.eakte.>")  # streams exist
    await service.start()
    store = DeliveryStore.of(embedded_nats.data_dir)
    receiver: Any = None
    try:
        out = embedded_nats.rathaus(
            "add",
            "archiv",
            "--subjects",
            "rathaus.output.>",
            "--webhook",
            f"http://127.0.0.1:{port}/ereignisse",
            "--retry-hours",
            "0.0005",  # 1.8 s instead of 48 hours
            *FAST,
        )
        secret = embedded_nats.secret_from(out, "Signaturschlüssel")
        published = await embedded_nats.publish_cases(3)  # while the service runs: it follows the registry
        wanted = [p for p in published if p.subject.startswith("rathaus.output.") and not p.personal]

        async def parked() -> bool:
            return store.counts("archiv")["parked"] == len(wanted)

        await eventually(parked, timeout=60)
        listing = embedded_nats.rathaus("deadletters", "archiv")
        assert all(p.event_id in listing for p in wanted)
        assert "ConnectError" in listing
        assert max(a.number for a in store.attempts("archiv", 1000)) >= 2  # retried with backoff
        for letter in store.listing("archiv", "parked"):  # tried for the whole retry period
            assert letter.finished_at is not None and letter.first_attempt_at is not None
            assert letter.finished_at - letter.first_attempt_at >= 0.0005 * 3600

        receiver = webhook_receiver(port, secret)
        receiver.start()
        assert "3 Zustellungen werden erneut versucht" in embedded_nats.rathaus(
            "redeliver", "archiv", "--all"
        )

        async def delivered() -> bool:
            return len(receiver.events) == len(wanted) if receiver else False

        await eventually(delivered, timeout=60)
        assert sorted(e["id"] for e in receiver.events) == sorted(p.event_id for p in wanted)
        assert "Keine geparkten Zustellungen" in embedded_nats.rathaus("deadletters", "archiv")
        listing = embedded_nats.rathaus("list")
        assert "zugestellt 3, ausstehend 0, geparkt 0" in listing

        # replay: the consumer is repositioned and the events are sent again (same ids)
        since = datetime.fromtimestamp(
            min(d.received_at for d in store.listing("archiv", "delivered")) - 60, UTC
        )
        out = embedded_nats.rathaus("replay", "archiv", "--since", since.isoformat())
        assert "3 bereits zugestellte oder geparkte Ereignisse werden erneut gesendet" in out

        async def sent_again() -> bool:
            return receiver.repeated == len(wanted) if receiver else False

        await eventually(sent_again, timeout=60)
        assert len(receiver.events) == len(wanted)  # the receiver's check knew them: not applied twice
    finally:
        await service.stop()
        if receiver is not None:
            receiver.stop()
        store.close()
