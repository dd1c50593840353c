"""The CloudEvents ingestion endpoint on a real server: every content mode reaches the typed
handlers once per event (guarantee 5), bad input is a 4xx problem that writes nothing
(guarantee 6), and a failing handler is a 500 that tells the sender to retry and nothing
more."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Backend
from facta.integration.http import HttpPublisher
from integration.http_support import (
    HTTP_BACKENDS,
    ParcelSentV1,
    Service,
    assert_problem,
    document,
    http_backend,
    points,
    running,
    shop,
)
from support.shop import OrderPlacedV1, OrderPlacedV2, PlaceOrder


@pytest.fixture(params=HTTP_BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """In memory and on SQLite (instead of every back-end, as in the shared conftest)."""
    async with http_backend(request.param, tmp_path) as backend:
        yield backend


@pytest.fixture
async def service(backend: Backend) -> AsyncIterator[Service]:
    async with running(backend) as service:
        yield service


# --- every content mode reaches the handlers ---------------------------------------------


@pytest.mark.parametrize("mode", ["structured", "binary"])
async def test_one_event_runs_its_typed_handler(service: Service, mode: str) -> None:
    response = await service.post(document(), mode)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "events": [
            {
                "id": "evt-1",
                "source": "/shop/orders",
                "type": OrderPlacedV2.cloudevent_type,
                "handled_as": OrderPlacedV2.cloudevent_type,
                "outcome": "processed",
                "handled": 1,
                "duplicates": 0,
            }
        ]
    }
    account = await points(service.app)
    assert account is not None and (account.points, account.orders) == (12, ["o-1"])


async def test_a_batch_runs_the_handler_for_each_event(service: Service) -> None:
    batch = [document(f"evt-{n}", order_id=f"o-{n}") for n in range(3)]

    response = await service.post(batch, "batch")

    assert response.status_code == 200, response.text
    assert [event["id"] for event in response.json()["events"]] == ["evt-0", "evt-1", "evt-2"]
    account = await points(service.app)
    assert account is not None and account.orders == ["o-0", "o-1", "o-2"]


async def test_an_empty_batch_is_accepted_and_does_nothing(service: Service) -> None:
    response = await service.post([], "batch")

    assert response.status_code == 200
    assert response.json() == {"events": []}
    assert await service.written() == 0


@pytest.mark.parametrize("mode", ["structured", "binary", "batch"])
async def test_the_same_event_twice_has_its_effect_once_and_is_reported_a_duplicate(
    service: Service, mode: str
) -> None:
    first = await service.post(document(), mode)
    again = await service.post(document(), mode)

    assert first.json()["events"][0]["outcome"] == "processed"
    assert again.status_code == 200
    (summary,) = again.json()["events"]
    assert (summary["outcome"], summary["handled"], summary["duplicates"]) == ("duplicate", 0, 1)
    account = await points(service.app)
    assert account is not None and account.orders == ["o-1"]


async def test_an_old_version_is_upcast_and_handled(service: Service) -> None:
    old = document(
        event_type=OrderPlacedV1.cloudevent_type,
        data={"order_id": "o-9", "customer": "ann", "total_cents": 3099},
    )

    response = await service.post(old, "binary")

    assert response.status_code == 200, response.text
    assert response.json()["events"][0]["handled_as"] == OrderPlacedV2.cloudevent_type
    account = await points(service.app)
    assert account is not None and (account.points, account.orders) == (30, ["o-9"])


async def test_a_service_publishing_over_http_reaches_the_handlers_of_another(
    backend: Backend,
) -> None:
    async with running(backend) as loyalty:
        publisher = HttpPublisher(f"{loyalty.url}/events", mode="binary")
        async with shop(publisher) as orders:
            await orders.mediator.send(PlaceOrder(order_id="o-5", customer="bob", total_cents=990))

        account = await points(loyalty.app, "bob")
    # v1 and v2 of one fact share source and id: the v1 is upcast and handled, the v2 is
    # then a duplicate for the same handler, so the points are awarded once
    assert account is not None and (account.points, account.orders) == (9, ["o-5"])


# --- refusals: a 4xx problem, and nothing written ----------------------------------------


def _without(name: str) -> dict[str, Any]:
    return {key: value for key, value in document().items() if key != name}


REFUSALS = [
    pytest.param(
        "structured",
        document(event_type="com.example.shop.order.shipped.v1"),
        400,
        "urn:facta:problem:unknown-event-type",
        "shipped",
        id="unknown-type",
    ),
    pytest.param(
        "structured", _without("id"), 400, "urn:facta:problem:invalid-cloudevent", "id", id="no-id"
    ),
    pytest.param(
        "structured",
        {**document(), "specversion": "0.3"},
        400,
        "urn:facta:problem:invalid-cloudevent",
        "specversion",
        id="old-specversion",
    ),
    pytest.param(
        "structured",
        document(data={"order_id": "o-1", "customer": "ann", "total": "lots", "currency": "EUR"}),
        400,
        "urn:facta:problem:invalid-event-data",
        "total",
        id="invalid-data",
    ),
    pytest.param(
        "binary",
        document(data={"order_id": "o-1"}),
        400,
        "urn:facta:problem:invalid-event-data",
        "customer",
        id="binary-invalid-data",
    ),
    pytest.param(
        "batch",
        [document("evt-1"), document("evt-2", data={"order_id": "o-2"})],
        400,
        "urn:facta:problem:invalid-event-data",
        "event 1 of the batch",
        id="batch-with-one-bad-event",
    ),
]


@pytest.mark.parametrize(("mode", "body", "status", "problem_type", "detail"), REFUSALS)
async def test_input_that_can_never_be_handled_is_a_4xx_problem_and_writes_nothing(
    service: Service,
    mode: str,
    body: Any,
    status: int,
    problem_type: str,
    detail: str,
) -> None:
    response = await service.post(body, mode)

    problem = assert_problem(response, status, problem_type)
    assert detail in problem["detail"]
    assert await service.written() == 0


async def test_an_unknown_type_names_the_types_the_service_accepts(service: Service) -> None:
    response = await service.post(document(event_type="com.example.shop.order.shipped.v1"))

    problem = assert_problem(response, 400, "urn:facta:problem:unknown-event-type")
    assert problem["event_id"] == "evt-1"
    assert set(problem["accepted_types"]) == {
        OrderPlacedV1.cloudevent_type,
        OrderPlacedV2.cloudevent_type,
        ParcelSentV1.cloudevent_type,
    }


@pytest.mark.parametrize(
    ("mode", "pointer"),
    [("structured", "#/data/total"), ("binary", "#/total"), ("batch", "#/0/data/total")],
)
async def test_invalid_data_lists_each_field_with_a_pointer_into_the_body(
    service: Service, mode: str, pointer: str
) -> None:
    data = {"order_id": "o-1", "customer": "ann", "total": "lots", "currency": "EUR"}

    response = await service.post(document(data=data), mode)

    problem = assert_problem(response, 400, "urn:facta:problem:invalid-event-data")
    (error,) = problem["errors"]
    assert error["pointer"] == pointer
    assert error["location"] == ["total"]
    assert error["code"] == "decimal_parsing"
    assert error["detail"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/json", "application/cloudevents+xml", None],
)
async def test_a_body_in_no_content_mode_is_415(service: Service, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}

    response = await service.client.post("/events", content=b"{}", headers=headers)

    problem = assert_problem(response, 415, "about:blank")
    assert problem["title"] == "Unsupported Media Type"
    assert "application/cloudevents+json" in response.headers["accept"]
    assert await service.written() == 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_413(service: Service, chunked: bool) -> None:
    big = document(data={"order_id": "o-1", "customer": "x" * 70_000, "total": 1, "currency": "E"})
    body = json.dumps(big).encode()

    async def stream() -> Any:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = await service.client.post(
        "/events",
        content=stream() if chunked else body,
        headers={"content-type": "application/cloudevents+json"},
    )

    problem = assert_problem(response, 413, "about:blank")
    assert str(64 * 1024) in problem["detail"]
    assert await service.written() == 0
    assert (await service.post(document())).status_code == 200  # the endpoint still works


# --- a failing handler: 500 without the exception, so the sender retries -----------------


async def test_a_failing_handler_is_a_500_problem_without_the_exception_text(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    parcel = document("evt-p", event_type=ParcelSentV1.cloudevent_type, data={"parcel_id": "p-1"})

    with caplog.at_level(logging.ERROR):
        response = await service.post(parcel)

    problem = assert_problem(response, 500, "urn:facta:problem:event-handling-failed")
    assert problem["event_id"] == "evt-p"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert "hunter2" in caplog.text
    assert await service.written() == 0
