"""The guarantees attacked on a real MongoDB, across processes where it matters.

The SQL guarantee tests, on a one-node replica set through each client (PyMongo's
``AsyncMongoClient`` and motor): SIGKILL between commit and dispatch, two relay worker
processes. (Fifty writers per round and the constraint violation run on every back-end,
in the contract tests; the other failed-commit tests are in ``test_mongo_transactions``.)
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from conftest import Backend
from facta import Application, OutboxRelay, UnitOfWork
from facta.persistence import EventFlow, OutboxEntry
from facta.persistence.mongo import MongoPersistence, MongoStore
from support.bank import Account, Deposit, OpenAccount
from support.tally import TimedDeposits, tally_builder

TESTS = Path(__file__).resolve().parents[1]


def worker(module: str, *args: str, errors: bool = False, **env: str) -> subprocess.Popen[bytes]:
    """Start ``python -m support.workers.MODULE ARGS`` with the tests on its path (and its
    standard error piped, to be read with ``communicate()``, if ``errors``)."""
    return subprocess.Popen(
        [sys.executable, "-m", f"support.workers.{module}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if errors else None,
        env={**os.environ, "PYTHONPATH": str(TESTS), **env},
    )


def store_of(backend: Backend) -> MongoStore:
    return cast(MongoPersistence, backend.persistence()).store()


async def deposits_in_outbox(store: MongoStore) -> int:
    return await store.outbox.count_documents({"event_type": "MoneyDeposited"})


async def tallies(store: MongoStore) -> int:
    return await store.aggregates.count_documents({"type": "Tally"})


async def balance(app: Application) -> tuple[int, int]:
    async with app.operation():
        ann = await app.get(UnitOfWork).repository(Account).get("ann")
    return ann.balance, ann.version


async def test_events_committed_before_a_sigkill_are_all_handled_after_restart(
    mongo: Backend,
) -> None:
    assert mongo.url is not None
    store = store_of(mongo)
    app = tally_builder(mongo.persistence()).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    rng = random.Random(3)

    for _ in range(4):
        process = worker("mongo_crash_after_commit", mongo.url, str(rng.randint(1, 4)), mongo.name)
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=60)
        assert line == b"COMMITTED\n"
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert (await app.outbox.stats()).pending >= 4

    await app.get(OutboxRelay).drain()

    committed = await deposits_in_outbox(store)
    assert await tallies(store) == committed
    assert (await app.outbox.stats()).pending == 0
    assert (await balance(app))[0] == committed


async def test_two_relay_worker_processes_never_run_a_handler_twice_for_one_event(
    mongo: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mongo.url is not None
    app = tally_builder(mongo.persistence(), TimedDeposits).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    async def crashed(self: EventFlow, entries: list[OutboxEntry]) -> None:
        return None  # leave every event to the relays

    monkeypatch.setattr(EventFlow, "dispatch", crashed)
    backlog = 300
    for _ in range(backlog):
        await app.mediator.send(Deposit(account_id="ann", amount=1))
    monkeypatch.undo()
    timing = tmp_path / "timing.log"

    workers = [
        worker(
            "mongo_relay_worker", mongo.url, mongo.name, errors=True, FACTA_TIMING_LOG=str(timing)
        )
        for _ in range(2)
    ]
    outputs = [await asyncio.to_thread(process.communicate, None, 120) for process in workers]

    assert all(process.returncode == 0 for process in workers), outputs
    runs = [line.split() for line in timing.read_text().splitlines()]
    assert len(runs) == backlog
    assert len({run[0] for run in runs}) == backlog  # each event's handler ran exactly once
    assert await tallies(store_of(mongo)) == backlog
