"""The CloudEvents bridge: domain events with a contract leave as versioned CloudEvents.

Every produced event is checked against the CloudEvents 1.0 JSON schema and the rules the
schema cannot express, and a publisher that is down loses nothing (guarantee 5: a re-sent
CloudEvent keeps its id).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Backend
from facta import (
    Application,
    ApplicationBuilder,
    DeliverySettings,
    InMemoryPersistence,
    InMemoryStore,
    Outbox,
    OutboxRelay,
    RetryPolicy,
    trace_context,
)
from facta.integration.cloudevents import CloudEvent, read_structured, to_structured
from facta.integration.publishers import CircuitBreaker, InMemoryPublisher
from facta.persistence import DeliveryStatus
from support.shop import SHOP, OrderNoted, OrderPlacedV1, OrderPlacedV2, PlaceOrder

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "data" / "cloudevents-1.0.schema.json"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
FAST = DeliverySettings(
    retry=RetryPolicy(max_attempts=6, first_delay=timedelta(0), jitter=0),
    grace=timedelta(0),
)


def shop(backend: Backend, publisher: InMemoryPublisher | CircuitBreaker) -> Application:
    return (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .use_persistence(backend.persistence())
        .publish_cloudevents(publisher, dataschema_base="https://shop.example/schemas")
        .delivery(FAST)
        .add_service(OutboxRelay)
        .build()
    )


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


async def place(app: Application, order_id: str = "o-1") -> None:
    await app.mediator.send(PlaceOrder(order_id=order_id, customer="ann", total_cents=1250))


def assert_conforms(event: CloudEvent) -> None:
    """CloudEvents 1.0: the spec's JSON schema, plus what the schema cannot check."""
    document: dict[str, Any] = json.loads(to_structured(event))
    if SCHEMA.exists():
        import jsonschema

        jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(document)
    assert document["specversion"] == "1.0"
    assert not ("data" in document and "data_base64" in document)
    standard = {"id", "source", "type", "specversion", "subject", "time", "dataschema"}
    for name in set(document) - standard - {"datacontenttype", "data", "data_base64"}:
        assert re.fullmatch(r"[a-z0-9]{1,20}", name), name
    parsed = read_structured(to_structured(event))
    assert parsed.get_attributes() == event.get_attributes()
    assert parsed.get_data() == event.get_data()


async def test_an_event_with_two_contracts_is_published_in_both_versions_with_one_id(
    backend: Backend, publisher: InMemoryPublisher
) -> None:
    app = shop(backend, publisher)
    await place(app)

    v1, v2 = publisher.published
    assert (v1.get_type(), v2.get_type()) == (
        OrderPlacedV1.cloudevent_type,
        OrderPlacedV2.cloudevent_type,
    )
    assert v1.get_id() == v2.get_id()
    assert v1.get_data() == {"order_id": "o-1", "customer": "ann", "total_cents": 1250}
    assert v2.get_data() == {
        "order_id": "o-1",
        "customer": "ann",
        "total": "12.5",
        "currency": "EUR",
    }


async def test_a_published_event_carries_the_domain_events_identity_and_lineage(
    publisher: InMemoryPublisher,
) -> None:
    app = (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .use_persistence(InMemoryPersistence())
        .publish_cloudevents(publisher, dataschema_base="https://shop.example/schemas/")
        .build()
    )
    with trace_context(TRACEPARENT):
        await place(app)

    placed = next(e for e in app.get(InMemoryStore).events if e.event_type == "OrderPlaced")
    event = publisher.published[0]
    attributes = event.get_attributes()
    assert attributes["id"] == str(placed.event_id)
    assert attributes["source"] == "/shop/orders"
    assert attributes["subject"] == "o-1"
    assert attributes["time"] == placed.occurred_at
    assert attributes["datacontenttype"] == "application/json"
    assert attributes["sequence"] == "00000000000000000001"
    assert attributes["correlationid"] == str(placed.correlation_id)
    assert attributes["causationid"] == str(placed.causation_id)
    assert attributes["traceparent"] == TRACEPARENT
    assert attributes["dataschema"] == (
        "https://shop.example/schemas/com.example.shop.order.placed.v1.json"
    )


async def test_every_published_event_conforms_to_cloudevents_1_0(
    backend: Backend, publisher: InMemoryPublisher
) -> None:
    app = shop(backend, publisher)
    for number in range(3):
        await place(app, f"o-{number}")

    assert len(publisher.published) == 6
    for event in publisher.published:
        assert_conforms(event)


async def test_events_without_a_contract_are_not_published_and_need_no_delivery(
    backend: Backend, publisher: InMemoryPublisher
) -> None:
    app = shop(backend, publisher)
    await place(app)

    assert {event.get_type() for event in publisher.published} == {
        OrderPlacedV1.cloudevent_type,
        OrderPlacedV2.cloudevent_type,
    }
    assert app.mediator.handler_names(OrderNoted) == ()


async def test_a_publisher_that_is_down_loses_nothing_and_resends_with_the_same_id(
    backend: Backend, publisher: InMemoryPublisher
) -> None:
    app = shop(backend, publisher)
    publisher.fail_next(3)
    await place(app)
    assert publisher.published == []

    await app.get(OutboxRelay).drain()
    await app.get(OutboxRelay).drain()
    await app.get(OutboxRelay).drain()

    assert [event.get_type() for event in publisher.published] == [
        OrderPlacedV1.cloudevent_type,
        OrderPlacedV2.cloudevent_type,
    ]
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    assert (await outbox.stats()).pending == 0


async def test_a_refused_publish_is_dead_lettered_at_once_with_the_answer(
    backend: Backend, publisher: InMemoryPublisher
) -> None:
    app = shop(backend, publisher)
    publisher.fail_next(1, refuse=True)
    await place(app)

    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    (dead,) = await outbox.deliveries(DeliveryStatus.DEAD)
    assert dead.handler.endswith("CloudEventBridge")
    assert dead.attempts == 1
    assert "PublishRefused: the sink refused the events" in dead.last_error


async def test_a_circuit_breaker_stops_calling_a_failing_publisher_and_tries_again_later() -> None:
    now = [0.0]
    inner = InMemoryPublisher()
    breaker = CircuitBreaker(inner, failure_threshold=2, reset_after=10, clock=lambda: now[0])
    inner.fail_next(2)
    calls = []

    async def attempt() -> None:
        calls.append(breaker.is_open)
        try:
            await breaker.publish([])
        except Exception:
            pass

    await attempt()
    await attempt()
    assert breaker.is_open
    inner.fail_next(1)  # would fail if called: the open circuit must not call it
    await attempt()
    assert inner._failures
    now[0] = 11.0
    await attempt()  # half-open: one call goes through, fails, opens again
    assert breaker.is_open
    now[0] = 22.0
    await attempt()
    assert not breaker.is_open
