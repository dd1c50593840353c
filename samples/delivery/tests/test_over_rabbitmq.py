"""Both sides over a real RabbitMQ: the pizzeria publishes, the delivery service consumes.

The pizzeria runs as ``pizzeria.app`` composes it (on SQLite) plus its contracts, an
``AmqpPublisher`` and the outbox relay; the delivery service runs as ``delivery.app``
composes it. Each test has its own exchange and queue names (deleted afterwards) and
holds facta's shared RabbitMQ test lock (``integration.amqp_support``: another test
run may restart the broker). Without RabbitMQ the tests are skipped, naming it; under
``CI=true`` they fail.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from delivery.app import consumer_of, create_app
from delivery.board import DeliveryView
from delivery.domain import Delivery, DeliveryStatus
from delivery.queries import GetDelivery, OpenDeliveries
from delivery.settings import DeliveryServiceSettings
from facta import Application, OutboxRelay, UnitOfWork
from facta.integration.amqp import REASON_HEADER, AmqpConsumer, AmqpPublisher
from facta.integration.cloudevents import CloudEvent, to_structured
from facta.integration.publishers import InMemoryPublisher
from integration.amqp_support import Broker, wait_until
from pizzeria.app import pizzeria_builder, prepare_database, seed_menu
from pizzeria.application.commands import (
    DeliverOrder,
    DispatchOrder,
    LineRequest,
    MarkReady,
    PlaceOrder,
    StartCooking,
)
from pizzeria.domain.menu import Size, Topping

Build = Callable[..., CloudEvent]
PLACED = "com.mariospizzeria.order.placed.v1"
STRUCTURED = "application/cloudevents+json"
TIMEOUT = 20.0
"""How long the delivery service may take to show what the pizzeria did."""


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    """RabbitMQ for this test (or a skip naming it), under the shared test lock."""
    async with Broker.open() as broker:
        yield broker


@pytest.fixture
def service_settings(broker: Broker, tmp_path: Path) -> DeliveryServiceSettings:
    """The delivery service on a SQLite file, consuming a queue of its own from an
    exchange of its own."""
    return DeliveryServiceSettings(
        database_url=f"sqlite:///{tmp_path / 'delivery.db'}",
        broker_url=broker.url,
        exchange=broker.name("events"),
        queue=broker.name("delivery.events"),
    )


@asynccontextmanager
async def delivery_service(
    settings: DeliveryServiceSettings,
) -> AsyncIterator[tuple[Application, AmqpConsumer]]:
    """The delivery service, started, and its consumer, once its queue is bound."""
    async with create_app(settings) as app:
        consumer = consumer_of(app)
        assert consumer is not None and consumer.queue == settings.queue
        assert await consumer.wait_connected(10), "the consumer did not connect"
        yield app, consumer


@asynccontextmanager
async def pizzeria(url: str, exchange: str, database: Path) -> AsyncIterator[Application]:
    """The pizzeria publishing its contracts to ``exchange``, its menu on sale."""
    app = (
        pizzeria_builder(f"sqlite:///{database}")
        .scan("pizzeria.integration")
        .publish_cloudevents(AmqpPublisher(url, exchange))
        .add_service(OutboxRelay)
        .build()
    )
    await prepare_database(app)
    async with app:
        await seed_menu(app)
        yield app


def place_order() -> PlaceOrder:
    """Giulia's order: two large margheritas with olives and ham, one small pepperoni."""
    margherita = LineRequest(
        pizza="margherita", size=Size.LARGE, extras=(Topping.OLIVES, Topping.HAM), quantity=2
    )
    return PlaceOrder(
        phone="+390815550101",
        name="Giulia Verdi",
        address="Via Roma 12, Napoli",
        lines=(margherita, LineRequest(pizza="pepperoni", size=Size.SMALL)),
    )


async def delivery_reaching(
    app: Application, order_id: str, status: DeliveryStatus
) -> DeliveryView:
    """The delivery of ``order_id`` once the board shows it ``status`` (polled)."""

    async def reached() -> bool:
        view = await app.mediator.query(GetDelivery(order_id=order_id))
        return view is not None and view.status is status

    await wait_until(reached, TIMEOUT, f"the delivery of {order_id} never became {status}")
    view = await app.mediator.query(GetDelivery(order_id=order_id))
    assert view is not None
    return view


async def published_order_placed() -> CloudEvent:
    """A real ``order.placed.v1``: what an in-memory pizzeria publishes for Giulia's order."""
    publisher = InMemoryPublisher()
    app = pizzeria_builder().scan("pizzeria.integration").publish_cloudevents(publisher).build()
    await seed_menu(app)
    await app.mediator.send(place_order())
    (placed,) = publisher.of_type(PLACED)
    return placed


async def test_an_order_placed_then_delivered_at_the_pizzeria_is_planned_then_delivered(
    service_settings: DeliveryServiceSettings, broker: Broker, tmp_path: Path
) -> None:
    exchange = service_settings.exchange
    async with (
        delivery_service(service_settings) as (delivery, consumer),
        pizzeria(broker.url, exchange, tmp_path / "pizzeria.db") as shop,
    ):
        order_id = await shop.mediator.send(place_order())

        planned = await delivery_reaching(delivery, order_id, DeliveryStatus.PLANNED)
        assert (planned.customer_name, planned.address, planned.pizzas) == (
            "Giulia Verdi",
            "Via Roma 12, Napoli",
            3,
        )
        assert (str(planned.amount_due), planned.currency) == ("48.40", "EUR")  # 37.20 + 11.20
        assert await delivery.mediator.query(OpenDeliveries()) == [planned]

        send = shop.mediator.send
        await send(StartCooking(order_id=order_id))
        await send(MarkReady(order_id=order_id))
        await send(DispatchOrder(order_id=order_id, driver="Luigi"))
        await send(DeliverOrder(order_id=order_id))

        delivered = await delivery_reaching(delivery, order_id, DeliveryStatus.DELIVERED)
        assert delivered.delivered_by == "Luigi"
        assert await delivery.mediator.query(OpenDeliveries()) == []

    stats = consumer.stats
    assert (stats.handled, stats.duplicates, stats.dead_lettered, stats.retried) == (2, 0, 0, 0)
    assert await broker.count(service_settings.queue) == 0


async def test_the_same_cloudevent_delivered_twice_has_one_effect(
    service_settings: DeliveryServiceSettings, broker: Broker
) -> None:
    placed = await published_order_placed()
    async with (
        delivery_service(service_settings) as (delivery, consumer),
        AmqpPublisher(broker.url, service_settings.exchange) as publisher,
    ):
        await publisher.publish([placed])
        await publisher.publish([placed])
        await wait_until(lambda: consumer.stats.duplicates == 1, TIMEOUT, "not received twice")

        assert len(await delivery.mediator.query(OpenDeliveries())) == 1
        async with delivery.operation("a test looks"):
            uow: UnitOfWork = delivery.get(UnitOfWork)  # type: ignore[type-abstract]
            stored = await uow.repository(Delivery).get(str(placed.get_subject()))
        assert stored.version == 1  # planned once: one event, one write

    assert (consumer.stats.handled, consumer.stats.duplicates) == (1, 1)


async def test_a_malformed_message_goes_to_the_dead_letter_queue_with_the_reason(
    service_settings: DeliveryServiceSettings, broker: Broker
) -> None:
    placed = await published_order_placed()
    attributes = {**placed.get_attributes(), "id": "no-address"}
    data = placed.get_data()
    assert isinstance(data, dict)
    no_address = CloudEvent(attributes, {k: v for k, v in data.items() if k != "delivery_address"})
    exchange = service_settings.exchange
    async with delivery_service(service_settings) as (delivery, consumer):
        assert consumer.dead_letter_queue == f"{service_settings.queue}.dead"
        await broker.publish(
            exchange, PLACED, b"{not json", content_type=STRUCTURED, message_id="garbled"
        )
        await broker.publish(
            exchange, PLACED, to_structured(no_address), content_type=STRUCTURED, message_id="bad"
        )
        await wait_until(lambda: consumer.stats.dead_lettered == 2, TIMEOUT, "not dead-lettered")

        await broker.publish(exchange, PLACED, to_structured(placed), content_type=STRUCTURED)
        await wait_until(lambda: consumer.stats.handled == 1, TIMEOUT, "the consumer stopped")
        open_deliveries = await delivery.mediator.query(OpenDeliveries())
        assert [view.order_id for view in open_deliveries] == [placed.get_subject()]

    dead = {
        str(message.message_id): message
        for message in await broker.collect(consumer.dead_letter_queue, 2)
    }
    assert sorted(dead) == ["bad", "garbled"]
    assert dead["garbled"].headers["x-facta-error"] == "InvalidCloudEvent"
    assert dead["bad"].headers["x-facta-error"] == "InvalidEventData"
    assert "delivery_address" in str(dead["bad"].headers[REASON_HEADER])
    assert dead["bad"].body == to_structured(no_address)


async def test_python_m_delivery_prints_what_it_receives_until_ctrl_c(
    service_settings: DeliveryServiceSettings, broker: Broker
) -> None:
    placed = await published_order_placed()
    environment = {
        **os.environ,
        **{
            DeliveryServiceSettings.variable(name): str(value)
            for name, value in service_settings.model_dump().items()
            if value is not None
        },
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "delivery",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    seen: list[str] = []

    async def line_with(text: str) -> None:
        while not any(text in line for line in seen):
            line = await asyncio.wait_for(process.stdout.readline(), TIMEOUT)
            assert line, f"python -m delivery ended before printing {text!r}: {seen}"
            seen.append(line.decode())

    try:
        await line_with("ready; Ctrl-C to stop")
        async with AmqpPublisher(broker.url, service_settings.exchange) as publisher:
            await publisher.publish([placed])
        await line_with(f"order {placed.get_subject()} placed: delivery planned")
        process.send_signal(signal.SIGINT)
        output, errors = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, errors.decode()
    assert "stopped: 1 handled, 0 duplicates, 0 dead-lettered" in output.decode()
    assert service_settings.queue in seen[0]
