"""How fast the outbox relay delivers: to a no-op handler, and to RabbitMQ with confirms.

Run: ``.venv/bin/python benchmarks/relay.py`` (``--quick`` for a short run, about a
minute; a full run takes 3-5 minutes; ``--skip-amqp`` or ``--skip-noop`` for one part).
PostgreSQL is found at ``postgresql://postgres@127.0.0.1:5432/postgres`` (or
``$FACTA_BENCH_POSTGRES_URL``), RabbitMQ at ``amqp://guest:guest@127.0.0.1:5672/`` (or
``$FACTA_BENCH_AMQP_URL``). The run works in scratch databases, a scratch exchange and a
scratch queue, and removes them when it ends.

1. **No-op handler.** A backlog of due events (50,000; ``--quick`` 10,000) of one type
   with one no-op ``DomainEventHandler``, filled by bulk INSERTs shaped as
   ``SqlAlchemyUnitOfWork`` writes them, is drained by ``OutboxRelay`` with
   ``DeliverySettings(batch_size=500, concurrency=16)`` (16 aggregates at once, the
   receipts of a batch in one transaction): events/s on PostgreSQL and SQLite,
   **target >= 5,000/s on PostgreSQL**. For comparison, the relay as it was before
   (``concurrency=1``, built without the application's ``DeferredReceipts``, so each
   handler's receipt takes a transaction of its own) drains a smaller backlog.
2. **To RabbitMQ with publisher confirms.** A backlog of due events (20,000;
   ``--quick`` 5,000) with an ``EventContract`` is drained from a PostgreSQL outbox by
   the relay of an application that publishes through ``AmqpPublisher`` (structured
   mode, persistent messages, each confirmed), with ``batch_size=1000`` and
   ``concurrency=100``. The raw baseline publishes the same CloudEvent bodies, built
   beforehand, with aio-pika on a channel with publisher confirms, 100 confirms in flight
   (a window: a new publish as soon as one is confirmed). Both publish to one scratch
   topic exchange with one transient queue bound to every type, purged between rounds.
   The publisher coalesces the writes of a busy millisecond into one send (its default
   ``coalesce_window``); the raw loop, as aio-pika does, sends each message by itself.
   So that the gain is seen for what it is, facta's relay also runs with
   ``coalesce_window=0``. Rounds rotate (raw, facta, uncoalesced; facta, uncoalesced,
   raw; ...), best of 3 (``--quick``: 2). **Target: facta >= 0.8x raw.**

Targets are reported, never asserted; the run fails only when it cannot measure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import ClassVar
from uuid import uuid4

import aio_pika
import aiormq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from commit import (
    IgnoreQuantityChanged,
    QuantityChanged,
    engine_for,
    events,
    fill_outbox,
    progress,
    scratch_database,
    settle,
)
from facta import (
    ApplicationBuilder,
    DeliverySettings,
    EventContract,
    IntegrationEvent,
    OutboxRelay,
)
from facta.integration.amqp import AmqpPublisher
from facta.integration.amqp.codec import to_message
from facta.integration.cloudevents import build_cloudevent
from facta.persistence.sqlalchemy import SqlAlchemyPersistence

AMQP_URL = os.environ.get("FACTA_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BATCH = 500
"""``DeliverySettings.batch_size`` of every relay here."""
IN_FLIGHT = 100
"""Confirms in flight: the raw loop's window, and the facta relay's concurrency."""
AMQP_BATCH = 1_000
"""``batch_size`` of the relay that publishes: a batch's last confirms and the next claim
leave the broker idle for a moment, so fewer, bigger batches publish faster."""


class QuantityChangedV1(IntegrationEvent):
    """The published contract of ``QuantityChanged``."""

    cloudevent_type: ClassVar[str] = "com.example.bench.quantity.changed.v1"
    order_id: str
    line: int
    quantity: int
    total_cents: int


class QuantityChangedContract(EventContract[QuantityChanged, QuantityChangedV1]):
    """Maps the domain event to its contract."""

    source = "/bench/orders"

    def map(self, event: QuantityChanged) -> QuantityChangedV1:
        return QuantityChangedV1(
            order_id=event.aggregate_id,
            line=event.line,
            quantity=event.quantity,
            total_cents=event.total_cents,
        )


# --- 1. a no-op handler ----------------------------------------------------------------


def noop_relay(engine: AsyncEngine, *, batched: bool) -> OutboxRelay:
    """The relay of an application with one no-op handler; ``batched`` False is the
    relay as it was: one event at a time, a receipt transaction per handler."""
    settings = DeliverySettings(batch_size=BATCH, concurrency=16 if batched else 1)
    app = (
        ApplicationBuilder()
        .add_handler(IgnoreQuantityChanged)
        .use_persistence(SqlAlchemyPersistence(engine=engine))
        .delivery(settings)
        .build()
    )
    if batched:
        return app.get(OutboxRelay)
    return OutboxRelay(app.outbox, app.mediator, settings)


async def drain(relay: OutboxRelay, expected: int) -> float:
    """Seconds ``relay.drain()`` took; fails when it did not deliver ``expected`` events."""
    started = time.perf_counter()
    delivered = await relay.drain()
    spent = time.perf_counter() - started
    if delivered != expected:
        raise RuntimeError(f"the relay delivered {delivered} of {expected} events")
    return spent


async def measure_noop(kind: str, backlog: int, before_backlog: int) -> tuple[float, float]:
    """Events/s of the relay now, and of the relay as it was, on ``kind``."""
    rates = []
    for batched, count in ((True, backlog), (False, before_backlog)):
        async with scratch_database(kind) as url, engine_for(url) as engine:
            await fill_outbox(engine, count, delivered=False, start=0)
            await settle(engine)
            spent = await drain(noop_relay(engine, batched=batched), count)
            rates.append(count / spent)
            progress(f"  {kind}: {'now' if batched else 'before'}: {count / spent:,.0f} events/s")
    return rates[0], rates[1]


# --- 2. RabbitMQ with confirms -------------------------------------------------------------


class Broker:
    """A scratch exchange and queue on RabbitMQ, removed at the end."""

    def __init__(self, connection: aio_pika.abc.AbstractConnection) -> None:
        self.connection = connection
        self.exchange_name = f"facta-bench-{uuid4().hex[:8]}"
        self.queue: aio_pika.abc.AbstractQueue | None = None

    async def declare(self) -> None:
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self.queue = await channel.declare_queue(exclusive=True)
        await self.queue.bind(exchange, routing_key="#")

    async def purge(self) -> None:
        if self.queue is not None:
            await self.queue.purge()

    async def remove(self) -> None:
        channel = await self.connection.channel()
        await channel.exchange_delete(self.exchange_name)
        await self.connection.close()


async def raw_publish(exchange: aio_pika.abc.AbstractExchange, bodies: Sequence[bytes]) -> float:
    """Seconds to publish ``bodies`` with confirms, ``IN_FLIGHT`` unconfirmed at most."""
    window = asyncio.Semaphore(IN_FLIGHT)
    routing_key = QuantityChangedV1.cloudevent_type

    async def one(body: bytes) -> None:
        try:
            confirmation = await exchange.publish(
                aio_pika.Message(
                    body,
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=routing_key,
            )
            if not isinstance(confirmation, aiormq.spec.Basic.Ack):
                raise RuntimeError(f"not confirmed: {confirmation!r}")
        finally:
            window.release()

    started = time.perf_counter()
    tasks = []
    for body in bodies:
        await window.acquire()
        tasks.append(asyncio.create_task(one(body)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - started


async def empty_outbox(engine: AsyncEngine) -> None:
    """Remove the rows of an earlier round."""
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM facta_deliveries"))
        await connection.execute(text("DELETE FROM facta_outbox"))


def amqp_app(engine: AsyncEngine, publisher: AmqpPublisher) -> OutboxRelay:
    """The relay of an application that publishes ``QuantityChanged`` through AMQP."""
    return (
        ApplicationBuilder()
        .add_handler(QuantityChangedContract)
        .use_persistence(SqlAlchemyPersistence(engine=engine))
        .publish_cloudevents(publisher)
        .delivery(DeliverySettings(batch_size=AMQP_BATCH, concurrency=IN_FLIGHT))
        .build()
        .get(OutboxRelay)
    )


def bodies_of(count: int) -> list[bytes]:
    """The structured CloudEvent bodies facta publishes for the backlog's events."""
    contract = QuantityChangedContract()
    return [
        bytes(
            to_message(
                build_cloudevent(contract.source, contract.map(event), event), "structured"
            ).body
        )
        for event in events(count, 0)
    ]


async def measure_amqp(backlog: int, rounds: int) -> dict[str, float]:
    """Best events/s of raw aio-pika and of facta's relay (with its publisher's coalesced
    writes, and without), rounds alternating."""
    try:
        connection = await aio_pika.connect(AMQP_URL, timeout=10)
    except Exception as error:
        raise SystemExit(f"RabbitMQ is not reachable at {AMQP_URL}: {error}") from error
    broker = Broker(connection)
    names = ["raw", "facta", "uncoalesced"]
    best = dict.fromkeys(names, float("inf"))
    try:
        await broker.declare()
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(broker.exchange_name)
        bodies = bodies_of(backlog)
        async with scratch_database("postgresql") as url, engine_for(url) as engine:
            async with (
                AmqpPublisher(AMQP_URL, broker.exchange_name) as publisher,
                AmqpPublisher(AMQP_URL, broker.exchange_name, coalesce_window=0) as plain,
            ):
                relays = {
                    "facta": amqp_app(engine, publisher),
                    "uncoalesced": amqp_app(engine, plain),
                }
                for round_number in range(rounds):
                    shift = round_number % len(names)
                    for name in names[shift:] + names[:shift]:
                        if name == "raw":
                            spent = await raw_publish(exchange, bodies)
                        else:
                            await empty_outbox(engine)
                            await fill_outbox(engine, backlog, delivered=False, start=0)
                            await settle(engine)
                            spent = await drain(relays[name], backlog)
                        await broker.purge()
                        best[name] = min(best[name], spent)
                        progress(f"  round {round_number + 1}: {name} {backlog / spent:,.0f}/s")
    finally:
        await broker.remove()
    return {name: backlog / spent for name, spent in best.items()}


# --- the run -------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    """``ok`` or ``MISSED`` for a figure against its target."""
    return "ok" if value >= target else "MISSED"


async def main(quick: bool, skip_noop: bool, skip_amqp: bool) -> None:
    """Measure, then print the tables."""
    task = asyncio.current_task()
    if task is not None:  # SIGTERM cancels like Ctrl-C, so the scratch things are removed
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    backlog, before = (10_000, 2_000) if quick else (50_000, 5_000)
    amqp_backlog, rounds = (5_000, 2) if quick else (20_000, 3)
    noop: dict[str, tuple[float, float]] = {}
    if not skip_noop:
        for kind in ("postgresql", "sqlite"):
            progress(f"{kind}: no-op relay, {backlog:,} events (before: {before:,})")
            noop[kind] = await measure_noop(kind, backlog, before)
    amqp: dict[str, float] | None = None
    if not skip_amqp:
        progress(f"RabbitMQ: {amqp_backlog:,} events, {rounds} rounds each")
        amqp = await measure_amqp(amqp_backlog, rounds)

    if noop:
        print(f"Relay, one no-op handler, batch_size={BATCH}: events/s")
        print(f"{'database':<12}{'now':>10}{'before':>10}{'now/before':>12}  target >= 5,000/s")
        for kind, (now, was) in noop.items():
            mark = verdict(now, 5_000) if kind == "postgresql" else ""
            print(f"{kind:<12}{now:>10,.0f}{was:>10,.0f}{now / was:>11.1f}x  {mark}")
    if amqp is not None:
        raw, facta, plain = amqp["raw"], amqp["facta"], amqp["uncoalesced"]
        print()
        print(
            f"To RabbitMQ with publisher confirms, {amqp_backlog:,} CloudEvents, "
            f"{IN_FLIGHT} in flight: events/s"
        )
        print(f"{'contender':<52}{'events/s':>10}{'ratio':>9}")
        print(f"{'raw aio-pika loop, same bodies (baseline)':<52}{raw:>10,.0f}{1:>8.2f}x")
        print(
            f"{'facta OutboxRelay + AmqpPublisher (PostgreSQL)':<52}{facta:>10,.0f}"
            f"{facta / raw:>8.2f}x  target >= 0.8x {verdict(facta / raw, 0.8)}"
        )
        print(
            f"{'  the same, coalesce_window=0 (a send per message)':<52}{plain:>10,.0f}"
            f"{plain / raw:>8.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (about a minute)")
    parser.add_argument("--skip-noop", action="store_true", help="only the RabbitMQ part")
    parser.add_argument("--skip-amqp", action="store_true", help="only the no-op part")
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments.quick, arguments.skip_noop, arguments.skip_amqp))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; the scratch databases, exchange and queue were removed")
