"""SQLite for SQLAlchemy's async engine, run on the event loop's thread.

aiosqlite runs each connection in a thread of its own and hands every statement, fetch,
commit and rollback over to it, and SQLAlchemy's adapter switches greenlets around each
of those hand-overs; on a local file that costs many times the statement itself. This
driver gives SQLAlchemy ``sqlite3``'s connection and cursor, called directly, as its
synchronous SQLite dialect does: a statement on a file in WAL mode with
``synchronous=NORMAL`` (no fsync at commit) takes microseconds.

What must not block the loop is waiting for a lock. So SQLite's own busy timeout is 0:
a statement refused with ``SQLITE_BUSY``, where SQLite allows a retry (outside a
transaction, the ``BEGIN`` that opens one, a ``COMMIT``), is retried after an
``asyncio.sleep``, with backoff, until the engine's ``timeout`` (30 s by default) runs
out; the loop serves the lock's holder meanwhile. Transactions begin ``IMMEDIATE``,
taking the write lock at their first write, so a statement inside one does not meet
``SQLITE_BUSY``.

``facta.persistence.sqlalchemy.create_engine`` picks it for ``sqlite://`` URLs
(``sqlite+facta://``); name ``sqlite+aiosqlite://`` to use aiosqlite instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar, cast

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

__all__ = ["FactaSQLiteDialect"]

_T = TypeVar("_T")
_IsolationLevel = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None
_BEGIN: _IsolationLevel = "IMMEDIATE"
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.05

# what SQLAlchemy's adapter reads from the module it adapts (aiosqlite's, in its place)
__version__ = "1.0"
Error = sqlite3.Error
DatabaseError = sqlite3.DatabaseError
IntegrityError = sqlite3.IntegrityError
NotSupportedError = sqlite3.NotSupportedError
OperationalError = sqlite3.OperationalError
ProgrammingError = sqlite3.ProgrammingError
sqlite_version = sqlite3.sqlite_version
sqlite_version_info = sqlite3.sqlite_version_info


class Connection:
    """Stands for aiosqlite's connection class where SQLAlchemy's adapter looks for one
    (it checks that the class can ``stop``)."""

    def stop(self) -> None:
        """Never called: see ``_AdaptedConnection.terminate``."""


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or (
        "database is locked" in str(error)
    )


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """The connection SQLAlchemy's async engine holds: ``sqlite3`` called directly, and an
    ``asyncio.sleep`` (inside SQLAlchemy's greenlet) when a lock must be waited for."""

    __slots__ = ("_timeout",)

    def __init__(self, dbapi: Any, connection: sqlite3.Connection, timeout: float) -> None:
        # it holds sqlite3's connection where the adapter expects an async one: every
        # method of the adapter that would await that connection is overridden below
        super().__init__(dbapi, connection)  # type: ignore[arg-type]
        self._timeout = timeout

    @property
    def _sqlite(self) -> sqlite3.Connection:
        return cast(sqlite3.Connection, self._connection)

    def run(self, call: Callable[[], _T], *, commit: bool = False) -> _T:
        """``call()``, from SQLAlchemy's greenlet, on the event loop (which SQLAlchemy's
        async engine expects of every statement); see ``_attempt``."""
        return await_(self._attempt(call, commit))

    async def _attempt(self, call: Callable[[], _T], commit: bool) -> _T:
        """``call()``; if SQLite answers ``SQLITE_BUSY`` where a retry is allowed, again
        after a pause, with backoff, until the timeout."""
        deadline: float | None = None
        pause = _FIRST_PAUSE
        while True:
            outside = not self._sqlite.in_transaction
            try:
                return call()
            except sqlite3.OperationalError as error:
                # SQLite's rule: a statement refused inside a transaction must not be
                # retried (the transaction is to be rolled back); a COMMIT may be; a
                # statement whose implicit BEGIN was refused left no transaction behind
                retry = commit or (outside and not self._sqlite.in_transaction)
                if not (retry and _busy(error)):
                    raise
            now = time.monotonic()
            deadline = now + self._timeout if deadline is None else deadline
            if now >= deadline:
                raise sqlite3.OperationalError(
                    f"database is locked: another connection held the write lock for "
                    f"{self._timeout:g} s (the engine's timeout)"
                )
            await asyncio.sleep(min(pause, deadline - now))
            pause = min(pause * 2, _LONGEST_PAUSE)

    def cursor(self, server_side: bool = False) -> _Cursor:  # type: ignore[override]
        return _Cursor(self)

    def commit(self) -> None:
        self.run(self._sqlite.commit, commit=True)

    def rollback(self) -> None:
        self._sqlite.rollback()

    def close(self) -> None:
        self._sqlite.close()

    def terminate(self) -> None:
        self._sqlite.close()

    def create_function(self, *args: Any, **options: Any) -> None:
        self._sqlite.create_function(*args, **options)

    @property
    def isolation_level(self) -> str | None:
        return self._sqlite.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        # SQLAlchemy restores the default as "" (DEFERRED): this driver's default is
        # IMMEDIATE; None (autocommit) and explicit levels are kept
        self._sqlite.isolation_level = _BEGIN if value == "" else cast(_IsolationLevel, value)


class _Cursor:
    """A DBAPI cursor over ``sqlite3``'s: each statement runs through the connection's
    ``run`` and its rows are read at once (as SQLAlchemy's aiosqlite adapter does), so
    no statement stays open on the connection while the caller awaits something else."""

    server_side = False

    def __init__(self, connection: _AdaptedConnection) -> None:
        self._connection = connection
        self._cursor = connection._sqlite.cursor()
        self._rows: deque[Any] = deque()
        self._description: Any = None
        self.arraysize = 1

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> None:
        cursor = self._cursor
        if parameters is None:
            self._connection.run(lambda: cursor.execute(operation))
        else:
            self._connection.run(lambda: cursor.execute(operation, parameters))
        self._read()

    def executemany(self, operation: str, parameters: Iterable[Sequence[Any]]) -> None:
        rows = list(parameters)  # an iterator could not be replayed by a retry
        cursor = self._cursor
        self._connection.run(lambda: cursor.executemany(operation, rows))
        self._read()

    def _read(self) -> None:
        self._description = self._cursor.description
        self._rows = deque(self._cursor.fetchall()) if self._description else deque()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()

    async def _async_soft_close(self) -> None:
        """Closes the ``sqlite3`` cursor once SQLAlchemy's async result holds it (its
        rows and description are kept here)."""
        self._cursor.close()

    def setinputsizes(self, *sizes: object) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy sees: this module in aiosqlite's place."""

    def connect(self, *args: Any, **options: Any) -> _AdaptedConnection:
        """Opens the file with no busy timeout in SQLite (``timeout`` is how long a wait
        for a lock may last, in ``asyncio.sleep``) and ``BEGIN IMMEDIATE`` for the
        transactions ``sqlite3`` opens before a write."""
        timeout = float(options.pop("timeout", 5.0))
        options.pop("check_same_thread", None)
        options.update(timeout=0, isolation_level=_BEGIN, check_same_thread=False)
        connection = sqlite3.connect(*args, **options)  # a pool may close it from any thread
        return _AdaptedConnection(self, connection, timeout)


class FactaSQLiteDialect(SQLiteDialect_aiosqlite):
    """SQLAlchemy's async SQLite dialect on this driver: ``sqlite+facta://``."""

    driver = "facta"
    supports_statement_cache = True
    supports_server_side_cursors = False
    has_terminate = True

    @classmethod
    def import_dbapi(cls) -> _Dbapi:
        return _Dbapi(sys.modules[__name__], sqlite3)


dialect = FactaSQLiteDialect

registry.register("sqlite.facta", __name__, "FactaSQLiteDialect")
