"""Commits on MongoDB are whole or nothing, under write conflicts and failed commands.

Two transactions that write one document conflict (MongoDB's ``WriteConflict``, labelled
``TransientTransactionError``): the commit that met it is run again after a backoff, and
then fails cleanly with ``ConcurrencyError`` (the other one committed) or commits (the
other one rolled back). Fail points (``enableTestCommands``) break commands on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, cast

import pytest
from pymongo.errors import OperationFailure

from conftest import Backend, bank_builder
from facta import Application, ConcurrencyError, PersistenceError, UnitOfWork
from facta.persistence.mongo import MongoPersistence, MongoStore, MongoUnitOfWork
from facta.persistence.mongo.store import commit_transaction
from support.bank import Account, Journal, MoneyDeposited, OpenAccount
from support.services import unavailable


def store_of(backend: Backend) -> MongoStore:
    return cast(MongoPersistence, backend.persistence()).store()


@pytest.fixture
async def bank(mongo: Backend, journal: Journal) -> Application:
    app = bank_builder(mongo, journal).build()
    for owner in ("ann", "bob"):
        await app.mediator.send(OpenAccount(account_id=owner, owner=owner))
    return app


async def balances(app: Application) -> tuple[int, int]:
    async with app.operation():
        accounts = app.get(UnitOfWork).repository(Account)
        return (await accounts.get("ann")).balance, (await accounts.get("bob")).balance


async def deposits(store: MongoStore) -> int:
    return await store.outbox.count_documents({"event_type": "MoneyDeposited"})


@asynccontextmanager
async def foreign_write(store: MongoStore, balance: int) -> AsyncIterator[Any]:
    """Another transaction that has written ann (version 2) and holds it uncommitted."""
    session = await store.begin()
    try:
        await store.aggregates.update_one(
            {"type": "Account", "id": "ann"},
            {"$set": {"version": 2, "state.balance": balance}},
            session=session,
        )
        yield session
    finally:
        await session.end_session()  # aborts it unless it was committed


async def deposit_to_both(app: Application) -> MongoUnitOfWork:
    uow = app.get(UnitOfWork)
    assert isinstance(uow, MongoUnitOfWork)
    accounts = uow.repository(Account)
    (await accounts.get("ann")).deposit(5)
    (await accounts.get("bob")).deposit(5)
    return uow


async def test_a_commit_meeting_a_committed_write_fails_with_concurrency_error_writing_nothing(
    bank: Application, mongo: Backend, journal: Journal
) -> None:
    store = store_of(mongo)
    seen_before = len(journal.entries)
    async with foreign_write(store, balance=100) as other, bank.operation():
        uow = await deposit_to_both(bank)
        commit = asyncio.ensure_future(uow.commit())
        await asyncio.sleep(0.3)
        assert not commit.done()  # in conflict with the open transaction: retrying
        await commit_transaction(other)
        with pytest.raises(ConcurrencyError) as raised:
            await commit

    assert (raised.value.expected_version, raised.value.actual_version) == (1, 2)
    assert await balances(bank) == (100, 0)  # bob's half of the commit was not written
    assert await deposits(store) == 0
    assert len(journal.entries) == seen_before


async def test_a_commit_that_met_a_write_rolled_back_is_retried_and_commits(
    bank: Application, mongo: Backend, journal: Journal
) -> None:
    store = store_of(mongo)
    async with foreign_write(store, balance=100) as other, bank.operation():
        uow = await deposit_to_both(bank)
        commit = asyncio.ensure_future(uow.commit())
        await asyncio.sleep(0.3)
        assert not commit.done()
        await other.abort_transaction()
        await commit

    assert await balances(bank) == (5, 5)
    assert await deposits(store) == 2
    assert [type(event) for event in journal.of("notifier")] == [MoneyDeposited] * 2


async def test_a_conflict_that_outlasts_the_timeout_ends_in_concurrency_error(
    bank: Application, mongo: Backend
) -> None:
    store = store_of(mongo)
    impatient = bank_builder(
        Backend(
            "impatient",
            lambda: MongoPersistence(
                client=store.client, conflict_timeout=timedelta(milliseconds=200)
            ),
        )
    ).build()
    async with foreign_write(store, balance=100), impatient.operation():
        uow = await deposit_to_both(impatient)
        with pytest.raises(ConcurrencyError, match="Account 'ann'"):
            await asyncio.wait_for(uow.commit(), timeout=5)

    assert await balances(bank) == (0, 0)
    assert await deposits(store) == 0


async def test_writes_made_in_the_unit_of_works_session_commit_with_it(
    bank: Application, mongo: Backend
) -> None:
    store = store_of(mongo)
    summaries = store.collection("balances")
    async with bank.operation():
        uow = await deposit_to_both(bank)
        session = await uow.session()
        await summaries.insert_one({"_id": "ann", "balance": 5}, session=session)
        assert await summaries.count_documents({}) == 0  # not before the commit
        await uow.commit()

    assert await summaries.find_one({"_id": "ann"}) == {"_id": "ann", "balance": 5}
    assert await balances(bank) == (5, 5)


async def test_writes_made_in_the_session_of_a_failed_commit_are_not_kept(
    bank: Application, mongo: Backend, journal: Journal
) -> None:
    store = store_of(mongo)
    summaries = store.collection("balances")
    seen_before = len(journal.entries)
    async with bank.operation():
        uow = await deposit_to_both(bank)
        await summaries.insert_one({"_id": "ann", "balance": 5}, session=await uow.session())
        async with foreign_write(store, balance=100) as other:
            await commit_transaction(other)
        with pytest.raises(ConcurrencyError):
            await uow.commit()

    assert await summaries.count_documents({}) == 0
    assert await balances(bank) == (100, 0)
    assert len(journal.entries) == seen_before


async def test_a_session_that_is_never_committed_is_rolled_back(
    bank: Application, mongo: Backend
) -> None:
    summaries = store_of(mongo).collection("balances")
    async with bank.operation():
        uow = await deposit_to_both(bank)
        await summaries.insert_one({"_id": "ann", "balance": 5}, session=await uow.session())

    assert await summaries.count_documents({}) == 0
    assert await balances(bank) == (0, 0)


@asynccontextmanager
async def fail_point(
    store: MongoStore, data: dict[str, Any], times: int = 1
) -> AsyncIterator[None]:
    """Make the server fail the next ``times`` commands ``data`` names."""
    admin = store.client.get_database("admin")
    try:
        before = await admin.command(
            {"configureFailPoint": "failCommand", "mode": {"times": times}, "data": data}
        )
    except OperationFailure as error:
        unavailable(
            "a MongoDB with test commands (mongod --setParameter enableTestCommands=1)",
            (error.details or {}).get("errmsg", error),
        )
    try:
        yield
    finally:
        after = await admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    assert after["count"] - before["count"] == times, "the fail point was not reached"


async def test_a_commit_whose_outbox_write_fails_writes_nothing_and_dispatches_nothing(
    bank: Application, mongo: Backend, journal: Journal
) -> None:
    store = store_of(mongo)
    seen_before = len(journal.entries)
    async with fail_point(store, {"failCommands": ["insert"], "errorCode": 2}), bank.operation():
        uow = await deposit_to_both(bank)
        with pytest.raises(PersistenceError, match="rolled back"):
            await uow.commit()

    assert await balances(bank) == (0, 0)
    assert await deposits(store) == 0
    assert len(journal.entries) == seen_before


async def test_a_commit_whose_connection_dropped_is_run_again_and_stored_once(
    bank: Application, mongo: Backend, journal: Journal
) -> None:
    store = store_of(mongo)
    async with fail_point(store, {"failCommands": ["insert"], "closeConnection": True}):
        async with bank.operation():
            await (await deposit_to_both(bank)).commit()

    assert await balances(bank) == (5, 5)
    assert await deposits(store) == 2
    assert len(journal.of("notifier")) == 2


async def test_a_commit_whose_acknowledgement_was_lost_is_stored_once(
    bank: Application, mongo: Backend, journal: Journal
) -> None:
    store = store_of(mongo)
    data = {"failCommands": ["commitTransaction"], "closeConnection": True}
    async with fail_point(store, data), bank.operation():
        await (await deposit_to_both(bank)).commit()

    assert await balances(bank) == (5, 5)
    assert await deposits(store) == 2
    assert len(journal.of("notifier")) == 2
