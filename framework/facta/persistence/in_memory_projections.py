"""The ``ProjectionStore`` of the in-memory back-end, over an ``InMemoryStore``."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING
from uuid import UUID

from facta.application.ports.outbox import DeliveryStatus, PendingEvent
from facta.application.ports.projection_store import (
    ProjectionLag,
    ProjectionState,
    ProjectionStore,
    PruneRecord,
)
from facta.application.views import View
from facta.domain import DomainEvent

if TYPE_CHECKING:
    from facta.persistence.in_memory import InMemoryStore

__all__ = ["InMemoryProjectionStore"]


class InMemoryProjectionStore(ProjectionStore):
    """Projection bookkeeping kept in an ``InMemoryStore``."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def unapplied_predecessor(
        self, event: DomainEvent, handler: str, event_types: Collection[str]
    ) -> UUID | None:
        if not event.aggregate_id:
            return None
        deliveries = self._store._deliveries
        earliest: tuple[int, UUID] | None = None
        for row in self._store._undelivered.values():
            other = row.event
            if (
                other.aggregate_id != event.aggregate_id
                or other.aggregate_version >= event.aggregate_version
                or other.event_type not in event_types
            ):
                continue
            delivery = deliveries.get(other.event_id, {}).get(handler)
            if delivery is not None and delivery.status is DeliveryStatus.DONE:
                continue
            if earliest is None or other.aggregate_version < earliest[0]:
                earliest = (other.aggregate_version, other.event_id)
        return None if earliest is None else earliest[1]

    async def history(
        self,
        handler: str,
        event_types: Collection[str],
        after_position: int,
        limit: int,
        *,
        everything: bool,
    ) -> list[PendingEvent]:
        found: list[PendingEvent] = []
        rows = sorted(self._store._outbox.values(), key=lambda row: row.position)
        for row in rows:
            if row.position <= after_position or row.event.event_type not in event_types:
                continue
            if not everything:
                delivery = self._store._deliveries.get(row.event.event_id, {}).get(handler)
                applied = delivery is not None and delivery.status is DeliveryStatus.DONE
                never_asked = delivery is None and row.delivered_at is not None
                if not (applied or never_asked):
                    continue
            found.append(PendingEvent(row.position, row.event, frozenset()))
            if len(found) >= limit:
                break
        return found

    async def lag(self, handler: str, event_types: Collection[str]) -> ProjectionLag:
        pending = 0
        oldest = None
        dead = 0
        for row in self._store._outbox.values():
            if row.event.event_type not in event_types:
                continue
            delivery = self._store._deliveries.get(row.event.event_id, {}).get(handler)
            if delivery is not None and delivery.status is DeliveryStatus.DEAD:
                dead += 1
            elif row.delivered_at is None and (
                delivery is None or delivery.status is DeliveryStatus.FAILED
            ):
                pending += 1
                occurred = row.event.occurred_at
                oldest = occurred if oldest is None else min(oldest, occurred)
        return ProjectionLag(pending, oldest, dead)

    async def state(self, projection: str) -> ProjectionState:
        return ProjectionState(self._store._projection_states.get(projection, "live"))

    async def set_state(self, projection: str, state: ProjectionState) -> None:
        self._store._projection_states[projection] = state.value

    async def pruned(self) -> PruneRecord | None:
        return self._store._pruned

    async def drop_views(self, view_type: type[View]) -> None:
        self._store._views.pop(view_type.view_name, None)

    async def swap_views(self, live: type[View], copy: type[View]) -> None:
        self._store._views[live.view_name] = self._store._views.pop(copy.view_name, {})
