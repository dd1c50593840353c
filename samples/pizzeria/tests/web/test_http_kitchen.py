"""The kitchen over HTTP, on every back-end: three orders cook at once, the fourth is
refused with a 409 until a slot is freed, by an order that is ready or cancelled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.backends()

Place = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def four_orders(place: Place) -> list[str]:
    """Four confirmed orders from four customers, oldest first."""
    return [(await place(phone=f"+3908155501{n:02}"))["id"] for n in range(4)]


async def cook(client: httpx.AsyncClient, order_id: str, staff: dict[str, str]) -> httpx.Response:
    return await client.post(f"/orders/{order_id}/cook", headers=staff)


@pytest.mark.parametrize(
    ("free", "body"),
    [("ready", None), pytest.param("cancel", {"reason": "burnt"}, id="cancel")],
)
async def test_the_fourth_order_waits_for_a_free_slot(
    client: httpx.AsyncClient,
    four_orders: list[str],
    staff: dict[str, str],
    free: str,
    body: dict[str, str] | None,
) -> None:
    for order_id in four_orders[:3]:
        assert (await cook(client, order_id, staff)).status_code == 200

    refused = await cook(client, four_orders[3], staff)

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["status"]) == ("kitchen-full", 409)
    assert "3 of 3 slots cooking" in refused.json()["detail"]
    kitchen = (await client.get("/kitchen")).json()
    assert (kitchen["capacity"], kitchen["free_slots"]) == (3, 0)
    assert [order["id"] for order in kitchen["cooking"]] == four_orders[:3]
    assert [order["id"] for order in kitchen["queue"]] == [four_orders[3]]
    assert (await client.get(f"/orders/{four_orders[3]}")).json()["status"] == "confirmed"

    freed = await client.post(f"/orders/{four_orders[1]}/{free}", json=body, headers=staff)
    assert freed.status_code == 200, freed.text
    assert (await client.get("/kitchen")).json()["free_slots"] == 1

    started = await cook(client, four_orders[3], staff)

    assert started.status_code == 200, started.text
    kitchen = (await client.get("/kitchen")).json()
    assert [order["id"] for order in kitchen["cooking"]] == [
        four_orders[0],
        four_orders[2],
        four_orders[3],
    ]
    assert (kitchen["free_slots"], kitchen["queue"]) == (0, [])
