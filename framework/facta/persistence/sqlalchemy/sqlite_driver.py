"""SQLite for SQLAlchemy's async engine without a thread hop per statement.

aiosqlite runs each connection in a thread of its own and hands every statement,
fetch, commit and rollback over to it: two thread switches each, which on a local file
cost more than the statement itself (a command with two inline projections made about
26). This driver keeps aiosqlite's interface, which SQLAlchemy's adapter drives, but
runs ``sqlite3`` on the event loop's thread, as synchronous SQLite libraries do.

What would block the loop is waiting for a lock. So the connection has no busy timeout of
its own: a statement refused with ``SQLITE_BUSY`` where retrying is safe (outside a
transaction, or the ``BEGIN`` that opens one) is retried after an ``asyncio.sleep``, with
backoff, until the engine's ``timeout`` (30 s by default) runs out; the loop serves the
lock's holder meanwhile. Transactions begin ``IMMEDIATE``, taking the write lock at
their first write, so a statement inside one never meets ``SQLITE_BUSY``. What still
runs on the loop is the work itself, which on a local file in WAL mode with
``synchronous=NORMAL`` (no fsync at commit) takes microseconds, and a checkpoint now and
then.

``facta.persistence.sqlalchemy.create_engine`` picks it for ``sqlite://`` URLs; name
``sqlite+aiosqlite://`` to use aiosqlite instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from typing import Any, Literal, TypeVar, cast

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

__all__ = ["FactaSQLiteDialect", "connect"]

__version__ = "1.0"

_T = TypeVar("_T")
_IsolationLevel = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None
_BUSY = sqlite3.SQLITE_BUSY
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.05

Error = sqlite3.Error
DatabaseError = sqlite3.DatabaseError
IntegrityError = sqlite3.IntegrityError
NotSupportedError = sqlite3.NotSupportedError
OperationalError = sqlite3.OperationalError
ProgrammingError = sqlite3.ProgrammingError
sqlite_version = sqlite3.sqlite_version
sqlite_version_info = sqlite3.sqlite_version_info


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == _BUSY or ("database is locked" in str(error))


class _Retrying:
    """Runs a call on a connection, retrying it while SQLite answers ``SQLITE_BUSY`` and
    a retry is safe, pausing on the event loop between tries."""

    def __init__(self, connection: sqlite3.Connection, timeout: float) -> None:
        self.connection = connection
        self.timeout = timeout

    async def run(self, call: Callable[[], _T], *, commit: bool = False) -> _T:
        deadline: float | None = None
        pause = _FIRST_PAUSE
        while True:
            # SQLite's rule: a statement refused inside a transaction must not be
            # retried (the transaction has to be rolled back), a COMMIT may be; a
            # statement whose implicit BEGIN was refused left no transaction behind
            outside = not self.connection.in_transaction
            try:
                return call()
            except sqlite3.OperationalError as error:
                retryable = commit or (outside and not self.connection.in_transaction)
                if not (retryable and _busy(error)):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.timeout
                if now >= deadline:
                    raise
                await asyncio.sleep(min(pause, deadline - now))
                pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    """aiosqlite's cursor interface over a ``sqlite3.Cursor``, on the loop's thread."""

    def __init__(self, retrying: _Retrying) -> None:
        self._retrying = retrying
        self._cursor = retrying.connection.cursor()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        cursor = self._cursor
        if parameters is None:
            await self._retrying.run(lambda: cursor.execute(sql))
        else:
            await self._retrying.run(lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        rows = list(parameters)  # an iterator could not be replayed by a retry
        cursor = self._cursor
        await self._retrying.run(lambda: cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    @property
    def description(self) -> Any:
        return self._cursor.description


class Connection:
    """aiosqlite's connection interface over a ``sqlite3.Connection``, on the loop's
    thread; awaiting it (as SQLAlchemy does with aiosqlite's) gives itself."""

    def __init__(self, connection: sqlite3.Connection, timeout: float) -> None:
        self._conn = connection
        self._retrying = _Retrying(connection, timeout)
        self._open = True

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """The open ``sqlite3`` connection, None once closed (SQLAlchemy's adapter asks
        aiosqlite's connection the same)."""
        return self._conn if self._open else None

    def __await__(self) -> Generator[Any, None, Connection]:
        return _opened(self).__await__()

    def cursor(self) -> Cursor:
        return Cursor(self._retrying)

    async def commit(self) -> None:
        await self._retrying.run(self._conn.commit, commit=True)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Closes at once (SQLAlchemy's terminate)."""
        self._open = False
        self._conn.close()

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], **options: Any
    ) -> None:
        self._conn.create_function(name, num_params, func, **options)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = cast(_IsolationLevel, value)


async def _opened(connection: Connection) -> Connection:
    return connection


def connect(database: str, *, timeout: float = 5.0, **options: Any) -> Connection:
    """Opens ``database`` for use on the event loop's thread: no busy timeout in SQLite
    (the wait for a lock is an ``asyncio.sleep`` instead, up to ``timeout`` seconds) and
    ``BEGIN IMMEDIATE`` for the transactions ``sqlite3`` opens before a write."""
    options.pop("check_same_thread", None)
    connection = sqlite3.connect(
        database,
        timeout=0,
        isolation_level="IMMEDIATE",
        check_same_thread=False,  # a pool may close it from another thread
        **options,
    )
    return Connection(connection, timeout)


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite adapter, with an isolation level set directly (aiosqlite's
    version posts it to the connection's thread, which this driver does not have)."""

    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy sees: this module in aiosqlite's place."""

    def connect(self, *args: Any, **options: Any) -> _AdaptedConnection:
        creator: Callable[..., Awaitable[Any]] | None = options.pop("async_creator_fn", None)
        found = creator(*args, **options) if creator else connect(*args, **options)
        return _AdaptedConnection(self, await_(found))


class FactaSQLiteDialect(SQLiteDialect_aiosqlite):
    """SQLAlchemy's aiosqlite dialect on this driver: ``sqlite+facta://``."""

    driver = "facta"
    supports_statement_cache = True
    supports_server_side_cursors = False
    has_terminate = True

    @classmethod
    def import_dbapi(cls) -> _Dbapi:
        import sys

        return _Dbapi(sys.modules[__name__], sqlite3)


dialect = FactaSQLiteDialect

registry.register("sqlite.facta", __name__, "FactaSQLiteDialect")
