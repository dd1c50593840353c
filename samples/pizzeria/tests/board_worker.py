"""A pizzeria process of the kitchen board's crash tests (``test_board_crashes``).

``python board_worker.py work URL N``: places orders, cooks them and marks them ready or
cancels them, on the database at URL, and freezes right after its N-th commit, before
anything of it is dispatched: it prints ``COMMITTED`` then, for the test to SIGKILL it.

``python board_worker.py relay URL``: runs the outbox relay until nothing is left to
deliver, printing ``APPLYING`` each time the kitchen board is given an event (so that a
test can SIGKILL it half-way), then ``DRAINED``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import timedelta

from facta import Application, DomainError, DomainEvent, Outbox, OutboxRelay, RetryPolicy
from facta.persistence import DeliverySettings, EventFlow, OutboxEntry
from pizzeria.app import close_database, pizzeria_builder, prepare_database
from pizzeria.application.commands import (
    CancelOrder,
    LineRequest,
    MarkReady,
    PlaceOrder,
    StartCooking,
)
from pizzeria.application.projections import KitchenBoardProjection

AT_ONCE = DeliverySettings(
    grace=timedelta(0),
    lease=timedelta(seconds=2),
    retry=RetryPolicy(first_delay=timedelta(0)),
)
"""The relay takes over at once, retries at once, and a dead relay's lease runs out soon."""

DRAIN_SECONDS = 120.0


async def work(app: Application, freeze_after: int) -> None:
    commits = 0
    dispatch = EventFlow.dispatch

    async def dispatch_or_freeze(self: EventFlow, entries: Sequence[OutboxEntry]) -> None:
        nonlocal commits
        commits += 1
        if commits == freeze_after:
            print("COMMITTED", flush=True)
            time.sleep(60)  # the test kills us here: committed, never dispatched
        await dispatch(self, entries)

    EventFlow.dispatch = dispatch_or_freeze  # type: ignore[method-assign]
    for number in range(10_000):
        order_id = await app.mediator.send(
            PlaceOrder(
                phone=f"+39081555{number % 100:04}",
                name="Crash Tester",
                address="Via Roma 12, Napoli",
                lines=(LineRequest(pizza="margherita"),),
            )
        )
        last = (
            MarkReady(order_id=order_id)
            if number % 2
            else CancelOrder(order_id=order_id, reason="crash test")
        )
        for command in (StartCooking(order_id=order_id), last):
            try:
                await app.mediator.send(command)
            except DomainError:  # a full kitchen, whose slots a crash left taken
                pass


async def relay(app: Application) -> None:
    handle = KitchenBoardProjection.handle

    async def announced(self: KitchenBoardProjection, event: DomainEvent) -> None:
        print("APPLYING", flush=True)
        await handle(self, event)

    KitchenBoardProjection.handle = announced  # type: ignore[method-assign]
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    worker = OutboxRelay(outbox, app.mediator, AT_ONCE)
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        if not await worker.drain() and (await outbox.stats()).pending == 0:
            break
        await asyncio.sleep(0.05)  # events another relay holds, or that wait for them
    print("DRAINED", flush=True)


async def main(mode: str, url: str, *args: str) -> None:
    app = pizzeria_builder(url).delivery(AT_ONCE).build()
    await prepare_database(app)
    try:
        if mode == "work":
            await work(app, int(args[0]))
        else:
            await relay(app)
    finally:
        await close_database(app)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
