"""The API as documented: OpenAPI lists every endpoint of ``PIZZERIA.md`` with its limits
and security, and an unexpected failure is a 500 problem that gives nothing away."""

from __future__ import annotations

import logging
import re
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
    assert set(placing) == {"201", "409", "422"}
    assert "application/problem+json" in placing["422"]["content"]
    cook = spec["paths"]["/orders/{order_id}/cook"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(cook)
    events = spec["paths"]["/board/events"]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in events


def test_openapi_documents_every_error_answer_as_a_problem(spec: dict[str, Any]) -> None:
    errors = {
        (method, path, status): set(response.get("content", {}))
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status[0] in "45"
    }

    assert errors
    assert {kinds for kinds in map(frozenset, errors.values())} == {
        frozenset({"application/problem+json"})
    }
    assert "HTTPValidationError" not in spec["components"]["schemas"]


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        pytest.param("+39 081 555 0101", True, id="spaced"),
        pytest.param("12345678", True, id="eight-digits"),
        pytest.param("+1234567890123456", True, id="sixteen-digits"),
        pytest.param("1234567", False, id="seven-digits"),
        pytest.param("+12345678901234567", False, id="seventeen-digits"),
        pytest.param("+39 (081) ---", False, id="separators-only"),
    ],
)
async def test_the_phone_rule_in_the_schema_is_the_one_the_server_applies(
    spec: dict[str, Any], client: httpx.AsyncClient, order_body: Any, phone: str, valid: bool
) -> None:
    pattern = spec["components"]["schemas"]["PlaceOrderRequest"]["properties"]["phone"]["pattern"]

    answer = await client.post("/orders", json=order_body(phone=phone))

    assert (re.fullmatch(pattern, phone) is not None) is valid
    assert (answer.status_code == 201) is valid, answer.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("delete", "/orders", "GET, POST", id="orders"),
        pytest.param("post", "/menu/margherita", "DELETE", id="a-pizza"),
        pytest.param("patch", "/menu", "GET, POST", id="menu"),
    ],
)
async def test_a_405_lists_every_method_the_path_allows(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    answer = await client.request(method, path)

    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_body_that_is_not_utf8_is_a_422_like_malformed_json(
    client: httpx.AsyncClient,
) -> None:
    headers = {"content-type": "application/json"}

    not_utf8 = await client.post("/orders", content=b'{"name": "\xff\xfe"}', headers=headers)
    malformed = await client.post("/orders", content=b'{"name": ', headers=headers)

    assert (not_utf8.status_code, malformed.status_code) == (422, 422)
    assert not_utf8.headers["content-type"] == "application/problem+json"
    assert not_utf8.json()["type"] == malformed.json()["type"] == "urn:facta:problem:validation"
    assert not_utf8.json()["errors"][0]["code"] == "utf8_invalid"


async def test_timestamps_in_answers_carry_milliseconds_fixed_width(
    client: httpx.AsyncClient, order_body: Any
) -> None:
    order = (await client.post("/orders", json=order_body())).json()

    stamps = [order["placed_at"], order["updated_at"], *(step["at"] for step in order["history"])]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", at) for at in stamps), stamps


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
