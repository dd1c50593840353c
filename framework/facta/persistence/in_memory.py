"""The in-memory back-end: the unit of work contract kept in a dictionary.

It keeps the semantics the databases have: state is stored as JSON (so what cannot be
stored fails here too), aggregates handed out are copies, a commit applies all of its
changes or none, and a stale version raises ``ConcurrencyError``. Use it in unit tests,
in the docs and for prototyping.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import injector

from facta.application import HandlerRegistry, OperationScope
from facta.application.dependencies import FactoryProvider
from facta.application.event_flow import EventFlow
from facta.application.ports.event_store import EventStore, LoadedStream
from facta.application.ports.outbox import (
    Delivery,
    DeliveryRecord,
    DeliveryStatus,
    DeliveryUpdate,
    Outbox,
    OutboxRow,
    OutboxStats,
    Receipt,
)
from facta.application.ports.projection_store import ProjectionStore, PruneRecord
from facta.application.ports.unit_of_work import (
    Change,
    ChangeKind,
    Commit,
    StoredState,
    UnitOfWork,
)
from facta.application.ports.view_store import StoredView, ViewWrite
from facta.application.views import View, ViewQuery, index_kind, normalized_value
from facta.domain import AggregateRoot, DomainEvent, EventSourcedAggregate, utc_now
from facta.errors import AlreadyDelivered, ConcurrencyError, PersistenceError
from facta.persistence.in_memory_events import InMemoryEventStore, InMemoryStreams
from facta.persistence.in_memory_projections import InMemoryProjectionStore

__all__ = ["InMemoryOutbox", "InMemoryPersistence", "InMemoryStore", "InMemoryUnitOfWork"]


_DELETE = ChangeKind.DELETE  # a global: Python 3.11 reads Enum class attributes slowly
_make = tuple.__new__  # a NamedTuple from all its fields, without its Python-level __new__
_now = datetime.now  # utc_now() without a Python-level call, on every commit


@dataclass(slots=True)
class _Row:
    position: int
    event: DomainEvent
    available_at: datetime
    delivered_at: datetime | None = None
    locked_until: datetime | None = None


class InMemoryStore:
    """The committed state of one application: aggregates, the outbox and the receipts.

    One store belongs to one application (or, given to several, stands for one database
    they share); units of work read and write it.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], StoredState] = {}
        # keyed by event_id.int: a UUID's hash is a Python call, an int's is not
        self._outbox: dict[int, _Row] = {}
        self._undelivered: dict[int, _Row] = {}
        self._deliveries: dict[UUID, dict[str, Delivery]] = {}
        self._positions = itertools.count(1)
        self._views: dict[str, dict[str, StoredView]] = {}
        self._projection_states: dict[str, str] = {}
        self._pruned: PruneRecord | None = None
        self.streams = InMemoryStreams()
        """The streams of event-sourced aggregates, and their snapshots."""

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        """Every committed event still in the outbox, in commit order."""
        return tuple(row.event for row in self._outbox.values())

    def state(self, aggregate_type: str, aggregate_id: str) -> StoredState | None:
        """The stored state of one aggregate, or None."""
        return self._states.get((aggregate_type, aggregate_id))

    def view(self, view_name: str, view_id: str) -> StoredView | None:
        """One stored view (its JSON document and version), or None."""
        return self._views.get(view_name, {}).get(view_id)

    def view_ids(self, view_name: str) -> list[str]:
        """The ids of every stored view of one view type's ``view_name``."""
        return list(self._views.get(view_name, {}))

    def ids(self, aggregate_type: str) -> list[str]:
        """The ids of every stored aggregate of a type."""
        return [key[1] for key in self._states if key[0] == aggregate_type]

    def apply(self, commit: Commit) -> None:
        """Check every version and the receipt, then apply it all; raise before applying any."""
        changes, entries, receipt, views, appends = commit
        if not (changes or entries or receipt or views or appends):
            return
        states = self._states
        writes: list[tuple[tuple[str, str], Change]] = []
        for change in changes:
            aggregate = change.aggregate
            key = (aggregate.aggregate_type, aggregate.id)
            stored = states.get(key)
            actual = 0 if stored is None else stored.version
            if actual != change.expected_version:
                raise ConcurrencyError(key[0], key[1], change.expected_version, actual)
            writes.append((key, change))
        outbox = self._outbox
        for entry in entries:
            if entry.event.event_id.int in outbox:
                raise PersistenceError(
                    f"the outbox already holds event {entry.event.event_id}; nothing was written"
                )
        appended = self.streams.prepare(appends) if appends else None
        if receipt is not None:
            delivery = self._deliveries.get(receipt.event_id, {}).get(receipt.handler)
            if delivery is not None and delivery.status is not DeliveryStatus.FAILED:
                raise AlreadyDelivered(str(receipt.event_id), receipt.handler)
        for write in views:
            view = self._views.get(write.view_type.view_name, {}).get(write.view_id)
            actual = 0 if view is None else view.version
            if write.expected_version != -1 and actual != write.expected_version:
                raise ConcurrencyError(
                    write.view_type.view_name, write.view_id, write.expected_version, actual
                )
        # checked: now apply it all
        for key, change in writes:
            if change.kind is _DELETE:
                del states[key]
            else:
                states[key] = _make(StoredState, (change.state_json, change.new_version))
        if appended is not None:
            self.streams.append(appended)
        if entries or receipt is not None:
            now = _now(UTC)
            positions = self._positions
            for event, delivered, available_at in entries:
                event_key = event.event_id.int
                if delivered:
                    outbox[event_key] = _Row(next(positions), event, available_at, now)
                else:
                    outbox[event_key] = self._undelivered[event_key] = _Row(
                        next(positions), event, available_at
                    )
            if receipt is not None:
                handlers = self._deliveries.setdefault(receipt.event_id, {})
                handlers[receipt.handler] = Delivery(DeliveryStatus.DONE, 0, "", None, now)
        if views:
            self._write_views(views)

    def _write_views(self, writes: Sequence[ViewWrite]) -> None:
        for write in writes:
            views = self._views.setdefault(write.view_type.view_name, {})
            if write.kind == "delete":
                views.pop(write.view_id, None)
            else:
                views[write.view_id] = StoredView(write.document, write.new_version)

    def deliver(self, row: _Row, now: datetime) -> None:
        """Mark one outbox row delivered."""
        row.delivered_at, row.locked_until = now, None
        self._undelivered.pop(row.event.event_id.int, None)


class InMemoryOutbox(Outbox):
    """The outbox of an ``InMemoryStore``."""

    claims_overlap = False  # nothing to wait for: a claim is done before the next statement

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def claim_rows(self, limit: int, lease: timedelta) -> list[OutboxRow]:
        now = utc_now()
        claimed: list[OutboxRow] = []
        for row in self._store._undelivered.values():
            if len(claimed) >= limit:
                break
            if row.available_at > now or (row.locked_until is not None and row.locked_until > now):
                continue
            row.locked_until = now + lease
            claimed.append(self._stored(row))
        return claimed

    async def complete(self, event_ids: Sequence[UUID], receipts: Sequence[Receipt] = ()) -> None:
        now = utc_now()
        for receipt in receipts:
            deliveries = self._store._deliveries.setdefault(receipt.event_id, {})
            known = deliveries.get(receipt.handler)
            if known is None or known.status is DeliveryStatus.FAILED:
                deliveries[receipt.handler] = Delivery(DeliveryStatus.DONE, 0, "", None, now)
        for event_id in event_ids:
            row = self._store._outbox.get(event_id.int)
            if row is not None:
                self._store.deliver(row, now)

    async def update_deliveries(
        self, event_id: UUID, decide: Callable[[Mapping[str, Delivery]], DeliveryUpdate]
    ) -> None:
        deliveries = self._store._deliveries.setdefault(event_id, {})
        update = decide(dict(deliveries))
        deliveries.update(update.deliveries)
        row = self._store._outbox.get(event_id.int)
        if row is None:
            return
        if update.due is None:
            self._store.deliver(row, update.at)
        else:
            row.available_at, row.locked_until = update.due, None

    async def is_delivered(self, event_id: UUID, handler: str) -> bool:
        delivery = self._store._deliveries.get(event_id, {}).get(handler)
        return delivery is not None and delivery.status is DeliveryStatus.DONE

    async def pending_rows(self, limit: int) -> list[OutboxRow]:
        rows = list(self._store._undelivered.values())[:limit]
        return [self._stored(row) for row in rows]

    async def deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        records: list[DeliveryRecord] = []
        for event_id, handlers in self._store._deliveries.items():
            row = self._store._outbox.get(event_id.int)
            for handler, delivery in handlers.items():
                if status is not None and delivery.status is not status:
                    continue
                records.append(
                    DeliveryRecord(
                        event_id=event_id,
                        event_type=row.event.event_type if row else "",
                        aggregate_id=row.event.aggregate_id if row else "",
                        handler=handler,
                        status=delivery.status,
                        attempts=delivery.attempts,
                        last_error=delivery.last_error,
                        next_attempt_at=delivery.next_attempt_at,
                        updated_at=delivery.updated_at,
                    )
                )
        records.sort(key=lambda record: record.updated_at, reverse=True)
        return records[:limit]

    async def replay(self, event_id: UUID | None = None, handler: str | None = None) -> int:
        now = utc_now()
        revived = 0
        for delivered_event, handlers in self._store._deliveries.items():
            if event_id is not None and delivered_event != event_id:
                continue
            for name, delivery in list(handlers.items()):
                if delivery.status is not DeliveryStatus.DEAD or handler not in (None, name):
                    continue
                del handlers[name]
                revived += 1
                row = self._store._outbox.get(delivered_event.int)
                if row is not None:
                    row.delivered_at, row.available_at, row.locked_until = None, now, None
                    self._store._undelivered[delivered_event.int] = row
        return revived

    async def prune(self, delivered_before: datetime, limit: int | None = None) -> int:
        deliveries = self._store._deliveries
        doomed = [
            row.event.event_id
            for row in self._store._outbox.values()
            if row.delivered_at is not None
            and row.delivered_at < delivered_before
            and not any(
                d.status is DeliveryStatus.DEAD
                for d in deliveries.get(row.event.event_id, {}).values()
            )
        ][:limit]
        for event_id in doomed:
            del self._store._outbox[event_id.int]
            self._store._deliveries.pop(event_id, None)
        if doomed:
            before = self._store._pruned.events if self._store._pruned else 0
            self._store._pruned = PruneRecord(before + len(doomed), utc_now())
        return len(doomed)

    async def stats(self) -> OutboxStats:
        pending = len(self._store._undelivered)
        dead = sum(
            delivery.status is DeliveryStatus.DEAD
            for handlers in self._store._deliveries.values()
            for delivery in handlers.values()
        )
        return OutboxStats(len(self._store._outbox) - pending, pending, dead)

    def _stored(self, row: _Row) -> OutboxRow:
        handlers = self._store._deliveries.get(row.event.event_id, {})
        settled = frozenset(
            name
            for name, delivery in handlers.items()
            if delivery.status is not DeliveryStatus.FAILED
        )
        event = row.event
        return OutboxRow(row.position, event.event_id, event.event_type, event, settled)


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work over an ``InMemoryStore``."""

    def __init__(self, store: InMemoryStore, event_flow: EventFlow) -> None:
        super().__init__(event_flow)
        self._store = store
        self._states = store._states  # read on every load: one look-up less

    async def load_state(
        self, aggregate_type: type[AggregateRoot], aggregate_id: str
    ) -> StoredState | None:
        return self._states.get((aggregate_type.aggregate_type, aggregate_id))

    async def write_changes(self, commit: Commit) -> None:
        self._store.apply(commit)

    async def load_view(self, view_type: type[View], view_id: str) -> StoredView | None:
        return self._store.view(view_type.view_name, view_id)

    async def query_views(self, query: ViewQuery) -> list[StoredView]:
        matching = self._matching(query)
        for name, descending in reversed(query.order):
            kind = index_kind(query.view_type, name)
            matching.sort(
                key=lambda item, name=name, kind=kind: _sort_key(  # type: ignore[misc]
                    normalized_value(item[0], name, kind)
                ),
                reverse=descending,
            )
        end = None if query.limit is None else query.offset + query.limit
        return [stored for _, stored in matching[query.offset : end]]

    async def count_views(self, query: ViewQuery) -> int:
        return len(self._matching(query))

    def _matching(self, query: ViewQuery) -> list[tuple[View, StoredView]]:
        view_type = query.view_type
        found: list[tuple[View, StoredView]] = []
        for stored in self._store._views.get(view_type.view_name, {}).values():
            document = stored.document
            assert isinstance(document, str)
            view = view_type.model_validate_json(document)
            if query.matches(view):
                found.append((view, stored))
        return found

    async def load_stream(
        self, aggregate_type: type[EventSourcedAggregate], aggregate_id: str
    ) -> LoadedStream:
        schema = aggregate_type.state_schema() if aggregate_type.snapshot_every else None
        return self._store.streams.load(aggregate_type.aggregate_type, aggregate_id, schema)


class InMemoryPersistence(injector.Module):
    """Installs the in-memory back-end: one store per application, a unit of work per operation.

    Pass a ``store`` to look at (or share on purpose) what the application committed;
    otherwise each application gets a store of its own.
    """

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self._store = store

    def configure(self, binder: injector.Binder) -> None:
        store = self._store if self._store is not None else InMemoryStore()
        flows: list[EventFlow] = []

        def build(container: injector.Injector) -> UnitOfWork:
            if not flows:
                flows.append(container.get(EventFlow))
            return InMemoryUnitOfWork(store, flows[0])

        binder.bind(InMemoryStore, to=store)
        binder.bind(Outbox, to=InMemoryOutbox(store))  # type: ignore[type-abstract]
        binder.bind(ProjectionStore, to=InMemoryProjectionStore(store))  # type: ignore[type-abstract]
        binder.bind(
            EventStore,  # type: ignore[type-abstract]
            to=FactoryProvider(
                lambda container: InMemoryEventStore(store.streams, container.get(HandlerRegistry))
            ),
            scope=injector.SingletonScope,
        )
        binder.bind(UnitOfWork, to=FactoryProvider(build), scope=OperationScope)  # type: ignore[type-abstract]


def _sort_key(value: object) -> tuple[int, object]:
    """Sorts None first (as SQL's NULLS FIRST for ascending), then the values."""
    return (0, 0) if value is None else (1, value)
