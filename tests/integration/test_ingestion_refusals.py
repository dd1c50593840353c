"""Every bad input named in issue 11, on both ways in: over HTTP a 4xx
``application/problem+json`` naming the reason, and the next request on the same
keep-alive connection works; over RabbitMQ a dead letter at once (never retried) naming
the reason, and the consumer keeps consuming. Nothing is stored for any of them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from facta import Application
from facta.hosting.web.cloudevents import INVALID_CLOUDEVENT
from facta.integration.amqp import REASON_HEADER
from facta.integration.cloudevents import to_structured
from integration.amqp_support import Broker, order_placed, wait_until
from integration.http_support import Service, assert_problem, document, running
from integration.ingestion_support import amqp_binary, http_binary, loyalty_on_sqlite
from integration.test_amqp_consumer import consuming, points, rows
from support.shop import OrderPlacedV2

V2 = OrderPlacedV2.cloudevent_type
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
DEEP = "[" * 10_000 + "]" * 10_000
MARK = '"__deep__"'


@dataclass(frozen=True)
class Bad:
    """Attributes that break the CloudEvents type system, and what the refusal names."""

    attributes: dict[str, Any]
    names: str
    text: bool = True  # also expressible as text (a header); a float or a list is not


BAD = [
    pytest.param(Bad({"dataschema": "not a uri"}, "dataschema"), id="dataschema-not-a-uri"),
    pytest.param(Bad({"dataschema": "/schemas/v2.json"}, "dataschema"), id="dataschema-relative"),
    pytest.param(Bad({"source": "::not a uri ref::"}, "source"), id="source-not-a-uri-reference"),
    pytest.param(Bad({"time": "2026-11-22 10:00:00Z"}, "time"), id="time-with-a-space"),
    pytest.param(Bad({"time": "2026-11-22T10:00:00"}, "time"), id="time-without-offset"),
    pytest.param(Bad({"subject": "o-1\nX-Injected: 1"}, "subject"), id="control-character"),
    pytest.param(Bad({"rate": 1.5}, "rate", text=False), id="extension-float"),
    pytest.param(Bad({"tags": ["a", "b"]}, "tags", text=False), id="extension-list"),
    pytest.param(Bad({"meta": {"a": 1}}, "meta", text=False), id="extension-object"),
    pytest.param(Bad({"count": 2**31}, "count", text=False), id="extension-beyond-32-bits"),
    pytest.param(Bad({"trace_id": "x"}, "trace_id"), id="extension-name-with-underscore"),
    pytest.param(Bad({"a" * 21: "x"}, "a" * 21), id="extension-name-too-long"),
]


def deep_document() -> str:
    """A valid event, but its data carries 10,000 nested arrays (as text)."""
    doc = document("deep")
    doc["data"] = {**doc["data"], "extra": "__deep__"}
    return json.dumps(doc).replace(MARK, DEEP)


def deep_request(mode: str) -> tuple[dict[str, str], bytes]:
    if mode == "binary":
        headers, _ = http_binary({**document("deep"), "data": None})
        data = json.dumps({**document("deep")["data"], "extra": "__deep__"})
        return headers, data.replace(MARK, DEEP).encode()
    if mode == "batch":
        return {"content-type": BATCH}, f"[{deep_document()}]".encode()
    return {"content-type": STRUCTURED}, deep_document().encode()


# --- HTTP -------------------------------------------------------------------------------


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    async with running(None) as service:
        yield service


async def assert_next_request_on_the_connection_works(
    service: Service, client: httpx.AsyncClient, refused: httpx.Response, event_id: str
) -> None:
    good = await client.post(
        "/events",
        content=json.dumps(document(event_id)),
        headers={"content-type": STRUCTURED},
    )
    assert good.status_code == 200, good.text
    assert _local_port(good) == _local_port(refused), "the connection was not kept alive"


def _local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    address = stream.get_extra_info("client_addr")
    assert address is not None
    return int(address[1])


@pytest.mark.parametrize("mode", ["structured", "batch", "binary"])
async def test_json_nested_10000_deep_is_a_400_and_the_connection_keeps_serving(
    service: Service, mode: str
) -> None:
    one_connection = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=service.url, limits=one_connection) as client:
        headers, body = deep_request(mode)
        response = await client.post("/events", content=body, headers=headers)

        problem = assert_problem(response, 400, INVALID_CLOUDEVENT)
        assert "deeper than the limit of 64" in problem["detail"]
        assert await service.written() == 0
        await assert_next_request_on_the_connection_works(service, client, response, "after")


@pytest.mark.parametrize("bad", BAD)
async def test_an_attribute_outside_the_type_system_is_a_400_naming_it(
    service: Service, bad: Bad
) -> None:
    one_connection = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=service.url, limits=one_connection) as client:
        response = await client.post(
            "/events",
            content=json.dumps({**document("bad"), **bad.attributes}),
            headers={"content-type": STRUCTURED},
        )

        problem = assert_problem(response, 400, INVALID_CLOUDEVENT)
        assert bad.names in problem["detail"]
        assert await service.written() == 0
        await assert_next_request_on_the_connection_works(service, client, response, "after")


@pytest.mark.parametrize("bad", [case for case in BAD if case.values[0].text])
async def test_a_header_outside_the_type_system_is_a_400_naming_it(
    service: Service, bad: Bad
) -> None:
    headers, body = http_binary({**document("bad"), **bad.attributes})

    response = await service.client.post("/events", content=body, headers=headers)

    problem = assert_problem(response, 400, INVALID_CLOUDEVENT)
    assert bad.names in problem["detail"]
    assert await service.written() == 0


# --- RabbitMQ ---------------------------------------------------------------------------


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker.open() as broker:
        yield broker


@pytest.fixture
async def loyalty(tmp_path: Path) -> AsyncIterator[Application]:
    async with loyalty_on_sqlite(tmp_path) as app:
        yield app


def bad_messages() -> dict[str, tuple[str | None, dict[str, Any], bytes, str]]:
    """Every bad case as AMQP messages: content type, headers, body, what the reason names."""
    messages: dict[str, tuple[str | None, dict[str, Any], bytes, str]] = {}
    for mode in ("structured", "batch", "binary"):
        headers, body = deep_request(mode)
        content_type = headers.pop("content-type")
        amqp_headers = {name: value for name, value in headers.items() if name.startswith("ce-")}
        messages[f"deep-{mode}"] = (content_type, amqp_headers, body, "deeper than the limit")
    for param in BAD:
        bad: Bad = param.values[0]
        doc = {**document(f"bad-{param.id}"), **bad.attributes}
        messages[f"structured-{param.id}"] = (STRUCTURED, {}, json.dumps(doc).encode(), bad.names)
        # typed values travel as they are in cloudEvents_ properties (the AMQP binding)
        if not isinstance(next(iter(bad.attributes.values())), dict | list):
            content_type, headers, body = amqp_binary(doc, "cloudEvents_")
            messages[f"amqp-binding-{param.id}"] = (content_type, headers, body, bad.names)
        if bad.text:
            content_type, headers, body = amqp_binary(doc, "ce-")
            messages[f"rabbitmq-binding-{param.id}"] = (content_type, headers, body, bad.names)
    return messages


async def test_bad_messages_are_dead_lettered_at_once_naming_the_reason(
    broker: Broker, loyalty: Application
) -> None:
    exchange = broker.name("events")
    messages = bad_messages()
    async with consuming(loyalty, broker, exchange, max_attempts=5) as consumer:
        for message_id, (content_type, headers, body, _) in messages.items():
            await broker.publish(
                exchange,
                V2,
                body,
                content_type=content_type,
                headers=headers,
                message_id=message_id,
            )
        await wait_until(
            lambda: consumer.stats.dead_lettered == len(messages), 30, f"{consumer.stats}"
        )
        assert consumer.stats.retried == 0
        assert await rows(loyalty) == 0

        good = to_structured(order_placed("good"))
        await broker.publish(exchange, V2, good, content_type=STRUCTURED, message_id="good")
        await wait_until(lambda: consumer.stats.handled == 1, 10, "the consumer stopped")

    dead = await broker.collect(consumer.dead_letter_queue, len(messages))
    assert sorted(str(copy.message_id) for copy in dead) == sorted(messages)
    for copy in dead:
        reason = str(copy.headers[REASON_HEADER])
        assert copy.headers["x-facta-attempts"] == 1
        assert reason.startswith("facta.errors.InvalidCloudEvent: "), reason
        assert messages[str(copy.message_id)][3] in reason, reason


@pytest.mark.parametrize("prefix", ["cloudEvents_", "cloudEvents:"])
async def test_binary_mode_of_the_amqp_binding_is_handled_with_typed_extensions(
    broker: Broker, loyalty: Application, prefix: str
) -> None:
    exchange = broker.name("events")
    doc = {**document(f"evt-{prefix}"), "attempt": 3, "urgent": True, "note": "räksmörgås"}
    content_type, headers, body = amqp_binary(doc, prefix)
    async with consuming(loyalty, broker, exchange) as consumer:
        await broker.publish(exchange, V2, body, content_type=content_type, headers=headers)
        await wait_until(lambda: consumer.stats.handled == 1, 10, f"{consumer.stats}")

    account = await points(loyalty)
    assert account is not None and account.orders == ["o-1"]
