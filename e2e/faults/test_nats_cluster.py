"""Faults of the NATS cluster under load, in the distributed shape (every component its
own ``rathaus serve`` process) on three nats-server nodes with R3 streams and consumers:
the stream leader's node SIGKILLed and restarted; a node frozen (SIGSTOP) for a minute;
one node cut off from the other two and the clients (each node in its own network
namespace), then healed. Cases are submitted before, during and after each fault; in the
end every case has reached its end state exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from e2e.faults.checks import ModuleDatabases, check_dead_letters, check_end_states, quiescent
from e2e.faults.cluster import STAFF_PASSWORD, STAFF_USER, Distributed
from e2e.faults.load import Citizens, Decider, StatusWatch
from e2e.faults.netns import Namespaces, netns_available
from rathaus.platform.kernel.bus import stream_configs
from rathaus.platform.runtime.natscluster import NatsCluster
from rathaus.platform.runtime.payprovider.controls import AutoPayer
from rathaus.platform.runtime.processes import free_port
from rathaus.platform.testing import eventually, report

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(600)]
BATCH = 3  # cases per step: in flight when the fault strikes, during it, after it
FROZEN_SECONDS = 60.0  # how long the stopped node stays stopped


class ClusterRun:
    """The distributed platform on a NATS cluster, citizens applying, a clerk deciding."""

    def __init__(self, root: Path, nats_cluster: NatsCluster) -> None:
        self.began = time.monotonic()
        self.nats = nats_cluster
        self.cluster = Distributed(root, nats_cluster=nats_cluster)
        self.citizens = Citizens(self.cluster.settings())
        self.decider = Decider(self.cluster.eakte_url, STAFF_USER, STAFF_PASSWORD)
        self.watch = StatusWatch()
        self.options = {"servers": self.cluster.nats_servers}
        self.payer = AutoPayer(self.options)  # the Bewohnerparkausweis costs a fee
        self.log: list[str] = []

    async def start(self) -> None:
        await self.cluster.start()
        await self.payer.start()
        await self.citizens.open()
        await self.watch.start(servers=self.cluster.nats_servers)
        self.decider.start()

    async def close(self) -> None:
        await self.payer.stop()
        await self.decider.close()
        await self.watch.close()
        await self.citizens.close()
        self.cluster.stop()

    async def submit_in_flight(self, at: str = "in_pruefung") -> list[str]:
        """A batch, one case of which has reached ``at`` (the rest are on their way)."""
        batch = await self.citizens.submit(BATCH)
        await eventually(self.watch.reached(batch, at), timeout=120, interval=0.05)
        return batch

    def in_flight(self) -> int:
        return len(self.citizens.case_ids) - self.watch.count(self.citizens.case_ids, "zugestellt")

    async def delivered_meanwhile(self, what: str) -> float:
        """A batch submitted now reaches 'zugestellt' while the fault lasts; its time."""
        t0 = time.monotonic()
        batch = await self.citizens.submit(BATCH)
        await eventually(self.watch.reached(batch, "zugestellt", BATCH), timeout=180, interval=0.1)
        seconds = time.monotonic() - t0
        self.log.append(f"{BATCH} cases submitted {what} all delivered, in {seconds:.1f}s")
        return seconds

    async def replicated(self) -> bool:
        """Every stream has a leader and all its replicas are current."""
        for config in stream_configs():
            if not await self.nats.replicated(config.name or ""):
                return False
        return True

    async def leader(self, stream: str) -> str:
        node = await self.nats.leader(stream)
        led = [c.name for c in stream_configs() if (await self.nats.leader(c.name or "")) is node]
        return f"{node.name} (leader of {', '.join(n or '' for n in led)})"

    async def streams(self) -> list[str]:
        """Each stream's leader and replicas as the cluster reports them (for a failure)."""
        lines = []
        for config in stream_configs():
            try:
                info = await self.nats.stream_info(config.name or "")
                lines.append(f"{config.name}: {info.cluster} {info.state.messages} messages")
            except Exception as exc:
                lines.append(f"{config.name}: {type(exc).__name__} {exc}")
        return lines

    async def every_case_delivered(self) -> bool:
        cases = self.citizens.case_ids
        return self.watch.count(cases, "zugestellt") == len(cases)

    async def finish(self, capsys: pytest.CaptureFixture[str], title: str) -> None:
        """The last batch, then every case checked: ended once, nothing lost or doubled."""
        await self.citizens.submit(BATCH)
        await eventually(self.every_case_delivered, timeout=240, interval=0.5)
        dbs = ModuleDatabases(self.cluster.data_dir, self.cluster.postgres)
        await eventually(quiescent(self.options, dbs), timeout=120, interval=0.5)
        summary = await check_end_states(
            case_ids=self.citizens.case_ids,
            dbs=dbs,
            nats_options=self.options,
            temporal_address=f"127.0.0.1:{self.cluster.temporal_port}",
        )
        summary += await check_dead_letters(self.options, [])  # no good event parked
        summary.append(f"fees paid on the test provider's page: {len(self.payer.paid)}")
        report(
            capsys,
            f"== {title} ({time.monotonic() - self.began:.0f}s) ==\n"
            "fault:\n  " + "\n  ".join(self.log) + "\nchecked:\n  " + "\n  ".join(summary),
        )


@asynccontextmanager
async def running(
    root: Path, nats_cluster: NatsCluster, capsys: pytest.CaptureFixture[str]
) -> AsyncIterator[ClusterRun]:
    run = ClusterRun(root, nats_cluster)
    try:
        await run.start()
        yield run
    except BaseException:
        state = await run.streams()
        # shown with the failure
        print("\nfault log so far:\n  " + "\n  ".join(run.log) + "\n" + run.cluster.logs())
        print("streams:\n  " + "\n  ".join(state))
        raise
    finally:
        await run.close()


def loopback_cluster(root: Path) -> NatsCluster:
    ports = [free_port() for _ in range(6)]
    return NatsCluster.on_loopback(root / "nats-cluster", 3, ports=ports[:3], cluster_ports=ports[3:])


async def test_stream_leader_sigkilled_under_load_and_restarted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running(tmp_path, loopback_cluster(tmp_path), capsys) as run:
        await run.submit_in_flight()
        node = await run.nats.leader("RATHAUS_PORTAL")
        run.log.append(
            f"SIGKILL of {await run.leader('RATHAUS_PORTAL')} with {run.in_flight()} cases in flight"
        )
        node.kill()
        await run.delivered_meanwhile("while it was down")
        t0 = time.monotonic()
        node.start()
        await eventually(run.replicated, timeout=120, interval=0.5)
        run.log.append(
            f"{node.name} restarted: every stream's replicas current after {time.monotonic() - t0:.1f}s"
        )
        await run.finish(capsys, "NATS cluster: stream leader SIGKILLed and restarted")


async def test_node_stopped_for_a_minute_under_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running(tmp_path, loopback_cluster(tmp_path), capsys) as run:
        await run.submit_in_flight()
        node = await run.nats.leader("RATHAUS_EAKTE")
        run.log.append(
            f"SIGSTOP of {await run.leader('RATHAUS_EAKTE')} for {FROZEN_SECONDS:.0f}s "
            f"with {run.in_flight()} cases in flight (its connections stay open, it answers nothing)"
        )
        t0 = time.monotonic()
        node.freeze()
        await run.delivered_meanwhile("while it was stopped")
        # the fault lasts a minute: this is its duration, not a wait for a result
        await asyncio.sleep(max(0.0, FROZEN_SECONDS - (time.monotonic() - t0)))
        node.thaw()
        t1 = time.monotonic()
        await eventually(run.replicated, timeout=120, interval=0.5)
        run.log.append(
            f"SIGCONT after {t1 - t0:.0f}s: every stream's replicas current after {time.monotonic() - t1:.1f}s"
        )
        await run.finish(capsys, "NATS cluster: a node stopped for a minute")


@pytest.mark.skipif(netns_available() is not None, reason=netns_available() or "")
async def test_node_cut_off_by_a_network_partition_then_healed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespaces = Namespaces(3)
    namespaces.create()
    try:
        async with running(tmp_path, namespaces.cluster(tmp_path / "nats-cluster"), capsys) as run:
            await run.submit_in_flight()
            node = await run.nats.leader("RATHAUS_PORTAL")
            index = namespaces.index(node)
            run.log.append(
                f"network partition: {await run.leader('RATHAUS_PORTAL')} at {node.host} in namespace "
                f"{namespaces.names[index]} cut off (its veth down) with {run.in_flight()} cases in flight"
            )
            t0 = time.monotonic()
            namespaces.cut(index)
            await run.delivered_meanwhile("while it was cut off")
            new = await run.nats.leader("RATHAUS_PORTAL")
            assert new is not node, "the cut-off node still leads"
            namespaces.heal(index)
            t1 = time.monotonic()
            await eventually(run.replicated, timeout=120, interval=0.5)
            run.log.append(
                f"healed after {t1 - t0:.0f}s (new leader {new.name}): every stream's replicas current "
                f"after {time.monotonic() - t1:.1f}s"
            )
            await run.finish(capsys, "NATS cluster: one node cut off by a network partition, then healed")
    finally:
        namespaces.delete()
