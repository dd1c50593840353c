"""The guarantees attacked on the real databases, across processes where it matters.

SQLite (a file) and PostgreSQL (the server on 127.0.0.1:5432) each face: SIGKILL between
commit and dispatch, two relay worker processes, and commits that fail half-way (a
constraint violation, a dropped connection). Fifty writers of one version per round run on
every back-end, in the unit of work's contract tests.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import Backend, bank_builder
from facta import (
    Application,
    OutboxRelay,
    PersistenceError,
    UnitOfWork,
)
from facta.persistence import EventFlow, OutboxEntry
from facta.persistence.sqlalchemy import SqlAlchemyUnitOfWork
from facta.persistence.sqlalchemy.schema import aggregates, outbox
from support.bank import Account, Deposit, Journal, MoneyDeposited, OpenAccount
from support.tally import TimedDeposits, tally_builder

TESTS = Path(__file__).resolve().parents[1]


def worker(module: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
    """Start ``python -m support.workers.MODULE ARGS`` with the tests on its path."""
    return subprocess.Popen(
        [sys.executable, "-m", f"support.workers.{module}", *args],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(TESTS), **env},
    )


async def count(engine: AsyncEngine, statement: object) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(statement) or 0)  # type: ignore[arg-type]


def deposits_in_outbox() -> object:
    return select(func.count()).select_from(outbox).where(outbox.c.event_type == "MoneyDeposited")


def tallies() -> object:
    return (
        select(func.count()).select_from(aggregates).where(aggregates.c.aggregate_type == "Tally")
    )


async def balance(app: Application) -> tuple[int, int]:
    async with app.operation():
        ann = await app.get(UnitOfWork).repository(Account).get("ann")
    return ann.balance, ann.version


async def test_events_committed_before_a_sigkill_are_all_handled_after_restart(
    sql: Backend,
) -> None:
    assert sql.url is not None and sql.engine is not None
    app = tally_builder(sql.persistence()).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    rng = random.Random(3)

    for _ in range(6):
        process = worker("crash_after_commit", sql.url, str(rng.randint(1, 4)))
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=60)
        assert line == b"COMMITTED\n"
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    undelivered = (await app.get(OutboxRelay)._outbox.stats()).pending
    assert undelivered >= 6

    await app.get(OutboxRelay).drain()

    committed = await count(sql.engine, deposits_in_outbox())
    assert await count(sql.engine, tallies()) == committed
    assert (await app.get(OutboxRelay)._outbox.stats()).pending == 0
    assert (await balance(app))[0] == committed


async def test_a_commit_that_violates_a_constraint_writes_nothing_and_dispatches_nothing(
    backend: Backend,
) -> None:
    journal = Journal()
    app = bank_builder(backend, journal).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    await app.mediator.send(Deposit(account_id="ann", amount=1))
    taken = journal.of("notifier")[0].event_id
    seen_before = len(journal.entries)

    async with app.operation():
        uow = app.get(UnitOfWork)
        ann = await uow.repository(Account).get("ann")
        ann.balance += 5
        ann.record(MoneyDeposited(amount=5, event_id=taken))  # the outbox holds this id
        with pytest.raises(PersistenceError):
            await uow.commit()

    assert await balance(app) == (1, 2)
    assert len(journal.entries) == seen_before


async def test_a_commit_whose_connection_dropped_writes_nothing_and_dispatches_nothing(
    postgres: Backend,
) -> None:
    backend = postgres
    assert backend.engine is not None
    journal = Journal()
    app = bank_builder(backend, journal).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    seen_before = len(journal.entries)

    async with app.operation():
        uow = app.get(UnitOfWork)
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        (await uow.repository(Account).get("ann")).deposit(5)
        connection = await uow.connection()
        pid = await connection.scalar(text("select pg_backend_pid()"))
        async with backend.engine.connect() as admin:
            await admin.execute(text(f"select pg_terminate_backend({int(pid)})"))
        with pytest.raises(PersistenceError):
            await uow.commit()

    assert await balance(app) == (0, 1)
    assert await count(backend.engine, deposits_in_outbox()) == 0
    assert len(journal.entries) == seen_before


async def test_two_relay_worker_processes_never_run_a_handler_twice_for_one_event(
    postgres: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = postgres  # SQLite runs one relay worker
    assert sql.url is not None and sql.engine is not None
    app = tally_builder(sql.persistence(), TimedDeposits).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    async def crashed(self: EventFlow, entries: list[OutboxEntry]) -> None:
        return None  # leave every event to the relays

    monkeypatch.setattr(EventFlow, "dispatch", crashed)
    backlog = 300
    for _ in range(backlog):
        await app.mediator.send(Deposit(account_id="ann", amount=1))
    monkeypatch.undo()
    timing = tmp_path / "timing.log"

    workers = [worker("relay_worker", sql.url, FACTA_TIMING_LOG=str(timing)) for _ in range(2)]
    outputs = [await asyncio.to_thread(process.communicate, None, 120) for process in workers]

    assert all(process.returncode == 0 for process in workers), outputs
    runs = [line.split() for line in timing.read_text().splitlines()]
    assert len(runs) == backlog
    assert len({run[0] for run in runs}) == backlog  # each event's handler ran exactly once
    assert await count(sql.engine, tallies()) == backlog
