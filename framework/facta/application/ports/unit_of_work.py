"""The unit of work and repository contracts, and the commit algorithm every back-end shares.

A ``UnitOfWork`` tracks the aggregates one operation loads and adds. ``commit`` writes all
of their changes and all of their uncommitted events in one atomic step (optimistic
concurrency on each aggregate's version), and only then hands the events on for dispatch.
A back-end implements three hooks: ``load_state``, ``write_changes`` and ``discard``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar, cast

from facta.application.event_flow import EventFlow
from facta.application.ports.event_store import LoadedStream, StreamAppend, replay, stream_appends
from facta.application.ports.outbox import OutboxEntry, Receipt
from facta.application.ports.tracking import Status, Tracked
from facta.application.ports.view_store import StoredView, ViewStore, ViewTracker, ViewWrite
from facta.application.views import View, ViewQuery
from facta.domain import AggregateRoot, DomainEvent, EventSourcedAggregate
from facta.domain.aggregate import state_json as json_of
from facta.errors import ConfigurationError, NotFound, PersistenceError

__all__ = ["Change", "ChangeKind", "Commit", "Repository", "StoredState", "UnitOfWork"]

A = TypeVar("A", bound=AggregateRoot)
V = TypeVar("V", bound=View)


class ChangeKind(enum.Enum):
    """What a commit does to one stored aggregate."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


class StoredState(NamedTuple):
    """An aggregate's state as a back-end loaded it, and its version.

    ``state`` is JSON text (the default storage) or a mapping of field values (a back-end
    that maps aggregates to columns); either is validated into the aggregate's model.
    """

    state: str | bytes | Mapping[str, Any]
    version: int


# Enum members as module globals for the hot path: on Python 3.11 an Enum class attribute
# is looked up through the slot of EnumType.__getattr__, several times slower.
_NEW, _LOADED, _REMOVED = Status.NEW, Status.LOADED, Status.REMOVED
_INSERT, _UPDATE, _DELETE = ChangeKind.INSERT, ChangeKind.UPDATE, ChangeKind.DELETE
# makes a NamedTuple from a tuple of all its fields, in order, without the Python-level
# __new__ a NamedTuple call goes through (half the cost, on every commit)
_make = tuple.__new__
_event_of = itemgetter(1)  # of a (recording order, event) record


class Commit(NamedTuple):
    """Everything one unit of work writes in one transaction.

    The aggregate ``changes``; the events, as outbox ``entries``; when the unit of work
    belongs to an event handler's operation, the ``receipt`` of that handler's success,
    which must be refused (``AlreadyDelivered``) if it was recorded before; and the
    ``views`` its projections (or handlers) wrote.
    The ``appends`` of event-sourced aggregates' streams go in the same transaction.
    """

    changes: Sequence[Change]
    entries: Sequence[OutboxEntry]
    receipt: Receipt | None
    views: Sequence[ViewWrite] = ()
    appends: Sequence[StreamAppend] = ()

    @property
    def empty(self) -> bool:
        """Whether there is nothing to write at all."""
        return not (self.changes or self.entries or self.receipt or self.views or self.appends)


class Change(NamedTuple):
    """One aggregate write of a commit, as a back-end must apply it.

    ``INSERT`` must fail if the id exists; ``UPDATE`` and ``DELETE`` must apply only if the
    stored version is still ``expected_version``. Any failure raises ``ConcurrencyError``.
    """

    kind: ChangeKind
    aggregate: AggregateRoot
    expected_version: int
    new_version: int
    state_json: str

    @property
    def aggregate_type(self) -> str:
        """The stored type name of the aggregate."""
        return self.aggregate.aggregate_type

    @property
    def aggregate_id(self) -> str:
        """The id of the aggregate."""
        return self.aggregate.id


class UnitOfWork(ABC):
    """Tracks the aggregates of one operation and commits them, with their events, at once.

    Ask it for a ``repository(AggregateType)``; change aggregates through their methods;
    the transaction behavior commits when the handler returns and rolls back when it
    raises. Aggregates handed out are this unit of work's own copies: nothing another
    unit of work does is visible to them, and nothing of theirs is visible elsewhere
    before ``commit``.
    """

    def __init__(self, event_flow: EventFlow) -> None:
        self._event_flow = event_flow
        self._tracked: dict[tuple[type[AggregateRoot], str], Tracked] = {}
        self._repositories: dict[type[AggregateRoot], Repository[Any]] = {}
        self._ended = False
        # made on first use: most units of work touch no view
        self._view_tracker: ViewTracker | None = None
        self._view_stores: dict[type[View], ViewStore[Any]] | None = None
        self._view_storage: dict[type[View], type[View]] | None = None

    def views(self, view_type: type[V]) -> ViewStore[V]:
        """The store of ``view_type`` in this unit of work (read models, kept by projections)."""
        stores = self._view_stores
        if stores is None:
            stores = self._view_stores = {}
        store = stores.get(view_type)
        if store is None:
            if not (isinstance(view_type, type) and issubclass(view_type, View)):
                raise ConfigurationError(f"{view_type!r} is not a View subclass")
            storage = None if self._view_storage is None else self._view_storage.get(view_type)
            if self._view_tracker is None:
                self._view_tracker = ViewTracker()
            store = stores[view_type] = ViewStore(self, view_type, storage, self._view_tracker)
        return cast("ViewStore[V]", store)

    def store_views_in(self, copies: Mapping[type[View], type[View]]) -> None:
        """Have ``views(V)`` read and write the copy of ``V`` instead (what a rebuild
        fills before it swaps the copies in); call it before asking for the stores."""
        self._view_storage = {**(self._view_storage or {}), **copies}
        self._view_stores = None

    def repository(self, aggregate_type: type[A]) -> Repository[A]:
        """The repository of ``aggregate_type`` in this unit of work."""
        if self._ended:
            self._check_open()
        repository = self._repositories.get(aggregate_type)
        if repository is None:
            repository = self._repositories[aggregate_type] = Repository(self, aggregate_type)
        return repository  # a Repository[A]: made for aggregate_type above

    def collect_events(self) -> list[DomainEvent]:
        """Every uncommitted event of every tracked aggregate, in the order recorded."""
        pending: list[tuple[int, DomainEvent]] = []
        for tracked in self._tracked.values():
            pending += tracked.aggregate.uncommitted_records()
        pending.sort()  # by the recording order alone: its numbers are unique
        return [event for _, event in pending]

    async def commit(self, *, receipt: Receipt | None = None) -> None:
        """Write every change, event and the receipt atomically, then dispatch the events.

        Raises ``ConcurrencyError`` (and writes nothing) when another writer changed one of
        the aggregates first. Events are dispatched only after the write succeeded, in the
        order they were recorded. ``receipt`` is for the transaction behavior of event
        handlers: it records the handler's success with its writes.
        """
        if self._ended:
            self._check_open()
        changes, sourced, events = self._pending()
        flow = self._event_flow
        if flow.instrumented:
            with flow.committing(self, len(changes) + len(sourced), len(events)):
                written = await self._write_commit(changes, sourced, events, receipt)
        else:
            written = await self._write_commit(changes, sourced, events, receipt)
        if written.views and self._view_tracker is not None:
            self._view_tracker.committed(written.views)
        tracked = self._tracked
        for append in written.appends:
            append.aggregate.mark_committed(append.new_version)
            stream_key = (type(append.aggregate), append.stream_id)
            tracked[stream_key] = Tracked(append.aggregate, _LOADED)
        for change in changes:
            aggregate = change.aggregate
            key = (type(aggregate), aggregate.id)
            if change.kind is _DELETE:
                del tracked[key]
                continue
            record = tracked[key]
            record.history.committed(change.new_version)  # aggregate.mark_committed's work
            record.status = _LOADED
            record.remember(change.state_json)
        entries = written.entries
        for entry in entries:
            if not entry.delivered:  # some handler waits for an event: run them now
                await flow.dispatch(entries)
                break

    async def _write_commit(
        self,
        changes: Sequence[Change],
        sourced: Sequence[EventSourcedAggregate],
        events: Sequence[DomainEvent],
        receipt: Receipt | None,
    ) -> Commit:
        """Stamp the events, run the inline projections, and write it all in one step."""
        flow = self._event_flow
        entries: Sequence[OutboxEntry] = ()
        if events:
            entries = flow.prepare(events)  # stamped in the commit's trace
            if flow.registry.has_inline_projections:
                await flow.apply_inline(self, entries)
        appends = self._appends(sourced, entries) if sourced else ()
        tracker = self._view_tracker
        views = () if tracker is None else tracker.writes()
        written = _make(Commit, (changes, entries, receipt, views, appends))
        await self.write_changes(written)
        return written

    async def rollback(self) -> None:
        """Forget every tracked aggregate and uncommitted event; nothing is written."""
        self._tracked.clear()
        if self._view_tracker is not None:
            self._view_tracker.clear()
        await self.discard()

    async def aclose(self) -> None:
        """End the unit of work; changes that were not committed are discarded.

        Its operation calls it when it ends; using the unit of work afterwards raises
        ``ConfigurationError`` rather than loading or committing outside any operation.
        """
        self._ended = True
        self._tracked.clear()
        if self._view_tracker is not None:
            self._view_tracker.clear()
        self._repositories.clear()  # they point back here: freed now, not by the collector
        self._view_stores = None
        if type(self).discard is not UnitOfWork.discard:  # the default has nothing to do
            await self.discard()

    def uncommitted(self) -> list[AggregateRoot]:
        """The tracked aggregates that a commit would write (changed, new or removed)."""
        lost: list[AggregateRoot] = []
        for tracked in self._tracked.values():
            aggregate = tracked.aggregate
            if tracked.history.records or (
                not aggregate._facta_event_sourced and tracked.changed()
            ):
                lost.append(aggregate)
        return lost

    def _check_open(self) -> None:
        if self._ended:
            raise ConfigurationError(
                f"this {type(self).__name__} belonged to an operation that has ended: ask "
                f"for the unit of work in the operation that uses it (a handler's "
                f"constructor, or inside `async with app.operation():`), and do not keep it"
            )

    def _pending(
        self,
    ) -> tuple[Sequence[Change], Sequence[EventSourcedAggregate], Sequence[DomainEvent]]:
        """What a commit writes: the state changes, the event-sourced aggregates with events
        to append (their events are their changes: see ``_appends``) and every uncommitted
        event, in the order recorded."""
        if not self._tracked:
            return (), (), ()
        changes: list[Change] = []
        sourced: list[EventSourcedAggregate] = []
        records: list[tuple[int, DomainEvent]] = []
        for (_, tracked_id), tracked in self._tracked.items():
            aggregate = tracked.aggregate
            if aggregate.id != tracked_id:  # set around validation: never write over another
                raise ConfigurationError(
                    f"{aggregate.aggregate_type} {tracked_id!r} now has the id "
                    f"{aggregate.id!r}: an aggregate's id cannot change; nothing was committed"
                )
            history = tracked.history
            recorded = history.records
            records += recorded
            status = tracked.status
            if aggregate._facta_event_sourced:
                assert isinstance(aggregate, EventSourcedAggregate)
                if recorded:
                    sourced.append(aggregate)
                elif status is _NEW:
                    raise ConfigurationError(
                        f"{aggregate.aggregate_type} {aggregate.id!r} was added with no "
                        f"events: an event-sourced aggregate exists through its events, "
                        f"so record the one that creates it"
                    )
                continue
            version = history.version
            if status is _REMOVED:
                changes.append(_make(Change, (_DELETE, aggregate, version, 0, "")))
                continue
            if recorded or status is _NEW:
                state_json = json_of(aggregate)
            elif tracked.unchanged():
                continue
            else:
                state_json = json_of(aggregate)
                if state_json == tracked.recorded_json():
                    continue
            kind = _INSERT if status is _NEW else _UPDATE
            # the next version, as next_version() has it: one per event, or one for a change
            new_version = version + (len(recorded) or 1)
            changes.append(_make(Change, (kind, aggregate, version, new_version, state_json)))
        if len(records) > 1:
            records.sort()  # by the recording order alone: its numbers are unique
        return changes, sourced, list(map(_event_of, records))

    @staticmethod
    def _appends(
        sourced: Sequence[EventSourcedAggregate], entries: Sequence[OutboxEntry]
    ) -> list[StreamAppend]:
        """The stream appends of ``sourced``, with their events as stamped for the outbox."""
        if not sourced:
            return []
        stamped = {entry.event.event_id: entry.event for entry in entries}
        return stream_appends(sourced, stamped)

    async def _get(self, aggregate_type: type[A], aggregate_id: str) -> A | None:
        if self._ended:
            self._check_open()
        if type(aggregate_id) is not str and not isinstance(aggregate_id, str):  # {"$ne": ""}
            raise PersistenceError(
                f"refused {type(aggregate_id).__name__} {aggregate_id!r:.80} as the id of a "
                f"{aggregate_type.aggregate_type}: aggregate ids are str; validate ids taken "
                f"from user input as str first"
            )
        key = (aggregate_type, aggregate_id)
        tracked = self._tracked.get(key)
        if tracked is not None:
            if tracked.status is _REMOVED:
                return None
            return tracked.aggregate  # type: ignore[return-value]  # tracked under its type
        if aggregate_type._facta_event_sourced:
            assert issubclass(aggregate_type, EventSourcedAggregate)
            stream = await self.load_stream(aggregate_type, aggregate_id)
            sourced = replay(aggregate_type, aggregate_id, stream, self._event_flow.registry)
            if sourced is not None:
                self._tracked[key] = Tracked(sourced, _LOADED)
            return cast("A | None", sourced)
        stored = await self.load_state(aggregate_type, aggregate_id)
        if stored is None:
            return None
        state = stored.state
        if type(state) is str or isinstance(state, str | bytes):
            aggregate = aggregate_type.restore_json(state, stored.version)
        else:
            aggregate = aggregate_type.restore(state, stored.version)
        tracked = self._tracked[key] = Tracked(aggregate, _LOADED)
        tracked.remember()
        return aggregate

    def _add(self, aggregate: AggregateRoot) -> None:
        self._check_open()
        key = (type(aggregate), aggregate.id)
        tracked = self._tracked.get(key)
        if tracked is not None and tracked.aggregate is not aggregate:
            raise ConfigurationError(
                f"{aggregate.aggregate_type} {aggregate.id!r} is already tracked by this unit "
                f"of work as another object: load it with get() instead of adding a new one"
            )
        if tracked is None:
            status = _NEW if aggregate.version == 0 else _LOADED
            self._tracked[key] = Tracked(aggregate, status)

    def _remove(self, aggregate: AggregateRoot) -> None:
        key = (type(aggregate), aggregate.id)
        tracked = self._tracked.get(key)
        if tracked is None or tracked.aggregate is not aggregate:
            raise ConfigurationError(
                f"{aggregate.aggregate_type} {aggregate.id!r} was not loaded by this unit of "
                f"work: get() it from the repository before removing it"
            )
        if isinstance(aggregate, EventSourcedAggregate):
            raise ConfigurationError(
                f"{aggregate.aggregate_type} {aggregate.id!r} is event-sourced: its history "
                f"is kept, not deleted; record an event that closes it instead"
            )
        if tracked.status is _NEW:
            del self._tracked[key]
        else:
            tracked.status = _REMOVED

    @abstractmethod
    async def load_state(
        self, aggregate_type: type[AggregateRoot], aggregate_id: str
    ) -> StoredState | None:
        """Back-end hook: the stored state of one aggregate, or None if there is none."""

    @abstractmethod
    async def write_changes(self, commit: Commit) -> None:
        """Back-end hook: apply the changes, append the outbox entries, record the
        receipt and write the views in one transaction, or nothing at all.

        It is called on every commit, also with nothing to write, so that a back-end can
        commit work done directly in its transaction (a read model's rows, say).

        Raise ``ConcurrencyError`` when a version check fails (an insert whose id exists
        included, for aggregates and views alike), ``AlreadyDelivered`` when the receipt
        exists (and is not a failure), and translate driver errors into ``PersistenceError``.
        """

    async def discard(self) -> None:
        """Back-end hook: abandon any open transaction; the default does nothing."""
        return None

    async def load_view(self, view_type: type[View], view_id: str) -> StoredView | None:
        """Back-end hook: one committed view and its version, or None."""
        raise ConfigurationError(f"{type(self).__qualname__} does not store views")

    async def query_views(self, query: ViewQuery) -> list[StoredView]:
        """Back-end hook: the committed views matching a checked query, sorted and sliced."""
        raise ConfigurationError(f"{type(self).__qualname__} does not store views")

    async def count_views(self, query: ViewQuery) -> int:
        """Back-end hook: how many committed views match a query's conditions."""
        raise ConfigurationError(f"{type(self).__qualname__} does not store views")

    async def load_stream(
        self, aggregate_type: type[EventSourcedAggregate], aggregate_id: str
    ) -> LoadedStream:
        """Back-end hook: an event-sourced aggregate's latest snapshot of the current
        ``state_schema()`` (when it takes snapshots) and the events after it."""
        raise ConfigurationError(
            f"{type(self).__name__} has no event store: {aggregate_type.aggregate_type} is "
            f"event-sourced; use a back-end that stores streams"
        )


class Repository(Generic[A]):
    """The aggregates of one type, as seen through one unit of work.

    Loaded aggregates are tracked: change them through their methods and the unit of work
    writes them on commit. Loading the same id twice gives the same object.
    """

    __slots__ = ("_type", "_uow")

    def __init__(self, unit_of_work: UnitOfWork, aggregate_type: type[A]) -> None:
        self._uow = unit_of_work
        self._type = aggregate_type

    async def get(self, aggregate_id: str) -> A:
        """The aggregate with ``aggregate_id``; raises ``NotFound`` if there is none."""
        aggregate = await self._uow._get(self._type, aggregate_id)
        if aggregate is None:
            raise NotFound(self._type.aggregate_type, aggregate_id)
        return aggregate

    async def find(self, aggregate_id: str) -> A | None:
        """The aggregate with ``aggregate_id``, or None if there is none."""
        return await self._uow._get(self._type, aggregate_id)

    def add(self, aggregate: A) -> None:
        """Track a new aggregate, inserted on commit (``ConcurrencyError`` if its id exists)."""
        self._uow._add(aggregate)

    def remove(self, aggregate: A) -> None:
        """Delete a loaded aggregate on commit; its recorded events are still committed."""
        self._uow._remove(aggregate)
