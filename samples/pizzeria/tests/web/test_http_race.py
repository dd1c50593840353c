"""Racing transitions over HTTP, on SQLite and PostgreSQL: five ``cook`` and five
``cancel`` requests at once on one confirmed order, round after round. Every transition
answered 200 is in the order's history, in the order it happened, and the answer shows
it; once the asynchronous kitchen board has caught up, it shows every slot free."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.backends("memory", "sqlite", "postgresql")

Place = Callable[..., Awaitable[dict[str, Any]]]
ROUNDS = 50
RACERS = 5
CATCH_UP_SECONDS = 30.0


async def race(
    client: httpx.AsyncClient, order_id: str, staff: dict[str, str]
) -> list[tuple[str, httpx.Response]]:
    """Fire the cooks and the cancels at once; answer each one's action and response."""
    actions = ["cook", "cancel"] * RACERS
    answers = await asyncio.gather(
        *(
            client.post(
                f"/orders/{order_id}/{action}",
                json={"reason": "changed their mind"} if action == "cancel" else None,
                headers=staff,
            )
            for action in actions
        )
    )
    return list(zip(actions, answers, strict=True))


async def test_every_transition_answered_200_is_in_the_history_in_order(
    client: httpx.AsyncClient, place: Place, staff: dict[str, str]
) -> None:
    for round_number in range(ROUNDS):
        order_id = (await place())["id"]

        answers = await race(client, order_id, staff)

        assert {answer.status_code for _, answer in answers} <= {200, 409}, [
            answer.text for _, answer in answers if answer.status_code not in (200, 409)
        ]
        done = {action for action, answer in answers if answer.status_code == 200}
        expected = ["pending", "confirmed"]
        expected += ["cooking"] * ("cook" in done) + ["cancelled"] * ("cancel" in done)
        order = (await client.get(f"/orders/{order_id}")).json()
        history = [change["status"] for change in order["history"]]
        assert history == expected, f"round {round_number}: {answers}"
        for action, answer in answers:
            if answer.status_code == 200:  # the answer shows its own transition
                shown = [change["status"] for change in answer.json()["history"]]
                assert ("cooking" if action == "cook" else "cancelled") in shown
        if order["status"] == "cooking":  # free its slot for the next rounds
            ready = await client.post(f"/orders/{order_id}/ready", headers=staff)
            assert ready.status_code == 200, ready.text

    kitchen = await caught_up_kitchen(client)
    assert (kitchen["free_slots"], kitchen["cooking"], kitchen["queue"]) == (3, [], [])


async def caught_up_kitchen(client: httpx.AsyncClient) -> dict[str, Any]:
    """The kitchen as ``GET /kitchen`` shows it once the board applied every event (or
    after ``CATCH_UP_SECONDS``): its relay retries the events that had to wait."""
    deadline = asyncio.get_running_loop().time() + CATCH_UP_SECONDS
    while True:
        kitchen: dict[str, Any] = (await client.get("/kitchen")).json()
        caught_up = kitchen["free_slots"] == kitchen["capacity"] and not kitchen["cooking"]
        if caught_up or asyncio.get_running_loop().time() > deadline:
            return kitchen
        await asyncio.sleep(0.2)
