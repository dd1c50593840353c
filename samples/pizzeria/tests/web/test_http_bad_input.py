"""Bad input at every endpoint is a 422 problem listing the invalid fields, and writes
nothing: the read side and the store are as they were (every table of SQLite, every
collection of MongoDB)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from facta import Application
from pizzeria.app import is_mongodb
from pizzeria.settings import PizzeriaSettings

Place = Callable[..., Awaitable[dict[str, Any]]]
Body = Callable[..., dict[str, Any]]

MANAGER, STAFF, ANYONE = "manager", "staff", "anyone"
LONG_ID = "o" * 65


def line(**changes: Any) -> list[dict[str, Any]]:
    """One order line (a medium margherita) with ``changes``."""
    return [{"pizza": "margherita", **changes}]


def case(
    name: str,
    method: str,
    path: str,
    where: tuple[str | int, ...],
    *,
    role: str = ANYONE,
    json: Any = None,
    order: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    content: str | None = None,
) -> Any:
    """A bad request, and where its first (or only) invalid field is."""
    return pytest.param(method, path, role, json, order, params, content, where, id=name)


CASES = [
    # the menu (manager)
    case("menu-price-not-a-number", "POST", "/menu", ("base_price",), role=MANAGER,
         json={"name": "diavola", "base_price": "cheap"}),
    case("menu-name-missing", "POST", "/menu", ("name",), role=MANAGER,
         json={"base_price": "9.00"}),
    case("menu-name-not-a-slug", "POST", "/menu", ("name",), role=MANAGER,
         json={"name": "Diavola!", "base_price": "9.00"}),
    case("menu-name-too-long", "POST", "/menu", ("name",), role=MANAGER,
         json={"name": "d" * 41, "base_price": "9.00"}),
    case("menu-too-many-toppings", "POST", "/menu", ("toppings",), role=MANAGER,
         json={"name": "diavola", "base_price": "9.00", "toppings": ["tomato"] * 13}),
    case("menu-price-negative", "POST", "/menu", ("base_price",), role=MANAGER,
         json={"name": "diavola", "base_price": -1}),
    case("menu-unknown-field", "POST", "/menu", ("spicy",), role=MANAGER,
         json={"name": "diavola", "base_price": "9.00", "spicy": True}),
    case("menu-body-not-an-object", "POST", "/menu", (), role=MANAGER, json=["diavola"]),
    case("price-name-not-a-slug", "PUT", "/menu/Not%20A%20Slug/price", ("path", "name"),
         role=MANAGER, json={"base_price": "9.00"}),
    case("price-fraction-of-a-cent", "PUT", "/menu/margherita/price", ("base_price",),
         role=MANAGER, json={"base_price": "12.345"}),
    case("price-too-large", "PUT", "/menu/margherita/price", ("base_price",), role=MANAGER,
         json={"base_price": "100000.00"}),
    case("price-missing", "PUT", "/menu/margherita/price", ("base_price",), role=MANAGER,
         json={}),
    case("retire-name-too-short", "DELETE", "/menu/x", ("path", "name"), role=MANAGER),
    # placing an order
    case("order-quantity-not-a-number", "POST", "/orders", ("lines", 0, "quantity"),
         order={"lines": line(quantity="two")}),
    case("order-quantity-above-ten", "POST", "/orders", ("lines", 0, "quantity"),
         order={"lines": line(quantity=11)}),
    case("order-lines-missing", "POST", "/orders", ("lines",), order={"lines": None}),
    case("order-no-lines", "POST", "/orders", ("lines",), order={"lines": []}),
    case("order-lines-not-a-list", "POST", "/orders", ("lines",), order={"lines": "margherita"}),
    case("order-more-than-twenty-pizzas", "POST", "/orders", ("lines",),
         order={"lines": line(quantity=10) * 2 + line()}),
    case("order-phone-missing", "POST", "/orders", ("phone",), order={"phone": None}),
    case("order-phone-too-few-digits", "POST", "/orders", ("phone",), order={"phone": "12345"}),
    case("order-phone-letters", "POST", "/orders", ("phone",), order={"phone": "call me"}),
    case("order-phone-too-long", "POST", "/orders", ("phone",), order={"phone": "1" * 40}),
    case("order-phone-not-a-string", "POST", "/orders", ("phone",), order={"phone": 390815550101}),
    case("order-name-empty", "POST", "/orders", ("name",), order={"name": "  "}),
    case("order-name-too-long", "POST", "/orders", ("name",), order={"name": "G" * 101}),
    case("order-address-too-short", "POST", "/orders", ("address",), order={"address": "Via"}),
    case("order-address-too-long", "POST", "/orders", ("address",),
         order={"address": "V" * 201}),
    case("order-email-invalid", "POST", "/orders", ("email",), order={"email": "giulia@"}),
    case("order-unknown-pizza", "POST", "/orders", ("lines", 0, "pizza"),
         order={"lines": line(pizza="diavola")}),
    case("order-pizza-not-a-slug", "POST", "/orders", ("lines", 0, "pizza"),
         order={"lines": line(pizza="Margherita!")}),
    case("order-too-many-toppings", "POST", "/orders", ("lines", 0, "extras"),
         order={"lines": line(extras=["olives"] * 6)}),
    case("order-unknown-topping", "POST", "/orders", ("lines", 0, "extras", 0),
         order={"lines": line(extras=["gold-leaf"])}),
    case("order-unknown-size", "POST", "/orders", ("lines", 0, "size"),
         order={"lines": line(size="huge")}),
    case("order-unknown-line-field", "POST", "/orders", ("lines", 0, "crust"),
         order={"lines": line(crust="thin")}),
    case("order-unknown-field", "POST", "/orders", ("coupon",), order={"coupon": "FREE"}),
    case("order-not-json", "POST", "/orders", (), content='{"phone": '),
    # reading orders
    case("order-id-too-long", "GET", f"/orders/{LONG_ID}", ("path", "order_id")),
    case("order-id-bad-characters", "GET", "/orders/no%20such!", ("path", "order_id")),
    case("list-unknown-status", "GET", "/orders", ("query", "status"),
         params={"status": "burnt"}),
    case("list-page-zero", "GET", "/orders", ("query", "page"), params={"page": 0}),
    case("list-page-too-far", "GET", "/orders", ("query", "page"), params={"page": 10_001}),
    case("list-size-too-large", "GET", "/orders", ("query", "size"), params={"size": 101}),
    case("list-size-not-a-number", "GET", "/orders", ("query", "size"), params={"size": "all"}),
    case("list-bad-phone", "GET", "/orders", ("query", "phone"), params={"phone": "123"}),
    case("customer-bad-phone", "GET", "/customers/123/orders", ("path", "phone")),
    # the transitions
    case("cook-id-too-long", "POST", f"/orders/{LONG_ID}/cook", ("path", "order_id"),
         role=STAFF),
    case("ready-id-too-long", "POST", f"/orders/{LONG_ID}/ready", ("path", "order_id"),
         role=STAFF),
    case("deliver-id-too-long", "POST", f"/orders/{LONG_ID}/deliver", ("path", "order_id"),
         role=STAFF),
    case("dispatch-driver-missing", "POST", "/orders/{order}/dispatch", ("driver",), role=STAFF,
         json={}),
    case("dispatch-driver-blank", "POST", "/orders/{order}/dispatch", ("driver",), role=STAFF,
         json={"driver": "   "}),
    case("dispatch-driver-too-long", "POST", "/orders/{order}/dispatch", ("driver",),
         role=STAFF, json={"driver": "P" * 101}),
    case("dispatch-driver-not-a-string", "POST", "/orders/{order}/dispatch", ("driver",),
         role=STAFF, json={"driver": 7}),
    case("cancel-no-body", "POST", "/orders/{order}/cancel", ()),
    case("cancel-reason-empty", "POST", "/orders/{order}/cancel", ("reason",),
         json={"reason": ""}),
    case("cancel-reason-too-long", "POST", "/orders/{order}/cancel", ("reason",),
         json={"reason": "r" * 201}),
    case("cancel-id-too-long", "POST", f"/orders/{LONG_ID}/cancel", ("path", "order_id"),
         json={"reason": "late"}),
]  # fmt: skip


async def snapshot(client: httpx.AsyncClient, application: Application) -> list[Any]:
    """What the read side shows, and how many events the store holds."""
    stats = await application.outbox.stats()
    return [
        (await client.get("/orders", params={"size": 100})).json(),
        (await client.get("/menu")).json(),
        (await client.get("/kitchen")).json(),
        stats.delivered + stats.pending,
    ]


@pytest.mark.parametrize(
    ("method", "path", "role", "json", "order", "params", "content", "where"), CASES
)
async def test_bad_input_is_a_422_problem_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    application: Application,
    place: Place,
    order_body: Body,
    manager: dict[str, str],
    staff: dict[str, str],
    method: str,
    path: str,
    role: str,
    json: Any,
    order: dict[str, Any] | None,
    params: dict[str, Any] | None,
    content: str | None,
    where: tuple[str | int, ...],
) -> None:
    existing = await place()
    if order is not None:
        json = {k: v for k, v in order_body(**order).items() if v is not None}
    headers = {MANAGER: manager, STAFF: staff, ANYONE: {}}[role]
    if content is not None:
        headers = {**headers, "Content-Type": "application/json"}
    before = await snapshot(client, application)

    answer = await client.request(
        method,
        path.format(order=existing["id"]),
        json=json,
        params=params,
        content=content,
        headers=headers,
    )

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["status"], problem["title"]) == (422, "Invalid input")
    assert problem["errors"], problem
    locations = [tuple(error["location"]) for error in problem["errors"]]
    if where:
        assert where in locations, locations
    for error in problem["errors"]:
        assert error["pointer"].startswith("#") and error["detail"] and error["code"]
    assert await snapshot(client, application) == before


async def test_a_retired_pizza_cannot_be_ordered_and_leaves_no_customer(
    client: httpx.AsyncClient, application: Application, order_body: Body, manager: dict[str, str]
) -> None:
    assert (await client.delete("/menu/hawaiian", headers=manager)).status_code == 204
    before = await snapshot(client, application)

    answer = await client.post(
        "/orders", json=order_body(lines=[{"pizza": "margherita"}, {"pizza": "hawaiian"}])
    )

    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["pointer"], error["code"]) == ("#/lines/1/pizza", "pizza_not_available")
    assert "retired" in error["detail"]
    assert await snapshot(client, application) == before
    assert (await client.get("/customers/+390815550101/orders")).status_code == 404


async def row_counts(application: Application) -> dict[str, int]:
    """How many rows each table (documents each collection) of the database holds."""
    if is_mongodb(application.get(PizzeriaSettings).database_url):
        from facta.persistence.mongo import MongoStore

        store = application.get(MongoStore)
        database = store.client.get_database(store.database_name)
        return {
            name: await database.get_collection(name).count_documents({})
            for name in await database.list_collection_names()
        }
    tables = MetaData()
    async with application.get(AsyncEngine).connect() as connection:
        await connection.run_sync(tables.reflect)
        return {
            name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for name, table in tables.tables.items()
        }


@pytest.mark.backends("sqlite", "mongodb")
async def test_every_bad_request_leaves_every_table_of_the_database_as_it_was(
    client: httpx.AsyncClient,
    application: Application,
    place: Place,
    order_body: Body,
    manager: dict[str, str],
    staff: dict[str, str],
) -> None:
    existing = await place()
    before = await row_counts(application)
    assert before["facta_view_order_summary"] == 1 and before["facta_outbox"] > 0

    for parameters in CASES:
        method, path, role, json, order, params, content, _ = parameters.values
        if order is not None:
            json = {k: v for k, v in order_body(**order).items() if v is not None}
        headers = {MANAGER: manager, STAFF: staff, ANYONE: {}}[role]
        if content is not None:
            headers = {**headers, "Content-Type": "application/json"}
        answer = await client.request(
            method,
            path.format(order=existing["id"]),
            json=json,
            params=params,
            content=content,
            headers=headers,
        )
        assert answer.status_code == 422, (parameters.id, answer.text)

    assert await row_counts(application) == before
