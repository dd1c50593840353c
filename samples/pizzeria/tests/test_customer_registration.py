"""Placing an order with a phone the pizzeria does not know registers the customer, in the
same unit of work as the order: both are committed, or neither is."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from facta import Application, InMemoryStore, NotFound
from facta.testing import ApplicationScenario, assert_events
from pizzeria.application.commands import LineRequest, PlaceOrder, RetirePizza
from pizzeria.application.queries import GetCustomerOrders
from pizzeria.domain.customer import Customer, CustomerRegistered
from pizzeria.domain.errors import PizzaNotAvailable
from pizzeria.domain.order import OrderConfirmed, OrderPlaced

OrderCommand = Callable[..., PlaceOrder]
GIULIA = "+390815550101"


async def test_a_new_phone_registers_the_customer_with_the_order_in_one_commit(
    scenario: ApplicationScenario, place_order: OrderCommand
) -> None:
    outcome = await scenario.when(place_order(email="giulia@example.com"))

    outcome.then(
        CustomerRegistered(
            phone=GIULIA,
            name="Giulia Verdi",
            email="giulia@example.com",
            address="Via Roma 12, Napoli",
        ),
        OrderPlaced,
        OrderConfirmed,
    )
    assert len({event.causation_id for event in outcome.events}) == 1
    assert {event.aggregate_id for event in outcome.events[1:]} == {outcome.result}


async def test_an_order_that_fails_leaves_no_customer_behind(
    scenario: ApplicationScenario, pizzeria: Application, place_order: OrderCommand
) -> None:
    await scenario.given(RetirePizza(name="hawaiian"))

    outcome = await scenario.when(place_order(LineRequest(pizza="hawaiian")))

    outcome.then_raises(PizzaNotAvailable)
    assert pizzeria.get(InMemoryStore).state("Customer", GIULIA) is None
    with pytest.raises(NotFound):
        await pizzeria.mediator.query(GetCustomerOrders(phone=GIULIA))


async def test_a_returning_customer_is_not_registered_again(
    scenario: ApplicationScenario, place_order: OrderCommand
) -> None:
    await scenario.given(place_order())

    outcome = await scenario.when(place_order(LineRequest(pizza="pepperoni")))

    outcome.then(OrderPlaced, OrderConfirmed)


async def test_the_same_phone_written_differently_is_the_same_customer(
    scenario: ApplicationScenario, pizzeria: Application, place_order: OrderCommand
) -> None:
    await scenario.given(place_order(phone="+39 081 555 0101"))

    outcome = await scenario.when(place_order(phone="390815550101"))

    outcome.then(OrderPlaced, OrderConfirmed)
    customer_orders = await pizzeria.mediator.query(GetCustomerOrders(phone="+39-081-5550101"))
    assert len(customer_orders.orders) == 2


def test_a_customer_is_registered_under_their_normalized_phone() -> None:
    customer = Customer.register("+39 081 555 0101", "Giulia Verdi", " Via Roma 12 ")

    assert customer.id == GIULIA
    assert_events(
        customer.uncommitted_events,
        [CustomerRegistered(phone=GIULIA, name="Giulia Verdi", email=None, address="Via Roma 12")],
    )
