"""Fixtures shared by facta's own tests.

``backend`` is parametrized over every persistence back-end, so contract tests written once
prove each guarantee on each of them. Later back-ends add themselves to ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import injector
import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from facta import Application, ApplicationBuilder, InMemoryPersistence, InMemoryStore
from support.bank import HANDLERS, Journal
from support.mongo import mongo_database, mongo_server
from support.services import postgres_database, run_sync


@dataclass
class Backend:
    """One persistence back-end under test, over one fresh database per test.

    ``persistence()`` gives a module for a new application on that same database, so
    several applications can stand for several processes sharing one database.
    """

    name: str
    persistence: Callable[[], injector.Module]
    url: str | None = None
    engine: AsyncEngine | None = None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test session, with facta's tables."""
    with postgres_database() as url:
        run_sync(_create_schema(url))
        yield url


async def _create_schema(url: str) -> None:
    from facta.persistence.sqlalchemy import create_engine, create_schema

    engine = create_engine(url)
    await create_schema(engine)
    await engine.dispose()


@asynccontextmanager
async def sql_backend(name: str, url: str, fresh: bool) -> AsyncIterator[Backend]:
    """A SQLAlchemy back-end on ``url``: its tables created, or emptied when shared."""
    from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_engine, create_schema
    from facta.persistence.sqlalchemy.schema import metadata

    engine = create_engine(url, pool_size=5, max_overflow=70)
    try:
        if fresh:
            await create_schema(engine)
        else:
            async with engine.begin() as connection:
                for table in reversed(metadata.sorted_tables):
                    await connection.execute(table.delete())
                views = await connection.run_sync(
                    lambda sync: [
                        name
                        for name in inspect(sync).get_table_names()
                        if name.startswith("facta_view_")
                    ]
                )
                for name in views:  # created when first used, by view types of other tests
                    await connection.exec_driver_sql(f'DROP TABLE "{name}"')
        yield Backend(name, lambda: SqlAlchemyPersistence(engine=engine), url, engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """A MongoDB replica set for this test session (started here, or FACTA_TEST_MONGODB_URL),
    with one database of this session in its URL; dropped afterwards."""
    with mongo_server() as server, mongo_database(server) as url:
        yield url


@asynccontextmanager
async def mongo_backend(name: str, url: str) -> AsyncIterator[Backend]:
    """The MongoDB back-end on the session's database, emptied, through ``name``'s client
    (``mongo-pymongo``: PyMongo's ``AsyncMongoClient``; ``mongo-motor``: motor)."""
    from facta.persistence.mongo import MongoPersistence
    from support.mongo import empty_database, open_client

    async with open_client(name, url) as client:
        await empty_database(client, url)
        yield Backend(name, lambda: MongoPersistence(client=client), url)


async def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param.startswith("mongo-"):
        async with mongo_backend(request.param, request.getfixturevalue("mongo_url")) as backend:
            yield backend
    elif request.param == "memory":
        store = InMemoryStore()
        yield Backend("memory", lambda: InMemoryPersistence(store))
    elif request.param == "sqlite":
        async with sql_backend("sqlite", f"sqlite:///{tmp_path / 'facta.db'}", True) as backend:
            yield backend
    else:
        url = request.getfixturevalue("postgres_url")
        async with sql_backend("postgresql", url, False) as backend:
            yield backend


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mongo-pymongo", "mongo-motor"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each persistence back-end in turn, on a fresh (or emptied) database."""
    async for backend in _backend(request, tmp_path):
        yield backend


@pytest.fixture(params=["sqlite", "postgresql", "mongo-pymongo", "mongo-motor"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each back-end that stores events serialized (every one but the in-memory one)."""
    async for backend in _backend(request, tmp_path):
        yield backend


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[Backend]:
    """The PostgreSQL back-end alone, for what only a server has (connections to drop)."""
    async with sql_backend("postgresql", postgres_url, False) as backend:
        yield backend


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each SQL back-end in turn, with its URL and engine, for tests across processes."""
    async for backend in _backend(request, tmp_path):
        yield backend


@pytest.fixture(params=["mongo-pymongo", "mongo-motor"])
async def mongo(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The MongoDB back-end through each client in turn, for what only MongoDB has."""
    async for backend in _backend(request, tmp_path):
        yield backend


def bank_builder(backend: Backend, journal: Journal | None = None) -> ApplicationBuilder:
    """The banking test application on ``backend``, recording into ``journal``."""
    journal = journal if journal is not None else Journal()

    def bind_journal(binder: injector.Binder) -> None:
        binder.bind(Journal, to=journal)

    return (
        ApplicationBuilder()
        .add_handler(*HANDLERS)
        .add_module(bind_journal)
        .use_persistence(backend.persistence())
    )


@pytest.fixture
def journal() -> Journal:
    """What the event handlers of ``bank`` saw."""
    return Journal()


@pytest.fixture
def bank(backend: Backend, journal: Journal) -> Application:
    """The banking application on each back-end."""
    return bank_builder(backend, journal).build()
