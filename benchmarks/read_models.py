"""A command whose event feeds two read models, end to end, against doing it by hand.

Run: ``.venv/bin/python benchmarks/read_models.py`` (``--quick`` for a short run, about
a minute; a full run takes 3-5 minutes; ``--only sqlite|postgresql``).
PostgreSQL is found at ``postgresql://postgres@127.0.0.1:5432/postgres`` (or
``$FACTA_BENCH_POSTGRES_URL``); the run works in scratch databases and temporary SQLite
files, and removes them when it ends.

The command is ``commit.py``'s (load an order, change a line's quantity, record one
``QuantityChanged``, commit), over 100 orders round-robin, one client. Its event feeds two
views: the order's totals and the order's last change, each read and put back.

- **facta, inline projections**: ``Mediator.send`` to the command handler; two
  ``Lifecycle.INLINE`` projections put the views in the command's own transaction.
- **facta, asynchronous projections** (for comparison): the same projections with
  ``Lifecycle.ASYNC``, run by the in-process dispatch after the commit, each in its own
  transaction with its receipt, after the order check; ``send`` returns after them.
- **hand-written, one transaction** (the baseline): on one connection, select the order,
  update it (version-checked), insert the outbox row, and for each view select it and
  insert or update it (version-checked), then commit.

Rounds of the three alternate, best of 7 (``--quick``: 3) rounds; commands/s and the
ratio to the baseline. **Target: facta >= 0.8x the hand-written one-transaction baseline**
on PostgreSQL and SQLite. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from _timing import interleaved_best_of
from commit import (
    GRACE,
    ORDERS,
    ChangeQuantity,
    ChangeQuantityHandler,
    Order,
    OrderState,
    QuantityChanged,
    RawBaseline,
    change_quantity,
    command_cycle,
    engine_for,
    new_order,
    order_ids,
    outbox_row,
    progress,
    scratch_database,
)
from facta import (
    Application,
    ApplicationBuilder,
    Lifecycle,
    Projection,
    UnitOfWork,
    View,
    utc_now,
)
from facta.persistence.sqlalchemy import SqlAlchemyPersistence


class OrderTotal(View):
    """Read model 1: an order's totals."""

    indexes = ("total_cents",)
    changes: int = 0
    total_cents: int = 0


class LastChange(View):
    """Read model 2: an order's last change."""

    indexes = ("quantity",)
    line: int = 0
    quantity: int = 0


def total_after(total: OrderTotal, event: QuantityChanged) -> None:
    """What an event changes in read model 1."""
    total.changes += 1
    total.total_cents = event.total_cents


def last_after(last: LastChange, event: QuantityChanged) -> None:
    """What an event changes in read model 2."""
    last.line, last.quantity = event.line, event.quantity


class Totals(Projection):
    """Keeps read model 1."""

    lifecycle = Lifecycle.INLINE
    views = (OrderTotal,)

    def __init__(self, uow: UnitOfWork) -> None:
        self.views_ = uow.views(OrderTotal)

    async def changed(self, event: QuantityChanged) -> None:
        total = await self.views_.get(event.aggregate_id) or OrderTotal(id=event.aggregate_id)
        total_after(total, event)
        self.views_.put(total)


class LastChanges(Projection):
    """Keeps read model 2."""

    lifecycle = Lifecycle.INLINE
    views = (LastChange,)

    def __init__(self, uow: UnitOfWork) -> None:
        self.views_ = uow.views(LastChange)

    async def changed(self, event: QuantityChanged) -> None:
        last = await self.views_.get(event.aggregate_id) or LastChange(id=event.aggregate_id)
        last_after(last, event)
        self.views_.put(last)


class AsyncTotals(Totals):
    """Read model 1, kept after the commit."""

    lifecycle = Lifecycle.ASYNC


class AsyncLastChanges(LastChanges):
    """Read model 2, kept after the commit."""

    lifecycle = Lifecycle.ASYNC


class RawWithViews(RawBaseline):
    """The hand-written command and both read models in one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._tables: dict[str, tuple[Any, Any, Any]] = {}
        cast = "CAST(:document AS JSONB)" if engine.dialect.name == "postgresql" else ":document"
        for table, column in (("raw_totals", "total_cents"), ("raw_last", "quantity")):
            self._tables[table] = (
                text(f"SELECT CAST(document AS TEXT), version FROM {table} WHERE id = :id"),
                text(
                    f"INSERT INTO {table} (id, version, document, {column}) "
                    f"VALUES (:id, 1, {cast}, :value)"
                ),
                text(
                    f"UPDATE {table} SET version = :version + 1, document = {cast}, "
                    f"{column} = :value WHERE id = :id AND version = :version"
                ),
            )

    async def create(self) -> None:
        document = "JSONB" if self._engine.dialect.name == "postgresql" else "JSON"
        async with self._engine.begin() as connection:
            for table, column in (("raw_totals", "total_cents"), ("raw_last", "quantity")):
                await connection.execute(
                    text(
                        f"CREATE TABLE {table} (id TEXT PRIMARY KEY, version BIGINT NOT NULL, "
                        f"document {document} NOT NULL, {column} BIGINT)"
                    )
                )
                await connection.execute(
                    text(f"CREATE INDEX {table}_value ON {table} ({column}, id)")
                )

    async def change_quantity(self, order_id: str, line: int, quantity: int) -> None:
        """The command, then both views, then one commit."""
        command_id = uuid4()
        async with self._engine.connect() as connection:
            loaded = await connection.execute(
                self._load, {"type_": Order.aggregate_type, "id_": order_id}
            )
            state_json, version = loaded.one()
            order = OrderState.model_validate_json(state_json)
            order.lines, order.total_cents = change_quantity(order.lines, line, quantity)
            event = QuantityChanged(
                aggregate_id=order_id,
                aggregate_version=version + 1,
                correlation_id=command_id,
                causation_id=command_id,
                line=line,
                quantity=quantity,
                total_cents=order.total_cents,
            )
            now = utc_now()
            saved = await connection.execute(
                self._save,
                {
                    "type_": Order.aggregate_type,
                    "id_": order_id,
                    "expected": version,
                    "new_version": version + 1,
                    "state": order.model_dump_json(),
                    "now": now,
                },
            )
            if saved.rowcount != 1:
                raise RuntimeError(f"order {order_id} changed under the benchmark")
            await connection.execute(
                self._append, outbox_row(event, now=now, available_at=now + GRACE, delivered=True)
            )
            await self._put(connection, "raw_totals", OrderTotal, total_after, event, "total_cents")
            await self._put(connection, "raw_last", LastChange, last_after, event, "quantity")
            await connection.commit()

    async def _put(
        self,
        connection: Any,
        table: str,
        view_type: type[OrderTotal] | type[LastChange],
        change: Any,
        event: QuantityChanged,
        column: str,
    ) -> None:
        load, insert, update = self._tables[table]
        row = (await connection.execute(load, {"id": event.aggregate_id})).first()
        view = (
            view_type(id=event.aggregate_id)
            if row is None
            else view_type.model_validate_json(row[0])
        )
        change(view, event)
        parameters = {
            "id": view.id,
            "document": view.model_dump_json(),
            "value": getattr(view, column),
        }
        if row is None:
            await connection.execute(insert, parameters)
            return
        result = await connection.execute(update, {**parameters, "version": row[1]})
        if result.rowcount != 1:
            raise RuntimeError(f"the {table} row of {view.id} changed under the benchmark")


async def facta_app(engine: AsyncEngine, *projections: type[Projection]) -> Application:
    """An application with the command handler and ``projections``, with its orders."""
    app = (
        ApplicationBuilder()
        .add_handler(ChangeQuantityHandler, *projections)
        .use_persistence(SqlAlchemyPersistence(engine=engine))
        .build()
    )
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)  # type: ignore[type-abstract]
        for order_id in order_ids():
            unit_of_work.repository(Order).add(new_order(order_id))
        await unit_of_work.commit()
    return app


def commands() -> Iterator[ChangeQuantity]:
    """The commands, round-robin over the orders, for ever."""
    return itertools.cycle(
        [
            ChangeQuantity(order_id=order_id, line=line, quantity=quantity)
            for order_id, line, quantity in itertools.islice(command_cycle(), 10 * ORDERS)
        ]
    )


async def measure(kind: str, rounds: int, per_round: int) -> dict[str, float]:
    """Best seconds per command of the three contenders on ``kind``."""
    async with (
        scratch_database(kind) as url,
        scratch_database(kind) as async_url,
        engine_for(url) as engine,
        engine_for(async_url) as async_engine,
    ):
        inline = await facta_app(engine, Totals, LastChanges)
        later = await facta_app(async_engine, AsyncTotals, AsyncLastChanges)
        raw = RawWithViews(engine)
        await raw.create()
        inline_commands, async_commands, raw_commands = commands(), commands(), command_cycle()
        bodies = {
            "inline": lambda: inline.mediator.send(next(inline_commands)),
            "async": lambda: later.mediator.send(next(async_commands)),
            "raw": lambda: raw.change_quantity(*next(raw_commands)),
        }
        await interleaved_best_of(1, min(per_round, 2 * ORDERS), bodies)  # warm-up
        best = await interleaved_best_of(rounds, per_round, bodies)
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
    print(
        f"Command + 2 read models, end to end, one client; best of {rounds} rounds of "
        f"{per_round}: commands/s"
    )
    print(
        f"{'database':<12}{'raw 1 tx':>10}{'inline':>10}{'ratio':>8}{'async':>10}{'ratio':>8}"
        f"  target inline >= 0.8x"
    )
    for kind, best in figures.items():
        raw, inline, later = (1 / best[name] for name in ("raw", "inline", "async"))
        print(
            f"{kind:<12}{raw:>10,.0f}{inline:>10,.0f}{inline / raw:>7.2f}x{later:>10,.0f}"
            f"{later / raw:>7.2f}x  {'ok' if inline / raw >= 0.8 else 'MISSED'}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (about a minute)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments.quick, arguments.only))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; the scratch databases and files were removed")
