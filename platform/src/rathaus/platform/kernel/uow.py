"""Unit of work: one database transaction that may also stage events in the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from rathaus.contracts import CloudEvent, Event
from rathaus.platform.kernel.db import Database
from rathaus.platform.kernel.outbox import stage


class UnitOfWork:
    """What a handler gets: the session of its transaction and a way to emit events."""

    def __init__(self, session: AsyncSession, envelope: CloudEvent | None = None) -> None:
        self.session = session
        self.envelope = envelope  # the event being handled, if any
        self.emitted: list[CloudEvent] = []

    async def emit(
        self, data: Event, *, subject: str | None = None, event_id: str | None = None
    ) -> CloudEvent:
        """Stage an event; it is published after, and only if, the transaction commits."""
        event = await stage(self.session, data, subject=subject, event_id=event_id)
        self.emitted.append(event)
        return event


class Batch:
    """One transaction shared by the handlers of several events, each with its own unit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.units: list[UnitOfWork] = []

    def unit(self, envelope: CloudEvent) -> UnitOfWork:
        unit = UnitOfWork(self.session, envelope)
        self.units.append(unit)
        return unit


class Transactions:
    """Opens units of work on a module's database and wakes the relay after commits."""

    def __init__(self, db: Database, wake: Callable[[], None]) -> None:
        self.db = db
        self.wake = wake

    @asynccontextmanager
    async def __call__(self, envelope: CloudEvent | None = None) -> AsyncIterator[UnitOfWork]:
        async with self.db.session() as session:
            uow = UnitOfWork(session, envelope)
            yield uow
        if uow.emitted:
            self.wake()

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Batch]:
        """One transaction for a batch of events (see the consumer)."""
        async with self.db.session() as session:
            batch = Batch(session)
            yield batch
        if any(unit.emitted for unit in batch.units):
            self.wake()
