"""Faults under load in the distributed shape: every component in its own ``rathaus serve``
process. While cases are in flight, in turn: SIGKILL and restart each of the seven
components, restart nats-server, restart the Temporal dev server, stop a consumer until
events pile up for it and let it go on; malformed messages arrive throughout. After
recovery every case has reached its end state exactly once."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient

from e2e.faults.checks import ModuleDatabases, check_dead_letters, check_end_states, quiescent
from e2e.faults.cluster import STAFF_PASSWORD, STAFF_USER, Distributed
from e2e.faults.load import Citizens, Decider, Malformed, StatusWatch
from rathaus.platform.kernel.deadletters import list_dead_letters
from rathaus.platform.runtime.payprovider.controls import AutoPayer
from rathaus.platform.testing import eventually, report

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(900)]
BATCH = 2  # new cases per fault; earlier ones are still on their way when the next strikes
# (component, the status one case of the new batch has reached when it is SIGKILLed;
# None: at once, while the batch is still in the portal's outbox or on its first hop)
KILLS = [
    ("portal", None),
    ("input", None),
    ("eakte", "eingegangen"),
    ("orchestration", "in_pruefung"),
    ("output", "entschieden"),
    ("broker", None),
    ("opendata", "entschieden"),
]
MALFORMED_ROUNDS = (0, 3, 6, 9)  # one poison message each: ~10 % of the messages on their subjects


class FaultRun:
    """Strikes one fault after another while the citizens apply and the clerk decides."""

    def __init__(
        self, cluster: Distributed, citizens: Citizens, decider: Decider, watch: StatusWatch
    ) -> None:
        self.cluster, self.citizens, self.decider, self.watch = cluster, citizens, decider, watch
        self.nc: NatsClient | None = None
        self.malformed: Malformed | None = None
        self.log: list[str] = []

    async def start(self, nc: NatsClient) -> None:
        await self.citizens.open()
        await self.watch.start(servers=self.cluster.nats_url)
        self.decider.start()
        self.nc, self.malformed = nc, Malformed(nc)

    async def strike(self, name: str, at: str | None, fault: Callable[[], Awaitable[None]]) -> None:
        """A new batch, a poison message now and then, and the fault once the batch reached ``at``."""
        assert self.malformed is not None
        batch = await self.citizens.submit(BATCH)
        if len(self.log) in MALFORMED_ROUNDS:
            await self.malformed.send(1)
        if at is not None:
            await eventually(self.watch.reached(batch, at), timeout=120, interval=0.05)
        in_flight = len(self.citizens.case_ids) - self.watch.count(self.citizens.case_ids, "zugestellt")
        t0 = time.monotonic()
        await fault()
        self.log.append(f"{name} (with {in_flight} cases in flight): back after {time.monotonic() - t0:.1f}s")

    async def restart_nats(self) -> None:
        """Down until the portal's relay has failed to publish applications submitted meanwhile."""
        self.cluster.nats.stop()
        await self.citizens.submit(BATCH)
        dbs = ModuleDatabases(self.cluster.data_dir, self.cluster.postgres)

        async def relay_failed() -> bool:
            (n,) = await dbs.one(
                "portal",
                "select count(*) from rathaus_outbox where status = 'pending' and last_error is not null",
            )
            return bool(n)

        await eventually(relay_failed, timeout=60)
        self.cluster.nats.start()

    async def restart_temporal(self) -> None:
        """Down until the bridge has tried to hand a new application to its workflow more often
        than a poison message may fail (max_deliver), then back. The clerk pauses and the
        cases come to rest first, so that application is all the bridge waits with (each try
        takes the Temporal client several seconds to give up)."""
        cluster = self.cluster
        await self.decider.pause()
        await eventually(self.at_rest, timeout=120, interval=0.2)
        before = await cluster.deliveries("RATHAUS_PORTAL", "orchestration")
        cluster.temporal.stop()
        await self.citizens.submit(1)
        budget = cluster.settings().nats.max_deliver

        async def outlasted_the_retry_budget() -> bool:
            await self.no_good_event_parked()
            return await cluster.deliveries("RATHAUS_PORTAL", "orchestration") - before > budget

        await eventually(outlasted_the_retry_budget, timeout=240, interval=0.5)
        cluster.temporal.start(timeout=120)
        self.decider.resume()

    async def at_rest(self) -> bool:
        """Every case delivered or waiting for the (paused) clerk, and the bridge idle."""
        for case in self.citizens.case_ids:
            seen = self.watch.seen.get(case, set())
            waits = "zur_entscheidung" in seen and case not in self.decider.decided
            if "zugestellt" not in seen and not waits:
                return False
        for stream in ("RATHAUS_PORTAL", "RATHAUS_EAKTE", "RATHAUS_OUTPUT"):
            if await self.cluster.backlog(stream, "orchestration"):
                return False
        return True

    async def pause_opendata(self) -> None:
        """SIGSTOP of the leaf consumer: the cases still end while its events pile up; SIGCONT."""
        opendata = self.cluster.processes["opendata"]
        opendata.pause()
        batch = await self.citizens.submit(BATCH)
        await eventually(self.watch.reached(batch, "zugestellt", BATCH), timeout=120)

        async def piled_up() -> bool:
            opened = await self.cluster.backlog("RATHAUS_EAKTE", "opendata")
            delivered = await self.cluster.backlog("RATHAUS_OUTPUT", "opendata")
            return opened >= BATCH and delivered >= BATCH

        await eventually(piled_up, timeout=30)
        opendata.resume()

    async def no_good_event_parked(self) -> None:
        """A good event in the dead-letter stream is a stuck case: fail now, not at a timeout."""
        assert self.nc is not None and self.malformed is not None
        poison = {payload for _, payload in self.malformed.sent}
        parked = [dl for dl in await list_dead_letters(self.nc) if dl.data not in poison]
        assert not parked, "good events dead-lettered: " + "; ".join(
            f"{dl.consumer} {dl.event_type} {dl.error}" for dl in parked
        )

    async def every_case_delivered(self) -> bool:
        await self.no_good_event_parked()
        cases = self.citizens.case_ids
        return self.watch.count(cases, "zugestellt") == len(cases)


async def test_every_fault_in_turn_and_each_case_ends_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    cluster = Distributed(tmp_path)
    citizens = Citizens(cluster.settings())
    run = FaultRun(cluster, citizens, Decider(cluster.eakte_url, STAFF_USER, STAFF_PASSWORD), StatusWatch())
    nats_options = {"servers": cluster.nats_url}
    payer = AutoPayer(nats_options)  # the Bewohnerparkausweis costs a fee
    try:
        await cluster.start()
        await payer.start()
        nc = await nats.connect(cluster.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        await run.start(nc)
        for component, at in KILLS:
            await run.strike(
                f"SIGKILL rathaus serve {component}", at, functools.partial(cluster.restart, component)
            )
        await run.strike("restart nats-server", "in_pruefung", run.restart_nats)
        await run.strike("restart the Temporal dev server", "in_pruefung", run.restart_temporal)
        await run.strike(
            "SIGSTOP rathaus serve opendata until events pile up, then SIGCONT", None, run.pause_opendata
        )

        await eventually(run.every_case_delivered, timeout=240, interval=0.5)
        await eventually(
            quiescent(nats_options, ModuleDatabases(cluster.data_dir, cluster.postgres)),
            timeout=120,
            interval=0.5,
        )
        summary = await check_end_states(
            case_ids=citizens.case_ids,
            dbs=ModuleDatabases(cluster.data_dir, cluster.postgres),
            nats_options=nats_options,
            temporal_address=f"127.0.0.1:{cluster.temporal_port}",
        )
        assert run.malformed is not None
        summary += await check_dead_letters(nats_options, run.malformed.sent)
        summary.append(
            f"decisions through the workspace API: {len(run.decider.decided)} (409 answers: {run.decider.conflicts})"
        )
        summary.append(f"notification mails in the sink: {len(cluster.mail.messages())}")
        summary.append(
            f"fees paid on the test provider's page: {len(payer.paid)} ({len(payer.errors)} errors)"
        )
        await nc.close()
        report(
            capsys,
            f"== fault suite, distributed shape ({time.monotonic() - began:.0f}s) ==\n"
            "faults injected:\n  " + "\n  ".join(run.log) + "\nchecked:\n  " + "\n  ".join(summary),
        )
    except BaseException:
        # shown with the failure
        print("\nfault log so far:\n  " + "\n  ".join(run.log) + "\n" + cluster.logs())
        raise
    finally:
        await payer.stop()
        await run.decider.close()
        await run.watch.close()
        await citizens.close()
        cluster.stop()
