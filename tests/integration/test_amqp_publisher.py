"""The RabbitMQ publisher: what it puts on the wire, and that a publish counts only once the
broker confirmed it (guarantee 5's other half: nothing is silently lost on the way out)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import aio_pika
import aiormq.exceptions
import pytest

from facta import (
    Application,
    ApplicationBuilder,
    ConfigurationError,
    InMemoryPersistence,
    PublishFailed,
)
from facta.integration.amqp import AmqpPublisher, read_message
from integration.amqp_support import (
    Broker,
    assert_structured_cloudevent,
    order_placed,
    validate_against_schema,
    wait_until,
)
from support.shop import SHOP, OrderPlacedV1, OrderPlacedV2, PlaceOrder

TYPES = sorted([OrderPlacedV1.cloudevent_type, OrderPlacedV2.cloudevent_type])


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker.open() as broker:
        yield broker


def shop(publisher: AmqpPublisher) -> Application:
    return (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .use_persistence(InMemoryPersistence())
        .publish_cloudevents(publisher)
        .build()
    )


async def place(app: Application, order_id: str = "o-1") -> None:
    await app.mediator.send(PlaceOrder(order_id=order_id, customer="ann", total_cents=1250))


async def test_each_event_is_a_persistent_structured_cloudevent_routed_by_its_type(
    broker: Broker,
) -> None:
    exchange = broker.name("events")
    observer = await broker.observe(exchange)
    app = shop(AmqpPublisher(broker.url, exchange))

    async with app:
        await place(app)

    messages = await broker.collect(observer, 2)
    assert sorted(message.routing_key or "" for message in messages) == TYPES
    for message in messages:
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.content_type == "application/cloudevents+json"
        document = assert_structured_cloudevent(message.body)
        assert (document["type"], document["source"]) == (message.routing_key, "/shop/orders")
        assert message.message_id == document["id"]
        assert message.type == document["type"]
        [event] = read_message(message.content_type, message.headers, message.body)
        assert event.get_id() == document["id"]
    assert len({message.message_id for message in messages}) == 1  # one domain event


async def test_published_events_conform_to_the_cloudevents_json_schema(broker: Broker) -> None:
    exchange = broker.name("events")
    observer = await broker.observe(exchange)
    app = shop(AmqpPublisher(broker.url, exchange))

    async with app:
        for number in range(3):
            await place(app, f"o-{number}")

    messages = await broker.collect(observer, 6)
    assert len(messages) == 6
    for message in messages:
        validate_against_schema(json.loads(message.body))


async def test_the_exchange_is_a_durable_topic_exchange(broker: Broker) -> None:
    exchange = broker.name("events")

    async with AmqpPublisher(broker.url, exchange):
        async with broker.channel() as channel:  # the same declaration is accepted ...
            await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for kind, durable in [(aio_pika.ExchangeType.FANOUT, True), ("topic", False)]:
            with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
                async with broker.channel() as channel:  # ... and any other refused
                    await channel.declare_exchange(exchange, kind, durable=durable)


async def test_binary_mode_puts_the_attributes_in_ce_headers_and_the_data_in_the_body(
    broker: Broker,
) -> None:
    exchange = broker.name("events")
    observer = await broker.observe(exchange)
    event = order_placed("evt-binary")

    async with AmqpPublisher(broker.url, exchange, mode="binary") as publisher:
        await publisher.publish([event])

    [message] = await broker.collect(observer, 1)
    assert message.routing_key == event.get_type()
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == "evt-binary"
    assert json.loads(message.body) == event.get_data()
    assert message.headers["ce-id"] == "evt-binary"
    assert message.headers["ce-specversion"] == "1.0"
    assert message.headers["ce-correlationid"] == "c0ffee"
    [received] = read_message(message.content_type, message.headers, message.body)
    assert received.get_attributes() == event.get_attributes()
    assert received.get_data() == event.get_data()


async def test_a_publish_the_broker_refuses_fails_and_the_publisher_recovers(
    broker: Broker,
) -> None:
    exchange = broker.name("events")

    async with AmqpPublisher(broker.url, exchange, reconnect_delay=0.05) as publisher:
        async with broker.channel() as channel:
            await channel.exchange_delete(exchange)

        with pytest.raises(PublishFailed):  # a 404 from the broker, not a silent drop
            await publisher.publish([order_placed()])

        # the publisher reconnects and declares its exchange again
        observer = await broker.observe(exchange)
        event = order_placed("evt-after")

        async def published() -> bool:
            try:
                await publisher.publish([event])
            except PublishFailed:
                return False
            return True

        await wait_until(published, 10, "the publisher did not recover")

    [message] = await broker.collect(observer, 1)
    assert message.message_id == "evt-after"


async def test_an_unroutable_event_fails_when_mandatory(broker: Broker) -> None:
    exchange = broker.name("events")

    async with AmqpPublisher(broker.url, exchange, mandatory=True) as publisher:
        with pytest.raises(PublishFailed, match="unroutable"):
            await publisher.publish([order_placed()])

        await broker.observe(exchange)
        await publisher.publish([order_placed()])  # routable now


async def test_a_publisher_that_was_not_started_says_so() -> None:
    publisher = AmqpPublisher("amqp://guest:guest@127.0.0.1:5672/", "facta-test.unstarted")

    with pytest.raises(PublishFailed, match="not started"):
        await publisher.publish([order_placed()])


async def test_without_a_broker_publishing_fails_at_once() -> None:
    publisher = AmqpPublisher("amqp://guest:guest@127.0.0.1:1/", "facta-test.nowhere")

    async with publisher:  # a broker that is away does not stop the start
        assert not publisher.connected
        started = time.monotonic()
        with pytest.raises(PublishFailed, match="not connected"):
            await publisher.publish([order_placed()])
        assert time.monotonic() - started < 0.5


async def test_refused_credentials_fail_the_start(broker: Broker) -> None:
    publisher = AmqpPublisher("amqp://guest:wrong@127.0.0.1:5672/", broker.name("events"))

    with pytest.raises(ConfigurationError, match="ACCESS_REFUSED"):
        await publisher.start()
    assert not publisher.connected
