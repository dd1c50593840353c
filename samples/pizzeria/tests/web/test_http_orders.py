"""An order's life over HTTP, on SQLite, PostgreSQL and MongoDB: every allowed step answers
200 with the order, every refused one 409 with a problem naming the status, and changes
nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.backends("sqlite", "postgresql", "mongodb")

Place = Callable[..., Awaitable[dict[str, Any]]]
GIULIA = "+390815550101"

ACTIONS: dict[str, dict[str, str] | None] = {
    "cook": None,
    "ready": None,
    "dispatch": {"driver": "Paolo"},
    "deliver": None,
    "cancel": {"reason": "changed my mind"},
}
"""Each transition's path and body."""

PATH_TO: dict[str, tuple[str, ...]] = {
    "confirmed": (),
    "cooking": ("cook",),
    "ready": ("cook", "ready"),
    "out_for_delivery": ("cook", "ready", "dispatch"),
    "delivered": ("cook", "ready", "dispatch", "deliver"),
    "cancelled": ("cancel",),
}
"""The transitions that take a new (confirmed) order to each status."""

ALLOWED = {
    ("confirmed", "cook"),
    ("confirmed", "cancel"),
    ("cooking", "ready"),
    ("cooking", "cancel"),
    ("ready", "dispatch"),
    ("out_for_delivery", "deliver"),
}
REFUSED = [
    pytest.param(status, action, id=f"{action}-when-{status}")
    for status in PATH_TO
    for action in ACTIONS
    if (status, action) not in ALLOWED
]


async def step(
    client: httpx.AsyncClient, order_id: str, action: str, headers: dict[str, str]
) -> httpx.Response:
    """Send one transition of the order."""
    return await client.post(f"/orders/{order_id}/{action}", json=ACTIONS[action], headers=headers)


async def test_an_order_goes_from_the_oven_to_the_door(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    placed = await client.post(
        "/orders",
        json={
            "phone": "+39 081 555 0101",
            "name": "Giulia Verdi",
            "address": "Via Roma 12, Napoli",
            "email": "Giulia@Example.COM",
            "lines": [
                {"pizza": "margherita", "size": "large", "quantity": 2},
                {"pizza": "hawaiian", "extras": ["jalapenos", "olives"]},
            ],
        },
    )

    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert placed.headers["location"] == f"/orders/{order['id']}"
    assert (order["status"], order["customer_phone"], order["total"]) == (
        "confirmed",
        GIULIA,
        "48.70",  # 2 x 12.00 x 1.3 + (14.50 + 2 x 1.50)
    )
    assert [line["price"] for line in order["lines"]] == ["31.20", "17.50"]
    order_id = order["id"]
    for action, status in [
        ("cook", "cooking"),
        ("ready", "ready"),
        ("dispatch", "out_for_delivery"),
        ("deliver", "delivered"),
    ]:
        answer = await step(client, order_id, action, staff)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == status

    final = (await client.get(f"/orders/{order_id}")).json()
    assert (final["status"], final["driver"]) == ("delivered", "Paolo")
    assert [(change["status"], change["by"]) for change in final["history"]] == [
        ("pending", GIULIA),
        ("confirmed", GIULIA),
        ("cooking", "kitchen"),
        ("ready", "kitchen"),
        ("out_for_delivery", "counter"),
        ("delivered", "Paolo"),
    ]
    delivered = (await client.get("/orders", params={"status": "delivered"})).json()
    assert [item["id"] for item in delivered["items"]] == [order_id]
    mine = (await client.get(f"/customers/{GIULIA}/orders")).json()
    assert mine["customer"]["email"] == "Giulia@example.com"
    assert [item["id"] for item in mine["orders"]] == [order_id]
    assert (await client.get("/kitchen")).json()["free_slots"] == 3


@pytest.mark.parametrize(
    ("token", "by"), [pytest.param(False, "customer", id="by-the-customer"), (True, "counter")]
)
async def test_an_order_is_cancelled_with_a_reason_by_its_customer_or_the_counter(
    client: httpx.AsyncClient, place: Place, staff: dict[str, str], token: bool, by: str
) -> None:
    order = await place()

    answer = await step(client, order["id"], "cancel", staff if token else {})

    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "changed my mind")
    assert cancelled["history"][-1]["by"] == by
    assert (await client.get("/kitchen")).json()["queue"] == []


@pytest.mark.parametrize(("status", "action"), REFUSED)
async def test_a_refused_transition_is_a_409_and_changes_nothing(
    client: httpx.AsyncClient, place: Place, staff: dict[str, str], status: str, action: str
) -> None:
    order_id = (await place())["id"]
    for earlier in PATH_TO[status]:
        assert (await step(client, order_id, earlier, staff)).status_code == 200
    before = (await client.get(f"/orders/{order_id}")).json()
    kitchen = (await client.get("/kitchen")).json()

    answer = await step(client, order_id, action, staff)

    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["status"], problem["code"]) == (409, "invalid-order-transition")
    assert problem["type"] == "https://mariospizzeria.example/problems/invalid-order-transition"
    assert f"it is {status}" in problem["detail"]
    assert (await client.get(f"/orders/{order_id}")).json() == before
    assert (await client.get("/kitchen")).json() == kitchen


async def test_orders_are_listed_newest_first_a_page_at_a_time(
    client: httpx.AsyncClient, place: Place, staff: dict[str, str]
) -> None:
    ids = [(await place(phone=f"+3908155501{n:02}"))["id"] for n in range(5)]
    await step(client, ids[0], "cook", staff)

    first = (await client.get("/orders", params={"size": 2})).json()
    last = (await client.get("/orders", params={"size": 2, "page": 3})).json()
    confirmed = (await client.get("/orders", params={"status": "confirmed"})).json()
    one = (await client.get("/orders", params={"phone": "+39 081 555 0103"})).json()

    assert ([item["id"] for item in first["items"]], first["total"], first["pages"]) == (
        [ids[4], ids[3]],
        5,
        3,
    )
    assert [item["id"] for item in last["items"]] == [ids[0]]
    assert [item["id"] for item in confirmed["items"]] == ids[:0:-1]
    assert [item["id"] for item in one["items"]] == [ids[3]]
    beyond = (await client.get("/orders", params={"page": 9})).json()
    assert (beyond["items"], beyond["total"]) == ([], 5)


async def test_what_does_not_exist_is_a_404_problem(
    client: httpx.AsyncClient, staff: dict[str, str], manager: dict[str, str]
) -> None:
    answers = [
        await client.get("/orders/no-such-order"),
        await step(client, "no-such-order", "cook", staff),
        await step(client, "no-such-order", "cancel", {}),
        await client.get("/customers/+390000000000/orders"),
        await client.put("/menu/diavola/price", json={"base_price": "9.00"}, headers=manager),
        await client.delete("/menu/diavola", headers=manager),
    ]

    for answer in answers:
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
