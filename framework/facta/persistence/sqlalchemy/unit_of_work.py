"""The SQLAlchemy unit of work: aggregates, outbox rows and receipts in one transaction.

Each unit of work holds one connection for its operation. Reads run before any write, so
on SQLite they take no lock; the commit's statements then run in one transaction whose
version-checked updates give optimistic concurrency. Driver errors become facta errors.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Executable, and_, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from facta.application.event_flow import EventFlow
from facta.application.ports.event_store import LoadedStream, StreamAppend
from facta.application.ports.outbox import Receipt
from facta.application.ports.unit_of_work import Change, ChangeKind, Commit, StoredState, UnitOfWork
from facta.application.ports.view_store import StoredView, ViewWrite
from facta.application.views import View, ViewQuery
from facta.domain import AggregateRoot, EventSourcedAggregate, utc_now
from facta.errors import AlreadyDelivered, ConcurrencyError, PersistenceError
from facta.persistence.sqlalchemy.documents import json_param, json_text
from facta.persistence.sqlalchemy.event_store import append_streams, load_stream, stream_version
from facta.persistence.sqlalchemy.schema import aggregates, outbox, receipt_statement
from facta.persistence.sqlalchemy.views import SqlViewTables, ViewTable, stored

__all__ = ["SqlAlchemyUnitOfWork"]


class SqlAlchemyUnitOfWork(UnitOfWork):
    """A unit of work on an ``AsyncEngine`` (SQLite through aiosqlite, PostgreSQL through
    asyncpg), storing aggregates as JSON documents in ``facta_aggregates`` and views in
    their tables (see ``SqlViewTables``, shared by the units of work of one application)."""

    def __init__(
        self, engine: AsyncEngine, event_flow: EventFlow, views: SqlViewTables | None = None
    ) -> None:
        super().__init__(event_flow)
        self._engine = engine
        self._views = views if views is not None else SqlViewTables(engine)
        self._dialect = engine.dialect.name
        self._connection: AsyncConnection | None = None
        statements = _statements(self._dialect)
        self._load_state = statements.load_state
        self._insert_aggregate = statements.insert_aggregate
        self._update_aggregate = statements.update_aggregate
        self._delete_aggregate = statements.delete_aggregate
        self._relaxed_commit = text("SET LOCAL synchronous_commit TO OFF")
        self._append_outbox = statements.append_outbox
        self._upsert_receipt = statements.upsert_receipt

    async def connection(self) -> AsyncConnection:
        """The connection of this unit of work, for statements of your own (read models).

        What you write on it commits with the unit of work's commit, in one transaction
        with the aggregates, the events and the handler's receipt, or not at all.
        """
        if self._connection is None:
            try:
                self._connection = await self._engine.connect()
            except DBAPIError as error:
                raise PersistenceError(f"cannot connect to the database: {error.orig}") from error
        return self._connection

    async def load_state(
        self, aggregate_type: type[AggregateRoot], aggregate_id: str
    ) -> StoredState | None:
        connection = await self.connection()
        parameters = {"type_": aggregate_type.aggregate_type, "id_": aggregate_id}
        try:
            row = (await connection.execute(self._load_state, parameters)).first()
        except DBAPIError as error:
            raise PersistenceError(
                f"cannot load {aggregate_type.aggregate_type}: {error}"
            ) from error
        return None if row is None else StoredState(row[0], row[1])

    async def load_stream(
        self, aggregate_type: type[EventSourcedAggregate], aggregate_id: str
    ) -> LoadedStream:
        connection = await self.connection()
        schema = aggregate_type.state_schema() if aggregate_type.snapshot_every else None
        try:
            return await load_stream(
                connection, aggregate_type.aggregate_type, aggregate_id, schema
            )
        except DBAPIError as error:
            raise PersistenceError(
                f"cannot load {aggregate_type.aggregate_type} {aggregate_id!r}: {error}"
            ) from error

    async def load_view(self, view_type: type[View], view_id: str) -> StoredView | None:
        table = await self._views.table(view_type)
        row = await self._read(table, table.load, {"key_id": view_id})
        return None if row is None else stored(row)

    async def query_views(self, query: ViewQuery) -> list[StoredView]:
        table = await self._views.table(query.view_type)
        statement, parameters = table.select(query)
        connection = await self.connection()
        try:
            rows = (await connection.execute(statement, parameters)).all()
        except DBAPIError as error:
            raise PersistenceError(
                f"cannot query view {query.view_type.view_name!r}: {error}"
            ) from error
        return [stored(row) for row in rows]

    async def count_views(self, query: ViewQuery) -> int:
        table = await self._views.table(query.view_type)
        statement, parameters = table.select(query, count=True)
        row = await self._read(table, statement, parameters)
        return 0 if row is None else int(row[0])

    async def _read(
        self, table: ViewTable, statement: Executable, parameters: dict[str, Any]
    ) -> Any:
        connection = await self.connection()
        try:
            return (await connection.execute(statement, parameters)).first()
        except DBAPIError as error:
            self._views.forget(table.view_type.view_name)  # dropped meanwhile, say
            raise PersistenceError(
                f"cannot read view {table.view_type.view_name!r}: {error}"
            ) from error

    async def write_changes(self, commit: Commit) -> None:
        if self._connection is None and commit.empty:
            return
        # view tables are created (once) outside the transaction
        tables = [await self._views.table(write.view_type) for write in commit.views]
        receipt_only = self._connection is None and not (
            commit.changes or commit.entries or commit.views or commit.appends
        )
        connection = await self.connection()
        if receipt_only and self._dialect == "postgresql":
            # a receipt lost in a crash only means the handler (which wrote nothing) runs
            # again, which at-least-once delivery allows: no need to wait for the WAL flush
            await connection.execute(self._relaxed_commit)
        try:
            for change in commit.changes:
                await self._write(connection, change)
            if commit.entries:
                await connection.execute(self._append_outbox, _outbox_rows(commit))
            for table, write in zip(tables, commit.views, strict=True):
                await self._write_view(connection, table, write)
            if commit.receipt is not None:
                await self._record_receipt(connection, commit.receipt)
            if commit.appends:  # last: on PostgreSQL it holds the append lock until commit
                try:
                    await append_streams(connection, commit.appends, self._dialect)
                except IntegrityError as error:
                    raise _StreamConflict(commit.appends) from error
            await connection.commit()
            # back to the pool before the events are dispatched, whose handlers need their own
            await self._release()
        except _Conflict as conflict:
            await self._abandon(connection)
            change = conflict.change
            raise ConcurrencyError(
                change.aggregate_type,
                change.aggregate_id,
                change.expected_version,
                await self._stored_version(change),
            ) from conflict.__cause__
        except _StreamConflict as conflict:
            await self._abandon(connection)
            raise await self._stream_error(conflict.appends) from conflict.__cause__
        except _ViewConflict as conflict:
            await self._abandon(connection)
            write = conflict.write
            raise ConcurrencyError(
                write.view_type.view_name,
                write.view_id,
                write.expected_version,
                await self._views.stored_version(write),
            ) from conflict.__cause__
        except BaseException as error:
            await self._abandon(connection)
            if isinstance(error, DBAPIError):
                self._views.forget(*(write.view_type.view_name for write in commit.views))
                raise PersistenceError(f"the commit failed and was rolled back: {error}") from error
            raise

    async def discard(self) -> None:
        if self._connection is not None:
            await self._abandon(self._connection)

    async def aclose(self) -> None:
        await super().aclose()
        await self._release()

    async def _release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def _abandon(self, connection: AsyncConnection) -> None:
        try:
            await connection.rollback()
        except DBAPIError:  # the connection is gone: the server rolled back for us
            await connection.invalidate()
        await self._release()

    async def _write(self, connection: AsyncConnection, change: Change) -> None:
        if change.kind is ChangeKind.INSERT:
            try:
                await connection.execute(
                    self._insert_aggregate,
                    {
                        "aggregate_type": change.aggregate_type,
                        "aggregate_id": change.aggregate_id,
                        "version": change.new_version,
                        "state": change.state_json,
                        "updated_at": utc_now(),
                    },
                )
            except IntegrityError as error:
                raise _Conflict(change) from error
            return
        key = {
            "type_": change.aggregate_type,
            "id_": change.aggregate_id,
            "expected": change.expected_version,
        }
        if change.kind is ChangeKind.DELETE:
            result = await connection.execute(self._delete_aggregate, key)
        else:
            result = await connection.execute(
                self._update_aggregate,
                {
                    **key,
                    "new_version": change.new_version,
                    "state": change.state_json,
                    "now": utc_now(),
                },
            )
        if result.rowcount != 1:
            raise _Conflict(change)

    async def _write_view(
        self, connection: AsyncConnection, table: ViewTable, write: ViewWrite
    ) -> None:
        try:
            applied = await table.write(connection, write)
        except IntegrityError as error:
            if write.kind != "insert":
                raise
            raise _ViewConflict(write) from error
        if not applied:
            raise _ViewConflict(write)

    async def _stored_version(self, change: Change) -> int:
        """The stored version, read after the failed transaction, for the error message."""
        try:
            async with self._engine.connect() as connection:
                version = await connection.scalar(
                    select(aggregates.c.version).where(
                        aggregates.c.aggregate_type == change.aggregate_type,
                        aggregates.c.aggregate_id == change.aggregate_id,
                    )
                )
        except DBAPIError:
            return -1
        return 0 if version is None else int(version)

    async def _stream_error(self, appends: Sequence[StreamAppend]) -> ConcurrencyError:
        """The error for a refused append: names the stream that moved on (read after the
        rollback), or the first one if none did (it was a rolled-back race)."""
        found: tuple[StreamAppend, int] | None = None
        for append in appends:
            actual = await stream_version(self._engine, append.stream_type, append.stream_id)
            if actual != append.expected_version:
                found = (append, actual)
                break
        if found is None:
            found = (appends[0], -1)
        append, actual = found
        return ConcurrencyError(
            append.stream_type, append.stream_id, append.expected_version, actual
        )

    async def _record_receipt(self, connection: AsyncConnection, receipt: Receipt) -> None:
        now = utc_now()
        result = await connection.execute(
            self._upsert_receipt,
            {"event_id": receipt.event_id, "handler": receipt.handler, "now": now},
        )
        if result.rowcount != 1:
            raise AlreadyDelivered(str(receipt.event_id), receipt.handler)


class _StreamConflict(Exception):
    """An append was refused: a stream was not at its expected version."""

    def __init__(self, appends: Sequence[StreamAppend]) -> None:
        super().__init__(len(appends))
        self.appends = appends


class _Conflict(Exception):
    """A version check failed; carries the change so the error can name it."""

    def __init__(self, change: Change) -> None:
        super().__init__(change.aggregate_id)
        self.change = change


class _ViewConflict(Exception):
    """A view's version check failed; carries the write so the error can name it."""

    def __init__(self, write: ViewWrite) -> None:
        super().__init__(write.view_id)
        self.write = write


def _outbox_rows(commit: Commit) -> list[dict[str, Any]]:
    now = utc_now()
    return [
        {
            "event_id": entry.event.event_id,
            "event_type": entry.event.event_type,
            "aggregate_id": entry.event.aggregate_id,
            "aggregate_version": entry.event.aggregate_version,
            "correlation_id": entry.event.correlation_id,
            "causation_id": entry.event.causation_id,
            "payload": entry.event.model_dump_json(),
            "recorded_at": now,
            "available_at": entry.available_at,
            "delivered_at": now if entry.delivered else None,
        }
        for entry in commit.entries
    ]


class _Statements(NamedTuple):
    load_state: Executable
    insert_aggregate: Executable
    update_aggregate: Executable
    delete_aggregate: Executable
    append_outbox: Executable
    upsert_receipt: Executable


@functools.cache
def _statements(dialect: str) -> _Statements:
    """The statements of a unit of work, built once per dialect.

    Building a statement and computing its cache key costs more than running it on a
    local database, so every statement is prebuilt and takes its values as parameters.
    """
    key = (
        aggregates.c.aggregate_type == bindparam("type_"),
        aggregates.c.aggregate_id == bindparam("id_"),
    )
    guard = and_(*key, aggregates.c.version == bindparam("expected"))
    return _Statements(
        load_state=select(json_text(aggregates.c.state), aggregates.c.version).where(*key),
        insert_aggregate=insert(aggregates).values(state=json_param("state", dialect)),
        update_aggregate=update(aggregates)
        .where(guard)
        .values(
            version=bindparam("new_version"),
            state=json_param("state", dialect),
            updated_at=bindparam("now"),
        ),
        delete_aggregate=delete(aggregates).where(guard),
        append_outbox=insert(outbox).values(payload=json_param("payload", dialect)),
        upsert_receipt=receipt_statement(dialect),
    )
