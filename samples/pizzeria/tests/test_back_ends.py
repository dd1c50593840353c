"""The rules that need a unit of work, through the mediator, on every back-end: an order's
life, the kitchen's slots, and a new customer registered with their first order; and
that each back-end's driver is imported only by the pizzeria that uses it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from facta import AggregateRoot, Application, NotFound
from pizzeria.app import MONGODB_DATABASE, close_database, create_app
from pizzeria.application.commands import (
    CancelOrder,
    DeliverOrder,
    DispatchOrder,
    LineRequest,
    MarkReady,
    PlaceOrder,
    RetirePizza,
    StartCooking,
)
from pizzeria.application.queries import GetCustomerOrders, GetKitchen, GetOrder, ListOrders
from pizzeria.domain.customer import Customer
from pizzeria.domain.errors import InvalidOrderTransition, KitchenFull, PizzaNotAvailable
from pizzeria.domain.kitchen import KITCHEN_ID, Kitchen
from pizzeria.domain.order import Order, OrderStatus

pytestmark = pytest.mark.backends()

Place = Callable[..., Awaitable[str]]
SendAll = Callable[..., Awaitable[None]]
Stored = Callable[[type[AggregateRoot], str], Awaitable[AggregateRoot | None]]
OrderCommand = Callable[..., PlaceOrder]
GIULIA = "+390815550101"
S = OrderStatus


async def test_an_order_goes_from_the_oven_to_the_door_and_every_step_is_kept(
    pizzeria: Application, send_all: SendAll, place: Place, stored: Stored
) -> None:
    order_id = await place()

    await send_all(
        StartCooking(order_id=order_id, by="Luigi"),
        MarkReady(order_id=order_id, by="Luigi"),
        DispatchOrder(order_id=order_id, driver="Paolo", by="Mario"),
        DeliverOrder(order_id=order_id),
    )

    summary = await pizzeria.mediator.query(GetOrder(order_id=order_id))
    assert (summary.status, summary.driver) == (S.DELIVERED, "Paolo")
    assert [(change.status, change.by) for change in summary.history] == [
        (S.PENDING, GIULIA),
        (S.CONFIRMED, GIULIA),
        (S.COOKING, "Luigi"),
        (S.READY, "Luigi"),
        (S.OUT_FOR_DELIVERY, "Mario"),
        (S.DELIVERED, "Paolo"),
    ]
    order = await stored(Order, order_id)
    assert isinstance(order, Order)
    assert (order.status, len(order.history)) == (S.DELIVERED, len(summary.history))
    assert [change.at for change in summary.history] == [change.at for change in order.history]
    assert summary.updated_at.utcoffset() == timedelta(0)
    delivered = await pizzeria.mediator.query(ListOrders(status=S.DELIVERED))
    assert [item.id for item in delivered.items] == [order_id]
    assert (await pizzeria.mediator.query(GetKitchen())).free_slots == 3


async def test_a_refused_transition_changes_neither_the_order_nor_its_summary(
    pizzeria: Application, send_all: SendAll, place: Place, stored: Stored
) -> None:
    order_id = await place()
    await send_all(CancelOrder(order_id=order_id, reason="wrong address"))

    with pytest.raises(InvalidOrderTransition, match="it is cancelled"):
        await pizzeria.mediator.send(StartCooking(order_id=order_id))

    summary = await pizzeria.mediator.query(GetOrder(order_id=order_id))
    order = await stored(Order, order_id)
    assert isinstance(order, Order)
    assert (summary.status, summary.cancel_reason) == (S.CANCELLED, "wrong address")
    assert (order.status, len(order.history)) == (S.CANCELLED, len(summary.history))


# --8<-- [start:kitchen_slots]
async def test_the_kitchen_cooks_three_orders_at_once_and_refuses_a_fourth_whole(
    pizzeria: Application, send_all: SendAll, place: Place, stored: Stored
) -> None:
    orders = [await place(phone=f"+3908155501{n:02}") for n in range(4)]
    await send_all(*(StartCooking(order_id=order_id) for order_id in orders[:3]))

    with pytest.raises(KitchenFull, match="3 of 3 slots cooking"):
        await pizzeria.mediator.send(StartCooking(order_id=orders[3]))

    fourth, kitchen = await stored(Order, orders[3]), await stored(Kitchen, KITCHEN_ID)
    assert isinstance(fourth, Order) and isinstance(kitchen, Kitchen)
    assert (fourth.status, kitchen.cooking) == (S.CONFIRMED, orders[:3])
    board = await pizzeria.mediator.query(GetKitchen())
    assert [order.id for order in board.cooking] == orders[:3]
    assert [order.id for order in board.queue] == [orders[3]]

    await send_all(MarkReady(order_id=orders[1]), StartCooking(order_id=orders[3]))

    board = await pizzeria.mediator.query(GetKitchen())
    assert [order.id for order in board.cooking] == [orders[0], orders[2], orders[3]]
    assert (board.free_slots, board.queue) == (0, ())


# --8<-- [end:kitchen_slots]


async def test_a_new_phone_registers_the_customer_with_the_order_in_one_commit(
    pizzeria: Application, place: Place, stored: Stored
) -> None:
    order_id = await place(phone="+39 081 555 0101", name="Giulia Verdi")

    customer = await stored(Customer, GIULIA)
    assert isinstance(customer, Customer)
    mine = await pizzeria.mediator.query(GetCustomerOrders(phone=GIULIA))
    assert (mine.customer.name, [order.id for order in mine.orders]) == (
        "Giulia Verdi",
        [order_id],
    )
    assert mine.customer.registered_at.utcoffset() == timedelta(0)


async def test_an_order_that_is_refused_leaves_no_customer_behind(
    pizzeria: Application, send_all: SendAll, place_order: OrderCommand, stored: Stored
) -> None:
    await send_all(RetirePizza(name="hawaiian"))

    with pytest.raises(PizzaNotAvailable):
        await pizzeria.mediator.send(place_order(LineRequest(pizza="hawaiian")))

    assert await stored(Customer, GIULIA) is None
    with pytest.raises(NotFound):
        await pizzeria.mediator.query(GetCustomerOrders(phone=GIULIA))
    assert (await pizzeria.mediator.query(ListOrders())).total == 0


@pytest.mark.backends("mongodb")
async def test_a_url_that_names_no_database_keeps_the_pizzeria_in_the_database_pizzeria(
    database_url: str,
) -> None:
    from facta.persistence.mongo import MongoStore

    unnamed = urlunsplit(urlsplit(database_url)._replace(path="/"))
    app = create_app(unnamed)

    assert app.get(MongoStore).database_name == MONGODB_DATABASE
    await close_database(app)


def imported_after(script: str) -> list[str]:
    """The modules of the database drivers a fresh interpreter imported running ``script``."""
    listing = (
        "; import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'aiosqlite', 'asyncpg', 'pymongo', 'motor', 'bson')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script + listing],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [name.strip("' ") for name in done.stdout.strip("[]\n").split(",") if name.strip()]


def test_the_in_memory_pizzeria_imports_no_database_driver() -> None:
    assert imported_after("from pizzeria.app import create_app; create_app()") == []


def test_the_sql_pizzeria_imports_no_mongodb_driver(tmp_path: Path) -> None:
    script = f"from pizzeria.app import create_app; create_app('sqlite:///{tmp_path / 'p.db'}')"

    assert not [name for name in imported_after(script) if name.startswith(("pymongo", "bson"))]
