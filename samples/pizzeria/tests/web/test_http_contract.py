"""The API as documented: OpenAPI lists every endpoint of ``PIZZERIA.md`` with its limits
and security, and an unexpected failure is a 500 problem that gives nothing away."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from pizzeria.application.commands import StartCooking
from pizzeria.application.kitchen_handlers import StartCookingHandler
from pizzeria.application.query_handlers import GetKitchenHandler

TABLE = [
    ("get", "/menu"),
    ("post", "/menu"),
    ("put", "/menu/{name}/price"),
    ("delete", "/menu/{name}"),
    ("post", "/orders"),
    ("get", "/orders/{order_id}"),
    ("get", "/orders"),
    ("post", "/orders/{order_id}/cook"),
    ("post", "/orders/{order_id}/ready"),
    ("post", "/orders/{order_id}/dispatch"),
    ("post", "/orders/{order_id}/deliver"),
    ("post", "/orders/{order_id}/cancel"),
    ("get", "/kitchen"),
    ("get", "/customers/{phone}/orders"),
]
"""The HTTP API table of PIZZERIA.md, path parameters named as the OpenAPI document does."""

SECRET = "db password is hunter2 at /srv/pizzeria"


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def test_openapi_lists_every_endpoint_of_the_table(spec: dict[str, Any]) -> None:
    listed = {(method, path) for path, item in spec["paths"].items() for method in item}

    assert set(TABLE) <= listed, set(TABLE) - listed
    assert {"/board", "/board/events"} <= set(spec["paths"])


def test_openapi_shows_who_may_call_what(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    secured = {
        (method, path)
        for method, path in TABLE
        if {"bearer": []} in spec["paths"][path][method].get("security", [])
    }
    optional = spec["paths"]["/orders/{order_id}/cancel"]["post"]["security"]

    assert secured == {
        ("post", "/menu"),
        ("put", "/menu/{name}/price"),
        ("delete", "/menu/{name}"),
        ("post", "/orders/{order_id}/cook"),
        ("post", "/orders/{order_id}/ready"),
        ("post", "/orders/{order_id}/dispatch"),
        ("post", "/orders/{order_id}/deliver"),
        ("post", "/orders/{order_id}/cancel"),
    }
    assert {} in optional  # cancelling needs no token


def test_openapi_documents_the_limits_and_the_problem_answers(spec: dict[str, Any]) -> None:
    listing = {p["name"]: p["schema"] for p in spec["paths"]["/orders"]["get"]["parameters"]}
    schemas = spec["components"]["schemas"]
    order = schemas["PlaceOrderRequest"]["properties"]
    line = schemas["OrderLineRequest"]["properties"]
    placing = spec["paths"]["/orders"]["post"]["responses"]

    assert (listing["size"]["minimum"], listing["size"]["maximum"]) == (1, 100)
    assert (listing["page"]["minimum"], listing["page"]["maximum"]) == (1, 10_000)
    assert (order["name"]["minLength"], order["name"]["maxLength"]) == (1, 100)
    assert (order["address"]["minLength"], order["address"]["maxLength"]) == (5, 200)
    assert (order["lines"]["minItems"], order["lines"]["maxItems"]) == (1, 20)
    assert (line["quantity"]["minimum"], line["quantity"]["maximum"]) == (1, 10)
    assert line["extras"]["maxItems"] == 5
    assert schemas["PlaceOrderRequest"]["additionalProperties"] is False
    assert set(placing) == {"201", "422"}
    assert "application/problem+json" in placing["422"]["content"]
    cook = spec["paths"]["/orders/{order_id}/cook"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(cook)
    events = spec["paths"]["/board/events"]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in events


async def test_an_unexpected_error_in_a_query_is_a_500_problem_without_internals(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(self: GetKitchenHandler, query: object) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(GetKitchenHandler, "handle", broken)

    with caplog.at_level(logging.ERROR, logger="facta.web"):
        answer = await client.get("/kitchen")

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 500
    assert "hunter2" not in answer.text and "RuntimeError" not in answer.text
    assert any(SECRET in str(record.exc_info) for record in caplog.records)


async def test_an_unexpected_error_in_a_command_is_a_500_and_commits_nothing(
    client: httpx.AsyncClient, staff: dict[str, str], place: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = (await place())["id"]
    original = StartCookingHandler.handle

    async def broken(self: StartCookingHandler, command: StartCooking) -> None:
        await original(self, command)  # the order and the kitchen change, then it fails
        raise OSError(SECRET)

    monkeypatch.setattr(StartCookingHandler, "handle", broken)

    answer = await client.post(f"/orders/{order_id}/cook", headers=staff)

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in answer.text and "OSError" not in answer.text
    assert (await client.get(f"/orders/{order_id}")).json()["status"] == "confirmed"
    assert (await client.get("/kitchen")).json()["free_slots"] == 3
