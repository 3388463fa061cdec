"""Use cases of the open-data portal: keep one anonymous fact per case from the case
events (either order, any number of deliveries), and one per case whose fee was paid
online from the payment events; publish the datasets computed from those facts,
suppressed and audited: one per service the procedures define, one of the payments."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rathaus.contracts.eakte.v1 import CaseOpened, ClaimRefunded, DocumentsRequested, ReplyFiled
from rathaus.contracts.output.v1 import BekanntgabeDetermined, DecisionDelivered
from rathaus.contracts.platform.v1 import DocumentsOverdue, PaymentCompleted
from rathaus.opendata import PREFIX, store
from rathaus.opendata.domain import payment_formats, postkorb_formats
from rathaus.opendata.domain.datasets import (
    ABGELEHNT,
    BEWILLIGT,
    DatasetDefinition,
    PublishedDataset,
    definitions,
    monat,
    publish,
)
from rathaus.opendata.domain.disclosure import Cell
from rathaus.opendata.domain.entries import Entry
from rathaus.opendata.domain.formats import entry
from rathaus.opendata.domain.payments import (
    PAYMENTS_ID,
    PaymentsDataset,
    attempt_of,
    publish_payments,
    refunds_fee,
    zahlungsart,
)
from rathaus.opendata.domain.postkorb import (
    POSTKORB,
    POSTKORB_ID,
    PostkorbDataset,
    answer,
    kind_determined,
    kind_of_channel,
    presumed_passed,
    publish_postkorb,
)
from rathaus.opendata.domain.stadtbezirke import stadtbezirk
from rathaus.opendata.domain.times import hours_between, moment
from rathaus.platform.kernel import Kernel, UnitOfWork
from rathaus.platform.kernel.calendar import munich_day

OUTCOMES = ("granted", "refused")


def now() -> str:
    return datetime.now(UTC).isoformat()


def today() -> date:
    """Munich's day now."""
    return munich_day(now())


class OpenData:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        # from the procedure files: a service added as a file is a dataset, no code
        self.definitions: dict[str, DatasetDefinition] = definitions(kernel.procedures)
        for reserved, what in ((PAYMENTS_ID, "den Online-Zahlungen"), (POSTKORB_ID, "dem Postkorb")):
            if reserved in self.definitions:  # the loader cannot know: refuse to start
                raise ValueError(f"Der Datensatz {reserved} gehört {what}, nicht einer Leistung.")
        self.by_service = {d.service_id: d for d in self.definitions.values()}
        self._published: dict[str, tuple[int, PublishedDataset]] = {}
        self._payments: tuple[int, PaymentsDataset] | None = None
        self._postkorb: tuple[tuple[int, frozenset[Cell]], PostkorbDataset] | None = None
        self._settled_on: date | None = None  # the day pending Bescheide were last looked at

    @property
    def base_url(self) -> str:
        """Absolute URL of the portal, for metadata that leaves the site (API, DCAT)."""
        web = self.kernel.settings.web
        root = web.public_url.rstrip("/") if web.public_url else f"http://{web.host}:{web.port}"
        return root + PREFIX

    async def on_case_opened(self, event: CaseOpened, uow: UnitOfWork) -> None:
        """Count an application: its Stadtbezirk and the month it was opened; keep when it
        came in (submission, else the opening) until its Bescheid is delivered."""
        beginn = event.submitted_at or event.opened_at
        moment(beginn, "Eingang")  # unreadable: retried, then dead-lettered, not guessed
        new = await store.record_opened(
            uow.session,
            event.case_id,
            event.service_id,
            stadtbezirk(event.stadtbezirk),
            monat(event.opened_at),
            beginn,
        )
        await self._settle(uow, event.case_id, event.service_id, new)

    async def on_decision_delivered(self, event: DecisionDelivered, uow: UnitOfWork) -> None:
        """Count a delivered decision: its outcome and the month it was delivered."""
        if event.outcome not in OUTCOMES:
            # retried, then dead-lettered: kept for an operator instead of silently not counted
            raise ValueError(f"Unbekanntes Ergebnis {event.outcome!r}: gezählt werden granted und refused")
        moment(event.sent_at, "Zustellung")
        kind = kind_of_channel(event.channel)  # unknown: retried, then dead-lettered
        if kind is None and presumed_passed(event.bekanntgabe, today()):
            kind = kind_determined(by_retrieval=False)  # delivered long ago: the third day passed
        new = await store.record_delivered(
            uow.session, event.case_id, event.service_id, event.outcome, monat(event.sent_at), event.sent_at
        )
        await self._settle(uow, event.case_id, event.service_id, new)
        changed = await store.record_delivery(
            uow.session,
            event.case_id,
            event.service_id,
            monat(event.sent_at),
            event.channel,
            kind,
            event.bekanntgabe,
        )
        if changed:
            await store.touch(uow.session, POSTKORB_ID, now())

    async def _settle(self, uow: UnitOfWork, case_id: str, service_id: str, new: bool) -> None:
        """Once both halves are known, only the duration stays; a new half changes the
        service's dataset. Facts of a service without a dataset (yet) are kept too: when
        its procedure file arrives, its dataset counts them."""
        if not new:
            return
        known = await store.halves(uow.session, case_id)
        if known.opened and known.delivered:
            hours = known.dauer_stunden
            if hours is None and known.beginn and known.ende:
                hours = hours_between(known.beginn, known.ende)
            await store.settle(uow.session, case_id, hours)
        definition = self.by_service.get(service_id)
        if definition is not None:
            await store.touch(uow.session, definition.id, now())

    async def on_payment_completed(self, event: PaymentCompleted, uow: UnitOfWork) -> None:
        """Count a case's fee as paid online: its payment method and the month it was paid;
        once per case, whatever else arrives (see ``domain.payments``)."""
        moment(event.paid_at, "Zahlung")  # unreadable: retried, then dead-lettered
        new = await store.record_paid(
            uow.session,
            event.case_id,
            attempt_of(event.attempt),
            zahlungsart(event.payment_method),
            monat(event.paid_at),
        )
        if new:
            await store.touch(uow.session, PAYMENTS_ID, now())

    async def on_claim_refunded(self, event: ClaimRefunded, uow: UnitOfWork) -> None:
        """Count a case's fee as refunded, in the month the refund was booked; a refund of a
        double or an overpayment leaves the fee paid and is not counted."""
        if not refunds_fee(event.reason):
            return
        moment(event.booked_at, "Erstattung")
        if await store.record_refunded(uow.session, event.case_id, monat(event.booked_at)):
            await store.touch(uow.session, PAYMENTS_ID, now())

    # -- the Postkorb: Nachforderungen and Bekanntgabe ---------------------------------------

    async def on_documents_requested(self, event: DocumentsRequested, uow: UnitOfWork) -> None:
        """Count a Nachforderung in the month it was sent; a reply known already settles it."""
        moment(event.requested_at, "Nachforderung")  # unreadable: retried, then dead-lettered
        answer(event.requested_at, event.deadline)  # the deadline must be a date
        if await store.record_requested(
            uow.session,
            event.request_id,
            event.case_id,
            event.service_id,
            monat(event.requested_at),
            event.requested_at,
            event.deadline,
        ):
            await store.touch(uow.session, POSTKORB_ID, now())

    async def on_reply_filed(self, event: ReplyFiled, uow: UnitOfWork) -> None:
        """A reply to a Nachforderung answers it (a reply to a plain message counts nowhere)."""
        if not event.request_id:
            return
        sent = event.received_at or event.filed_at  # a deadline is kept by sending in time
        moment(sent, "Antwort")
        if await store.record_reply(uow.session, event.request_id, event.case_id, sent):
            await store.touch(uow.session, POSTKORB_ID, now())

    async def on_documents_overdue(self, event: DocumentsOverdue, uow: UnitOfWork) -> None:
        """Level 2: staff decide with what they have; the Nachforderung lapsed unanswered
        (unless a reply is or becomes known). Level 1, the reminder, changes no count."""
        if event.level < 2:
            return
        if await store.record_lapsed(uow.session, event.request_id, event.case_id):
            await store.touch(uow.session, POSTKORB_ID, now())

    async def on_bekanntgabe_determined(self, event: BekanntgabeDetermined, uow: UnitOfWork) -> None:
        """After the first retrieval output management says how the Bescheid was notified."""
        if event.channel != POSTKORB:
            return  # only the Postkorb knows a retrieval
        moment(event.provided_at, "Bereitstellung")
        kind = kind_determined(event.by_retrieval)
        if await store.record_determined(uow.session, event.case_id, monat(event.provided_at), kind):
            await store.touch(uow.session, POSTKORB_ID, now())

    async def published_bescheide(self) -> frozenset[Cell]:
        """(service_id, monat) and (service_id, None) whose number of Bescheide (grants plus
        refusals) the service's own dataset publishes now."""
        known: set[Cell] = set()
        for definition in self.definitions.values():
            ds = await self.dataset(definition.id)
            if ds is None:
                continue
            granted, refused = ds.tables[BEWILLIGT].values, ds.tables[ABGELEHNT].values
            for col in (*ds.cols, None):
                if granted[(None, col)] is not None and refused[(None, col)] is not None:
                    known.add((definition.service_id, col))
        return frozenset(known)

    async def postkorb(self) -> PostkorbDataset:
        """The Postkorb dataset as published now; recomputed only when its numbers or what
        the services' datasets publish changed (Bescheide whose presumed third day passed
        are counted on the first read of a day)."""
        day = today()
        known = await self.published_bescheide()
        async with self.kernel.db.session() as s:
            if self._settled_on != day and await store.settle_presumed(s, day.isoformat()):
                await store.touch(s, POSTKORB_ID, now())
            state = await store.stand(s, POSTKORB_ID)
            if state is None:
                await store.ensure_dataset(s, POSTKORB_ID, now())
                state = await store.stand(s, POSTKORB_ID)
                assert state is not None
            if self._postkorb is not None and self._postkorb[0] == (state.version, known):
                self._settled_on = day
                return self._postkorb[1]
            nachforderungen = await store.nachforderung_counts(s)
            hours = await store.reply_hours(s)
            bekanntgabe = await store.bekanntgabe_counts(s)
        self._settled_on = day
        services = {sid for table in (*nachforderungen.values(), *bekanntgabe.values()) for sid, _ in table}
        published = publish_postkorb(
            nachforderungen,
            hours,
            bekanntgabe,
            {sid: self.service_title(sid) for sid in services},
            created=state.created,
            modified=state.modified,
            known=known,
        )
        self._postkorb = ((state.version, known), published)
        return published

    def service_title(self, service_id: str) -> str:
        """The service's title from its newest procedure version (its id if none is known)."""
        versions = self.kernel.procedures.versions(service_id)
        return versions[-1].procedure.title if versions else service_id

    async def ensure_datasets(self) -> None:
        async with self.kernel.db.session() as s:
            for dataset_id in [*self.definitions, PAYMENTS_ID, POSTKORB_ID]:
                await store.ensure_dataset(s, dataset_id, now())

    async def dataset(self, dataset_id: str) -> PublishedDataset | None:
        """The dataset as published now; recomputed only when its numbers changed."""
        definition = self.definitions.get(dataset_id)
        if definition is None:
            return None
        async with self.kernel.db.session() as s:
            state = await store.stand(s, dataset_id)
            if state is None:
                await store.ensure_dataset(s, dataset_id, now())
                state = await store.stand(s, dataset_id)
                assert state is not None
            cached = self._published.get(dataset_id)
            if cached is not None and cached[0] == state.version:
                return cached[1]
            counts = await store.counts(s, definition.service_id)
            hours = await store.durations(s, definition.service_id)
        published = publish(definition, counts, hours, created=state.created, modified=state.modified)
        self._published[dataset_id] = (state.version, published)
        return published

    async def datasets(self) -> list[PublishedDataset]:
        out = [await self.dataset(dataset_id) for dataset_id in sorted(self.definitions)]
        return [d for d in out if d is not None]

    async def payments(self) -> PaymentsDataset:
        """The online payments of fees as published now; recomputed only when they changed."""
        async with self.kernel.db.session() as s:
            state = await store.stand(s, PAYMENTS_ID)
            if state is None:
                await store.ensure_dataset(s, PAYMENTS_ID, now())
                state = await store.stand(s, PAYMENTS_ID)
                assert state is not None
            if self._payments is not None and self._payments[0] == state.version:
                return self._payments[1]
            counts = await store.payment_counts(s)
        published = publish_payments(counts, created=state.created, modified=state.modified)
        self._payments = (state.version, published)
        return published

    async def entries(self) -> list[Entry]:
        """Every dataset as the catalogue lists it, by id."""
        listed = [entry(ds) for ds in await self.datasets()]
        listed.append(payment_formats.entry(await self.payments()))
        listed.append(postkorb_formats.entry(await self.postkorb()))
        return sorted(listed, key=lambda e: e.id)
