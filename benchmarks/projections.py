"""How fast projections apply events through the relay, and how fast one is rebuilt.

Run: ``.venv/bin/python benchmarks/projections.py`` (``--quick`` for a short run, about
two minutes; a full run takes 5-8 minutes; ``--only sqlite|postgresql``).
PostgreSQL is found at ``postgresql://postgres@127.0.0.1:5432/postgres`` (or
``$FACTA_BENCH_POSTGRES_URL``); the run works in scratch databases and temporary SQLite
files, and removes them when it ends.

1. **Applying through the relay.** A backlog of due events (10,000; ``--quick`` 2,000)
   of 100 orders (``QuantityChanged``, as in ``commit.py``) feeds one asynchronous
   projection keeping one view per order (``OrderTotal``: a JSON document and one
   indexed column): for each event it reads the order's view and puts the changed one.
   ``OutboxRelay`` (``batch_size=500``, ``concurrency=16``: one view per order, so
   the orders' events do not conflict) drains the backlog; facta
   checks the order of each aggregate's events, commits each application with the
   projection's receipt and version-checks the view. The hand-written baseline does
   the same writes on the same engine: it reads the events from the outbox in batches
   of 500 by position and, for each, in one transaction, selects the view row and
   inserts or updates it (with its version), then records its checkpoint (the last
   position) once per batch. Events/s and the facta/raw ratio; **target >= 0.8x**.
2. **Rebuild.** 100,000 delivered events (``--quick`` 20,000) in the outbox, bulk
   inserted; ``ProjectionRebuilder.rebuild`` (its default batch of 5,000 events) replays
   them into a fresh copy of the projection's view and swaps it in: events/s,
   **target >= 5,000/s on PostgreSQL**.

Each measure drains or rebuilds once (a drain is long enough not to need rounds);
facta and the baseline run one after the other on fresh databases. Targets are reported,
never asserted; the run fails only when it cannot measure.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from commit import (
    QuantityChanged,
    engine_for,
    fill_outbox,
    progress,
    scratch_database,
    settle,
)
from facta import (
    ApplicationBuilder,
    DeliverySettings,
    Lifecycle,
    OutboxRelay,
    Projection,
    RetryPolicy,
    UnitOfWork,
    View,
)
from facta.hosting.rebuild import ProjectionRebuilder
from facta.persistence.sqlalchemy import SqlAlchemyPersistence

BATCH = 500
"""Events per relay batch and per baseline read."""


class OrderTotal(View):
    """What the projection keeps per order."""

    indexes = ("total_cents",)
    changes: int = 0
    total_cents: int = 0
    last_quantity: int = 0


def applied(total: OrderTotal, event: QuantityChanged) -> None:
    """The change one event makes to its order's view (facta and raw alike)."""
    total.changes += 1
    total.total_cents = event.total_cents
    total.last_quantity = event.quantity


class OrderTotals(Projection):
    """The asynchronous projection of the relay measure."""

    lifecycle = Lifecycle.ASYNC
    views = (OrderTotal,)

    def __init__(self, uow: UnitOfWork) -> None:
        self.totals = uow.views(OrderTotal)

    async def changed(self, event: QuantityChanged) -> None:
        total = await self.totals.get(event.aggregate_id) or OrderTotal(id=event.aggregate_id)
        applied(total, event)
        self.totals.put(total)


class InlineOrderTotals(OrderTotals):
    """The same projection, inline: a rebuild replays all of its events."""

    lifecycle = Lifecycle.INLINE


# --- 1. through the relay vs hand-written --------------------------------------------------


async def facta_apply(engine: AsyncEngine, backlog: int) -> float:
    """Seconds the relay takes to apply ``backlog`` due events to the projection."""
    app = (
        ApplicationBuilder()
        .add_handler(OrderTotals)
        .use_persistence(SqlAlchemyPersistence(engine=engine))
        .delivery(DeliverySettings(batch_size=BATCH, concurrency=16, retry=_NO_WAIT))
        .build()
    )
    relay = app.get(OutboxRelay)
    started = time.perf_counter()
    while True:
        await relay.drain()
        if not (await app.outbox.stats()).pending:
            break
        await asyncio.sleep(0.01)  # a deferred event comes due again shortly
    spent = time.perf_counter() - started
    await check_views(engine, "facta_view_order_total", backlog)
    return spent


class RawProjector:
    """The hand-written projector: the same reads and writes, with a checkpoint."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        cast = "CAST(:document AS JSONB)" if engine.dialect.name == "postgresql" else ":document"
        self._read_events = text(
            "SELECT position, CAST(payload AS TEXT) FROM facta_outbox "
            "WHERE position > :after ORDER BY position LIMIT :limit"
        )
        self._load = text("SELECT CAST(document AS TEXT), version FROM raw_totals WHERE id = :id")
        self._insert = text(
            "INSERT INTO raw_totals (id, version, document, total_cents) "
            f"VALUES (:id, 1, {cast}, :total_cents)"
        )
        self._update = text(
            f"UPDATE raw_totals SET version = :version + 1, document = {cast}, "
            "total_cents = :total_cents WHERE id = :id AND version = :version"
        )
        self._checkpoint = text("UPDATE raw_checkpoint SET position = :position")

    async def create(self) -> None:
        document = "JSONB" if self._engine.dialect.name == "postgresql" else "JSON"
        async with self._engine.begin() as connection:
            await connection.execute(
                text(
                    "CREATE TABLE raw_totals (id TEXT PRIMARY KEY, version BIGINT NOT NULL, "
                    f"document {document} NOT NULL, total_cents BIGINT)"
                )
            )
            await connection.execute(
                text("CREATE INDEX raw_totals_total ON raw_totals (total_cents, id)")
            )
            await connection.execute(text("CREATE TABLE raw_checkpoint (position BIGINT NOT NULL)"))
            await connection.execute(text("INSERT INTO raw_checkpoint VALUES (0)"))

    async def run(self) -> int:
        """Apply every event after the checkpoint; return how many."""
        applied_count, position = 0, 0
        while True:
            async with self._engine.connect() as connection:
                rows = (
                    await connection.execute(self._read_events, {"after": position, "limit": BATCH})
                ).all()
            if not rows:
                return applied_count
            for _, payload in rows:
                await self._apply(QuantityChanged.model_validate_json(payload))
            position = rows[-1][0]
            async with self._engine.begin() as connection:
                await connection.execute(self._checkpoint, {"position": position})
            applied_count += len(rows)

    async def _apply(self, event: QuantityChanged) -> None:
        async with self._engine.begin() as connection:
            row = (await connection.execute(self._load, {"id": event.aggregate_id})).first()
            if row is None:
                total = OrderTotal(id=event.aggregate_id)
                applied(total, event)
                await connection.execute(
                    self._insert,
                    {
                        "id": total.id,
                        "document": total.model_dump_json(),
                        "total_cents": total.total_cents,
                    },
                )
                return
            total = OrderTotal.model_validate_json(row[0])
            applied(total, event)
            result = await connection.execute(
                self._update,
                {
                    "id": total.id,
                    "version": row[1],
                    "document": total.model_dump_json(),
                    "total_cents": total.total_cents,
                },
            )
            if result.rowcount != 1:
                raise RuntimeError(f"the raw view of {total.id} changed under the projector")


async def raw_apply(engine: AsyncEngine, backlog: int) -> float:
    """Seconds the hand-written projector takes for ``backlog`` events."""
    projector = RawProjector(engine)
    await projector.create()
    started = time.perf_counter()
    count = await projector.run()
    spent = time.perf_counter() - started
    if count != backlog:
        raise RuntimeError(f"the raw projector applied {count} of {backlog} events")
    await check_views(engine, "raw_totals", backlog)
    return spent


async def check_views(engine: AsyncEngine, table: str, backlog: int) -> None:
    """Every event counted once in the views: the measure is of the real work."""
    async with engine.connect() as connection:
        documents = (
            await connection.execute(text(f"SELECT CAST(document AS TEXT) FROM {table}"))
        ).scalars()
        changes = sum(OrderTotal.model_validate_json(document).changes for document in documents)
    if changes != backlog:
        raise RuntimeError(f"{table} counts {changes} changes for {backlog} events")


async def measure_apply(kind: str, backlog: int) -> tuple[float, float]:
    """Events/s of the relay's projection and of the hand-written projector."""
    rates = {}
    for name, run in (("facta", facta_apply), ("raw", raw_apply)):
        async with scratch_database(kind) as url, engine_for(url) as engine:
            await fill_outbox(engine, backlog, delivered=False, start=0)
            await settle(engine)
            spent = await run(engine, backlog)
            rates[name] = backlog / spent
            progress(f"  {kind}: {name} {rates[name]:,.0f} events/s")
    return rates["facta"], rates["raw"]


# --- 2. rebuild ----------------------------------------------------------------------------


async def measure_rebuild(kind: str, events: int) -> float:
    """Events/s of a rebuild of the inline projection from ``events`` delivered events."""
    async with scratch_database(kind) as url, engine_for(url) as engine:
        await fill_outbox(engine, events, delivered=True, start=0)
        await settle(engine)
        app = (
            ApplicationBuilder()
            .add_handler(InlineOrderTotals)
            .use_persistence(SqlAlchemyPersistence(engine=engine))
            .build()
        )
        rebuilder = ProjectionRebuilder(app)  # its default batch size
        started = time.perf_counter()
        report = await rebuilder.rebuild("InlineOrderTotals", drain=timedelta(0))
        spent = time.perf_counter() - started
        if report.events != events:
            raise RuntimeError(f"the rebuild replayed {report.events} of {events} events")
        await check_views(engine, "facta_view_order_total", events)
        progress(f"  {kind}: rebuild {events / spent:,.0f} events/s")
        return events / spent


# --- the run -------------------------------------------------------------------------------

_NO_WAIT = RetryPolicy(first_delay=timedelta(milliseconds=20), jitter=0)
"""Deferred events (waiting for their predecessor) come due again after 20 ms."""


async def main(quick: bool, only: str | None) -> None:
    """Measure on each database, then print the tables."""
    task = asyncio.current_task()
    if task is not None:  # SIGTERM cancels like Ctrl-C, so the scratch databases go
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    backlog, history = (2_000, 20_000) if quick else (10_000, 100_000)
    kinds = [only] if only else ["postgresql", "sqlite"]
    apply_rates: dict[str, tuple[float, float]] = {}
    rebuild_rates: dict[str, float] = {}
    for kind in kinds:
        progress(f"{kind}: {backlog:,} events through the relay, facta and hand-written")
        apply_rates[kind] = await measure_apply(kind, backlog)
        progress(f"{kind}: rebuild from {history:,} events")
        rebuild_rates[kind] = await measure_rebuild(kind, history)

    print(f"Projection applying {backlog:,} events through the relay (batch {BATCH}): events/s")
    print(f"{'database':<12}{'facta':>10}{'raw':>10}{'facta/raw':>11}  target >= 0.8x")
    for kind, (facta, raw) in apply_rates.items():
        ratio = facta / raw
        print(
            f"{kind:<12}{facta:>10,.0f}{raw:>10,.0f}{ratio:>10.2f}x"
            f"  {'ok' if ratio >= 0.8 else 'MISSED'}"
        )
    print()
    print(f"Rebuild of the projection from {history:,} events: events/s")
    print(f"{'database':<12}{'events/s':>10}  target >= 5,000/s on PostgreSQL")
    for kind, rate in rebuild_rates.items():
        mark = ("ok" if rate >= 5_000 else "MISSED") if kind == "postgresql" else ""
        print(f"{kind:<12}{rate:>10,.0f}  {mark}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (about 2 minutes)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments.quick, arguments.only))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; the scratch databases and files were removed")
