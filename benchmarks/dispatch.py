"""How much facta's mediator and in-memory unit of work add per command.

Run: ``.venv/bin/python benchmarks/dispatch.py`` (``--quick`` for a short run).

Prints, for a no-op command handler, the time of ``Mediator.send`` against a plain
``await handler.handle(command)`` (the raw baseline), as microseconds and a ratio; then
the cost of recording one event on an aggregate and committing it in memory, directly on
a unit of work and through ``send``. Each figure is the best of several rounds, to keep
the noise of a shared machine out. Targets (issue: the kernel): overhead <= 10 us per
command, record + commit <= 20 us.
"""

from __future__ import annotations

import argparse
import asyncio

from _timing import best_of
from facta import (
    AggregateRoot,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DomainEvent,
    UnitOfWork,
)


class Ping(Command[None]):
    """A command with no fields."""


class PingHandler(CommandHandler[Ping, None]):
    async def handle(self, command: Ping) -> None:
        return None


class Incremented(DomainEvent):
    by: int


class Counter(AggregateRoot):
    value: int = 0

    def increment(self, by: int) -> None:
        self.value += by
        self.record(Incremented(by=by))


class Increment(Command[None]):
    counter_id: str


class IncrementHandler(CommandHandler[Increment, None]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.counters = uow.repository(Counter)

    async def handle(self, command: Increment) -> None:
        (await self.counters.get(command.counter_id)).increment(1)


async def main(quick: bool) -> None:
    rounds, iterations = (3, 2_000) if quick else (7, 20_000)
    app = ApplicationBuilder().add_handler(PingHandler, IncrementHandler).build()
    handler, ping = PingHandler(), Ping()

    raw = await best_of(rounds, iterations, lambda: handler.handle(ping))
    sent = await best_of(rounds, iterations, lambda: app.mediator.send(ping))

    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.repository(Counter).add(Counter(id="c"))
        await uow.commit()

    async def record_and_commit() -> None:
        async with app.operation():
            unit = app.get(UnitOfWork)
            (await unit.repository(Counter).get("c")).increment(1)
            await unit.commit()

    committed = await best_of(rounds, iterations // 2, record_and_commit)
    command = Increment(counter_id="c")
    through_send = await best_of(rounds, iterations // 2, lambda: app.mediator.send(command))

    print(f"{'measure':<52}{'us/op':>10}{'ratio':>10}")
    print(f"{'plain await of a no-op handler (baseline)':<52}{raw:>10.2f}{1:>10.2f}")
    print(f"{'Mediator.send of the same handler':<52}{sent:>10.2f}{sent / raw:>10.2f}")
    print(f"{'  overhead per command (target <= 10 us)':<52}{sent - raw:>10.2f}")
    print(f"{'load + record one event + commit, in memory':<52}{committed:>10.2f}")
    print(f"{'  (target <= 20 us)':<52}")
    print(f"{'the same as a command through Mediator.send':<52}{through_send:>10.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    asyncio.run(main(parser.parse_args().quick))
