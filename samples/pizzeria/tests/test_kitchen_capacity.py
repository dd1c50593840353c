"""The kitchen cooks at most three orders at once; it frees a slot when it hears that an
order is ready or was cancelled while cooking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from facta import Application, InMemoryStore
from facta.testing import ApplicationScenario, given
from pizzeria.application.commands import (
    CancelOrder,
    DeliverOrder,
    DispatchOrder,
    MarkReady,
    StartCooking,
)
from pizzeria.application.queries import GetKitchen, GetOrder
from pizzeria.domain.errors import InvalidOrderTransition, KitchenFull
from pizzeria.domain.kitchen import DEFAULT_CAPACITY, Kitchen, KitchenSlotFreed, KitchenSlotTaken
from pizzeria.domain.order import OrderCancelled, OrderCookingStarted, OrderReady, OrderStatus

Place = Callable[..., Awaitable[str]]


def cooking(*order_ids: str) -> Kitchen:
    kitchen = Kitchen()
    for order_id in order_ids:
        kitchen.take_slot(order_id)
    return kitchen


def test_a_kitchen_has_three_slots_by_default() -> None:
    assert Kitchen().capacity == DEFAULT_CAPACITY == 3


def test_an_order_takes_a_free_slot() -> None:
    given(cooking("a", "b")).when(lambda kitchen: kitchen.take_slot("c")).then(
        KitchenSlotTaken(order_id="c", capacity=3, cooking=("a", "b", "c"))
    )


def test_a_full_kitchen_refuses_another_order() -> None:
    given(cooking("a", "b", "c")).when(lambda kitchen: kitchen.take_slot("d")).then_raises(
        KitchenFull, match="3 of 3 slots cooking"
    )


def test_freeing_a_slot_lists_the_orders_still_cooking() -> None:
    given(cooking("a", "b", "c")).when(lambda kitchen: kitchen.free_slot("b")).then(
        KitchenSlotFreed(order_id="b", capacity=3, cooking=("a", "c"))
    )


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(lambda k: k.free_slot("z"), id="free-an-order-not-cooking"),
        pytest.param(lambda k: k.take_slot("a"), id="take-a-slot-twice"),
    ],
)
def test_repeating_what_already_happened_changes_nothing(step: Callable[[Kitchen], object]) -> None:
    outcome = given(lambda: cooking("a")).when(step).then()

    assert outcome.aggregate.cooking == ["a"]


@pytest.fixture
async def four_orders(place: Place) -> list[str]:
    """Four confirmed orders, from four customers, oldest first."""
    return [await place(phone=f"+3908155501{n:02}") for n in range(4)]


@pytest.fixture
async def three_cooking(scenario: ApplicationScenario, four_orders: list[str]) -> list[str]:
    """The same four orders, the first three of them cooking."""
    await scenario.given(*(StartCooking(order_id=order_id) for order_id in four_orders[:3]))
    return four_orders


async def test_starting_to_cook_takes_a_slot_with_the_order_in_one_commit(
    scenario: ApplicationScenario, four_orders: list[str]
) -> None:
    outcome = await scenario.when(StartCooking(order_id=four_orders[0], by="Luigi"))

    outcome.then(OrderCookingStarted, KitchenSlotTaken)
    assert len({event.causation_id for event in outcome.events}) == 1


async def test_a_fourth_order_is_refused_while_three_cook_and_nothing_changes(
    scenario: ApplicationScenario, pizzeria: Application, three_cooking: list[str]
) -> None:
    fourth = three_cooking[3]
    store = pizzeria.get(InMemoryStore)
    before = (store.streams.events("Order", fourth), store.state("Kitchen", "kitchen"))

    outcome = await scenario.when(StartCooking(order_id=fourth))

    outcome.then_raises(KitchenFull, match=f"order {fourth} must wait")
    assert (store.streams.events("Order", fourth), store.state("Kitchen", "kitchen")) == before
    assert (
        await pizzeria.mediator.query(GetOrder(order_id=fourth))
    ).status is OrderStatus.CONFIRMED
    kitchen = await pizzeria.mediator.query(GetKitchen())
    assert [order.id for order in kitchen.cooking] == three_cooking[:3]
    assert [order.id for order in kitchen.queue] == [fourth]


async def test_marking_an_order_ready_frees_its_slot(
    scenario: ApplicationScenario, three_cooking: list[str]
) -> None:
    outcome = await scenario.when(MarkReady(order_id=three_cooking[1]))

    outcome.then(OrderReady, KitchenSlotFreed)
    (await scenario.when(StartCooking(order_id=three_cooking[3]))).then(
        OrderCookingStarted, KitchenSlotTaken
    )


async def test_cancelling_a_cooking_order_frees_its_slot(
    scenario: ApplicationScenario, three_cooking: list[str]
) -> None:
    outcome = await scenario.when(CancelOrder(order_id=three_cooking[0], reason="burnt"))

    outcome.then(OrderCancelled, KitchenSlotFreed)
    (await scenario.when(StartCooking(order_id=three_cooking[3]))).then(
        OrderCookingStarted, KitchenSlotTaken
    )


async def test_cancelling_an_order_that_is_not_cooking_leaves_the_kitchen_alone(
    scenario: ApplicationScenario, pizzeria: Application, three_cooking: list[str]
) -> None:
    outcome = await scenario.when(CancelOrder(order_id=three_cooking[3], reason="too slow"))

    outcome.then(OrderCancelled)
    assert (await pizzeria.mediator.query(GetKitchen())).free_slots == 0


async def test_an_order_in_the_wrong_status_takes_no_slot(
    scenario: ApplicationScenario, pizzeria: Application, four_orders: list[str]
) -> None:
    first = four_orders[0]
    await scenario.given(
        StartCooking(order_id=first),
        MarkReady(order_id=first),
        DispatchOrder(order_id=first, driver="Paolo"),
        DeliverOrder(order_id=first),
    )

    outcome = await scenario.when(StartCooking(order_id=first))

    outcome.then_raises(InvalidOrderTransition, match="it is delivered")
    assert (await pizzeria.mediator.query(GetKitchen())).free_slots == 3
