"""The SQLAlchemy event store: streams in ``facta_events``, snapshots in ``facta_snapshots``.

Appending is an INSERT of the stream's new rows, in the unit of work's transaction; the
unique (stream, version) key refuses a second writer of one version, which the unit of
work turns into ``ConcurrencyError`` after rolling everything back. On PostgreSQL the
appending transaction first takes a transaction-scoped advisory lock, so events get
their positions in commit order (a reader of positions never skips one that commits
later); SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Executable, bindparam, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
from facta.persistence.sqlalchemy.documents import json_param, json_text
from facta.persistence.sqlalchemy.schema import UtcDateTime, events, snapshots

__all__ = ["SqlAlchemyEventStore", "append_streams", "load_stream", "stream_version"]

# any constant: the key of the advisory lock that orders appends on PostgreSQL
_APPEND_LOCK = 0x66616374  # "fact"


class _Statements(NamedTuple):
    lock: Executable | None
    append: Executable
    snapshot: Executable


@functools.cache
def _statements(dialect: str) -> _Statements:
    return _Statements(
        lock=text(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
        if dialect == "postgresql"
        else None,
        append=insert(events).values(data=json_param("data", dialect)),
        snapshot=insert(snapshots).values(state=json_param("state", dialect)),
    )


async def append_streams(
    connection: AsyncConnection, appends: Sequence[StreamAppend], dialect: str
) -> None:
    """Insert the appends' events and snapshots on ``connection``'s open transaction.

    A stream that is not at the expected version makes the INSERT fail with an
    ``IntegrityError`` (the caller rolls back and raises ``ConcurrencyError``).
    """
    statements = _statements(dialect)
    now = utc_now()
    rows: list[dict[str, Any]] = []
    due: list[dict[str, Any]] = []
    for append in appends:
        for event in append.events:
            rows.append(
                {
                    "stream_type": append.stream_type,
                    "stream_id": append.stream_id,
                    "version": event.aggregate_version,
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "event_version": event_schema_version(type(event)),
                    "recorded_at": now,
                    "data": event.model_dump_json(),
                }
            )
        if append.snapshot is not None:
            schema, state = append.snapshot
            due.append(
                {
                    "stream_type": append.stream_type,
                    "stream_id": append.stream_id,
                    "version": append.new_version,
                    "state_schema": schema,
                    "state": state,
                    "recorded_at": now,
                }
            )
    if statements.lock is not None:
        await connection.execute(statements.lock)
    await connection.execute(statements.append, rows[0] if len(rows) == 1 else rows)
    if due:
        await connection.execute(statements.snapshot, due)


@functools.cache
def _events_query(upto_version: bool, upto_time: bool) -> Executable:
    """The statement reading one stream, built once per shape (building costs more than
    running it on a local database)."""
    query = select(*_EVENT_COLUMNS).where(
        events.c.stream_type == bindparam("stream_type"),
        events.c.stream_id == bindparam("stream_id"),
        events.c.version > bindparam("after_version"),
    )
    if upto_version:
        query = query.where(events.c.version <= bindparam("to_version"))
    if upto_time:
        query = query.where(events.c.recorded_at <= bindparam("until", type_=UtcDateTime))
    return query.order_by(events.c.version)


@functools.cache
def _snapshot_query(upto_version: bool) -> Executable:
    """The statement reading a stream's latest snapshot of one shape, built once."""
    query = select(snapshots.c.version, json_text(snapshots.c.state)).where(
        snapshots.c.stream_type == bindparam("stream_type"),
        snapshots.c.stream_id == bindparam("stream_id"),
        snapshots.c.state_schema == bindparam("schema"),
    )
    if upto_version:
        query = query.where(snapshots.c.version <= bindparam("to_version"))
    return query.order_by(snapshots.c.version.desc()).limit(1)


_EVENT_COLUMNS = (
    events.c.position,
    events.c.stream_type,
    events.c.stream_id,
    events.c.version,
    events.c.event_id,
    events.c.event_type,
    events.c.event_version,
    events.c.recorded_at,
    json_text(events.c.data),
)


def _record(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        int(row[0]), row[1], row[2], int(row[3]), row[4], row[5], int(row[6]), row[7], row[8]
    )


async def read_events(
    connection: AsyncConnection,
    stream_type: str,
    stream_id: str,
    after_version: int = 0,
    to_version: int | None = None,
    until: datetime | None = None,
) -> list[StoredEvent]:
    """One stream's events after ``after_version``, up to a version and a time."""
    result = await connection.execute(
        _events_query(to_version is not None, until is not None),
        {
            "stream_type": stream_type,
            "stream_id": stream_id,
            "after_version": after_version,
            "to_version": to_version,
            "until": until,
        },
    )
    return [_record(row) for row in result]


async def read_snapshot(
    connection: AsyncConnection,
    stream_type: str,
    stream_id: str,
    schema: str,
    to_version: int | None = None,
) -> StoredSnapshot | None:
    """The latest snapshot of a stream with ``schema``, at or before ``to_version``."""
    parameters = {
        "stream_type": stream_type,
        "stream_id": stream_id,
        "schema": schema,
        "to_version": to_version,
    }
    query = _snapshot_query(to_version is not None)
    row = (await connection.execute(query, parameters)).first()
    return None if row is None else StoredSnapshot(int(row[0]), schema, row[1])


async def load_stream(
    connection: AsyncConnection, stream_type: str, stream_id: str, schema: str | None
) -> LoadedStream:
    """The latest snapshot of ``schema`` (none when None) and the events after it."""
    snapshot = None
    if schema is not None:
        snapshot = await read_snapshot(connection, stream_type, stream_id, schema)
    after = 0 if snapshot is None else snapshot.version
    return LoadedStream(snapshot, await read_events(connection, stream_type, stream_id, after))


async def stream_version(engine: AsyncEngine, stream_type: str, stream_id: str) -> int:
    """The version a stream is at now (-1 if it cannot be read), for error messages."""
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(
                select(func.max(events.c.version)).where(
                    events.c.stream_type == stream_type, events.c.stream_id == stream_id
                )
            )
    except DBAPIError:
        return -1
    return 0 if version is None else int(version)


class SqlAlchemyEventStore(EventStore):
    """The event store in ``facta_events`` and ``facta_snapshots``."""

    def __init__(self, engine: AsyncEngine, registry: HandlerRegistry) -> None:
        super().__init__(registry)
        self._engine = engine

    async def stream_records(
        self,
        stream_type: str,
        stream_id: str,
        *,
        after_version: int = 0,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[StoredEvent]:
        try:
            async with self._engine.connect() as connection:
                return await read_events(
                    connection, stream_type, stream_id, after_version, to_version, until
                )
        except DBAPIError as error:
            raise PersistenceError(
                f"cannot read the stream {stream_type} {stream_id!r}: {error}"
            ) from error

    async def snapshot_record(
        self, stream_type: str, stream_id: str, schema: str, *, to_version: int | None = None
    ) -> StoredSnapshot | None:
        try:
            async with self._engine.connect() as connection:
                return await read_snapshot(connection, stream_type, stream_id, schema, to_version)
        except DBAPIError as error:
            raise PersistenceError(
                f"cannot read the snapshots of {stream_type}: {error}"
            ) from error

    async def records(
        self, *, after: int = 0, limit: int = 500, event_types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        query = select(*_EVENT_COLUMNS).where(events.c.position > after)
        if event_types is not None:
            query = query.where(events.c.event_type.in_(list(event_types)))
        query = query.order_by(events.c.position).limit(limit)
        try:
            async with self._engine.connect() as connection:
                return [_record(row) for row in await connection.execute(query)]
        except DBAPIError as error:
            raise PersistenceError(f"cannot read the event store: {error}") from error

    async def last_position(self) -> int:
        try:
            async with self._engine.connect() as connection:
                position = await connection.scalar(select(func.max(events.c.position)))
        except DBAPIError as error:
            raise PersistenceError(f"cannot read the event store: {error}") from error
        return 0 if position is None else int(position)
