"""RabbitMQ restarts while a service commits events: through the outbox, every event still
arrives (a re-sent one keeps its id), and the consuming service's effects happen once.

The test stops the broker's app with ``rabbitmqctl stop_app`` and always starts it again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from facta import (
    Application,
    ApplicationBuilder,
    DeliverySettings,
    Outbox,
    OutboxRelay,
    PublishFailed,
    RetryPolicy,
    UnitOfWork,
)
from facta.integration.amqp import AmqpConsumer, AmqpPublisher
from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_schema
from integration.amqp_support import (
    Broker,
    order_placed,
    start_rabbitmq,
    stop_rabbitmq,
    wait_until,
)
from support.shop import LOYALTY, SHOP, OrderPlacedV1, OrderPlacedV2, PlaceOrder, Points

V1, V2 = OrderPlacedV1.cloudevent_type, OrderPlacedV2.cloudevent_type
FAST = DeliverySettings(
    retry=RetryPolicy(
        max_attempts=1000,
        first_delay=timedelta(milliseconds=100),
        factor=1.5,
        max_delay=timedelta(seconds=1),
        jitter=0,
    ),
    grace=timedelta(0),
    poll_interval=timedelta(milliseconds=100),
)
RECONNECT = {"reconnect_delay": 0.1, "max_reconnect_delay": 0.5}


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker.open() as broker:
        yield broker


async def on_sqlite(builder: ApplicationBuilder, path: Path) -> Application:
    app = builder.use_persistence(SqlAlchemyPersistence(f"sqlite:///{path}")).build()
    await create_schema(app.get(AsyncEngine))
    return app


async def test_events_committed_while_rabbitmq_restarts_all_arrive_and_act_once(
    broker: Broker, tmp_path: Path
) -> None:
    exchange = broker.name("events")
    observer = await broker.observe(exchange, V1, V2, durable=True)
    publisher = AmqpPublisher(broker.url, exchange, confirm_timeout=2, **RECONNECT)
    shop = await on_sqlite(
        ApplicationBuilder()
        .add_handler(*SHOP)
        .publish_cloudevents(publisher)
        .delivery(FAST)
        .add_service(OutboxRelay),
        tmp_path / "shop.db",
    )
    loyalty = await on_sqlite(ApplicationBuilder().add_handler(*LOYALTY), tmp_path / "loyalty.db")
    consumer = AmqpConsumer(
        loyalty, broker.url, queue=broker.name("loyalty"), exchange=exchange, **RECONNECT
    )
    placed: list[int] = []

    async def place(number: int) -> None:
        command = PlaceOrder(order_id=f"o-{number}", customer=f"c-{number}", total_cents=100)
        await shop.mediator.send(command)
        placed.append(number)

    async def keep_placing(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await place(len(placed))
            await asyncio.sleep(0.05)

    try:
        async with broker.alone(), shop, consumer:
            for _ in range(5):
                await place(len(placed))
            stop_placing = asyncio.Event()
            placing = asyncio.create_task(keep_placing(stop_placing))
            try:
                await stop_rabbitmq()
                await wait_until(lambda: not publisher.connected, 10, "the loss went unnoticed")
                committed_while_away = len(placed)
                started = time.monotonic()
                with pytest.raises(PublishFailed, match="not connected"):
                    await publisher.publish([order_placed()])
                assert time.monotonic() - started < 0.5  # fails fast; the outbox retries
                await asyncio.sleep(0.5)
                assert len(placed) > committed_while_away  # commits go on without the broker
            finally:
                try:
                    await start_rabbitmq()
                finally:
                    stop_placing.set()
                    await placing
            await wait_until(lambda: publisher.connected and consumer.connected, 30, "no reconnect")

            async def drained() -> bool:
                return (await shop.get(Outbox).stats()).pending == 0

            await wait_until(drained, 60, "the outbox did not deliver everything")
            assert (await shop.get(Outbox).stats()).dead_letters == 0

            received = await broker.collect(observer, 2 * len(placed), timeout=30)
            received += await broker.collect(observer, 10_000, timeout=0.5)  # any duplicates
            ids: dict[tuple[str, str], set[str]] = defaultdict(set)
            for message in received:
                document = json.loads(message.body)
                assert message.message_id == document["id"]
                ids[(document["type"], document["data"]["order_id"])].add(document["id"])
            expected = {(kind, f"o-{n}") for n in placed for kind in (V1, V2)}
            assert set(ids) == expected  # every event arrived, and nothing else
            assert all(len(found) == 1 for found in ids.values())  # a re-send keeps its id

            async def all_awarded() -> bool:
                async with loyalty.operation():
                    accounts = loyalty.get(UnitOfWork).repository(Points)
                    for number in placed:
                        account = await accounts.find(f"c-{number}")
                        if account is None:
                            return False
                        assert account.orders == [f"o-{number}"]  # once, not per re-send
                return True

            await wait_until(all_awarded, 30, "the consumer did not handle every order")
            assert consumer.stats.dead_lettered == 0
    finally:
        for app in (shop, loyalty):
            await app.get(AsyncEngine).dispose()
