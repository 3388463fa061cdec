"""The generic case workflow: it interprets the procedure's parameters; a new service
needs no new code."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from rathaus.platform.orchestration.model import (
        CASE_OPENED,
        DECISION_DELIVERED,
        DECISION_MADE,
        DECISION_MADE_V2,
        DOCUMENT_FILED,
        SUBMITTED,
        SUBMITTED_V2,
        CaseSignal,
        EmitCommand,
        ProcedureParams,
    )

EMIT_TIMEOUT = timedelta(seconds=60)
DOCUMENTS_GRACE = timedelta(hours=1)  # after this, staff decide with what has arrived
# workflow.patched ids: a case started before a change replays the code it ran with
SERVICES_AS_DATA = "services-as-data-1"


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
            )
        elif signal.type == CASE_OPENED:
            self.opened = True
        elif signal.type == DOCUMENT_FILED and signal.fields.get("document_type") != "bescheid":
            self.documents.add(signal.fields.get("document_id", signal.event_id))
        elif signal.type in (DECISION_MADE, DECISION_MADE_V2):
            self.outcome = signal.fields["outcome"]
        elif signal.type == DECISION_DELIVERED:
            self.delivered = True

    @workflow.query(name="status")
    def current_status(self) -> str:
        return self.status

    @workflow.run
    async def run(self, case_id: str) -> str:
        await workflow.wait_condition(lambda: self.params is not None)
        params = self.params
        assert params is not None
        await self._status(case_id, "eingegangen", params)
        await workflow.wait_condition(lambda: self.opened)
        await self._status(case_id, "in_pruefung", params)
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
            if patched:
                await self._await_decision_or_fiction(case_id, params, due.isoformat())
            else:
                await self._await_decision(case_id, params, due.isoformat())
        await self._status(case_id, "entschieden", params)
        template = params.templates.get(self.outcome, "")
        await self._emit(case_id, "deliver", "deliver", {"channel": params.channel, "template": template})
        await workflow.wait_condition(lambda: self.delivered)
        await self._status(case_id, "zugestellt", params)
        return self.outcome

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
