"""The event store: the streams of event-sourced aggregates, and how to read them.

Each event-sourced aggregate has one *stream*: its events in version order, appended by
the unit of work with the version it expects the stream to be at, in the same transaction
as the outbox rows and any state-stored aggregates of that unit of work. Every stored
event also gets a *position*, which orders all streams' events in commit order: a reader
that has seen position N never later finds an event with a lower one (what rebuilding a
projection needs). Snapshots of a stream's state are kept beside it.

Stream rows are not outbox rows, though each event is written to both in one
transaction: the outbox is a delivery queue whose rows are pruned once delivered, the
stream is kept for ever; sharing one table would tie the history to delivery
bookkeeping (and pruning to event sourcing). The cost is one more row per event.

``EventStore`` is the read side, bound in every application (``app.get(EventStore)``);
back-ends implement its three raw reads, and it decodes what they return: the event
classes are the application's, and a stored event of an older ``event_version`` goes
through the registry's ``EventUpcaster`` chain first.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from facta.application import HandlerRegistry
from facta.domain import DomainEvent, EventSourcedAggregate, event_schema_version
from facta.errors import ConfigurationError, PersistenceError

__all__ = [
    "EventStore",
    "LoadedStream",
    "RecordedEvent",
    "StoredEvent",
    "StoredSnapshot",
    "StreamAppend",
    "decode_event",
    "stream_appends",
]

A = TypeVar("A", bound=EventSourcedAggregate)

Data = str | bytes | Mapping[str, Any]
"""A stored event's or snapshot's fields: JSON text, or a document (MongoDB)."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as a back-end stores it, before it is decoded into its class."""

    position: int
    stream_type: str
    stream_id: str
    version: int
    event_id: UUID
    event_type: str
    event_version: int
    recorded_at: datetime
    data: Data


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A stream's state at ``version``, and the fingerprint of the state's shape."""

    version: int
    schema: str
    state: Data


@dataclass(frozen=True, slots=True)
class LoadedStream:
    """What loading an aggregate reads: the latest usable snapshot, and the events after it."""

    snapshot: StoredSnapshot | None
    events: Sequence[StoredEvent]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A decoded event with where it is stored: its position across streams and its stream."""

    position: int
    stream_type: str
    recorded_at: datetime
    event: DomainEvent


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """The new events of one stream in a commit, as a back-end must append them.

    The stream must be at ``expected_version`` (0: it must not exist); otherwise the whole
    commit fails with ``ConcurrencyError``. ``snapshot`` is ``(schema, state_json)`` of
    the state at ``new_version``, stored with the events when one is due.
    """

    aggregate: EventSourcedAggregate
    expected_version: int
    events: Sequence[DomainEvent]
    snapshot: tuple[str, str] | None

    @property
    def stream_type(self) -> str:
        """The stored type name of the aggregate."""
        return self.aggregate.aggregate_type

    @property
    def stream_id(self) -> str:
        """The id of the aggregate."""
        return self.aggregate.id

    @property
    def new_version(self) -> int:
        """The stream's version once the events are appended."""
        return self.expected_version + len(self.events)


def stream_appends(
    aggregates: Iterable[EventSourcedAggregate], stamped: Mapping[UUID, DomainEvent]
) -> list[StreamAppend]:
    """The appends of the event-sourced aggregates that recorded events, with snapshots
    where ``snapshot_every`` says one is due.

    ``stamped`` holds the events as the outbox gets them (with their correlation ids, by
    event id): the stream stores those very events, so both read back the same.
    """
    appends: list[StreamAppend] = []
    for aggregate in aggregates:
        recorded = aggregate.uncommitted_events
        if not recorded:
            continue
        events = [stamped.get(event.event_id, event) for event in recorded]
        expected, new = aggregate.version, aggregate.version + len(events)
        every = type(aggregate).snapshot_every
        snapshot = None
        if every and new // every > expected // every:
            snapshot = (type(aggregate).state_schema(), aggregate.model_dump_json())
        appends.append(StreamAppend(aggregate, expected, events, snapshot))
    return appends


def decode_event(
    record: StoredEvent,
    registry: HandlerRegistry,
    event_class: type[DomainEvent] | None = None,
) -> DomainEvent:
    """The stored event as its class (``event_class`` or the registry's), upcast from the
    version it was stored as to the class's ``event_version`` first.

    An event type no class is registered for, a missing upcaster step, or data that does
    not fit the class raise ``PersistenceError`` naming the event: a stream is never
    read with an event silently dropped or misread.
    """
    name = record.event_type
    if event_class is None:
        try:
            event_class = registry.event_type(name)
        except ConfigurationError as error:
            raise PersistenceError(
                f"stored event {record.event_id} ({record.stream_type} {record.stream_id!r} "
                f"version {record.version}) is of type {name!r}, which this application "
                f"does not know: scan the package that defines it"
            ) from error
    current = event_schema_version(event_class)
    data = record.data
    try:
        if record.event_version == current:
            if isinstance(data, str | bytes):
                return event_class.model_validate_json(data)
            return event_class.model_validate(data)
        if record.event_version > current:
            raise PersistenceError(
                f"stored event {record.event_id} is {name} version {record.event_version}, "
                f"newer than this code's version {current}: it was written by a newer release"
            )
        fields: dict[str, Any] = json.loads(data) if isinstance(data, str | bytes) else dict(data)
        for version in range(record.event_version, current):
            upcaster = registry.event_upcaster(name, version)
            if upcaster is None:
                raise PersistenceError(
                    f"stored event {record.event_id} is {name} version {version} and the "
                    f"code reads version {current}: add an EventUpcaster with "
                    f"event_type = {name!r}, from_version = {version}"
                )
            fields = upcaster().upcast(fields)
        return event_class.model_validate(fields)
    except ValidationError as error:
        raise PersistenceError(
            f"stored event {record.event_id} ({name} version {record.event_version}) does "
            f"not fit {event_class.__qualname__}: {error}"
        ) from error


def replay(
    aggregate_type: type[A],
    aggregate_id: str,
    stream: LoadedStream,
    registry: HandlerRegistry,
) -> A | None:
    """The aggregate rebuilt from a loaded stream, or None if the stream is empty."""
    snapshot = stream.snapshot
    if snapshot is None and not stream.events:
        return None
    events = [
        decode_event(record, registry, aggregate_type.event_class(record.event_type))
        for record in stream.events
    ]
    state = None if snapshot is None else (snapshot.state, snapshot.version)
    return aggregate_type.from_events(aggregate_id, events, snapshot=state)


class EventStore(ABC):
    """Reads the event store of one application: streams, aggregates as they were, all events.

    ``read_stream`` and ``load`` (time travel: ``version=`` or ``at=``) read one
    aggregate's history; ``read_all`` and ``batches`` read every stream's events in
    commit order from a position, for rebuilding a projection.
    """

    def __init__(self, registry: HandlerRegistry) -> None:
        self.registry = registry

    @abstractmethod
    async def stream_records(
        self,
        stream_type: str,
        stream_id: str,
        *,
        after_version: int = 0,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[StoredEvent]:
        """Back-end hook: one stream's events after ``after_version``, in version order, up
        to ``to_version`` and recorded at or before ``until`` when given."""

    @abstractmethod
    async def snapshot_record(
        self, stream_type: str, stream_id: str, schema: str, *, to_version: int | None = None
    ) -> StoredSnapshot | None:
        """Back-end hook: the latest snapshot of a stream with this ``schema``, at or
        before ``to_version`` when given."""

    @abstractmethod
    async def records(
        self, *, after: int = 0, limit: int = 500, event_types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        """Back-end hook: up to ``limit`` events of every stream with a position after
        ``after``, in position order, only of ``event_types`` when given."""

    @abstractmethod
    async def last_position(self) -> int:
        """The position of the last event stored (0 when there is none): where a
        projection being rebuilt has caught up with the store as it was when it started."""

    async def read_stream(
        self,
        aggregate_type: type[EventSourcedAggregate],
        aggregate_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        at: datetime | None = None,
    ) -> list[DomainEvent]:
        """One aggregate's events from ``from_version``, in order, up to ``to_version`` or
        to those recorded at or before ``at``; decoded (and upcast) into their classes."""
        records = await self.stream_records(
            aggregate_type.aggregate_type,
            aggregate_id,
            after_version=from_version - 1,
            to_version=to_version,
            until=at,
        )
        return [
            decode_event(record, self.registry, aggregate_type.event_class(record.event_type))
            for record in records
        ]

    async def load(
        self,
        aggregate_type: type[A],
        aggregate_id: str,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> A | None:
        """The aggregate as it was at ``version``, or at the time ``at`` (time travel), or
        now; None if it did not exist yet. A read, outside any unit of work."""
        snapshot = None
        if aggregate_type.snapshot_every and at is None:
            snapshot = await self.snapshot_record(
                aggregate_type.aggregate_type,
                aggregate_id,
                aggregate_type.state_schema(),
                to_version=version,
            )
        records = await self.stream_records(
            aggregate_type.aggregate_type,
            aggregate_id,
            after_version=0 if snapshot is None else snapshot.version,
            to_version=version,
            until=at,
        )
        return replay(aggregate_type, aggregate_id, LoadedStream(snapshot, records), self.registry)

    async def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 500,
        event_types: Iterable[type[DomainEvent] | str] | None = None,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events of every stream after position ``after``, in commit
        order, only of ``event_types`` when given; decoded into their classes."""
        if limit < 1:
            raise ConfigurationError("read_all needs a limit of at least 1")
        names = _type_names(event_types)
        records = await self.records(after=after, limit=limit, event_types=names)
        return [
            RecordedEvent(
                record.position,
                record.stream_type,
                record.recorded_at,
                decode_event(record, self.registry),
            )
            for record in records
        ]

    async def batches(
        self,
        *,
        after: int = 0,
        size: int = 500,
        event_types: Iterable[type[DomainEvent] | str] | None = None,
    ) -> AsyncIterator[list[RecordedEvent]]:
        """Every event after position ``after``, in commit order, in batches of ``size``:
        what rebuilding a projection reads. Ends at the last event stored when it gets
        there; keep the last position seen to resume."""
        names = _type_names(event_types)
        while True:
            batch = await self.read_all(after=after, limit=size, event_types=names)
            if not batch:
                return
            yield batch
            after = batch[-1].position
            if len(batch) < size:
                return


def _type_names(event_types: Iterable[type[DomainEvent] | str] | None) -> list[str] | None:
    if event_types is None:
        return None
    return [name if isinstance(name, str) else name.event_type for name in event_types]
