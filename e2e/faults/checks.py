"""After recovery: every case reached its end state exactly once. Reads the streams, each
module's own database (read-only) and Temporal's list of workflows, asserts, and returns
the counts it checked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import msgspec
import nats
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError
from temporalio.client import Client, WorkflowExecutionStatus

from rathaus.eakte.domain import verify_chain
from rathaus.platform.kernel.bus import DEADLETTER_STREAM
from rathaus.platform.kernel.deadletters import list_dead_letters
from rathaus.platform.kernel.settings import MODULE_NAMES
from rathaus.platform.testing import ModuleDatabases, eventually, report

STATUSES = ("eingegangen", "in_pruefung", "zur_entscheidung", "entschieden", "zugestellt")
# what the E-Akte writes, how often, on the way of a case without attachments whose fee is
# paid after the decision: two documents filed (the Zahlungsbestätigung and the Bescheid)
AUDIT_PER_CASE = {
    "vorgang_angelegt": 1,
    "status_zur_entscheidung": 1,
    "entscheidung": 1,
    "dokument_abgelegt": 2,
    "status_zugestellt": 1,
}
READS = ("vorgang_eingesehen", "dokument_geoeffnet")  # a clerk may look twice
DATASET = "bewohnerparkausweise-stadtbezirk-monat"
COMPONENT_DBS = (*MODULE_NAMES, "orchestration")


async def stream_events(nc: Any, stream: str, subject: str) -> list[dict[str, Any]]:
    """Every message the stream holds on a subject, decoded, duplicates included."""
    js = nc.jetstream(timeout=10)
    info = await js.stream_info(stream, subjects_filter=subject)
    remaining = (info.state.subjects or {}).get(subject, 0)
    events: list[dict[str, Any]] = []
    if not remaining:
        return events
    sub = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=30),
    )
    deadline = time.monotonic() + 30
    while remaining > 0:
        try:
            batch = await sub.fetch(min(remaining, 256), timeout=10)
        except ServiceUnavailableError:
            # on a cluster a consumer just created may not have its leader yet (503)
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)  # a back-off between attempts
            continue
        events += [msgspec.json.decode(m.data) for m in batch]
        remaining -= len(batch)
    await sub.unsubscribe()
    return events


def quiescent(nats_options: dict[str, Any], dbs: ModuleDatabases) -> Callable[[], Awaitable[bool]]:
    """Nothing left to do anywhere: no outbox row pending, no message pending or unacked
    for any durable consumer. Only then can a late duplicate no longer appear."""

    async def nothing_left() -> bool:
        for module in COMPONENT_DBS:
            (pending,) = await dbs.one(module, "select count(*) from rathaus_outbox where status = 'pending'")
            if pending:
                return False
        try:
            nc = await nats.connect(**nats_options, allow_reconnect=False, connect_timeout=5)
        except (OSError, nats.errors.Error, TimeoutError):
            return False
        try:
            js = nc.jetstream(timeout=10)
            for stream in await js.streams_info():
                for consumer in await js.consumers_info(stream.config.name or ""):
                    if consumer.num_pending or consumer.num_ack_pending:
                        return False
        finally:
            await nc.close()
        return True

    return nothing_left


async def every_case_ended_once(
    watch: Any,
    case_ids: list[str],
    *,
    dbs: ModuleDatabases,
    nats_options: dict[str, Any],
    temporal_address: str,
    others: int = 0,
) -> list[str]:
    """Wait until every case is delivered (``watch``: the fault suite's StatusWatch) and the
    platform is quiescent, then :func:`check_end_states`; returns the summary lines."""
    await eventually(watch.reached(case_ids, "zugestellt", len(case_ids)), timeout=300, interval=0.2)
    await eventually(quiescent(nats_options, dbs), timeout=120, interval=0.5)
    return await check_end_states(
        case_ids=case_ids,
        dbs=dbs,
        nats_options=nats_options,
        temporal_address=temporal_address,
        others=others,
    )


async def check_end_states(
    *,
    case_ids: list[str],
    dbs: ModuleDatabases,
    nats_options: dict[str, Any],
    temporal_address: str,
    others: int = 0,
) -> list[str]:
    """Assert that every case ended once; returns the lines of the summary. ``others``: cases
    outside ``case_ids`` that went their own way meanwhile (the platform-wide counts include them)."""
    cases = set(case_ids)
    n = len(cases)
    nc = await nats.connect(**nats_options, allow_reconnect=False, connect_timeout=5)
    try:
        statuses = Counter(
            (e["subject"], e["data"]["status"])
            for e in await stream_events(nc, "RATHAUS_PLATFORM", "rathaus.platform.case.status-changed.v1")
        )
        delivered = Counter(
            e["subject"]
            for e in await stream_events(nc, "RATHAUS_OUTPUT", "rathaus.output.decision.delivered.v1")
        )
        paid = Counter(
            e["subject"]
            for e in await stream_events(nc, "RATHAUS_PLATFORM", "rathaus.platform.payment.completed.v1")
        )
    finally:
        await nc.close()
    lost = sorted(c for c in cases if statuses[(c, "zugestellt")] == 0)
    assert not lost, f"{len(lost)} of {n} cases never reached 'zugestellt': {lost}"
    doubled = {k: v for k, v in statuses.items() if k[0] in cases and v != 1}
    assert not doubled, f"status events not exactly once: {doubled}"
    for status in STATUSES:
        assert sum(1 for c in cases if statuses[(c, status)] == 1) == n, f"a case lacks status {status}"
    assert {c: delivered[c] for c in cases} == dict.fromkeys(cases, 1), f"DecisionDelivered: {delivered}"
    assert {c: paid[c] for c in cases} == dict.fromkeys(cases, 1), f"PaymentCompleted: {paid}"

    bescheide = Counter(
        c
        for (c,) in await dbs.rows("eakte", "select case_id from documents where document_type = 'bescheid'")
    )
    receipts = Counter(
        c
        for (c,) in await dbs.rows("eakte", "select case_id from documents where document_type = 'quittung'")
    )
    trail = await dbs.records("eakte", "select * from audit order by seq")
    final = dict(await dbs.rows("eakte", "select case_id, status from vorgaenge"))
    assert {c: bescheide[c] for c in cases} == dict.fromkeys(cases, 1), f"Bescheide filed: {bescheide}"
    assert {c: receipts[c] for c in cases} == dict.fromkeys(cases, 1), f"receipts filed: {receipts}"
    assert all(final.get(c) == "zugestellt" for c in cases), "an E-Akte case is not 'zugestellt'"
    for entry in trail:
        if isinstance(entry["details"], str):
            entry["details"] = json.loads(entry["details"])
    assert verify_chain(trail), "the audit trail's hash chain does not verify"
    entries = Counter(
        (e["case_id"], e["action"], json.dumps(e["details"], sort_keys=True))
        for e in trail
        if e["action"] not in READS
    )
    duplicates = {k: v for k, v in entries.items() if v > 1}
    assert not duplicates, f"duplicate audit entries: {duplicates}"
    per_case = Counter((e["case_id"], e["action"]) for e in trail if e["case_id"] in cases)
    for action, times in AUDIT_PER_CASE.items():
        assert all(per_case[(c, action)] == times for c in cases), (
            f"audit action {action} not {times}× per case"
        )

    postkorb = Counter(c for (c,) in await dbs.rows("portal", "select case_id from postkorb"))
    shown = dict(await dbs.rows("portal", "select case_id, status from applications"))
    assert {c: postkorb[c] for c in cases} == dict.fromkeys(cases, 1), f"Postkorb entries: {postkorb}"
    assert all(shown.get(c) == "zugestellt" for c in cases), "a citizen does not see 'zugestellt'"

    marks = ",".join("?" * n)
    (opened, granted) = await dbs.one(
        "opendata",
        "select count(antrag_monat), sum(case when ergebnis = 'granted' then 1 else 0 end) "
        f"from faelle where case_id in ({marks})",
        sorted(cases),
    )
    (facts,) = await dbs.one("opendata", "select count(*) from faelle")
    (version,) = await dbs.one("opendata", "select version from datensaetze where id = ?", (DATASET,))
    assert (opened, granted, facts) == (n, n, n + others), (
        f"open-data facts: {opened} opened, {granted} granted, {facts} rows"
    )
    assert version == 2 * (n + others), f"the dataset changed {version} times, not twice per case"

    (sealed,) = await dbs.one("output", "select count(*) from bescheide where sha256 is not null")
    assert sealed == n + others, f"{sealed} Bescheide rendered for {n + others} cases"

    applied = 0
    for module in COMPONENT_DBS:
        applied += (await dbs.one(module, "select count(*) from rathaus_processed"))[0]

    temporal = await Client.connect(temporal_address)
    runs: Counter[str] = Counter()
    completed = 0

    async def listed_complete() -> bool:
        """Temporal's visibility store lags the workflows: read it until it has caught up."""
        nonlocal completed
        runs.clear()
        completed = 0
        async for wf in temporal.list_workflows("WorkflowType='CaseWorkflow'"):
            runs[wf.id] += 1
            completed += wf.status == WorkflowExecutionStatus.COMPLETED
        return completed >= n + others

    with contextlib.suppress(AssertionError):  # not caught up in time: the asserts below say how
        await eventually(listed_complete, timeout=30, interval=0.5)
    assert cases <= set(runs) and len(runs) == n + others, f"workflow runs: {runs}"
    assert set(runs.values()) == {1}, f"workflow runs: {runs}"
    assert completed == n + others, f"{completed} of {n + others} workflows completed"

    return [
        f"{n} cases, every one 'zugestellt', none lost",
        f"status events: {sum(statuses[(c, s)] for c in cases for s in STATUSES)} "
        f"({len(STATUSES)} statuses x {n} cases, each exactly once)",
        f"Temporal: {len(runs)} CaseWorkflows, one run each, {completed} completed",
        f"DecisionDelivered: {sum(delivered[c] for c in cases)}; Bescheide rendered: {sealed}; "
        f"Bescheide filed in the E-Akte: {sum(bescheide[c] for c in cases)}",
        f"fees paid (PaymentCompleted, each once): {sum(paid[c] for c in cases)}; "
        f"Zahlungsbestätigungen filed: {sum(receipts[c] for c in cases)}",
        f"Postkorb entries: {sum(postkorb[c] for c in cases)}",
        f"open data (fact table): {opened} applications, {granted} granted, {facts} facts; "
        f"dataset changed {version} times (2 per case)",
        f"E-Akte audit trail: {len(trail)} entries, no duplicate, hash chain verifies",
        f"events applied by consumers (each once): {applied}",
    ]


async def check_dead_letters(nats_options: dict[str, Any], sent: list[tuple[str, bytes]]) -> list[str]:
    """Every malformed message is parked exactly once for every module that consumes its
    subject; nothing else is."""
    nc = await nats.connect(**nats_options, allow_reconnect=False, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)
        consumers: dict[str, set[str]] = {}
        for subject, _ in sent:
            stream = f"RATHAUS_{subject.split('.')[1].upper()}"
            consumers[subject] = {
                c.name
                for c in await js.consumers_info(stream)
                if subject in (c.config.filter_subjects or [c.config.filter_subject or ""])
            }
        letters = await list_dead_letters(nc)
    finally:
        await nc.close()
    expected = Counter((consumer, payload) for subject, payload in sent for consumer in consumers[subject])
    parked = Counter((dl.consumer, dl.data) for dl in letters)
    assert parked == expected, (
        f"dead letters: {sum(parked.values())} entries, expected {sum(expected.values())}: "
        f"missing {set(expected) - set(parked)}, "
        f"unexpected {[(c, d[:80]) for c, d in set(parked) - set(expected)]}, "
        f"twice {[(c, d[:80]) for (c, d), v in parked.items() if v > 1]}"
    )
    by_subject = "; ".join(f"{subject}: {', '.join(sorted(c))}" for subject, c in consumers.items())
    return [
        f"malformed messages sent: {len(sent)}; dead-lettered: {len(letters)} entries in "
        f"{DEADLETTER_STREAM}, each exactly once per module consuming its subject ({by_subject})",
    ]


@contextlib.contextmanager
def reported(capsys: Any, title: str, summary: list[str], logs: Callable[[], str]) -> Iterator[None]:
    """Print what a fault test checked (``summary``, filled as it goes) under ``title`` with
    its duration; when it fails, what it had checked so far and the processes' logs."""
    began = time.monotonic()
    try:
        yield
    except BaseException:
        print("\nso far:\n  " + "\n  ".join(summary) + "\n" + logs())  # shown with the failure
        raise
    report(capsys, f"== {title} ({time.monotonic() - began:.0f}s) ==\nchecked:\n  " + "\n  ".join(summary))
