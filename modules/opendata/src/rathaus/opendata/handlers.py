"""Use cases of the open-data portal: keep one anonymous fact per case from the case
events (either order, any number of deliveries), and publish the datasets computed from
those facts, suppressed and audited."""

from __future__ import annotations

from datetime import UTC, datetime

from rathaus.contracts.eakte.v1 import CaseOpened
from rathaus.contracts.output.v1 import DecisionDelivered
from rathaus.opendata import PREFIX, store
from rathaus.opendata.domain.datasets import BY_SERVICE, DATASETS, PublishedDataset, monat, publish
from rathaus.opendata.domain.stadtbezirke import stadtbezirk
from rathaus.platform.kernel import Kernel, UnitOfWork


def now() -> str:
    return datetime.now(UTC).isoformat()


class OpenData:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._published: dict[str, tuple[int, PublishedDataset]] = {}

    @property
    def base_url(self) -> str:
        """Absolute URL of the portal, for metadata that leaves the site (API, DCAT)."""
        web = self.kernel.settings.web
        root = web.public_url.rstrip("/") if web.public_url else f"http://{web.host}:{web.port}"
        return root + PREFIX

    async def on_case_opened(self, event: CaseOpened, uow: UnitOfWork) -> None:
        """Count an application: its Stadtbezirk and the month it was opened."""
        definition = BY_SERVICE.get(event.service_id)
        if definition is None:
            return  # no dataset counts this service: keep nothing
        new = await store.record_opened(
            uow.session,
            event.case_id,
            event.service_id,
            stadtbezirk(event.stadtbezirk),
            monat(event.opened_at),
        )
        if new:
            await store.touch(uow.session, definition.id, now())

    async def on_decision_delivered(self, event: DecisionDelivered, uow: UnitOfWork) -> None:
        """Count a delivered decision: its outcome and the month it was delivered."""
        definition = BY_SERVICE.get(event.service_id)
        if definition is None:
            return
        if event.outcome not in ("granted", "refused"):
            # retried, then dead-lettered: kept for an operator instead of silently not counted
            raise ValueError(f"Unbekanntes Ergebnis {event.outcome!r}: gezählt werden granted und refused")
        new = await store.record_delivered(
            uow.session, event.case_id, event.service_id, event.outcome, monat(event.sent_at)
        )
        if new:
            await store.touch(uow.session, definition.id, now())

    async def ensure_datasets(self) -> None:
        async with self.kernel.db.session() as s:
            for dataset_id in DATASETS:
                await store.ensure_dataset(s, dataset_id, now())

    async def dataset(self, dataset_id: str) -> PublishedDataset | None:
        """The dataset as published now; recomputed only when its numbers changed."""
        definition = DATASETS.get(dataset_id)
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
        published = publish(definition, counts, created=state.created, modified=state.modified)
        self._published[dataset_id] = (state.version, published)
        return published

    async def datasets(self) -> list[PublishedDataset]:
        out = [await self.dataset(dataset_id) for dataset_id in DATASETS]
        return [d for d in out if d is not None]
