"""OpenTelemetry metrics of one application: commands and handler runs by type and
outcome, the relay's retries, the outbox's gauges, publishes and the circuit breaker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from facta import ApplicationBuilder, DeliverySettings, OutboxRelay, RetryPolicy
from facta.integration.publishers import CircuitBreaker, InMemoryPublisher
from support.shop import LOYALTY, SHOP, PlaceOrder
from support.telemetry import Recorder

FAST = DeliverySettings(
    retry=RetryPolicy(max_attempts=2, first_delay=timedelta(0), jitter=0), grace=timedelta(0)
)
PLACED_V1 = "com.example.shop.order.placed.v1"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder("shop")


def order(order_id: str = "o-1") -> PlaceOrder:
    return PlaceOrder(order_id=order_id, customer="ann", total_cents=1250)


async def test_the_relays_runs_count_as_retries_and_its_dead_letters_show_in_the_gauges(
    recorder: Recorder,
) -> None:
    publisher = InMemoryPublisher()
    telemetry = recorder.instrumentation("shop")
    app = (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .publish_cloudevents(publisher)
        .delivery(FAST)
        .instrument(telemetry)
        .build()
    )
    publisher.fail_next(2)  # the dispatch fails, the relay's retry fails: dead (2 attempts)
    await app.mediator.send(order())
    await app.get(OutboxRelay).drain()
    assert telemetry.monitor is not None
    await telemetry.monitor.refresh()

    assert recorder.value("facta.outbox.retries", facta__event__type="OrderPlaced") == 1
    assert recorder.value("facta.outbox.dead_letters") == 1
    assert recorder.value("facta.outbox.pending") == 0
    assert recorder.value("facta.cloudevents.published", facta__outcome="error") == 4
    bridge = "facta.handler.duration"
    assert recorder.value(bridge, facta__handler="CloudEventBridge", facta__outcome="error") == 2


async def test_the_circuit_breakers_state_is_a_gauge(recorder: Recorder) -> None:
    now = [0.0]
    inner = InMemoryPublisher()
    breaker = CircuitBreaker(inner, failure_threshold=1, reset_after=10, clock=lambda: now[0])
    app = (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .publish_cloudevents(breaker)
        .instrument(recorder.instrumentation("shop"))
        .build()
    )
    assert recorder.value("facta.circuit_breaker.state") == 0

    inner.fail_next()
    await app.mediator.send(order())
    assert recorder.value("facta.circuit_breaker.state") == 2
    now[0] = 11.0
    assert recorder.value("facta.circuit_breaker.state") == 1


async def test_received_cloudevents_are_counted_by_type_and_outcome(recorder: Recorder) -> None:
    publisher = InMemoryPublisher()
    app = ApplicationBuilder().add_handler(*SHOP).publish_cloudevents(publisher).build()
    await app.mediator.send(order())
    loyalty = ApplicationBuilder().add_handler(*LOYALTY).instrument(recorder.instrumentation())
    loyalty_app = loyalty.build()

    for event in publisher.published:
        await loyalty_app.ingestor.ingest(event)

    received = "facta.cloudevents.received"
    assert recorder.value(received, cloudevents__event_type=PLACED_V1, facta__outcome="ok") == 1


async def test_two_applications_on_the_same_providers_have_gauges_of_their_own(
    recorder: Recorder,
) -> None:
    publisher = InMemoryPublisher()
    apps = {}
    for name in ("north", "south"):
        telemetry = recorder.instrumentation(name)
        apps[name] = (
            ApplicationBuilder()
            .add_handler(*SHOP)
            .publish_cloudevents(publisher)
            .delivery(FAST)
            .instrument(telemetry)
            .build(),
            telemetry,
        )
    publisher.fail_next()  # north's event stays pending
    await apps["north"][0].mediator.send(order())
    await apps["south"][0].mediator.send(order())
    for _, telemetry in apps.values():
        assert telemetry.monitor is not None
        await telemetry.monitor.refresh()

    assert recorder.value("facta.outbox.pending", facta__application="north") == 1
    assert recorder.value("facta.outbox.pending", facta__application="south") == 0
