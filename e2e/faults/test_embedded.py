"""Faults under load in the embedded shape: ``rathaus up`` (nats-server, Temporal and every
module under one process) is SIGKILLed while cases are on their way through decision and
delivery, and started again on the same data dir. After recovery every case has reached
its end state exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from e2e.faults.checks import ModuleDatabases, check_end_states, quiescent
from e2e.faults.load import Citizens, Decider, StatusWatch
from rathaus.platform.kernel import Settings
from rathaus.platform.runtime.payprovider.controls import AutoPayer
from rathaus.platform.testing import EmbeddedPlatform, eventually, report

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(600)]
CASES = 12


def staff_account(data_dir: Path, login: str = "kvr-bewohnerparken") -> tuple[str, str]:
    """The demo clerk of KVR-III/12 that ``rathaus up`` created on the fresh data dir."""
    for line in (data_dir / "demo-zugaenge.txt").read_text(encoding="utf-8").splitlines():
        _, user, password, _ = line.split("\t")
        if user == login:
            return user, password
    raise AssertionError(f"no demo account {login}")


async def test_sigkill_of_the_whole_platform_mid_case_and_each_case_ends_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    platform = EmbeddedPlatform(tmp_path / "rathaus")
    platform.start()
    citizens = Citizens(
        Settings(
            data_dir=platform.data_dir,
            postgres=platform.postgres,
            secret_key="embedded-fault-suite-secret-0000",
        )
    )
    watch = StatusWatch()
    decider = Decider(platform.base_url, *staff_account(platform.data_dir))
    payer = AutoPayer(platform.nats_credentials())  # the Bewohnerparkausweis costs a fee
    try:
        await citizens.open()
        await watch.start(**platform.nats_credentials())
        await payer.start()
        decider.start()
        first = await citizens.submit(CASES // 2)
        # strike once the first decisions are on their way to the Bescheid and the Postkorb
        await eventually(watch.reached(first, "entschieden"), timeout=180, interval=0.05)
        stages = {s: watch.count(first, s) for s in ("in_pruefung", "entschieden", "zugestellt")}
        platform.kill()  # SIGKILL of the process group: the modules, nats-server, Temporal
        t0 = time.monotonic()
        platform.start()
        back = time.monotonic() - t0
        await citizens.submit(CASES - CASES // 2)

        cases = citizens.case_ids
        await eventually(watch.reached(cases, "zugestellt", len(cases)), timeout=300, interval=0.2)
        nats_options = platform.nats_credentials()
        await eventually(
            quiescent(nats_options, ModuleDatabases(platform.data_dir, platform.postgres)),
            timeout=120,
            interval=0.5,
        )
        summary = await check_end_states(
            case_ids=cases,
            dbs=ModuleDatabases(platform.data_dir, platform.postgres),
            nats_options=nats_options,
            temporal_address=f"127.0.0.1:{platform.temporal_port}",
        )
        summary.append(
            f"decisions through the workspace API: {len(decider.decided)} (409 answers: {decider.conflicts})"
        )
        summary.append(
            f"fees paid on the test provider's page: {len(payer.paid)} ({len(payer.errors)} errors)"
        )
        report(
            capsys,
            f"== fault suite, embedded platform ({time.monotonic() - began:.0f}s) ==\n"
            f"faults injected:\n  SIGKILL rathaus up with {len(first)} cases in flight "
            f"(passed in_pruefung: {stages['in_pruefung']}, entschieden: {stages['entschieden']}, "
            f"zugestellt: {stages['zugestellt']}); up again after {back:.1f}s, {CASES - len(first)} more cases\n"
            "checked:\n  " + "\n  ".join(summary),
        )
    except BaseException:
        print("\n" + "".join(platform.output[-40:]))  # shown with the failure
        raise
    finally:
        await decider.close()
        await payer.stop()
        await watch.close()
        await citizens.close()
        platform.stop()
