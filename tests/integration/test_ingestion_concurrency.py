"""Copies of one new event that race each other are each a success, and the handler's
effect happens once (issue 11): ten copies at once, twenty rounds, over HTTP (a real
server, on every back-end) and over RabbitMQ (a real broker)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from conftest import Backend
from facta import Application
from facta.integration.amqp import AmqpConsumer
from facta.integration.cloudevents import to_structured
from integration.amqp_support import Broker, order_placed, wait_until
from integration.http_support import document, points, running
from integration.ingestion_support import loyalty_on_sqlite
from integration.test_amqp_consumer import FAST, consuming
from integration.test_amqp_consumer import points as points_of
from support.shop import OrderPlacedV2

COPIES = 10
ROUNDS = 20


async def test_copies_sent_at_once_over_http_are_each_a_success_with_one_effect(
    backend: Backend,
) -> None:
    # a fresh connection per request: what is tested is the race, not connection reuse
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with running(backend) as service, httpx.AsyncClient(limits=fresh) as client:
        for round_number in range(ROUNDS):
            body = json.dumps(document(f"evt-{round_number}", order_id=f"o-{round_number}"))
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"{service.url}/events",
                        content=body,
                        headers={"content-type": "application/cloudevents+json"},
                    )
                    for _ in range(COPIES)
                )
            )

            assert [response.status_code for response in responses] == [200] * COPIES, [
                response.text for response in responses if response.status_code != 200
            ]
            outcomes = Counter(response.json()["events"][0]["outcome"] for response in responses)
            assert outcomes == {"processed": 1, "duplicate": COPIES - 1}

        account = await points(service.app)
        assert account is not None
        assert account.orders == [f"o-{number}" for number in range(ROUNDS)]


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker.open() as broker:
        yield broker


@pytest.fixture
async def loyalty(tmp_path: Path) -> AsyncIterator[Application]:
    async with loyalty_on_sqlite(tmp_path) as app:
        yield app


async def test_copies_delivered_at_once_over_amqp_are_each_acked_with_one_effect(
    broker: Broker, loyalty: Application
) -> None:
    exchange = broker.name("events")
    app = loyalty
    consumer: AmqpConsumer
    async with consuming(app, broker, exchange, prefetch=COPIES, **FAST) as consumer:
        for round_number in range(ROUNDS):
            event = order_placed(f"evt-{round_number}", order_id=f"o-{round_number}")
            body = to_structured(event)
            await asyncio.gather(
                *(
                    broker.publish(
                        exchange,
                        OrderPlacedV2.cloudevent_type,
                        body,
                        content_type="application/cloudevents+json",
                    )
                    for _ in range(COPIES)
                )
            )
            settled = (round_number + 1) * COPIES
            await wait_until(
                lambda settled=settled: (
                    consumer.stats.handled + consumer.stats.duplicates >= settled
                ),
                30,
                f"round {round_number} was not settled: {consumer.stats}",
            )

    assert (consumer.stats.handled, consumer.stats.duplicates) == (ROUNDS, ROUNDS * (COPIES - 1))
    assert consumer.stats.dead_lettered == 0
    account = await points_of(app)
    assert account is not None
    assert account.orders == [f"o-{number}" for number in range(ROUNDS)]
