"""What an order may hold and who may place it: bad input is refused, naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from facta import MessageValidationError, parse_message
from facta.testing import ApplicationScenario
from pizzeria.application.commands import PlaceOrder, RetirePizza
from pizzeria.domain.errors import PizzaNotAvailable

LINE = {"pizza": "margherita"}
VALID: dict[str, Any] = {
    "phone": "+390815550101",
    "name": "Giulia Verdi",
    "address": "Via Roma 12, Napoli",
    "lines": [LINE],
}


def order(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


def line(**changes: Any) -> dict[str, Any]:
    return order(lines=[{**LINE, **changes}])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param(line(extras=["olives"] * 6), ("lines", 0, "extras"), id="six-extras"),
        pytest.param(line(extras=["bacon"]), ("lines", 0, "extras", 0), id="unknown-topping"),
        pytest.param(line(quantity=0), ("lines", 0, "quantity"), id="quantity-0"),
        pytest.param(line(quantity=11), ("lines", 0, "quantity"), id="quantity-11"),
        pytest.param(line(size="family"), ("lines", 0, "size"), id="unknown-size"),
        pytest.param(line(pizza="Margherita"), ("lines", 0, "pizza"), id="pizza-not-a-slug"),
        pytest.param(order(lines=[]), ("lines",), id="no-lines"),
        pytest.param(
            order(lines=[{**LINE, "quantity": 10}] * 2 + [LINE]), ("lines",), id="twenty-one-pizzas"
        ),
        pytest.param(order(phone="1234567"), ("phone",), id="phone-7-digits"),
        pytest.param(order(phone="+12345678901234567"), ("phone",), id="phone-17-digits"),
        pytest.param(order(phone="+39 081 CALL MARIO"), ("phone",), id="phone-letters"),
        pytest.param(order(name=""), ("name",), id="name-empty"),
        pytest.param(order(name="x" * 101), ("name",), id="name-101"),
        pytest.param(order(address="Roma"), ("address",), id="address-4"),
        pytest.param(order(address="x" * 201), ("address",), id="address-201"),
        pytest.param(order(email="giulia.example.com"), ("email",), id="email-without-at"),
        pytest.param(order(email="giulia@example"), ("email",), id="email-without-domain"),
        pytest.param(order(tip="5.00"), ("tip",), id="unknown-field"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    data: dict[str, Any], field: tuple[str | int, ...]
) -> None:
    with pytest.raises(MessageValidationError) as refused:
        parse_message(PlaceOrder, data)

    assert [error.location for error in refused.value.errors] == [field]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            line(extras=["olives", "ham", "onions", "peppers", "anchovies"]), id="5-extras"
        ),
        pytest.param(line(extras=["olives", "olives"]), id="an-extra-twice"),
        pytest.param(line(quantity=10), id="quantity-10"),
        pytest.param(order(lines=[{**LINE, "quantity": 10}] * 2), id="twenty-pizzas"),
        pytest.param(order(phone="12345678"), id="phone-8-digits"),
        pytest.param(order(phone="+1234567890123456"), id="phone-16-digits"),
        pytest.param(order(name="x" * 100), id="name-100"),
        pytest.param(order(address="Roma1"), id="address-5"),
        pytest.param(order(address="x" * 200), id="address-200"),
        pytest.param(order(email="giulia@example.com"), id="email"),
    ],
)
def test_input_at_the_limits_is_accepted(data: dict[str, Any]) -> None:
    assert isinstance(parse_message(PlaceOrder, data), PlaceOrder)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        pytest.param("+390815550101", "+390815550101", id="e164"),
        pytest.param("390815550101", "+390815550101", id="without-plus"),
        pytest.param("+39 081 555-0101", "+390815550101", id="with-separators"),
        pytest.param("(081) 555.0101", "+0815550101", id="with-parentheses"),
    ],
)
def test_a_phone_is_kept_in_one_normalized_form(written: str, stored: str) -> None:
    assert parse_message(PlaceOrder, order(phone=written)).phone == stored


def test_an_email_domain_is_kept_in_lowercase() -> None:
    placed = parse_message(PlaceOrder, order(email=" Giulia.Verdi@Example.COM "))

    assert placed.email == "Giulia.Verdi@example.com"


async def test_a_retired_pizza_cannot_be_ordered(
    scenario: ApplicationScenario, place_order: Callable[..., PlaceOrder]
) -> None:
    await scenario.given(RetirePizza(name="hawaiian"))

    outcome = await scenario.when(parse_message(PlaceOrder, line(pizza="hawaiian")))

    outcome.then_raises(PizzaNotAvailable, match="'hawaiian' is not available: it was retired")


async def test_a_pizza_that_is_not_on_the_menu_cannot_be_ordered(
    scenario: ApplicationScenario,
) -> None:
    outcome = await scenario.when(parse_message(PlaceOrder, line(pizza="calzone")))

    outcome.then_raises(
        PizzaNotAvailable, match="'calzone' is not available: it is not on the menu"
    )


def test_an_order_of_twenty_one_pizzas_is_refused_saying_the_limit() -> None:
    with pytest.raises(MessageValidationError, match="at most 20 pizzas, this one has 21"):
        parse_message(PlaceOrder, order(lines=[{**LINE, "quantity": 10}] * 2 + [LINE]))
