"""The generic case workflow: it interprets the procedure's parameters; a new service
needs no new code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from rathaus.platform.orchestration.deadlines import RestingClock
    from rathaus.platform.orchestration.model import (
        APPOINTMENT_BOOKED,
        APPOINTMENT_CANCELLED,
        CASE_OPENED,
        CHECKED_IN,
        CLAIM_CREATED,
        DECISION_DELIVERED,
        DECISION_MADE,
        DECISION_MADE_V2,
        DOCUMENT_FILED,
        DOCUMENTS_REQUESTED,
        PAYMENT_RESTART,
        PAYMENT_RETURNED,
        REPLY_FILED,
        SUBMITTED,
        SUBMITTED_V2,
        CaseSignal,
        EmitCommand,
        ProcedureParams,
    )
    from rathaus.platform.orchestration.payments import Attempt, Observed, StartPayment

EMIT_TIMEOUT = timedelta(seconds=60)
DOCUMENTS_GRACE = timedelta(hours=1)  # after this, staff decide with what has arrived
# workflow.patched ids: a case started before a change replays the code it ran with
SERVICES_AS_DATA = "services-as-data-1"
FEES = "fees-appointments-1"
POSTKORB = "postkorb-1"
NOT_COUNTED = ("bescheid", "nachricht")  # filed documents that are no evidence of the application
FINAL = ("PAYED", "FAILED", "CANCELED")
# a payment attempt: opened with retries while the provider is away; its status asked with
# backoff from 2 s to a minute, at once when the citizen comes back from the payment page
START_PAYMENT = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=60))
ONE_QUERY = RetryPolicy(maximum_attempts=1)
POLL_FIRST, POLL_MAX = 2.0, 60.0


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.params: ProcedureParams | None = None
        self.opened = False
        self.documents: set[str] = set()
        self.outcome = ""
        self.delivered = False
        self.status = ""
        self.claim: dict[str, str] | None = None
        self.nudges = 0  # the citizen came back from the payment page: ask the provider now
        self._nudged_at = 0  # the nudges seen before the last status query
        self.restarts = 0  # the citizen asked for a new payment attempt
        self.payment = ""  # offen | bezahlt | fehlgeschlagen (the status query shows it)
        self.appointments: set[str] = set()  # booked and not cancelled
        self.checked_in = False
        # the two-way Postkorb: Nachforderungen (request id -> the bridge's fields), the ones
        # answered, the ones staff decide without; the decision deadline rests while one is open
        self.requests: dict[str, dict[str, str]] = {}
        self.answered: set[str] = set()
        self.lapsed: set[str] = set()
        self.clock = RestingClock()
        self.clock_changes = 0

    @workflow.signal(name="event")
    def on_event(self, signal: CaseSignal) -> None:
        if signal.event_id in self.seen:  # the bridge may deliver an event twice
            return
        self.seen.add(signal.event_id)
        if signal.type in (SUBMITTED, SUBMITTED_V2):
            f = signal.fields
            self.params = ProcedureParams(
                service_id=f["service_id"],
                unit=f["unit"],
                attachments_expected=int(f["attachments_expected"]),
                decision_seconds=float(f["decision_seconds"]),
                escalation_seconds=float(f["escalation_seconds"]),
                channel=f["channel"],
                templates={k.removeprefix("template:"): v for k, v in f.items() if k.startswith("template:")},
                mode=f.get("mode", "clerk"),
                fiction_seconds=float(f.get("fiction_seconds", "0")),
                fiction_basis=f.get("fiction_basis", ""),
                payment=f.get("payment", "none"),
                payment_seconds=float(f.get("payment_seconds", str(3 * 3600))),
                appointment=f.get("appointment") == "1",
            )
        elif signal.type == CASE_OPENED:
            self.opened = True
        elif signal.type == DOCUMENT_FILED and signal.fields.get("document_type") not in NOT_COUNTED:
            self.documents.add(signal.fields.get("document_id", signal.event_id))
        elif signal.type in (DECISION_MADE, DECISION_MADE_V2):
            self.outcome = signal.fields["outcome"]
        elif signal.type == DECISION_DELIVERED:
            self.delivered = True
        elif signal.type == CLAIM_CREATED:
            self.claim = dict(signal.fields)
        elif signal.type == PAYMENT_RETURNED:
            self.nudges += 1
        elif signal.type == PAYMENT_RESTART:
            self.restarts += 1
        elif signal.type == APPOINTMENT_BOOKED:
            self.appointments.add(signal.fields["appointment_id"])
        elif signal.type == APPOINTMENT_CANCELLED:
            self.appointments.discard(signal.fields["appointment_id"])
        elif signal.type == CHECKED_IN:
            self.checked_in = True
        elif signal.type == DOCUMENTS_REQUESTED:
            self.requests.setdefault(signal.fields["request_id"], dict(signal.fields))
            self._rest_or_run()
        elif signal.type == REPLY_FILED and signal.fields.get("request_id"):
            self.answered.add(signal.fields["request_id"])
            self._rest_or_run()

    def open_requests(self) -> list[str]:
        return [r for r in self.requests if r not in self.answered and r not in self.lapsed]

    def _rest_or_run(self) -> None:
        """The decision deadline rests while a Nachforderung is open, and runs on after."""
        at = workflow.now().timestamp()
        changed = self.clock.rest(at) if self.open_requests() else self.clock.resume(at)
        self.clock_changes += 1 if changed else 0

    @workflow.query(name="status")
    def current_status(self) -> str:
        return self.status

    @workflow.query(name="payment")
    def payment_status(self) -> str:
        return self.payment

    @workflow.run
    async def run(self, case_id: str) -> str:
        await workflow.wait_condition(lambda: self.params is not None)
        params = self.params
        assert params is not None
        await self._status(case_id, "eingegangen", params)
        fees = workflow.patched(FEES)
        postkorb = workflow.patched(POSTKORB)
        follower = asyncio.create_task(self._follow_requests(case_id, params)) if postkorb else None
        payment = params.payment if fees else "none"
        background: asyncio.Task[None] | None = None
        if payment == "before":  # processing starts when the fee is paid
            await self._collect(case_id, params)
        elif payment == "optional":  # offered; the case does not wait for it
            background = asyncio.create_task(self._collect(case_id, params))
        await workflow.wait_condition(lambda: self.opened)
        await self._status(case_id, "in_pruefung", params)
        if fees and params.appointment:
            # the service needs a visit (e.g. identification in the Bürgerbüro): the case is
            # decided after the citizen checked in at the appointment booked for it
            self.status = "termin"
            await workflow.wait_condition(lambda: self.checked_in or bool(self.outcome))
            self.status = "in_pruefung"
        try:
            await workflow.wait_condition(
                lambda: len(self.documents) >= params.attachments_expected or bool(self.outcome),
                timeout=DOCUMENTS_GRACE,
            )
        except TimeoutError:
            workflow.logger.warning(
                "case %s: not every document arrived; asking for a decision anyway", case_id
            )
        if not self.outcome:
            due = workflow.now() + timedelta(seconds=params.decision_seconds)
            request = {"unit": params.unit, "due_at": due.isoformat()}
            patched = workflow.patched(SERVICES_AS_DATA)
            if patched:
                request["mode"] = params.mode
            await self._emit(case_id, "request_decision", "request_decision", request)
            await self._status(case_id, "zur_entscheidung", params)
            if postkorb:
                await self._await_decision_resting(case_id, params, due.isoformat())
            elif patched:
                await self._await_decision_or_fiction(case_id, params, due.isoformat())
            else:
                await self._await_decision(case_id, params, due.isoformat())
        await self._status(case_id, "entschieden", params)
        if payment == "after_decision" and self.outcome != "refused":
            await self._collect(case_id, params)  # the permit is released when the fee is paid
        template = params.templates.get(self.outcome, "")
        await self._emit(case_id, "deliver", "deliver", {"channel": params.channel, "template": template})
        await workflow.wait_condition(lambda: self.delivered)
        await self._status(case_id, "zugestellt", params)
        if background is not None:
            await background  # an optional payment under way is still followed to its end
        if follower is not None:
            await follower  # ends once the case is decided
        return self.outcome

    # --- the payment step --------------------------------------------------------------

    async def _collect(self, case_id: str, params: ProcedureParams) -> None:
        """Until the case's Forderung is paid: open an attempt, follow it to a final status
        by status queries; after a failed, cancelled or abandoned attempt wait for the
        citizen to start another, and look again at the ended ones meanwhile (a late PAYED
        after a FAILED counts). Never trusts the redirect: it only makes the query earlier."""
        await workflow.wait_condition(lambda: self.claim is not None)
        claim = self.claim
        assert claim is not None
        ended: list[tuple[int, str]] = []
        attempt = 0
        while True:
            attempt += 1
            expires = workflow.now() + timedelta(seconds=params.payment_seconds)
            self.payment = "offen"
            try:
                opened: Attempt = await workflow.execute_activity(
                    "start_payment",
                    StartPayment(
                        case_id=case_id,
                        claim_id=claim["claim_id"],
                        attempt=attempt,
                        kassenzeichen=claim["kassenzeichen"],
                        amount_cents=int(claim["amount_cents"]),
                        purpose=claim["purpose"],
                        description=claim["description"],
                        lines=claim.get("lines", "[]"),
                        expires_at=expires.isoformat(),
                    ),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=START_PAYMENT,
                    result_type=Attempt,
                )
            except ActivityError:  # the provider refused our request: staff must look
                workflow.logger.error("case %s: the payment provider refused attempt %d", case_id, attempt)
                opened = Attempt(transaction_id="", url="")
                seen: Observed | None = Observed(status="FAILED", amount_cents=0, payment_method="")
            else:
                seen = await self._follow(opened.transaction_id, expires)
            if seen is not None and seen.status == "PAYED":
                await self._paid(case_id, claim, attempt, opened.transaction_id, seen, late=False)
                return
            status = seen.status if seen is not None else "EXPIRED"
            self.payment = "fehlgeschlagen"
            await self._emit(
                case_id,
                f"payment-failed-{attempt}",
                "payment_failed",
                {
                    "claim_id": claim["claim_id"],
                    "attempt": str(attempt),
                    "transaction_id": opened.transaction_id,
                    "status": status,
                    "at": workflow.now().isoformat(),
                },
            )
            if opened.transaction_id:
                ended.append((attempt, opened.transaction_id))
            late = await self._await_restart(ended, params)
            if late is not None:
                number, transaction_id, found = late
                await self._paid(case_id, claim, number, transaction_id, found, late=True)
                return

    async def _follow(self, transaction_id: str, expires: datetime) -> Observed | None:
        """The attempt's final status, or None when it was abandoned (still INITIAL when it
        expired). While the provider cannot be asked, the attempt does not expire unseen."""
        delay = POLL_FIRST
        while True:
            self._nudged_at = self.nudges
            seen = await self._query(transaction_id)
            if seen is not None and seen.status in FINAL:
                return seen
            now = workflow.now()
            if seen is not None and now >= expires:
                return None
            wait = delay if seen is None else min(delay, max((expires - now).total_seconds(), 0.5))
            try:
                await workflow.wait_condition(
                    lambda: self.nudges > self._nudged_at, timeout=timedelta(seconds=wait)
                )
                delay = POLL_FIRST
            except TimeoutError:
                delay = min(delay * 2, POLL_MAX)

    async def _await_restart(
        self, ended: list[tuple[int, str]], params: ProcedureParams
    ) -> tuple[int, str, Observed] | None:
        """Wait for the citizen's next attempt; meanwhile (for as long as an attempt stays
        open, then at every restart) look whether an ended attempt was paid after all."""
        restarts = self.restarts
        look_until = workflow.now() + timedelta(seconds=params.payment_seconds)
        delay = POLL_FIRST
        while True:
            for number, transaction_id in ended:
                seen = await self._query(transaction_id)
                if seen is not None and seen.status == "PAYED":
                    return number, transaction_id, seen
            if self.restarts > restarts:
                return None
            remaining = (look_until - workflow.now()).total_seconds()
            try:
                if remaining > 0:
                    await workflow.wait_condition(
                        lambda: self.restarts > restarts, timeout=timedelta(seconds=min(delay, remaining))
                    )
                else:
                    await workflow.wait_condition(lambda: self.restarts > restarts)
            except TimeoutError:
                delay = min(delay * 2, POLL_MAX)

    async def _query(self, transaction_id: str) -> Observed | None:
        try:
            seen: Observed = await workflow.execute_activity(
                "payment_status",
                transaction_id,
                start_to_close_timeout=timedelta(seconds=20),
                retry_policy=ONE_QUERY,
                result_type=Observed,
            )
        except ActivityError:
            return None  # the provider is away; ask again later
        return seen

    async def _paid(
        self,
        case_id: str,
        claim: dict[str, str],
        attempt: int,
        transaction_id: str,
        seen: Observed,
        *,
        late: bool,
    ) -> None:
        self.payment = "bezahlt"
        await self._emit(
            case_id,
            f"payment-completed-{attempt}",
            "payment_completed",
            {
                "claim_id": claim["claim_id"],
                "attempt": str(attempt),
                "transaction_id": transaction_id,
                "kassenzeichen": claim["kassenzeichen"],
                "amount_cents": str(seen.amount_cents),
                "payment_method": seen.payment_method,
                "at": workflow.now().isoformat(),
                "late": "1" if late else "0",
            },
        )

    async def _await_decision(self, case_id: str, params: ProcedureParams, due: str) -> None:
        """A wait with a deadline (Frist): a reminder when it passes, an escalation after another."""
        waits = [(params.decision_seconds, 1), (params.escalation_seconds, 2)]
        for seconds, level in waits:
            try:
                await workflow.wait_condition(lambda: bool(self.outcome), timeout=timedelta(seconds=seconds))
                return
            except TimeoutError:
                await self._emit(
                    case_id,
                    f"overdue-{level}",
                    "overdue",
                    {"unit": params.unit, "level": str(level), "due_at": due},
                )
        await workflow.wait_condition(lambda: bool(self.outcome))

    async def _await_decision_or_fiction(self, case_id: str, params: ProcedureParams, due: str) -> None:
        """The deadlines of a decision in the order they fall due: a reminder, an escalation
        and, where the procedure has one, the Genehmigungsfiktion (§ 42a VwVfG), after which
        the E-Akte records the grant unless a decision came first."""
        start = workflow.now()
        deadlines = [
            (params.decision_seconds, "overdue-1"),
            (params.decision_seconds + params.escalation_seconds, "overdue-2"),
        ]
        if params.fiction_seconds > 0:
            deadlines.append((params.fiction_seconds, "fiction"))
        for seconds, step in sorted(deadlines):
            remaining = start + timedelta(seconds=seconds) - workflow.now()
            if remaining.total_seconds() > 0:
                try:
                    await workflow.wait_condition(lambda: bool(self.outcome), timeout=remaining)
                    return
                except TimeoutError:
                    pass
            if self.outcome:
                return
            if step == "fiction":
                deadline = start + timedelta(seconds=seconds)
                fields = {
                    "unit": params.unit,
                    "basis": params.fiction_basis,
                    "deadline": deadline.isoformat(),
                }
                await self._emit(case_id, "fiction", "fiction", fields)
            else:
                level = step.removeprefix("overdue-")
                fields = {"unit": params.unit, "level": level, "due_at": due}
                await self._emit(case_id, step, "overdue", fields)
        await workflow.wait_condition(lambda: bool(self.outcome))

    # --- the two-way Postkorb: Nachforderungen and the resting decision deadline ----------

    async def _follow_requests(self, case_id: str, params: ProcedureParams) -> None:
        """Each Nachforderung's deadlines, until the case is decided."""
        followed: set[str] = set()
        tasks: list[asyncio.Task[None]] = []
        while True:
            await workflow.wait_condition(
                lambda: bool(self.outcome) or any(r not in followed for r in self.requests)
            )
            if self.outcome:
                break
            for request_id in [r for r in self.requests if r not in followed]:
                followed.add(request_id)
                tasks.append(asyncio.create_task(self._follow_request(case_id, params, request_id)))
        for task in tasks:
            await task

    async def _follow_request(self, case_id: str, params: ProcedureParams, request_id: str) -> None:
        """When the deadline passes unanswered the applicant is reminded (level 1); after the
        grace period staff are told to decide with what they have (level 2), and the decision
        deadline runs on."""
        request = self.requests[request_id]
        waits = [(float(request["deadline_seconds"]), 1), (float(request["grace_seconds"]), 2)]
        for seconds, level in waits:
            try:
                await workflow.wait_condition(
                    lambda: request_id in self.answered or bool(self.outcome),
                    timeout=timedelta(seconds=max(seconds, 1.0)),
                )
                return
            except TimeoutError:
                pass
            fields = {
                "request_id": request_id,
                "unit": params.unit,
                "level": str(level),
                "deadline": request["deadline"],
            }
            await self._emit(case_id, f"documents-overdue-{request_id}-{level}", "documents_overdue", fields)
        self.lapsed.add(request_id)
        self._rest_or_run()

    async def _await_decision_resting(self, case_id: str, params: ProcedureParams, due: str) -> None:
        """The decision's deadlines as in ``_await_decision_or_fiction``, on a clock that rests
        while documents are requested; each rest and restart is announced to the E-Akte."""
        self.clock.start(workflow.now().timestamp())
        announced = 0
        deadlines = [
            (params.decision_seconds, "overdue-1"),
            (params.decision_seconds + params.escalation_seconds, "overdue-2"),
        ]
        if params.fiction_seconds > 0:
            deadlines.append((params.fiction_seconds, "fiction"))
        for seconds, step in sorted(deadlines):
            while not self.outcome:
                if self.clock_changes != announced:
                    announced = self.clock_changes
                    await self._announce(case_id, params, announced)
                    continue
                falls_due = self.clock.due(seconds)
                changes = self.clock_changes
                if falls_due is None:  # resting: wait for the reply (or the request's end)
                    await workflow.wait_condition(self._moved(changes))
                    continue
                remaining = falls_due - workflow.now().timestamp()
                if remaining <= 0:
                    break
                try:
                    await workflow.wait_condition(
                        self._moved(changes),
                        timeout=timedelta(seconds=remaining),
                    )
                except TimeoutError:
                    break
            if self.outcome:
                return
            if step == "fiction":
                deadline = self.clock.due(seconds)
                at = datetime.fromtimestamp(deadline or workflow.now().timestamp(), workflow.now().tzinfo)
                fields = {"unit": params.unit, "basis": params.fiction_basis, "deadline": at.isoformat()}
                await self._emit(case_id, "fiction", "fiction", fields)
            else:
                level = step.removeprefix("overdue-")
                current = self.clock.due(params.decision_seconds)
                due_at = (
                    datetime.fromtimestamp(current, workflow.now().tzinfo).isoformat() if current else due
                )
                fields = {"unit": params.unit, "level": level, "due_at": due_at}
                await self._emit(case_id, step, "overdue", fields)
        await workflow.wait_condition(lambda: bool(self.outcome))

    def _moved(self, changes: int) -> Callable[[], bool]:
        """A wait's condition: decided, or the clock rested or ran on since ``changes``."""
        return lambda: bool(self.outcome) or self.clock_changes != changes

    async def _announce(self, case_id: str, params: ProcedureParams, number: int) -> None:
        falls_due = self.clock.due(params.decision_seconds)
        now = workflow.now()
        fields = {
            "unit": params.unit,
            "paused": "1" if falls_due is None else "0",
            "due_at": datetime.fromtimestamp(falls_due, now.tzinfo).isoformat()
            if falls_due is not None
            else "",
            "at": now.isoformat(),
        }
        await self._emit(case_id, f"deadline-{number}", "deadline_changed", fields)

    async def _status(self, case_id: str, status: str, params: ProcedureParams) -> None:
        self.status = status
        await self._emit(
            case_id, f"status-{status}", "status", {"status": status, "service_id": params.service_id}
        )

    async def _emit(self, case_id: str, step: str, kind: str, fields: dict[str, str]) -> None:
        await workflow.execute_activity(
            "emit_case_event",
            EmitCommand(case_id=case_id, step=step, kind=kind, fields=fields),
            start_to_close_timeout=EMIT_TIMEOUT,
        )
