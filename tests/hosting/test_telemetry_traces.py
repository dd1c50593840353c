"""OpenTelemetry spans: their names, their parent/child structure, the links of the
relay's deliveries, the trace context in CloudEvents, and errors recorded with status.

Each test records into an SDK of its own (``support.telemetry.Recorder``), in memory.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from facta import (
    Application,
    ApplicationBuilder,
    DeliverySettings,
    DomainError,
    DomainEventHandler,
    OutboxRelay,
    RetryPolicy,
)
from facta.hosting.telemetry import span_context_of
from facta.integration.publishers import InMemoryPublisher
from support.shop import LOYALTY, SHOP, OrderPlaced, OrderPlacedV2, PlaceOrder
from support.telemetry import Recorder, parent_of, span_id, trace_id

V2 = OrderPlacedV2.cloudevent_type
FAST = DeliverySettings(
    retry=RetryPolicy(max_attempts=3, first_delay=timedelta(0), jitter=0), grace=timedelta(0)
)


class Refusal(DomainError):
    """The domain says no."""


class FlakyHandler(DomainEventHandler[OrderPlaced]):
    """Fails on its first run of each process, succeeds after: the relay's business."""

    failures = 1

    async def handle(self, event: OrderPlaced) -> None:
        if FlakyHandler.failures:
            FlakyHandler.failures -= 1
            raise RuntimeError("the first run fails")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder("shop")


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


def shop(recorder: Recorder, publisher: InMemoryPublisher, *handlers: type) -> Application:
    return (
        ApplicationBuilder()
        .add_handler(*SHOP, *handlers)
        .publish_cloudevents(publisher)
        .delivery(FAST)
        .instrument(recorder.instrumentation("shop"))
        .build()
    )


async def place(app: Application, order_id: str = "o-1") -> None:
    await app.mediator.send(PlaceOrder(order_id=order_id, customer="ann", total_cents=1250))


async def test_a_command_is_a_send_span_with_its_handler_its_commit_and_its_dispatch_inside(
    recorder: Recorder, publisher: InMemoryPublisher
) -> None:
    await place(shop(recorder, publisher))

    send = recorder.span("send PlaceOrder")
    handler = recorder.span("PlaceOrderHandler handle PlaceOrder")
    commits = [span for span in recorder.spans if span.name == "commit"]
    dispatch = recorder.span("dispatch OrderPlaced")
    bridge = recorder.span("CloudEventBridge handle OrderPlaced")
    assert parent_of(send) is None
    assert parent_of(handler) == span_id(send)
    command_commit = next(span for span in commits if parent_of(span) == span_id(handler))
    assert command_commit.kind is SpanKind.CLIENT
    assert command_commit.attributes is not None
    assert command_commit.attributes["facta.commit.events"] == 2
    assert parent_of(dispatch) == span_id(handler)
    assert parent_of(bridge) == span_id(dispatch)
    assert {trace_id(span) for span in recorder.spans} == {trace_id(send)}
    assert send.attributes is not None and send.attributes["facta.message.type"] == "PlaceOrder"


async def test_committed_events_carry_the_commit_span_as_their_traceparent(
    recorder: Recorder, publisher: InMemoryPublisher
) -> None:
    app = shop(recorder, publisher, FlakyHandler)
    FlakyHandler.failures = 1
    await place(app)

    (pending,) = await app.outbox.pending()
    stored = span_context_of(pending.event.traceparent)
    handler = recorder.span("PlaceOrderHandler handle PlaceOrder")
    commit = next(
        span
        for span in recorder.spans
        if span.name == "commit" and parent_of(span) == span_id(handler)
    )
    assert stored is not None and stored.span_id == span_id(commit)


async def test_a_relay_delivery_is_linked_to_and_continues_the_trace_that_committed_the_event(
    recorder: Recorder, publisher: InMemoryPublisher
) -> None:
    app = shop(recorder, publisher, FlakyHandler)
    FlakyHandler.failures = 1
    await place(app)
    (pending,) = await app.outbox.pending()
    committed = span_context_of(pending.event.traceparent)
    assert committed is not None

    await app.get(OutboxRelay).drain()

    delivery = recorder.span("deliver OrderPlaced")
    assert delivery.kind is SpanKind.CONSUMER
    assert [link.context.span_id for link in delivery.links] == [committed.span_id]
    assert parent_of(delivery) == committed.span_id
    assert trace_id(delivery) == committed.trace_id
    runs = [span for span in recorder.spans if span.name == "FlakyHandler handle OrderPlaced"]
    assert [run.status.status_code for run in runs] == [StatusCode.ERROR, StatusCode.UNSET]
    redispatch = [span for span in recorder.spans if span.name == "dispatch OrderPlaced"][-1]
    assert parent_of(redispatch) == span_id(delivery)
    assert parent_of(runs[1]) == span_id(redispatch)


async def test_a_published_cloudevent_carries_its_producer_span_as_traceparent(
    recorder: Recorder, publisher: InMemoryPublisher
) -> None:
    await place(shop(recorder, publisher))

    producer = recorder.span("publish com.example.shop.order.placed.v1")
    assert producer.kind is SpanKind.PRODUCER
    assert producer.attributes is not None
    assert producer.attributes["messaging.batch.message_count"] == 2
    assert parent_of(producer) == span_id(recorder.span("CloudEventBridge handle OrderPlaced"))
    for event in publisher.published:
        carried = span_context_of(event.get_attributes()["traceparent"])
        assert carried is not None and carried.span_id == span_id(producer)


async def test_a_received_cloudevent_is_a_consumer_span_continuing_the_producers_trace(
    recorder: Recorder, publisher: InMemoryPublisher
) -> None:
    await place(shop(recorder, publisher))
    loyalty_recorder = Recorder("loyalty")
    loyalty = (
        ApplicationBuilder()
        .add_handler(*LOYALTY)
        .instrument(loyalty_recorder.instrumentation("loyalty"))
        .build()
    )
    (v2,) = publisher.of_type(V2)

    await loyalty.ingestor.ingest(v2)

    consumer = loyalty_recorder.span(f"process {V2}")
    producer = recorder.span("publish com.example.shop.order.placed.v1")
    assert consumer.kind is SpanKind.CONSUMER
    assert parent_of(consumer) == span_id(producer)
    assert trace_id(consumer) == trace_id(producer)
    assert consumer.attributes is not None
    assert consumer.attributes["cloudevents.event_id"] == v2.get_id()
    (commit,) = [span for span in loyalty_recorder.spans if span.name == "commit"]
    assert trace_id(commit) == trace_id(producer)


async def test_a_refused_command_is_recorded_on_its_spans_with_error_status(
    recorder: Recorder, publisher: InMemoryPublisher
) -> None:
    from facta import Command, CommandHandler

    class Refuse(Command[None]):
        pass

    class RefuseHandler(CommandHandler[Refuse, None]):
        async def handle(self, command: Refuse) -> None:
            raise Refusal("no pizza on Mondays")

    app = shop(recorder, publisher, RefuseHandler)
    with pytest.raises(Refusal):
        await app.mediator.send(Refuse())

    for name in ("send Refuse", "RefuseHandler handle Refuse"):
        span = recorder.span(name)
        assert span.status.status_code is StatusCode.ERROR
        assert "no pizza on Mondays" in (span.status.description or "")
        assert [event.name for event in span.events] == ["exception"]


async def test_without_an_sdk_the_instrumentation_records_nothing(
    publisher: InMemoryPublisher,
) -> None:
    from facta.hosting.telemetry import OpenTelemetry

    telemetry = OpenTelemetry()  # the global providers: the API's proxies, no SDK
    app = (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .publish_cloudevents(publisher)
        .instrument(telemetry)
        .build()
    )
    await place(app)

    assert not telemetry.active()
    assert "traceparent" not in publisher.published[0].get_attributes()


@pytest.mark.parametrize("binding", ["amqp", "http"])
async def test_the_producer_context_travels_as_the_ce_traceparent_header_in_binary_mode(
    recorder: Recorder, publisher: InMemoryPublisher, binding: str
) -> None:
    await place(shop(recorder, publisher))
    event = publisher.published[0]

    if binding == "amqp":
        from facta.integration.amqp import to_message

        headers = dict(to_message(event, "binary").headers)
    else:
        from facta.integration.cloudevents import to_binary_http

        headers = dict(to_binary_http(event)[0])

    carried = span_context_of(headers["ce-traceparent"])
    producer = recorder.span("publish com.example.shop.order.placed.v1")
    assert carried is not None and carried.span_id == span_id(producer)


async def test_a_relay_in_another_process_links_its_delivery_to_the_committing_trace(
    tmp_path: Path, publisher: InMemoryPublisher
) -> None:
    from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_engine, create_schema

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_engine(url)
    await create_schema(engine)
    await engine.dispose()
    web, worker = Recorder("web"), Recorder("worker")

    def process(recorder: Recorder) -> Application:
        return (
            ApplicationBuilder()
            .add_handler(*SHOP)
            .use_persistence(SqlAlchemyPersistence(url))
            .publish_cloudevents(publisher)
            .delivery(FAST)
            .instrument(recorder.instrumentation())
            .build()
        )

    committing, relaying = process(web), process(worker)
    async with committing, relaying:
        publisher.fail_next()
        await place(committing)
        assert await relaying.get(OutboxRelay).drain() == 1

    handler = web.span("PlaceOrderHandler handle PlaceOrder")
    (commit,) = [
        span for span in web.spans if parent_of(span) == span_id(handler) and span.name == "commit"
    ]
    delivery = worker.span("deliver OrderPlaced")
    assert [link.context.span_id for link in delivery.links] == [span_id(commit)]
    assert trace_id(delivery) == trace_id(commit)
    assert worker.span("publish com.example.shop.order.placed.v1").parent is not None
