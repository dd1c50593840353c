"""Installing the SQLAlchemy back-end in an application: one engine, per-operation units of work."""

from __future__ import annotations

from typing import Any

import injector
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from facta.application import HandlerRegistry, OperationScope
from facta.application.dependencies import FactoryProvider
from facta.application.event_flow import EventFlow
from facta.application.ports.event_store import EventStore
from facta.application.ports.outbox import Outbox
from facta.application.ports.projection_store import ProjectionStore
from facta.application.ports.unit_of_work import UnitOfWork
from facta.errors import ConfigurationError
from facta.persistence.sqlalchemy.event_store import SqlAlchemyEventStore
from facta.persistence.sqlalchemy.outbox import SqlAlchemyOutbox
from facta.persistence.sqlalchemy.projections import SqlAlchemyProjectionStore
from facta.persistence.sqlalchemy.sqlite_driver import FactaSQLiteDialect
from facta.persistence.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from facta.persistence.sqlalchemy.views import SqlViewTables

__all__ = ["SqlAlchemyPersistence", "create_engine"]

_DRIVERS = {"sqlite": f"sqlite+{FactaSQLiteDialect.driver}", "postgresql": "postgresql+asyncpg"}


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for ``url``, set up the way facta needs it.

    ``sqlite:///file.db`` gets facta's SQLite driver (``sqlite+facta``: ``sqlite3`` on
    the event loop's thread, see ``sqlite_driver``; name ``sqlite+aiosqlite`` for
    aiosqlite), ``postgresql://...`` asyncpg. SQLite runs in WAL mode, so readers never
    wait on the writer, and writers wait for the lock (up to ``timeout``, 30 s) instead
    of failing; asyncpg gives up connecting after 10 s
    rather than its default minute. An in-memory SQLite database is refused:
    each connection would see a different database.
    """
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername, parsed.drivername)
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite"):
        if parsed.database in (None, "", ":memory:"):
            raise ConfigurationError(
                "an in-memory SQLite database is not shared between connections: use a file "
                "(sqlite:///service.db, or one in a temporary folder for tests), or the "
                "in-memory back-end (InMemoryPersistence)"
            )
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_async_engine(parsed, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if driver == "postgresql+asyncpg":
        options.setdefault("connect_args", {}).setdefault("timeout", 10)
    return create_async_engine(parsed, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SqlAlchemyPersistence(injector.Module):
    """Installs the SQLAlchemy back-end: give it a database URL or an engine you made.

    Create facta's tables once with ``await create_schema(app.get(AsyncEngine))`` (or
    with your migrations: see ``facta.persistence.sqlalchemy.ddl``).
    """

    def __init__(self, url: str | None = None, *, engine: AsyncEngine | None = None) -> None:
        if (url is None) == (engine is None):
            raise ConfigurationError("SqlAlchemyPersistence needs either a url or an engine")
        self._url = url
        self._engine = engine
        self._created: AsyncEngine | None = None
        self._views: SqlViewTables | None = None

    def services(self, container: injector.Injector) -> list[_ViewTablesAtStart | _EngineLifetime]:
        """Creates, when the application starts, the tables of its projections' views
        (so that no request pays for it, or waits for a second connection to do it), and
        disposes, when it stops, of the engine this module created.

        An engine you passed in stays yours to dispose.
        """
        found: list[_ViewTablesAtStart | _EngineLifetime] = []
        if self._views is not None:
            found.append(_ViewTablesAtStart(self._views, container.get(HandlerRegistry)))
        if self._created is not None:
            found.append(_EngineLifetime(self._created))
        return found

    def configure(self, binder: injector.Binder) -> None:
        engine = self._engine
        if engine is None:
            engine = self._created = create_engine(str(self._url))
        flows: list[EventFlow] = []
        views = self._views = SqlViewTables(engine)  # this application's view tables

        def build(container: injector.Injector) -> UnitOfWork:
            if not flows:
                flows.append(container.get(EventFlow))
            return SqlAlchemyUnitOfWork(engine, flows[0], views)

        def outbox(container: injector.Injector) -> Outbox:
            return SqlAlchemyOutbox(engine, container.get(HandlerRegistry))

        def event_store(container: injector.Injector) -> EventStore:
            return SqlAlchemyEventStore(engine, container.get(HandlerRegistry))

        def projection_store(container: injector.Injector) -> ProjectionStore:
            return SqlAlchemyProjectionStore(engine, container.get(HandlerRegistry), views)

        binder.bind(AsyncEngine, to=engine)
        binder.bind(EventStore, to=FactoryProvider(event_store), scope=injector.SingletonScope)  # type: ignore[type-abstract]
        binder.bind(Outbox, to=FactoryProvider(outbox), scope=injector.SingletonScope)  # type: ignore[type-abstract]
        binder.bind(
            ProjectionStore,  # type: ignore[type-abstract]
            to=FactoryProvider(projection_store),
            scope=injector.SingletonScope,
        )
        binder.bind(UnitOfWork, to=FactoryProvider(build), scope=OperationScope)  # type: ignore[type-abstract]


class _ViewTablesAtStart:
    """Creates (or checks) the table of every view the application's projections keep."""

    def __init__(self, views: SqlViewTables, registry: HandlerRegistry) -> None:
        self._views = views
        self._registry = registry

    async def start(self) -> None:
        for projection in self._registry.projections:
            for view in projection.views:
                await self._views.table(view)

    async def stop(self) -> None:
        return None


class _EngineLifetime:
    """Closes the pooled connections of an engine when its application stops."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._engine.dispose()
