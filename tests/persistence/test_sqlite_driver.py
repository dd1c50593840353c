"""facta's SQLite driver runs sqlite3 on the event loop's thread; these tests try to make
it block the loop, deadlock, or half-write.

A write lock held by another connection (in another process, or by a coroutine of the
same loop between two awaits) makes a writer wait with ``asyncio.sleep``, so the loop
keeps serving; a lock held past the engine's timeout is a ``PersistenceError`` with
nothing written.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from facta import Application, ApplicationBuilder, ConcurrencyError, PersistenceError, UnitOfWork
from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_engine, create_schema
from support.bank import Account, Deposit, DepositHandler, OpenAccount, OpenAccountHandler


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "bank.db"


@pytest.fixture
async def engine(database: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite:///{database}", connect_args={"timeout": 2})
    await create_schema(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def bank(engine: AsyncEngine) -> Application:
    app = (
        ApplicationBuilder()
        .add_handler(OpenAccountHandler, DepositHandler)
        .use_persistence(SqlAlchemyPersistence(engine=engine))
        .build()
    )
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    return app


def hold_write_lock(database: Path) -> sqlite3.Connection:
    """Another connection (as another process would) holding SQLite's write lock."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def balance(app: Application) -> int:
    async with app.operation():
        return (await app.get(UnitOfWork).repository(Account).get("ann")).balance


def test_sqlite_urls_get_facta_s_driver_unless_another_is_named(tmp_path: Path) -> None:
    assert create_engine(f"sqlite:///{tmp_path / 'a.db'}").dialect.driver == "facta"
    named = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    assert named.dialect.driver == "aiosqlite"


async def test_a_writer_waiting_for_the_lock_leaves_the_event_loop_serving(
    bank: Application, database: Path
) -> None:
    holder = hold_write_lock(database)
    command = asyncio.create_task(bank.mediator.send(Deposit(account_id="ann", amount=5)))
    ticks = 0
    for _ in range(20):
        await asyncio.sleep(0.005)
        ticks += 1
    assert not command.done()  # waiting for the lock...
    assert ticks == 20  # ...while the loop ran everything else
    holder.rollback()
    holder.close()
    await asyncio.wait_for(command, timeout=5)
    assert await balance(bank) == 5


async def test_a_lock_held_past_the_timeout_fails_the_command_and_writes_nothing(
    bank: Application, database: Path
) -> None:
    holder = hold_write_lock(database)
    try:
        with pytest.raises(PersistenceError, match="locked"):
            await bank.mediator.send(Deposit(account_id="ann", amount=5))
    finally:
        holder.rollback()
        holder.close()
    assert await balance(bank) == 0


async def test_a_transaction_open_across_an_await_does_not_deadlock_another_writer(
    engine: AsyncEngine, bank: Application
) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("CREATE TABLE notes (body TEXT)"))
        await connection.commit()
        await connection.execute(text("INSERT INTO notes VALUES ('first')"))  # holds the lock
        command = asyncio.create_task(bank.mediator.send(Deposit(account_id="ann", amount=7)))
        await asyncio.sleep(0.05)  # the command waits, without stopping this coroutine
        assert not command.done()
        await connection.commit()
    await asyncio.wait_for(command, timeout=5)
    assert await balance(bank) == 7


async def test_concurrent_commands_on_one_loop_wait_for_the_lock_in_turn(
    bank: Application,
) -> None:
    outcomes = await asyncio.gather(
        *(bank.mediator.send(Deposit(account_id="ann", amount=1)) for _ in range(30)),
        return_exceptions=True,
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    # a deposit may lose the version race to another, never fail waiting for the lock
    assert all(isinstance(failure, ConcurrencyError) for failure in failures), failures
    assert await balance(bank) == 30 - len(failures) > 0
