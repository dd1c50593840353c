"""The MongoDB event store: streams in ``facta_events``, snapshots in ``facta_snapshots``.

```
facta_events     {_id: event id, position, stream_type, stream_id, version, event_type,
                  event_version, recorded_at, data}     unique on (stream_type, stream_id,
                                                        version), and on position
facta_snapshots  {stream_type, stream_id, version, schema, state, recorded_at}
                                                        unique on (stream_type, stream_id,
                                                        version)
```

Appending inserts the stream's new documents in the unit of work's transaction; the unique
stream key refuses a second writer of one version (``ConcurrencyError``). Positions come
from the ``events`` counter, incremented *inside* the transaction: two appending
transactions conflict on it and the later one is run again, so positions follow commit
order and a reader of positions never skips an event that commits later. (Without
transactions that order is not guaranteed; in a unit of work whose session was taken
for writes of your own, a conflict on the counter cannot be retried and ends in
``ConcurrencyError``, like any write conflict there.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from facta.application import HandlerRegistry
from facta.application.ports.event_store import (
    EventStore,
    LoadedStream,
    StoredEvent,
    StoredSnapshot,
    StreamAppend,
)
from facta.domain import event_schema_version, utc_now
from facta.errors import PersistenceError
from facta.persistence.mongo.codec import Document, to_document, truncate_to_millisecond
from facta.persistence.mongo.driver import Session
from facta.persistence.mongo.filters import checked_str
from facta.persistence.mongo.store import COUNTERS, MongoStore

__all__ = ["MongoEventStore", "append_streams", "load_stream", "stream_version"]


async def append_streams(
    store: MongoStore, session: Session | None, appends: Sequence[StreamAppend]
) -> None:
    """Insert the appends' events and snapshots in ``session``'s transaction.

    A stream that is not at the expected version makes the insert fail with a duplicate
    key error (the caller aborts and raises ``ConcurrencyError``).
    """
    now = truncate_to_millisecond(utc_now())
    documents: list[Document] = []
    snapshots: list[Document] = []
    for append in appends:
        key = _stream(append.stream_type, append.stream_id)
        for event in append.events:
            documents.append(
                {
                    "_id": event.event_id,
                    "position": 0,
                    **key,
                    "version": event.aggregate_version,
                    "event_type": event.event_type,
                    "event_version": event_schema_version(type(event)),
                    "recorded_at": now,
                    "data": to_document(event),
                }
            )
        if append.snapshot is not None:
            snapshots.append(
                {
                    **key,
                    "version": append.new_version,
                    "schema": append.snapshot[0],
                    "state": to_document(append.aggregate),
                    "recorded_at": now,
                }
            )
    counter = await store.collection(COUNTERS).find_one_and_update(
        {"_id": "events"},
        {"$inc": {"value": len(documents)}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    first = int(counter["value"]) - len(documents) + 1
    for offset, document in enumerate(documents):
        document["position"] = first + offset
    await store.events.insert_many(documents, ordered=True, session=session)
    if snapshots:
        await store.snapshots.insert_many(snapshots, ordered=True, session=session)


def _stream(stream_type: str, stream_id: object) -> dict[str, str]:
    return {
        "stream_type": checked_str(stream_type, "a stream type"),
        "stream_id": checked_str(stream_id, f"the id of a {stream_type}"),
    }


def _record(document: Document) -> StoredEvent:
    return StoredEvent(
        int(document["position"]),
        document["stream_type"],
        document["stream_id"],
        int(document["version"]),
        document["_id"],
        document["event_type"],
        int(document["event_version"]),
        document["recorded_at"],
        document["data"],
    )


async def read_events(
    store: MongoStore,
    session: Session | None,
    stream_type: str,
    stream_id: str,
    after_version: int = 0,
    to_version: int | None = None,
    until: datetime | None = None,
) -> list[StoredEvent]:
    """One stream's events after ``after_version``, up to a version and a time."""
    versions: dict[str, int] = {"$gt": after_version}
    if to_version is not None:
        versions["$lte"] = to_version
    query: dict[str, Any] = {**_stream(stream_type, stream_id), "version": versions}
    if until is not None:
        query["recorded_at"] = {"$lte": until}
    documents = await store.events.find(query, sort=[("version", 1)], session=session).to_list(None)
    return [_record(document) for document in documents]


async def read_snapshot(
    store: MongoStore,
    session: Session | None,
    stream_type: str,
    stream_id: str,
    schema: str,
    to_version: int | None = None,
) -> StoredSnapshot | None:
    """The latest snapshot of a stream with ``schema``, at or before ``to_version``."""
    query: dict[str, Any] = {**_stream(stream_type, stream_id), "schema": schema}
    if to_version is not None:
        query["version"] = {"$lte": to_version}
    document = await store.snapshots.find_one(
        query, {"_id": 0, "version": 1, "state": 1}, sort=[("version", -1)], session=session
    )
    if document is None:
        return None
    return StoredSnapshot(int(document["version"]), schema, document["state"])


async def load_stream(
    store: MongoStore,
    session: Session | None,
    stream_type: str,
    stream_id: str,
    schema: str | None,
) -> LoadedStream:
    """The latest snapshot of ``schema`` (none when None) and the events after it."""
    snapshot = None
    if schema is not None:
        snapshot = await read_snapshot(store, session, stream_type, stream_id, schema)
    after = 0 if snapshot is None else snapshot.version
    return LoadedStream(snapshot, await read_events(store, session, stream_type, stream_id, after))


async def stream_version(store: MongoStore, stream_type: str, stream_id: str) -> int:
    """The version a stream is at now (-1 if it cannot be read), for error messages."""
    try:
        document = await store.events.find_one(
            _stream(stream_type, stream_id), {"version": 1}, sort=[("version", -1)]
        )
    except PyMongoError:
        return -1
    return 0 if document is None else int(document["version"])


class MongoEventStore(EventStore):
    """The event store in ``facta_events`` and ``facta_snapshots``."""

    def __init__(self, store: MongoStore, registry: HandlerRegistry) -> None:
        super().__init__(registry)
        self._store = store

    async def stream_records(
        self,
        stream_type: str,
        stream_id: str,
        *,
        after_version: int = 0,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[StoredEvent]:
        await self._store.ready()
        try:
            return await read_events(
                self._store, None, stream_type, stream_id, after_version, to_version, until
            )
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot read the stream {stream_type} {stream_id!r}: {error}"
            ) from error

    async def snapshot_record(
        self, stream_type: str, stream_id: str, schema: str, *, to_version: int | None = None
    ) -> StoredSnapshot | None:
        await self._store.ready()
        try:
            return await read_snapshot(
                self._store, None, stream_type, stream_id, schema, to_version
            )
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot read the snapshots of {stream_type}: {error}"
            ) from error

    async def records(
        self, *, after: int = 0, limit: int = 500, event_types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        await self._store.ready()
        query: dict[str, Any] = {"position": {"$gt": after}}
        if event_types is not None:
            query["event_type"] = {
                "$in": [checked_str(name, "an event type") for name in event_types]
            }
        try:
            documents = await self._store.events.find(
                query, sort=[("position", 1)], limit=limit
            ).to_list(None)
        except PyMongoError as error:
            raise PersistenceError(f"cannot read the event store: {error}") from error
        return [_record(document) for document in documents]

    async def last_position(self) -> int:
        await self._store.ready()
        try:
            document = await self._store.events.find_one(
                {}, {"position": 1}, sort=[("position", -1)]
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot read the event store: {error}") from error
        return 0 if document is None else int(document["position"])
