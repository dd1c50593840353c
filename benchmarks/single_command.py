"""One command, end to end, through facta and through the ``eventsourcing`` library.

The ``eventsourcing`` library is the benchmark's peer, installed in the benchmarks' own
environment, never in facta's dependencies:

    python3 -m venv benchmarks/.venv
    benchmarks/.venv/bin/pip install -e '.[sqlalchemy,mongo]' 'eventsourcing[postgres]'

then run ``benchmarks/.venv/bin/python benchmarks/single_command.py`` (``--quick`` for a
short run, about a minute; a full run takes 3-4 minutes; ``--only sqlite|postgresql``).
PostgreSQL is found at ``postgresql://postgres@127.0.0.1:5432/postgres`` (or
``$FACTA_BENCH_POSTGRES_URL``); the run works in scratch databases and temporary SQLite
files, and removes them when it ends.

The command is ``commit.py``'s: load an order, change the quantity of one of its lines
(recomputing the total), record one ``QuantityChanged`` event, commit; one client, 100
orders round-robin. Through facta it is ``Mediator.send`` on the SQLAlchemy back-end
(state and outbox row in one transaction). Through ``eventsourcing`` it is an
``Application`` method: ``repository.get`` (its events replayed, no snapshots), the
aggregate's ``@event`` method, ``save`` (the new event appended with its version check);
on SQLite and PostgreSQL in the same run. The hand-written SQLAlchemy Core baseline of
``commit.py`` runs alongside, for reference. Rounds alternate, best of 7 (``--quick``:
3). **Target: facta >= 1.0x eventsourcing** on both databases. Note: eventsourcing
reads an order by replaying its events, whose number grows with the run (a few dozen
per order at most here); facta reads one state row. On SQLite a fourth contender is
facta on aiosqlite (``sqlite+aiosqlite://``) instead of its own driver (``sqlite+facta``,
the default): what the driver saves. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from _timing import interleaved_best_of
from commit import (
    ORDERS,
    ChangeQuantity,
    ChangeQuantityHandler,
    Order,
    RawBaseline,
    command_cycle,
    engine_for,
    new_order,
    order_ids,
    progress,
    scratch_database,
)
from facta import Application, ApplicationBuilder, UnitOfWork
from facta.persistence.sqlalchemy import SqlAlchemyPersistence

try:
    from eventsourcing.application import Application as EsApplication
    from eventsourcing.domain import Aggregate as EsAggregate
    from eventsourcing.domain import event as es_event
except ImportError as error:  # pragma: no cover - the message is the point
    raise SystemExit(
        "this benchmark compares facta with the eventsourcing library, installed in the "
        "benchmarks' own environment:\n"
        "    python3 -m venv benchmarks/.venv\n"
        "    benchmarks/.venv/bin/pip install -e '.[sqlalchemy,mongo]' 'eventsourcing[postgres]'\n"
        "    benchmarks/.venv/bin/python benchmarks/single_command.py --quick"
    ) from error


class EsOrder(EsAggregate):
    """The order in the eventsourcing library: the same fields and change."""

    def __init__(self, customer: str, address: str, lines: list[dict[str, Any]]) -> None:
        self.customer = customer
        self.address = address
        self.lines = lines
        self.status = "confirmed"
        self.total_cents = sum(line["quantity"] * line["unit_cents"] for line in lines)

    @es_event("QuantityChanged")
    def change_quantity(self, line: int, quantity: int, total_cents: int) -> None:
        self.lines[line] = {**self.lines[line], "quantity": quantity}
        self.total_cents = total_cents


class EsOrders(EsApplication):
    """The eventsourcing application: one method per command."""

    def place(self) -> UUID:
        order = new_order("template")
        placed = EsOrder(order.customer, order.address, [line.model_dump() for line in order.lines])
        self.save(placed)
        return placed.id  # type: ignore[no-any-return]

    def change_quantity(self, order_id: UUID, line: int, quantity: int) -> None:
        order: EsOrder = self.repository.get(order_id)
        lines = [dict(each) for each in order.lines]
        lines[line]["quantity"] = quantity
        total = sum(each["quantity"] * each["unit_cents"] for each in lines)
        order.change_quantity(line=line, quantity=quantity, total_cents=total)
        self.save(order)


def es_environment(url: str) -> dict[str, str]:
    """The eventsourcing settings for the scratch database ``url``."""
    if url.startswith("sqlite:///"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": url.removeprefix("sqlite:///") + ".es",
        }
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
    }


def facta_commands() -> Iterator[ChangeQuantity]:
    """The commands, round-robin over the orders, for ever."""
    return itertools.cycle(
        [
            ChangeQuantity(order_id=order_id, line=line, quantity=quantity)
            for order_id, line, quantity in itertools.islice(command_cycle(), 10 * ORDERS)
        ]
    )


async def facta_app(engine: AsyncEngine) -> Application:
    """The command's application on ``engine``, with its orders placed."""
    app = (
        ApplicationBuilder()
        .add_handler(ChangeQuantityHandler)
        .use_persistence(SqlAlchemyPersistence(engine=engine))
        .build()
    )
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)  # type: ignore[type-abstract]
        for order_id in order_ids():
            unit_of_work.repository(Order).add(new_order(order_id))
        await unit_of_work.commit()
    return app


async def measure(kind: str, rounds: int, per_round: int) -> dict[str, float]:
    """Best seconds per command of facta, eventsourcing and hand-written SQL on ``kind``
    (and, on SQLite, of facta on aiosqlite)."""
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(scratch_database(kind))
        engine = await stack.enter_async_context(engine_for(url))
        app = await facta_app(engine)
        es = EsOrders(env=es_environment(url))
        es_ids = {order_id: es.place() for order_id in order_ids()}
        raw = RawBaseline(engine)
        facta_sent, es_sent, raw_sent = facta_commands(), command_cycle(), command_cycle()

        async def through_es() -> None:
            order_id, line, quantity = next(es_sent)
            es.change_quantity(es_ids[order_id], line, quantity)

        bodies = {
            "facta": lambda: app.mediator.send(next(facta_sent)),
            "eventsourcing": through_es,
            "raw": lambda: raw.change_quantity(*next(raw_sent)),
        }
        if kind == "sqlite":
            other = url.replace("sqlite:", "sqlite+aiosqlite:").replace(".db", "-aiosqlite.db")
            on_aiosqlite = await facta_app(await stack.enter_async_context(engine_for(other)))
            aiosqlite_sent = facta_commands()
            bodies["facta on aiosqlite"] = lambda: on_aiosqlite.mediator.send(next(aiosqlite_sent))
        try:
            await interleaved_best_of(1, min(per_round, 2 * ORDERS), bodies)  # warm-up
            best = await interleaved_best_of(rounds, per_round, bodies)
        finally:
            es.close()
        progress(f"  {kind}: " + ", ".join(f"{n} {1 / s:,.0f}/s" for n, s in best.items()))
        return best


async def main(quick: bool, only: str | None) -> None:
    """Measure on each database, then print the table."""
    task = asyncio.current_task()
    if task is not None:  # SIGTERM cancels like Ctrl-C, so the scratch databases go
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    rounds, per_round = (3, 200) if quick else (7, 500)
    kinds = [only] if only else ["postgresql", "sqlite"]
    figures = {}
    for kind in kinds:
        progress(f"{kind}: {rounds} rounds of {per_round} commands, three contenders")
        figures[kind] = await measure(kind, rounds, per_round)
    print(f"One command, one client; best of {rounds} rounds of {per_round}: commands/s")
    print(
        f"{'database':<12}{'facta':>9}{'eventsourcing':>15}{'facta/es':>10}"
        f"{'raw SQL':>9}{'facta/raw':>11}  target facta/es >= 1.0x"
    )
    for kind, best in figures.items():
        facta, es, raw = (1 / best[name] for name in ("facta", "eventsourcing", "raw"))
        print(
            f"{kind:<12}{facta:>9,.0f}{es:>15,.0f}{facta / es:>9.2f}x{raw:>9,.0f}"
            f"{facta / raw:>10.2f}x  {'ok' if facta / es >= 1.0 else 'MISSED'}"
        )
    if "facta on aiosqlite" in figures.get("sqlite", {}):
        best = figures["sqlite"]
        before = 1 / best["facta on aiosqlite"]
        print(
            f"SQLite driver: facta on aiosqlite {before:,.0f}/s, on its own driver "
            f"{1 / best['facta']:,.0f}/s ({best['facta on aiosqlite'] / best['facta']:.2f}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (about a minute)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    arguments = parser.parse_args()
    os.environ.setdefault("EVENTSOURCING_DISABLE_WARNINGS", "1")
    try:
        asyncio.run(main(arguments.quick, arguments.only))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; the scratch databases and files were removed")
