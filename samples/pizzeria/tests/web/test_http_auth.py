"""Who may do what: the manager's token changes the menu, the staff's (or the manager's)
moves orders through the kitchen; without a token it is a 401, with the wrong one a 403,
both as problem+json; reading, placing and cancelling orders need no token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

Place = Callable[..., Awaitable[dict[str, Any]]]

MANAGER_ONLY = [
    pytest.param("POST", "/menu", {"name": "diavola", "base_price": "9.00"}, id="add-pizza"),
    pytest.param("PUT", "/menu/margherita/price", {"base_price": "12.50"}, id="change-price"),
    pytest.param("DELETE", "/menu/hawaiian", None, id="retire-pizza"),
]
STAFF_OR_MANAGER = [
    pytest.param("POST", "/orders/{order}/cook", None, id="cook"),
    pytest.param("POST", "/orders/{order}/ready", None, id="ready"),
    pytest.param("POST", "/orders/{order}/dispatch", {"driver": "Paolo"}, id="dispatch"),
    pytest.param("POST", "/orders/{order}/deliver", None, id="deliver"),
]
PROTECTED = MANAGER_ONLY + STAFF_OR_MANAGER

NO_TOKEN: dict[str, str] = {}
UNKNOWN_TOKEN = {"Authorization": "Bearer guessed-token"}
NOT_BEARER = {"Authorization": "Basic bWFyaW86cGl6emE="}


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status and problem["detail"]
    return problem


@pytest.fixture
async def order_id(place: Place) -> str:
    return (await place())["id"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(NO_TOKEN, id="no-token"),
        pytest.param(UNKNOWN_TOKEN, id="unknown-token"),
        pytest.param(NOT_BEARER, id="not-bearer"),
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_a_protected_endpoint_without_a_valid_token_is_a_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
    order_id: str,
    method: str,
    path: str,
    body: dict[str, str] | None,
    headers: dict[str, str],
) -> None:
    before = (await client.get(f"/orders/{order_id}")).json()

    answer = await client.request(method, path.format(order=order_id), json=body, headers=headers)

    assert_problem(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get(f"/orders/{order_id}")).json() == before
    assert len((await client.get("/menu")).json()) == 5


@pytest.mark.parametrize(("method", "path", "body"), MANAGER_ONLY)
async def test_the_staff_token_cannot_change_the_menu(
    client: httpx.AsyncClient,
    staff: dict[str, str],
    method: str,
    path: str,
    body: dict[str, str] | None,
) -> None:
    menu = (await client.get("/menu")).json()

    answer = await client.request(method, path, json=body, headers=staff)

    assert "manager" in assert_problem(answer, 403)["detail"]
    assert (await client.get("/menu")).json() == menu


async def test_the_manager_changes_the_menu(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    added = await client.post(
        "/menu",
        json={"name": "diavola", "base_price": "13", "toppings": ["tomato", "salami"]},
        headers=manager,
    )
    repriced = await client.put(
        "/menu/margherita/price", json={"base_price": 12.5}, headers=manager
    )
    retired = await client.delete("/menu/hawaiian", headers=manager)
    again = await client.post(
        "/menu", json={"name": "hawaiian", "base_price": "9.00"}, headers=manager
    )
    retired_again = await client.delete("/menu/hawaiian", headers=manager)

    assert (added.status_code, added.json()["name"]) == (201, "diavola")
    assert added.json()["prices"] == {"small": "10.40", "medium": "13.00", "large": "16.90"}
    assert (repriced.status_code, repriced.json()["base_price"]) == (200, "12.50")
    assert (retired.status_code, retired.content) == (204, b"")
    assert assert_problem(again, 409)["code"] == "pizza-already-on-menu"
    assert "retired" in assert_problem(retired_again, 404)["detail"]
    names = [pizza["name"] for pizza in (await client.get("/menu")).json()]
    assert names == ["diavola", "margherita", "pepperoni", "quattro-formaggi", "vegetariana"]


@pytest.mark.parametrize("who", ["staff", "manager"])
async def test_the_staff_and_the_manager_move_orders_through_the_kitchen(
    client: httpx.AsyncClient,
    order_id: str,
    staff: dict[str, str],
    manager: dict[str, str],
    who: str,
) -> None:
    headers = staff if who == "staff" else manager
    for action, body in [("cook", None), ("ready", None), ("dispatch", {"driver": "Paolo"})]:
        answer = await client.post(f"/orders/{order_id}/{action}", json=body, headers=headers)
        assert answer.status_code == 200, answer.text

    delivered = await client.post(f"/orders/{order_id}/deliver", headers=headers)

    assert delivered.json()["status"] == "delivered"


async def test_reading_placing_and_cancelling_need_no_token(
    client: httpx.AsyncClient, order_id: str
) -> None:
    for path in ["/menu", "/orders", f"/orders/{order_id}", "/kitchen", "/board"]:
        assert (await client.get(path)).status_code == 200, path
    assert (await client.get("/customers/+390815550101/orders")).status_code == 200

    cancelled = await client.post(f"/orders/{order_id}/cancel", json={"reason": "too hungry"})

    assert cancelled.status_code == 200, cancelled.text


async def test_an_unknown_token_is_refused_even_where_none_is_needed(
    client: httpx.AsyncClient, order_id: str
) -> None:
    answer = await client.post(
        f"/orders/{order_id}/cancel", json={"reason": "late"}, headers=UNKNOWN_TOKEN
    )

    assert_problem(answer, 401)
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert (await client.get(f"/orders/{order_id}")).json()["status"] == "confirmed"
