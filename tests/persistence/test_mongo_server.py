"""Setting up the MongoDB back-end: the server it needs, the indexes, the clients it takes.

A standalone server cannot run multi-document transactions: it is refused when the
application starts, with an error that says what to do, unless transactions are turned
off explicitly, which logs the guarantees that are then lost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient
from pymongo.errors import InvalidOperation

from conftest import Backend, bank_builder
from facta import Application, ConcurrencyError, ConfigurationError, UnitOfWork
from facta.persistence.mongo import (
    LOST_GUARANTEES,
    MongoPersistence,
    MongoStore,
    MongoUnitOfWork,
    ensure_indexes,
)
from support.bank import Account, Deposit, OpenAccount
from support.mongo import mongo_server, open_client, with_database


@pytest.fixture(scope="module")
def standalone_url() -> Iterator[str]:
    """A second mongod of this module, started without --replSet."""
    with mongo_server(replica_set=False) as url:
        yield url


@pytest.fixture(params=["mongo-pymongo", "mongo-motor"])
async def standalone(request: pytest.FixtureRequest, standalone_url: str) -> AsyncIterator[Any]:
    """A client of each kind on the standalone server's database ``facta``."""
    async with open_client(request.param, with_database(standalone_url, "facta")) as client:
        await client.drop_database("facta")
        yield client


def app_on(persistence: MongoPersistence) -> Application:
    return bank_builder(Backend("mongo", lambda: persistence)).build()


async def test_a_standalone_server_is_refused_when_the_application_starts(standalone: Any) -> None:
    app = app_on(MongoPersistence(client=standalone))

    with pytest.raises(ConfigurationError, match="standalone") as raised:
        await app.start()

    message = str(raised.value)
    assert "replica set" in message and "--replSet rs0" in message
    assert "transactions=False" in message and "state and events" in message


async def test_a_standalone_server_refuses_the_first_command_too(standalone: Any) -> None:
    app = app_on(MongoPersistence(client=standalone))

    with pytest.raises(ConfigurationError, match="standalone"):
        await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    assert await standalone.get_database("facta").list_collection_names() == []


async def test_without_transactions_a_standalone_server_is_used_with_a_warning(
    standalone: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="facta.persistence.mongo"):
        app = app_on(MongoPersistence(client=standalone, transactions=False))
    (record,) = [r for r in caplog.records if r.name == "facta.persistence.mongo"]
    assert record.levelno == logging.WARNING
    assert "transactions=False" in record.getMessage()
    assert LOST_GUARANTEES in record.getMessage()

    async with app:
        await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
        await app.mediator.send(Deposit(account_id="ann", amount=3))

        async def write() -> None:  # one aggregate's version check still holds
            async with app.operation():
                uow = app.get(UnitOfWork)
                (await uow.repository(Account).get("ann")).deposit(1)
                await asyncio.sleep(0.05)
                await uow.commit()

        results = await asyncio.gather(write(), write(), return_exceptions=True)
        assert sorted(type(result).__name__ for result in results) == [
            "ConcurrencyError",
            "NoneType",
        ]
        async with app.operation():
            uow = app.get(UnitOfWork)
            assert isinstance(uow, MongoUnitOfWork) and await uow.session() is None
            assert (await uow.repository(Account).get("ann")).balance == 4
    assert isinstance(results[0] or results[1], ConcurrencyError)


async def test_without_create_indexes_a_database_lacking_them_is_refused_until_made(
    mongo_url: str,
) -> None:
    url = with_database(mongo_url, f"facta_bare_{uuid.uuid4().hex[:8]}")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        app = app_on(MongoPersistence(client=client, create_indexes=False))
        with pytest.raises(ConfigurationError, match=r"facta_aggregates\.facta_aggregates_key"):
            await app.start()

        await ensure_indexes(app.get(MongoStore))

        async with app:
            await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    finally:
        await client.drop_database(client.get_default_database().name)
        await client.close()


def test_a_synchronous_client_is_refused(mongo_url: str) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url, connect=False)
    try:
        with pytest.raises(ConfigurationError, match=r"asyncio client.*not pymongo"):
            app_on(MongoPersistence(client=client, database="facta"))  # type: ignore[arg-type]
    finally:
        client.close()


def test_a_url_or_a_client_and_a_database_name_are_needed(mongo_url: str) -> None:
    with pytest.raises(ConfigurationError, match="either a url or a client"):
        MongoPersistence()
    with pytest.raises(ConfigurationError, match="name the MongoDB database"):
        MongoPersistence(with_database(mongo_url, "")).store()
    with pytest.raises(ConfigurationError, match="not a usable MongoDB URL"):
        MongoPersistence("postgresql://localhost/shop").store()


async def test_an_application_on_a_url_closes_the_client_it_made_when_it_stops(
    mongo_url: str,
) -> None:
    app = app_on(MongoPersistence(mongo_url))
    store = app.get(MongoStore)
    assert store.driver == "pymongo"

    async with app:
        await app.mediator.send(OpenAccount(account_id=uuid.uuid4().hex, owner="ann"))

    with pytest.raises(InvalidOperation):
        await store.aggregates.find_one({})
    assert store.database_name in mongo_url


async def test_a_client_of_yours_stays_open_when_the_application_stops(mongo: Backend) -> None:
    app = bank_builder(mongo).build()
    async with app:
        await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    store = app.get(MongoStore)

    assert store.driver == mongo.name.removeprefix("mongo-")
    assert await store.aggregates.count_documents({"type": "Account"}) == 1
