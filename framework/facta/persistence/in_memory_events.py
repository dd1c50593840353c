"""The in-memory event store: streams and snapshots kept beside an ``InMemoryStore``'s state.

Events are kept as JSON text, as a database keeps them, so what cannot be stored fails
here too and every read decodes (and upcasts) as it would from a database.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime

from facta.application import HandlerRegistry
from facta.application.ports.event_store import (
    EventStore,
    LoadedStream,
    StoredEvent,
    StoredSnapshot,
    StreamAppend,
)
from facta.domain import event_schema_version, utc_now
from facta.errors import ConcurrencyError

__all__ = ["InMemoryEventStore", "InMemoryStreams"]

_Prepared = tuple[list[StoredEvent], list[tuple[tuple[str, str], StoredSnapshot]]]


class InMemoryStreams:
    """Every stream of one in-memory store, their snapshots, and the positions across them."""

    def __init__(self) -> None:
        self._streams: dict[tuple[str, str], list[StoredEvent]] = {}
        self._snapshots: dict[tuple[str, str], list[StoredSnapshot]] = {}
        self._all: list[StoredEvent] = []
        self._positions = itertools.count(1)

    def version(self, stream_type: str, stream_id: str) -> int:
        """The version of a stream: the number of its events (0 if it has none)."""
        stream = self._streams.get((stream_type, stream_id))
        return 0 if not stream else stream[-1].version

    def prepare(self, appends: Sequence[StreamAppend]) -> _Prepared:
        """Check every append and encode its events, changing nothing: raise
        ``ConcurrencyError`` if a stream is not at the version its append expects (or an
        encoding error); ``append`` then stores what this returns."""
        now = utc_now()
        records: list[StoredEvent] = []
        snapshots: list[tuple[tuple[str, str], StoredSnapshot]] = []
        for append in appends:
            actual = self.version(append.stream_type, append.stream_id)
            if actual != append.expected_version:
                raise ConcurrencyError(
                    append.stream_type, append.stream_id, append.expected_version, actual
                )
            for event in append.events:
                records.append(
                    StoredEvent(
                        0,
                        append.stream_type,
                        append.stream_id,
                        event.aggregate_version,
                        event.event_id,
                        event.event_type,
                        event_schema_version(type(event)),
                        now,
                        event.model_dump_json(),
                    )
                )
            if append.snapshot is not None:
                schema, state = append.snapshot
                key = (append.stream_type, append.stream_id)
                snapshots.append((key, StoredSnapshot(append.new_version, schema, state)))
        return records, snapshots

    def append(self, prepared: _Prepared) -> None:
        """Store what ``prepare`` checked and encoded."""
        records, snapshots = prepared
        for key, snapshot in snapshots:
            self._snapshots.setdefault(key, []).append(snapshot)
        self.import_records(records)

    def import_records(self, records: Iterable[StoredEvent]) -> None:
        """Store events as they are given, each with the next position (for migrations, and
        for tests that need events as an older release stored them)."""
        for record in records:
            positioned = StoredEvent(
                next(self._positions),
                record.stream_type,
                record.stream_id,
                record.version,
                record.event_id,
                record.event_type,
                record.event_version,
                record.recorded_at,
                record.data,
            )
            self._streams.setdefault((record.stream_type, record.stream_id), []).append(positioned)
            self._all.append(positioned)

    def events(
        self,
        stream_type: str,
        stream_id: str,
        after_version: int = 0,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[StoredEvent]:
        """One stream's events after ``after_version``, up to a version and a time."""
        return [
            record
            for record in self._streams.get((stream_type, stream_id), ())
            if record.version > after_version
            and (to_version is None or record.version <= to_version)
            and (until is None or record.recorded_at <= until)
        ]

    def snapshot(
        self, stream_type: str, stream_id: str, schema: str, to_version: int | None = None
    ) -> StoredSnapshot | None:
        """The latest snapshot of ``schema``, at or before ``to_version``."""
        for snapshot in reversed(self._snapshots.get((stream_type, stream_id), ())):
            if snapshot.schema == schema and (to_version is None or snapshot.version <= to_version):
                return snapshot
        return None

    def after(
        self, position: int, limit: int, event_types: Sequence[str] | None
    ) -> list[StoredEvent]:
        """Up to ``limit`` events of every stream after ``position``, of ``event_types``."""
        wanted = None if event_types is None else frozenset(event_types)
        found: list[StoredEvent] = []
        for record in self._all[max(0, self._index_after(position)) :]:
            if wanted is None or record.event_type in wanted:
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    def last_position(self) -> int:
        """The position of the last event stored, 0 if none."""
        return self._all[-1].position if self._all else 0

    def _index_after(self, position: int) -> int:
        low, high = 0, len(self._all)
        while low < high:
            middle = (low + high) // 2
            if self._all[middle].position <= position:
                low = middle + 1
            else:
                high = middle
        return low

    def load(self, stream_type: str, stream_id: str, schema: str | None) -> LoadedStream:
        """The latest snapshot of ``schema`` (none when None) and the events after it."""
        snapshot = None if schema is None else self.snapshot(stream_type, stream_id, schema)
        after = 0 if snapshot is None else snapshot.version
        return LoadedStream(snapshot, self.events(stream_type, stream_id, after))


class InMemoryEventStore(EventStore):
    """The event store of an ``InMemoryStore``."""

    def __init__(self, streams: InMemoryStreams, registry: HandlerRegistry) -> None:
        super().__init__(registry)
        self._streams = streams

    async def stream_records(
        self,
        stream_type: str,
        stream_id: str,
        *,
        after_version: int = 0,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[StoredEvent]:
        return self._streams.events(stream_type, stream_id, after_version, to_version, until)

    async def snapshot_record(
        self, stream_type: str, stream_id: str, schema: str, *, to_version: int | None = None
    ) -> StoredSnapshot | None:
        return self._streams.snapshot(stream_type, stream_id, schema, to_version)

    async def records(
        self, *, after: int = 0, limit: int = 500, event_types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        return self._streams.after(after, limit, event_types)

    async def last_position(self) -> int:
        return self._streams.last_position()
