"""Conflicts resolve themselves: fifty first orders from one new phone, all at once, all
succeed with one customer registered; a conflict that remains is its own problem type."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from facta import Application, ConcurrencyError, UnitOfWork
from facta.hosting.web import CONFLICT, PROBLEM_CONTENT_TYPE
from pizzeria.domain.customer import Customer
from pizzeria.web.app import PROBLEM_BASE

NEW_PHONE = "+390815550199"


@pytest.mark.backends("sqlite", "postgresql")
async def test_fifty_first_orders_from_one_new_phone_at_once_all_succeed_with_one_customer(
    client: httpx.AsyncClient, application: Application, order_body: Any
) -> None:
    # one order first: the views' tables are created on first use (racing that creation
    # from fifty requests at once starves the connection pool, which is not this test's)
    assert (await client.post("/orders", json=order_body())).status_code == 201
    body = order_body(phone=NEW_PHONE, name="Nuovo Cliente")

    answers = await asyncio.gather(*(client.post("/orders", json=body) for _ in range(50)))

    assert [answer.status_code for answer in answers] == [201] * 50, {
        answer.text for answer in answers if answer.status_code != 201
    }
    orders = await client.get(f"/customers/{NEW_PHONE}/orders")
    assert len({order["id"] for order in orders.json()["orders"]}) == 50
    async with application.operation():
        customer = await application.get(UnitOfWork).repository(Customer).get(NEW_PHONE)
    assert customer.version == 1  # registered once, by one of the fifty


async def test_a_conflict_that_remains_is_a_409_conflict_problem_with_retry_after(
    client: httpx.AsyncClient, application: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit_of_work_type = type(await _unit_of_work(application))

    async def always_loses(self: UnitOfWork, *args: object, **kwargs: object) -> None:
        raise ConcurrencyError("Order", "o-1", 1, 2)

    monkeypatch.setattr(unit_of_work_type, "write_changes", always_loses)
    answer = await client.post("/orders", json=_body())

    assert answer.status_code == 409
    assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert answer.headers["retry-after"] == "1"
    problem = answer.json()
    assert problem["type"] == CONFLICT
    assert not problem["type"].startswith(PROBLEM_BASE)  # not a business rule's refusal
    assert "code" not in problem and "error" not in problem


async def _unit_of_work(application: Application) -> UnitOfWork:
    async with application.operation():
        return application.get(UnitOfWork)


def _body() -> dict[str, Any]:
    return {
        "phone": "+390815550188",
        "name": "Sfortunato",
        "address": "Via Roma 12, Napoli",
        "lines": [{"pizza": "margherita"}],
    }
