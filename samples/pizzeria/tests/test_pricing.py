"""Pricing: line price = quantity x (base x size factor + 1.50 x extras), rounded half-up
to cents once per line; an order's total is the sum of its lines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from facta import Application
from pizzeria.application.commands import LineRequest
from pizzeria.application.queries import GetMenu, GetOrder
from pizzeria.domain.menu import Size, Topping
from pizzeria.domain.money import to_cents
from pizzeria.domain.pricing import line_price

Place = Callable[..., Awaitable[str]]
D = Decimal


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        pytest.param("15.665", "15.67", id="half-goes-up"),
        pytest.param("15.675", "15.68", id="half-goes-up-from-odd"),
        pytest.param("15.664", "15.66", id="below-half-goes-down"),
        pytest.param("0.005", "0.01", id="half-a-cent"),
        pytest.param("12", "12.00", id="whole-amount-gets-cents"),
    ],
)
def test_money_is_rounded_half_up_to_cents(amount: str, cents: str) -> None:
    rounded = to_cents(D(amount))

    assert rounded == D(cents)
    assert str(rounded) == cents


@pytest.mark.parametrize(
    ("base", "size", "extras", "quantity", "price"),
    [
        pytest.param("12.00", Size.MEDIUM, 0, 1, "12.00", id="medium-is-the-base-price"),
        pytest.param("12.00", Size.SMALL, 0, 1, "9.60", id="small-is-0.8"),
        pytest.param("12.00", Size.LARGE, 0, 1, "15.60", id="large-is-1.3"),
        pytest.param("13.50", Size.SMALL, 0, 1, "10.80", id="small-vegetariana"),
        pytest.param("14.50", Size.LARGE, 0, 1, "18.85", id="large-hawaiian"),
        pytest.param("12.00", Size.MEDIUM, 1, 1, "13.50", id="an-extra-is-1.50"),
        pytest.param("12.00", Size.SMALL, 1, 1, "11.10", id="extras-cost-the-same-on-small"),
        pytest.param("12.00", Size.LARGE, 5, 1, "23.10", id="five-extras-on-large"),
        pytest.param("12.00", Size.SMALL, 2, 3, "37.80", id="quantity-multiplies-extras-too"),
        pytest.param("15.00", Size.LARGE, 0, 10, "195.00", id="ten-large"),
        pytest.param("12.05", Size.LARGE, 0, 1, "15.67", id="15.665-rounds-up"),
        pytest.param("12.25", Size.LARGE, 0, 1, "15.93", id="15.925-rounds-up-not-to-even"),
        pytest.param("12.05", Size.LARGE, 0, 3, "47.00", id="rounded-once-per-line-not-per-pizza"),
        pytest.param("12.01", Size.SMALL, 0, 1, "9.61", id="9.608-rounds-up"),
    ],
)
def test_a_line_is_priced_from_base_size_extras_and_quantity(
    base: str, size: Size, extras: int, quantity: int, price: str
) -> None:
    assert line_price(D(base), size, extras, quantity) == D(price)


async def test_an_order_total_is_the_sum_of_its_line_prices(
    pizzeria: Application, place: Place
) -> None:
    order_id = await place(
        LineRequest(pizza="margherita", size=Size.LARGE, quantity=2),
        LineRequest(pizza="hawaiian", extras=(Topping.JALAPENOS, Topping.OLIVES)),
        LineRequest(pizza="vegetariana", size=Size.SMALL, quantity=3, extras=(Topping.HAM,)),
    )

    order = await pizzeria.mediator.query(GetOrder(order_id=order_id))

    assert [line.price for line in order.lines] == [D("31.20"), D("17.50"), D("36.90")]
    assert order.total == D("85.60")


async def test_the_menu_shows_each_pizza_at_each_size(pizzeria: Application) -> None:
    menu = await pizzeria.mediator.query(GetMenu())

    prices = {item.name: item.prices for item in menu}
    assert prices["margherita"] == {
        Size.SMALL: D("9.60"),
        Size.MEDIUM: D("12.00"),
        Size.LARGE: D("15.60"),
    }
    assert prices["quattro-formaggi"][Size.LARGE] == D("19.50")
