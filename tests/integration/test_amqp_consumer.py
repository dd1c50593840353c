"""The RabbitMQ consumer: each CloudEvent's effect happens once (guarantee 5), bad input is
dead-lettered with its reason and writes nothing (guarantee 6), and no message stops it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aiormq.exceptions
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from facta import (
    Application,
    ApplicationBuilder,
    ConfigurationError,
    Envelope,
    FactaError,
    IntegrationEventHandler,
    PermanentFailure,
    UnitOfWork,
)
from facta.integration.amqp import REASON_HEADER, AmqpConsumer, AmqpPublisher, Mode, to_message
from facta.integration.cloudevents import CloudEvent, to_structured
from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_schema
from facta.persistence.sqlalchemy.schema import metadata
from integration.amqp_support import Broker, order_placed, wait_until
from support.shop import (
    LOYALTY,
    AwardPoints,
    OrderPlacedV1,
    OrderPlacedV1ToV2,
    OrderPlacedV2,
    Points,
)

V1, V2 = OrderPlacedV1.cloudevent_type, OrderPlacedV2.cloudevent_type
STRUCTURED = "application/cloudevents+json"
FAST = {"retry_delay": 0.01, "max_retry_delay": 0.05, "reconnect_delay": 0.05}


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker.open() as broker:
        yield broker


LoyaltyFactory = Callable[..., Awaitable[Application]]


@pytest.fixture
async def loyalty(tmp_path: Path) -> AsyncIterator[LoyaltyFactory]:
    """Builds the loyalty service on SQLite, with the given handlers (the shop's loyalty
    side if none); its database is closed after the test."""
    apps: list[Application] = []

    async def build(*handlers: type[object]) -> Application:
        app = (
            ApplicationBuilder()
            .add_handler(*(handlers or LOYALTY))
            .use_persistence(SqlAlchemyPersistence(f"sqlite:///{tmp_path / 'loyalty.db'}"))
            .build()
        )
        await create_schema(app.get(AsyncEngine))
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.get(AsyncEngine).dispose()


@asynccontextmanager
async def consuming(
    app: Application, broker: Broker, exchange: str, **options: Any
) -> AsyncIterator[AmqpConsumer]:
    consumer = AmqpConsumer(
        app, broker.url, queue=broker.name("loyalty"), exchange=exchange, **{**FAST, **options}
    )
    async with consumer:
        yield consumer


async def points(app: Application, customer: str = "ann") -> Points | None:
    async with app.operation():
        return await app.get(UnitOfWork).repository(Points).find(customer)


async def rows(app: Application) -> int:
    """How many rows facta's tables hold: aggregates, outbox and inbox receipts."""
    async with app.get(AsyncEngine).connect() as connection:
        total = 0
        for table in metadata.sorted_tables:
            total += (
                await connection.execute(select(func.count()).select_from(table))
            ).scalar_one()
        return total


async def test_the_queue_is_bound_for_exactly_the_accepted_types_beside_a_dead_letter_queue(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    exchange = broker.name("events")
    app = await loyalty()
    async with consuming(app, broker, exchange) as consumer:
        assert consumer.event_types == (V1, V2)
        async with broker.channel() as channel:
            await channel.declare_queue(consumer.dead_letter_queue, passive=True)
            await channel.declare_exchange(consumer.dead_letter_exchange, passive=True)
            queue = await channel.declare_queue(consumer.queue, passive=True)
            assert queue.declaration_result.consumer_count == 1

        with pytest.raises(aiormq.exceptions.PublishError):  # returned: no queue wants it
            await broker.publish(exchange, "com.example.shop.order.shipped.v1", b"{}")
        await broker.publish(exchange, V2, to_structured(order_placed()), content_type=STRUCTURED)
        await wait_until(lambda: consumer.stats.handled == 1, 10, "not routed to the queue")


@pytest.mark.parametrize("mode", [pytest.param("structured"), pytest.param("binary")])
async def test_the_same_cloudevent_twice_has_its_effect_once(
    broker: Broker, loyalty: LoyaltyFactory, mode: Mode
) -> None:
    exchange = broker.name("events")
    event = order_placed("evt-1")
    app = await loyalty()
    async with (
        consuming(app, broker, exchange) as consumer,
        AmqpPublisher(broker.url, exchange, mode=mode) as publisher,
    ):
        await publisher.publish([event])
        await publisher.publish([event])

        await wait_until(lambda: consumer.stats.duplicates == 1, 10, "not consumed twice")

    account = await points(app)
    assert account is not None and (account.orders, account.points) == (["o-1"], 12)
    assert (consumer.stats.handled, consumer.stats.duplicates) == (1, 1)
    assert await broker.count(consumer.queue) == 0


async def test_an_old_version_is_upcast_and_handled(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    exchange = broker.name("events")
    old = order_placed(
        event_type=V1, data={"order_id": "o-9", "customer": "ann", "total_cents": 3099}
    )
    app = await loyalty()
    async with (
        consuming(app, broker, exchange) as consumer,
        AmqpPublisher(broker.url, exchange) as publisher,
    ):
        await publisher.publish([old])
        await wait_until(lambda: consumer.stats.handled == 1, 10, "the v1 event was not handled")

    account = await points(app)
    assert account is not None and (account.orders, account.points) == (["o-9"], 30)


@dataclass(frozen=True)
class Malformed:
    """A message that is no acceptable CloudEvent, and the refusal it must get."""

    body: bytes
    content_type: str | None
    headers: dict[str, Any]
    refusal: str


def _refusal(event: CloudEvent) -> str | None:
    """How the loyalty service refuses ``event``, or None if it accepts it."""
    try:
        _ACCEPTING.ingestor.validate(event)
    except FactaError as error:
        return type(error).__name__
    return None


_ACCEPTING = ApplicationBuilder().add_handler(*LOYALTY).build()
_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_content_types = st.sampled_from(
    [None, "application/cloudevents+json", "application/json", "text/plain", "application/xml"]
)
_ce_headers = st.dictionaries(
    st.sampled_from(["ce-id", "ce-source", "ce-type", "ce-specversion"]), st.text(max_size=6)
).filter(lambda headers: len(headers) < 4)


def _encode(event: CloudEvent, binary: bool) -> tuple[bytes, str | None, dict[str, Any]]:
    message = to_message(event, "binary" if binary else "structured")
    return message.body, message.content_type, dict(message.headers)


@st.composite
def malformed(draw: st.DrawFn) -> Malformed:
    kind = draw(st.sampled_from(["bytes", "not-an-event", "headers", "unknown-type", "bad-data"]))
    if kind == "bytes":
        return Malformed(
            draw(st.binary(max_size=40)), draw(_content_types), {}, "InvalidCloudEvent"
        )
    if kind == "not-an-event":
        body = json.dumps(draw(_json)).encode()
        return Malformed(body, "application/cloudevents+json", {}, "InvalidCloudEvent")
    if kind == "headers":  # binary mode without all the required attributes
        return Malformed(b"{}", "application/json", draw(_ce_headers), "InvalidCloudEvent")
    binary = draw(st.booleans())
    if kind == "unknown-type":
        event_type = draw(st.from_regex(r"com\.example\.[a-z]{1,8}\.v[1-9]", fullmatch=True))
        event = order_placed(event_type=event_type)
    else:
        fields = st.sampled_from(["order_id", "customer", "total", "total_cents", "currency"])
        data = draw(st.dictionaries(fields, _scalars | st.lists(_scalars, max_size=2)))
        event = order_placed(event_type=draw(st.sampled_from([V1, V2])), data=data)
    refusal = _refusal(event)
    assume(refusal is not None)  # data that fits the contract is not malformed
    assert refusal is not None
    return Malformed(*_encode(event, binary), refusal)


def malformed_messages(count: int) -> list[Malformed]:
    """``count`` malformed messages, generated by hypothesis."""
    found: list[Malformed] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(malformed())
    def collect(message: Malformed) -> None:
        found.append(message)

    collect()
    return found


async def test_malformed_messages_are_dead_lettered_with_the_reason_and_write_nothing(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    exchange = broker.name("events")
    messages = {f"bad-{number}": message for number, message in enumerate(malformed_messages(40))}
    app = await loyalty()
    async with consuming(app, broker, exchange) as consumer:
        for message_id, message in messages.items():
            await broker.publish(
                exchange,
                V2,  # routed to the queue whatever the body claims to be
                message.body,
                content_type=message.content_type,
                headers=message.headers,
                message_id=message_id,
            )
        await wait_until(
            lambda: consumer.stats.dead_lettered == len(messages), 20, "not all dead-lettered"
        )
        assert await rows(app) == 0

        good = to_structured(order_placed())
        await broker.publish(exchange, V2, good, content_type=STRUCTURED, message_id="good")
        await wait_until(lambda: consumer.stats.handled == 1, 10, "the consumer stopped working")

    dead = await broker.collect(consumer.dead_letter_queue, len(messages))
    assert sorted(str(message.message_id) for message in dead) == sorted(messages)
    for copy in dead:
        sent = messages[str(copy.message_id)]
        assert copy.body == sent.body
        assert copy.headers["x-facta-error"] == sent.refusal, copy.headers[REASON_HEADER]
        assert str(copy.headers[REASON_HEADER]).startswith(f"facta.errors.{sent.refusal}: ")
        assert copy.headers["x-facta-queue"] == consumer.queue
        assert copy.headers["x-facta-routing-key"] == V2
        assert copy.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert consumer.stats.retried == 0


class BrokenAward(IntegrationEventHandler[OrderPlacedV2]):
    """Writes, then fails: nothing of it may stay."""

    calls = 0
    error: Exception = RuntimeError("the points ledger is unavailable")

    def __init__(self, uow: UnitOfWork) -> None:
        self.points = uow.repository(Points)

    async def handle(self, data: OrderPlacedV2, envelope: Envelope) -> None:
        type(self).calls += 1
        self.points.add(Points(id=data.customer, customer=data.customer))
        raise type(self).error


async def test_a_failing_handler_is_retried_then_dead_lettered_with_the_reason(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    BrokenAward.calls, BrokenAward.error = 0, RuntimeError("the points ledger is unavailable")
    exchange = broker.name("events")
    app = await loyalty(BrokenAward, OrderPlacedV1ToV2)
    async with (
        consuming(app, broker, exchange, max_attempts=3) as consumer,
        AmqpPublisher(broker.url, exchange) as publisher,
    ):
        await publisher.publish([order_placed("evt-broken")])
        await wait_until(lambda: consumer.stats.dead_lettered == 1, 10, "not dead-lettered")
        assert await rows(app) == 0

    assert (BrokenAward.calls, consumer.stats.retried) == (3, 2)
    [copy] = await broker.collect(consumer.dead_letter_queue, 1)
    assert copy.message_id == "evt-broken"
    assert copy.headers["x-facta-error"] == "EventHandlingError"
    assert copy.headers["x-facta-attempts"] == 3
    assert "the points ledger is unavailable" in str(copy.headers[REASON_HEADER])


async def test_a_permanent_failure_is_dead_lettered_at_once(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    BrokenAward.calls, BrokenAward.error = 0, PermanentFailure("customer is blocked")
    exchange = broker.name("events")
    app = await loyalty(BrokenAward)
    async with (
        consuming(app, broker, exchange, max_attempts=5) as consumer,
        AmqpPublisher(broker.url, exchange) as publisher,
    ):
        await publisher.publish([order_placed("evt-blocked")])
        await wait_until(lambda: consumer.stats.dead_lettered == 1, 10, "not dead-lettered")

    assert (BrokenAward.calls, consumer.stats.retried) == (1, 0)
    [copy] = await broker.collect(consumer.dead_letter_queue, 1)
    assert "customer is blocked" in str(copy.headers[REASON_HEADER])


class FlakyAward(AwardPoints):
    """Fails the first time it sees each event, after writing."""

    seen: set[str] = set()  # noqa: RUF012 - reset by the test

    async def handle(self, data: OrderPlacedV2, envelope: Envelope) -> None:
        await super().handle(data, envelope)
        if envelope.id not in FlakyAward.seen:
            FlakyAward.seen.add(envelope.id)
            raise RuntimeError("the handler crashed after writing")


async def test_a_redelivered_event_succeeds_with_its_effect_once(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    FlakyAward.seen = set()
    exchange = broker.name("events")
    app = await loyalty(FlakyAward)
    async with (
        consuming(app, broker, exchange) as consumer,
        AmqpPublisher(broker.url, exchange) as publisher,
    ):
        await publisher.publish([order_placed("evt-flaky")])
        await wait_until(lambda: consumer.stats.handled == 1, 10, "not handled on redelivery")

    assert (consumer.stats.retried, consumer.stats.dead_lettered) == (1, 0)
    account = await points(app)
    assert account is not None and account.orders == ["o-1"]


class SlowAward(AwardPoints):
    started = asyncio.Event()

    async def handle(self, data: OrderPlacedV2, envelope: Envelope) -> None:
        SlowAward.started.set()
        await asyncio.sleep(0.3)
        await super().handle(data, envelope)


async def test_stopping_finishes_the_message_in_hand(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    SlowAward.started = asyncio.Event()
    exchange = broker.name("events")
    app = await loyalty(SlowAward)
    consumer = AmqpConsumer(app, broker.url, queue=broker.name("loyalty"), exchange=exchange)
    await consumer.start()
    async with AmqpPublisher(broker.url, exchange) as publisher:
        await publisher.publish([order_placed()])
    await asyncio.wait_for(SlowAward.started.wait(), 10)

    await consumer.stop()

    assert (consumer.stats.handled, consumer.stats.in_flight) == (1, 0)
    assert await points(app) is not None
    assert await broker.count(consumer.queue) == 0  # acknowledged, not left for redelivery


async def test_stopping_during_a_retry_pause_requeues_the_message_at_once(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    BrokenAward.calls, BrokenAward.error = 0, RuntimeError("the points ledger is unavailable")
    exchange = broker.name("events")
    app = await loyalty(BrokenAward)
    consumer = AmqpConsumer(
        app, broker.url, queue=broker.name("loyalty"), exchange=exchange, retry_delay=30
    )
    await consumer.start()
    async with AmqpPublisher(broker.url, exchange) as publisher:
        await publisher.publish([order_placed()])
    await wait_until(lambda: BrokenAward.calls == 1, 10, "not delivered")

    started = time.monotonic()
    await consumer.stop()

    assert time.monotonic() - started < 5
    assert (consumer.stats.retried, consumer.stats.dead_lettered) == (1, 0)
    assert await broker.count(consumer.queue) == 1  # back in the queue, for the next start


async def test_a_queue_declared_otherwise_fails_the_start(
    broker: Broker, loyalty: LoyaltyFactory
) -> None:
    queue = broker.name("loyalty")
    async with broker.channel() as channel:
        await channel.declare_queue(queue, durable=True)  # without the dead-letter exchange
    consumer = AmqpConsumer(
        await loyalty(), broker.url, queue=queue, exchange=broker.name("events")
    )

    with pytest.raises(ConfigurationError, match="PRECONDITION_FAILED"):
        await consumer.start()
    assert not consumer.connected


def test_a_consumer_needs_an_application_that_accepts_events() -> None:
    nothing_to_consume = ApplicationBuilder().build()

    with pytest.raises(ConfigurationError, match="accepts no CloudEvent type"):
        AmqpConsumer(nothing_to_consume, "amqp://127.0.0.1/", queue="facta-test.nothing")
