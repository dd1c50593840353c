"""The asynchronous kitchen board survives crashes, on real databases and real processes:
a process SIGKILLed between a commit and the board's projection, a relay SIGKILLed
half-way and started again, and two relays at once. Afterwards the board shows exactly
what the aggregates say: the kitchen's slots, the confirmed orders in the queue, and each
ticket's history as the order's (each event applied once, in order).

The processes are ``board_worker.py``, started with the interpreter running the tests.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from facta import Application, UnitOfWork
from pizzeria.app import close_database, create_app, prepare_database, seed_menu
from pizzeria.application.queries import GetKitchen
from pizzeria.application.views import OrderSummary
from pizzeria.domain.kitchen import KITCHEN_ID, Kitchen
from pizzeria.domain.order import OrderStatus

WORKER = Path(__file__).with_name("board_worker.py")
CRASHES = (3, 7, 2, 5)
"""After which commit each working process is killed."""


def start(*args: str) -> subprocess.Popen[bytes]:
    """Start ``board_worker.py`` with ``args``."""
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE)


async def read_line(process: subprocess.Popen[bytes]) -> bytes:
    assert process.stdout is not None
    return await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=120)


async def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(process.wait)
    assert process.stdout is not None
    process.stdout.close()


async def finish(process: subprocess.Popen[bytes]) -> list[bytes]:
    """Wait for a relay process to end; its output lines."""
    output, _ = await asyncio.to_thread(process.communicate, None, 180)
    assert process.returncode == 0
    return output.splitlines()


@pytest.fixture
async def pizzeria_db(database_url: str) -> AsyncIterator[Application]:
    """An application on the test's database, its menu on sale, for the test to look."""
    app = create_app(database_url)
    await prepare_database(app)
    try:
        await seed_menu(app)
        yield app
    finally:
        await close_database(app)


async def crash_while_working(url: str) -> None:
    """Kill working processes right after a commit, before anything was dispatched."""
    for commits in CRASHES:
        process = start("work", url, str(commits))
        assert await read_line(process) == b"COMMITTED\n"
        await kill(process)


async def assert_the_board_is_right(app: Application) -> None:
    kitchen_view = await app.mediator.query(GetKitchen())
    async with app.operation("the test looks at the truth"):
        uow = app.get(UnitOfWork)  # type: ignore[type-abstract]
        kitchen = await uow.repository(Kitchen).get(KITCHEN_ID)
        summaries = uow.views(OrderSummary)  # inline: committed with the orders
        confirmed = await summaries.find(
            {"status": OrderStatus.CONFIRMED}, order_by=("placed_at", "id")
        )
        tickets = (*kitchen_view.cooking, *kitchen_view.queue)
        histories = {ticket.id: (await summaries.require(ticket.id)).history for ticket in tickets}

    assert (kitchen_view.capacity, kitchen_view.free_slots) == (
        kitchen.capacity,
        kitchen.free_slots,
    )
    assert [ticket.id for ticket in kitchen_view.cooking] == kitchen.cooking
    assert [ticket.id for ticket in kitchen_view.queue] == [order.id for order in confirmed]
    assert {ticket.id: ticket.history for ticket in tickets} == histories


@pytest.mark.backends("sqlite", "postgresql", "mongodb")
async def test_the_board_is_right_after_sigkills_between_commit_and_projection(
    pizzeria_db: Application, database_url: str
) -> None:
    await crash_while_working(database_url)

    await finish(start("relay", database_url))

    await assert_the_board_is_right(pizzeria_db)


@pytest.mark.backends("sqlite", "postgresql", "mongodb")
async def test_the_board_is_right_after_its_relay_is_killed_and_started_again(
    pizzeria_db: Application, database_url: str
) -> None:
    await crash_while_working(database_url)
    first = start("relay", database_url)
    for _ in range(3):
        assert await read_line(first) == b"APPLYING\n"

    await kill(first)
    await finish(start("relay", database_url))

    await assert_the_board_is_right(pizzeria_db)


@pytest.mark.backends("postgresql", "mongodb")  # SQLite runs one relay at a time
async def test_the_board_is_right_after_two_relays_delivered_at_once(
    pizzeria_db: Application, database_url: str
) -> None:
    await crash_while_working(database_url)

    relays = [start("relay", database_url) for _ in range(2)]
    outputs = [await finish(process) for process in relays]

    assert all(lines[-1] == b"DRAINED" for lines in outputs)
    await assert_the_board_is_right(pizzeria_db)
