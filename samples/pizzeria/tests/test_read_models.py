"""The read side: order lists, the kitchen board and a customer's orders, served from the
views that projections keep up to date, on every back-end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from facta import AggregateRoot, Application, InMemoryStore, NotFound
from pizzeria.app import create_app, seed_menu
from pizzeria.application.commands import (
    CancelOrder,
    ChangePizzaPrice,
    LineRequest,
    MarkReady,
    StartCooking,
)
from pizzeria.application.queries import (
    GetCustomerOrders,
    GetKitchen,
    GetMenu,
    GetOrder,
    ListOrders,
)
from pizzeria.domain.menu import Size, Topping
from pizzeria.domain.order import Order, OrderStatus

pytestmark = pytest.mark.backends()

Place = Callable[..., Awaitable[str]]
SendAll = Callable[..., Awaitable[None]]
Stored = Callable[[type[AggregateRoot], str], Awaitable[AggregateRoot | None]]
GIULIA = "+390815550101"
MARCO = "+390815550202"


@pytest.fixture
async def five_orders(place: Place) -> list[str]:
    """Five orders, oldest first: Giulia's three and Marco's two, alternating."""
    phones = [GIULIA, MARCO, GIULIA, MARCO, GIULIA]
    return [await place(phone=phone, name=f"Customer {phone[-2:]}") for phone in phones]


async def listed(app: Application, query: ListOrders) -> list[str]:
    return [summary.id for summary in (await app.mediator.query(query)).items]


async def test_orders_are_listed_newest_first(
    pizzeria: Application, five_orders: list[str]
) -> None:
    assert await listed(pizzeria, ListOrders()) == five_orders[::-1]


async def test_orders_are_listed_a_page_at_a_time(
    pizzeria: Application, five_orders: list[str]
) -> None:
    pages = [await pizzeria.mediator.query(ListOrders(page=n, page_size=2)) for n in (1, 2, 3, 4)]

    assert [[item.id for item in page.items] for page in pages] == [
        five_orders[4:2:-1],
        five_orders[2:0:-1],
        five_orders[:1],
        [],
    ]
    assert {page.total for page in pages} == {5}


async def test_orders_are_filtered_by_status(
    send_all: SendAll, pizzeria: Application, five_orders: list[str]
) -> None:
    await send_all(
        StartCooking(order_id=five_orders[0]),
        StartCooking(order_id=five_orders[3]),
        CancelOrder(order_id=five_orders[1], reason="wrong address"),
    )

    assert await listed(pizzeria, ListOrders(status=OrderStatus.COOKING)) == [
        five_orders[3],
        five_orders[0],
    ]
    assert await listed(pizzeria, ListOrders(status=OrderStatus.CANCELLED)) == [five_orders[1]]


async def test_orders_are_filtered_by_phone_however_it_is_written(
    send_all: SendAll, pizzeria: Application, five_orders: list[str]
) -> None:
    await send_all(StartCooking(order_id=five_orders[3]))

    marcos = ListOrders(phone="+39 081 555 0202")
    marcos_cooking = ListOrders(phone="390815550202", status=OrderStatus.COOKING)
    assert await listed(pizzeria, marcos) == [five_orders[3], five_orders[1]]
    assert await listed(pizzeria, marcos_cooking) == [five_orders[3]]


async def test_one_order_shows_its_lines_total_and_history(
    send_all: SendAll, pizzeria: Application, place: Place
) -> None:
    order_id = await place()
    await send_all(StartCooking(order_id=order_id, by="Luigi"))

    order = await pizzeria.mediator.query(GetOrder(order_id=order_id))

    assert (order.status, order.total, order.customer_phone) == (
        OrderStatus.COOKING,
        order.lines[0].price,
        GIULIA,
    )
    assert [(change.status, change.by) for change in order.history] == [
        (OrderStatus.PENDING, GIULIA),
        (OrderStatus.CONFIRMED, GIULIA),
        (OrderStatus.COOKING, "Luigi"),
    ]


async def test_an_unknown_order_is_not_found(pizzeria: Application) -> None:
    with pytest.raises(NotFound, match="Order 'nope' was not found"):
        await pizzeria.mediator.query(GetOrder(order_id="nope"))


async def test_the_kitchen_shows_orders_cooking_and_the_queue_oldest_first(
    send_all: SendAll, pizzeria: Application, five_orders: list[str]
) -> None:
    await send_all(
        StartCooking(order_id=five_orders[2]),
        StartCooking(order_id=five_orders[0]),
        MarkReady(order_id=five_orders[2]),
        CancelOrder(order_id=five_orders[3], reason="wrong address"),
    )

    kitchen = await pizzeria.mediator.query(GetKitchen())

    assert (kitchen.capacity, kitchen.free_slots) == (3, 2)
    assert [order.id for order in kitchen.cooking] == [five_orders[0]]
    assert [order.id for order in kitchen.queue] == [five_orders[1], five_orders[4]]


async def test_an_idle_kitchen_has_every_slot_free(pizzeria: Application) -> None:
    kitchen = await pizzeria.mediator.query(GetKitchen())

    assert (kitchen.capacity, kitchen.free_slots, kitchen.cooking, kitchen.queue) == (3, 3, (), ())


async def test_a_customer_sees_their_orders_newest_first(
    pizzeria: Application, five_orders: list[str]
) -> None:
    mine = await pizzeria.mediator.query(GetCustomerOrders(phone=GIULIA))

    assert (mine.customer.phone, mine.customer.name) == (GIULIA, "Customer 01")
    assert [order.id for order in mine.orders] == five_orders[4::-2]


async def test_an_unknown_customer_is_not_found(pizzeria: Application) -> None:
    with pytest.raises(NotFound, match="Customer '\\+390000000000' was not found"):
        await pizzeria.mediator.query(GetCustomerOrders(phone="+390000000000"))


@pytest.mark.backends("memory")  # the other back-ends: test_projections
async def test_events_delivered_again_change_nothing_even_out_of_order(
    send_all: SendAll, pizzeria: Application, five_orders: list[str]
) -> None:
    await send_all(
        ChangePizzaPrice(name="margherita", base_price=Decimal("12.50")),
        StartCooking(order_id=five_orders[0]),
        MarkReady(order_id=five_orders[0]),
    )
    orders_before = await pizzeria.mediator.query(ListOrders())
    kitchen_before = await pizzeria.mediator.query(GetKitchen())
    menu_before = await pizzeria.mediator.query(GetMenu())

    for event in reversed(pizzeria.get(InMemoryStore).events):  # as the relay would
        await pizzeria.mediator.dispatch(event, durable=True)

    assert await pizzeria.mediator.query(ListOrders()) == orders_before
    assert await pizzeria.mediator.query(GetKitchen()) == kitchen_before
    assert await pizzeria.mediator.query(GetMenu()) == menu_before


async def test_two_pizzerias_share_no_views() -> None:
    first, second = create_app(), create_app()

    await seed_menu(first)

    first_menu = await first.mediator.query(GetMenu())
    second_menu = await second.mediator.query(GetMenu())
    assert (len(first_menu), second_menu) == (5, ())


async def test_money_and_times_read_back_exactly_as_they_were_saved(
    send_all: SendAll, pizzeria: Application, place: Place, stored: Stored
) -> None:
    extras = (Topping.OLIVES, Topping.HAM)
    order_id = await place(LineRequest(pizza="margherita", size=Size.LARGE, extras=extras))
    await send_all(ChangePizzaPrice(name="margherita", base_price=Decimal("12.35")))

    summary = await pizzeria.mediator.query(GetOrder(order_id=order_id))
    menu = await pizzeria.mediator.query(GetMenu())

    assert str(summary.total) == str(summary.lines[0].price) == "18.60"
    assert str(menu[1].prices[Size.LARGE]) == "16.06"  # 12.35 x 1.3 = 16.055, half-up
    order = await stored(Order, order_id)
    assert isinstance(order, Order)
    assert [change.at for change in summary.history] == [change.at for change in order.history]
    assert summary.placed_at == order.history[0].at
    assert all(at.utcoffset() == timedelta(0) for at in (summary.placed_at, summary.updated_at))
