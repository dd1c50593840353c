"""The HTTP publisher against a real HTTP sink: the three content modes of the CloudEvents
HTTP binding, and a sink that fails, hangs or refuses loses nothing (guarantee 5: every
event arrives, re-sent with the same id) or is dead-lettered at once with its answer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Backend
from facta import (
    Application,
    ApplicationBuilder,
    BackgroundService,
    ConfigurationError,
    DeliverySettings,
    InMemoryPersistence,
    Outbox,
    OutboxRelay,
    PublishFailed,
    PublishRefused,
)
from facta.integration.cloudevents import (
    BATCH_CONTENT_TYPE,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    read_structured,
    to_structured,
)
from facta.integration.http import HttpMode, HttpPublisher
from facta.integration.publishers import CircuitBreaker, Publisher
from facta.persistence import DeliveryStatus, RetryPolicy
from integration.http_support import (
    HTTP_BACKENDS,
    Sink,
    assert_keeps_the_rules_the_schema_cannot_check,
    assert_matches_schema,
    cloudevents_schema,
    free_port_url,
    http_backend,
    serve,
)
from support.shop import SHOP, OrderPlacedV1, OrderPlacedV2, PlaceOrder

MODES: list[HttpMode] = ["structured", "binary", "batch"]
FAST = DeliverySettings(
    retry=RetryPolicy(max_attempts=50, first_delay=timedelta(0), jitter=0),
    grace=timedelta(0),
)
TIMEOUT = 0.1
MEMORY = Backend("memory", InMemoryPersistence)


@pytest.fixture(params=HTTP_BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """In memory and on SQLite (instead of every back-end, as in the shared conftest)."""
    async with http_backend(request.param, tmp_path) as backend:
        yield backend


def cloudevent(event_id: str = "evt-1", **extensions: str) -> CloudEvent:
    return read_structured(
        json.dumps(
            {
                "specversion": "1.0",
                "id": event_id,
                "source": "/shop/orders",
                "type": OrderPlacedV1.cloudevent_type,
                "subject": "o-1",
                "time": "2026-11-22T10:00:00Z",
                "datacontenttype": "application/json",
                "data": {"order_id": "o-1", "customer": "ann", "total_cents": 1250},
                **extensions,
            }
        )
    )


def shop(backend: Backend, publisher: Publisher, *, relay: bool = True) -> Application:
    """The shop publishing through ``publisher``; with the relay running in the background,
    or only when a test drains it."""
    builder = (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .use_persistence(backend.persistence())
        .publish_cloudevents(publisher, dataschema_base="https://shop.example/events/schemas")
        .delivery(FAST)
    )
    return (builder.add_service(OutboxRelay) if relay else builder).build()


async def place(app: Application, order_id: str) -> None:
    await app.mediator.send(PlaceOrder(order_id=order_id, customer="ann", total_cents=1250))


def documents(sink: Sink) -> list[dict[str, Any]]:
    """Every event the sink received, as a structured JSON document (whatever the mode)."""
    found: list[dict[str, Any]] = []
    for request in sink.requests:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(BATCH_CONTENT_TYPE):
            found.extend(json.loads(request.body))
        elif content_type.startswith(STRUCTURED_CONTENT_TYPE):
            found.append(json.loads(request.body))
        else:
            found.extend(json.loads(to_structured(event)) for event in request.events())
    return found


# --- the content modes -------------------------------------------------------------------


async def test_structured_mode_posts_each_event_as_application_cloudevents_json() -> None:
    sink = Sink()
    events = [cloudevent("evt-1"), cloudevent("evt-2")]
    async with serve(sink) as url, HttpPublisher(f"{url}/events") as publisher:
        await publisher.publish(events)

    assert [(r.method, r.path) for r in sink.requests] == [("POST", "/events")] * 2
    for request, event in zip(sink.requests, events, strict=True):
        assert request.headers["content-type"] == STRUCTURED_CONTENT_TYPE
        assert not any(name.startswith("ce-") for name in request.headers)
        document = json.loads(request.body)
        assert document["id"] == event.get_id()
        assert document["data"] == event.get_data()
        assert document["time"] == "2026-11-22T10:00:00Z"


async def test_binary_mode_puts_the_attributes_in_ce_headers_and_the_data_in_the_body() -> None:
    sink = Sink()
    event = cloudevent(correlationid="c-1", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    async with serve(sink) as url, HttpPublisher(f"{url}/events", mode="binary") as publisher:
        await publisher.publish([event])

    (request,) = sink.requests
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-id"] == "evt-1"
    assert headers["ce-source"] == "/shop/orders"
    assert headers["ce-type"] == OrderPlacedV1.cloudevent_type
    assert headers["ce-subject"] == "o-1"
    assert headers["ce-time"] == "2026-11-22T10:00:00Z"
    assert headers["ce-correlationid"] == "c-1"
    assert headers["ce-traceparent"] == event.get_extension("traceparent")
    assert "ce-datacontenttype" not in headers
    assert json.loads(request.body) == event.get_data()
    (parsed,) = request.events()
    assert parsed.get_attributes() == event.get_attributes()


async def test_batch_mode_posts_all_events_in_one_request() -> None:
    sink = Sink()
    events = [cloudevent("evt-1"), cloudevent("evt-2"), cloudevent("evt-3")]
    async with serve(sink) as url, HttpPublisher(f"{url}/events", mode="batch") as publisher:
        await publisher.publish(events)
        await publisher.publish([])

    (request,) = sink.requests
    assert request.headers["content-type"] == BATCH_CONTENT_TYPE
    batch = json.loads(request.body)
    assert [document["id"] for document in batch] == ["evt-1", "evt-2", "evt-3"]
    assert [e.get_attributes() for e in request.events()] == [e.get_attributes() for e in events]


async def test_configured_headers_are_sent_without_overriding_the_content_type() -> None:
    sink = Sink()
    headers = {"Authorization": "Bearer s3cret", "Content-Type": "text/plain"}
    async with (
        serve(sink) as url,
        HttpPublisher(f"{url}/events", headers=headers) as publisher,
    ):
        await publisher.publish([cloudevent()])

    (request,) = sink.requests
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["content-type"] == STRUCTURED_CONTENT_TYPE


# --- CloudEvents 1.0 conformance of everything the bridge sends --------------------------


async def published_documents(mode: HttpMode) -> list[dict[str, Any]]:
    sink = Sink()
    async with serve(sink) as url:
        app = shop(MEMORY, HttpPublisher(f"{url}/events", mode=mode))
        async with app:
            for number in range(3):
                await place(app, f"o-{number}")
    # the relay may re-send what the dispatch after the commit is still sending: same ids
    found = list({(d["id"], d["type"]): d for d in documents(sink)}.values())
    assert len(found) == 6
    return found


@pytest.mark.parametrize("mode", MODES)
async def test_every_published_event_matches_the_cloudevents_json_schema(mode: HttpMode) -> None:
    schema = cloudevents_schema()

    for document in await published_documents(mode):
        assert_matches_schema(document, schema)


@pytest.mark.parametrize("mode", MODES)
async def test_every_published_event_keeps_the_rules_the_schema_cannot_check(
    mode: HttpMode,
) -> None:
    found = await published_documents(mode)

    for document in found:
        assert_keeps_the_rules_the_schema_cannot_check(document)
        assert document["dataschema"] == (
            f"https://shop.example/events/schemas/{document['type']}.json"
        )
    assert Counter(document["type"] for document in found) == {
        OrderPlacedV1.cloudevent_type: 3,
        OrderPlacedV2.cloudevent_type: 3,
    }


# --- what the sink's answers mean ---------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425, 429])
async def test_a_server_error_or_a_busy_sink_is_a_failure_to_retry(status: int) -> None:
    sink = Sink()
    sink.answer_next(status)
    async with serve(sink) as url, HttpPublisher(f"{url}/events") as publisher:
        with pytest.raises(PublishFailed, match=str(status)):
            await publisher.publish([cloudevent()])
        await publisher.publish([cloudevent()])

    assert [request.answer for request in sink.requests] == [status, 202]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 415, 422])
async def test_any_other_client_error_is_a_refusal_with_the_status_and_the_answer(
    status: int,
) -> None:
    sink = Sink(answer_body=b'{"title": "Invalid CloudEvent", "detail": "' + b"x" * 200_000 + b'"}')
    sink.answer_next(status)
    async with serve(sink) as url, HttpPublisher(f"{url}/events") as publisher:
        with pytest.raises(PublishRefused) as refused:
            await publisher.publish([cloudevent()])

    message = str(refused.value)
    assert f"HTTP {status}" in message
    assert '{"title": "Invalid CloudEvent", "detail": "xxx' in message
    assert len(message) < 700


async def test_a_redirect_is_a_refusal_naming_where_it_points() -> None:
    sink = Sink()
    sink.answer_next(308)
    async with serve(sink) as url, HttpPublisher(f"{url}/events") as publisher:
        with pytest.raises(PublishRefused, match="308"):
            await publisher.publish([cloudevent()])


async def test_a_sink_that_hangs_past_the_timeout_is_a_failure_to_retry() -> None:
    sink = Sink(hang_for=TIMEOUT * 3)
    sink.answer_next("hang")
    async with serve(sink) as url, HttpPublisher(f"{url}/events", timeout=TIMEOUT) as publisher:
        with pytest.raises(PublishFailed, match="timed out"):
            await publisher.publish([cloudevent()])


async def test_a_sink_that_is_not_listening_is_a_failure_to_retry() -> None:
    async with HttpPublisher(free_port_url()) as publisher:
        with pytest.raises(PublishFailed, match="ConnectError"):
            await publisher.publish([cloudevent()])


# --- through the outbox: nothing is lost, refusals are dead-lettered ---------------------


@pytest.mark.parametrize("mode", MODES)
async def test_every_event_arrives_through_intermittent_503s_and_timeouts(
    backend: Backend, mode: HttpMode
) -> None:
    sink = Sink(hang_for=TIMEOUT * 3)
    sink.cycle(503, 202, "hang", 202, 503, 202, 202, 503)
    orders = [f"o-{number}" for number in range(5)]
    async with serve(sink) as url:
        app = shop(backend, HttpPublisher(f"{url}/events", mode=mode, timeout=TIMEOUT))
        async with app:
            for order_id in orders:
                await place(app, order_id)
            relay = app.get(OutboxRelay)
            outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
            for _ in range(20):
                await relay.drain()
                if (await outbox.stats()).pending == 0:
                    break

    assert (await outbox.stats()).pending == 0
    assert await outbox.deliveries(DeliveryStatus.DEAD) == []
    assert any(not request.accepted for request in sink.requests)
    received = [event for request in sink.requests for event in request.events()]
    accepted = {(event.get_id(), event.get_type()) for event in sink.accepted}
    ids = {event.get_id() for event in received}
    assert len(ids) == len(orders)  # a re-send keeps the id of the first try
    assert accepted == {
        (event_id, event_type)
        for event_id in ids
        for event_type in (OrderPlacedV1.cloudevent_type, OrderPlacedV2.cloudevent_type)
    }
    by_key: dict[tuple[str, str], set[str]] = {}
    for event in received:
        key = (event.get_id(), event.get_type())
        by_key.setdefault(key, set()).add(to_structured(event).decode())
    assert all(len(versions) == 1 for versions in by_key.values()), [
        v for v in by_key.values() if len(v) > 1
    ][:1]  # a re-send is identical


async def test_a_refusal_is_dead_lettered_at_once_with_the_sinks_answer(backend: Backend) -> None:
    sink = Sink(answer_body=b'{"detail": "type com.example.shop.order.placed.v1 is unknown"}')
    sink.answer_next(400)
    async with serve(sink) as url:
        app = shop(backend, HttpPublisher(f"{url}/events"), relay=False)
        async with app:
            await place(app, "o-1")
            outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
            await OutboxRelay(outbox, app.mediator, FAST).drain()

    (dead,) = await outbox.deliveries(DeliveryStatus.DEAD)
    assert dead.handler.endswith("CloudEventBridge")
    assert dead.attempts == 1
    assert "PublishRefused" in dead.last_error
    assert "HTTP 400 Bad Request" in dead.last_error
    assert "type com.example.shop.order.placed.v1 is unknown" in dead.last_error
    assert len(sink.requests) == 1
    assert (await outbox.stats()).pending == 0


async def test_a_circuit_breaker_stops_calling_a_dead_sink_and_resumes_when_it_is_back() -> None:
    now = [0.0]
    sink = Sink()
    sink.cycle(503)
    async with serve(sink) as url, HttpPublisher(f"{url}/events") as http:
        breaker = CircuitBreaker(http, failure_threshold=3, reset_after=30, clock=lambda: now[0])
        for _ in range(10):
            with pytest.raises(PublishFailed):
                await breaker.publish([cloudevent()])
        assert breaker.is_open
        assert len(sink.requests) == 3

        now[0] += 31
        with pytest.raises(PublishFailed):
            await breaker.publish([cloudevent()])  # one try gets through, and fails
        assert len(sink.requests) == 4 and breaker.is_open

        sink.recover()
        now[0] += 31
        await breaker.publish([cloudevent("evt-2")])
        await breaker.publish([cloudevent("evt-3")])

    assert not breaker.is_open
    assert [event.get_id() for event in sink.accepted] == ["evt-2", "evt-3"]


# --- its life as a service -----------------------------------------------------------------


async def test_the_application_closes_the_client_it_started_and_a_restart_reopens_it() -> None:
    sink = Sink()
    async with serve(sink) as url:
        publisher = HttpPublisher(f"{url}/events")
        assert isinstance(publisher, Publisher) and isinstance(publisher, BackgroundService)
        app = shop(MEMORY, publisher)
        async with app:
            await place(app, "o-1")
            client = publisher._client
            assert client is not None and not client.is_closed
        assert client.is_closed
        async with app:
            await place(app, "o-2")

    assert len({(event.get_id(), event.get_type()) for event in sink.accepted}) == 4


async def test_a_client_passed_in_stays_open_for_its_owner() -> None:
    sink = Sink()
    async with serve(sink) as url, httpx.AsyncClient() as client:
        async with HttpPublisher(f"{url}/events", client=client) as publisher:
            await publisher.publish([cloudevent()])
        assert not client.is_closed
        await HttpPublisher(f"{url}/events", client=client).publish([cloudevent("evt-2")])

    assert len(sink.accepted) == 2


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        pytest.param({"url": "sink.example/events"}, "http", id="no-scheme"),
        pytest.param({"url": "ftp://sink.example/events"}, "http", id="ftp"),
        pytest.param({"url": "http://"}, "http", id="no-host"),
        pytest.param({"url": "http://sink.example", "mode": "avro"}, "mode", id="mode"),
        pytest.param({"url": "http://sink.example", "timeout": 0}, "timeout", id="timeout"),
    ],
)
def test_a_misconfigured_publisher_is_refused_when_it_is_built(
    arguments: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        HttpPublisher(**arguments)
