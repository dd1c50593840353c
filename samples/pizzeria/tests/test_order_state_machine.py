"""The order's state machine, as PIZZERIA.md draws it: every status against every transition.

```
pending --confirm--> confirmed --start_cooking--> cooking --mark_ready--> ready
ready --dispatch(driver)--> out_for_delivery --deliver--> delivered
pending|confirmed|cooking --cancel(reason)--> cancelled
```
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal

import pytest

from facta.testing import given
from pizzeria.domain.errors import (
    InvalidOrderDetail,
    InvalidOrderTransition,
    LineNotFound,
    OrderHasNoLines,
    OrderTooLarge,
)
from pizzeria.domain.menu import Pizza, Size
from pizzeria.domain.order import (
    Order,
    OrderCancelled,
    OrderConfirmed,
    OrderCookingStarted,
    OrderDelivered,
    OrderDispatched,
    OrderEvent,
    OrderLine,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderReady,
    OrderStatus,
    OrderTransition,
)

S = OrderStatus
T = OrderTransition
MARGHERITA = Pizza(id="margherita", base_price=Decimal("12.00"), toppings=("tomato",))
PHONE = "+390815550101"


def a_line(quantity: int = 1) -> OrderLine:
    return OrderLine.for_pizza(MARGHERITA, Size.MEDIUM, quantity=quantity)


def new_order(*lines: OrderLine) -> Order:
    return Order.place("o-1", PHONE, "Giulia Verdi", "Via Roma 12, Napoli", lines or [a_line()])


def confirm(order: Order) -> object:
    return order.confirm(by=PHONE)


def start_cooking(order: Order) -> object:
    return order.start_cooking(by="Luigi")


def mark_ready(order: Order) -> object:
    return order.mark_ready(by="Luigi")


def dispatch(order: Order) -> object:
    return order.dispatch("Paolo", by="Mario")


def deliver(order: Order) -> object:
    return order.deliver()


def cancel(order: Order) -> object:
    return order.cancel("changed my mind", by="Mario")


STEPS_TO: dict[OrderStatus, tuple[Callable[[Order], object], ...]] = {
    S.PENDING: (),
    S.CONFIRMED: (confirm,),
    S.COOKING: (confirm, start_cooking),
    S.READY: (confirm, start_cooking, mark_ready),
    S.OUT_FOR_DELIVERY: (confirm, start_cooking, mark_ready, dispatch),
    S.DELIVERED: (confirm, start_cooking, mark_ready, dispatch, deliver),
    S.CANCELLED: (cancel,),
}

TRANSITIONS: dict[OrderTransition, Callable[[Order], object]] = {
    T.ADD_LINE: lambda order: order.add_line(a_line()),
    T.REMOVE_LINE: lambda order: order.remove_line(1),
    T.CONFIRM: confirm,
    T.START_COOKING: start_cooking,
    T.MARK_READY: mark_ready,
    T.DISPATCH: dispatch,
    T.DELIVER: deliver,
    T.CANCEL: cancel,
}

ALLOWED: dict[tuple[OrderStatus, OrderTransition], tuple[type[OrderEvent], OrderStatus]] = {
    (S.PENDING, T.ADD_LINE): (OrderLineAdded, S.PENDING),
    (S.PENDING, T.REMOVE_LINE): (OrderLineRemoved, S.PENDING),
    (S.PENDING, T.CONFIRM): (OrderConfirmed, S.CONFIRMED),
    (S.PENDING, T.CANCEL): (OrderCancelled, S.CANCELLED),
    (S.CONFIRMED, T.START_COOKING): (OrderCookingStarted, S.COOKING),
    (S.CONFIRMED, T.CANCEL): (OrderCancelled, S.CANCELLED),
    (S.COOKING, T.MARK_READY): (OrderReady, S.READY),
    (S.COOKING, T.CANCEL): (OrderCancelled, S.CANCELLED),
    (S.READY, T.DISPATCH): (OrderDispatched, S.OUT_FOR_DELIVERY),
    (S.OUT_FOR_DELIVERY, T.DELIVER): (OrderDelivered, S.DELIVERED),
}
"""The spec's table; every (status, transition) pair not in it must be refused."""

REFUSED = [pair for pair in itertools.product(S, T) if pair not in ALLOWED]


def order_in(status: OrderStatus) -> Order:
    order = new_order()
    for step in STEPS_TO[status]:
        step(order)
    return order


def test_the_table_covers_every_status_and_transition() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(S) * len(T) == 56


@pytest.mark.parametrize(
    ("status", "transition", "event", "reached"),
    [
        pytest.param(status, transition, event, reached, id=f"{status}-{transition}")
        for (status, transition), (event, reached) in ALLOWED.items()
    ],
)
def test_an_allowed_transition_records_its_event_and_moves_the_order(
    status: OrderStatus,
    transition: OrderTransition,
    event: type[OrderEvent],
    reached: OrderStatus,
) -> None:
    outcome = given(order_in(status)).when(TRANSITIONS[transition]).then(event)

    assert outcome.aggregate.status is reached


@pytest.mark.parametrize(
    ("status", "transition"),
    [
        pytest.param(status, transition, id=f"{status}-{transition}")
        for status, transition in REFUSED
    ],
)
def test_a_refused_transition_names_the_status_and_the_transition_and_changes_nothing(
    status: OrderStatus, transition: OrderTransition
) -> None:
    error = (
        given(order_in(status))
        .when(TRANSITIONS[transition])
        .then_raises(InvalidOrderTransition, match=f"cannot {transition} order o-1: it is {status}")
    )

    assert isinstance(error, InvalidOrderTransition)
    assert (error.status, error.transition) == (status, transition)


def test_placing_records_the_lines_the_total_and_the_customer() -> None:
    order = new_order(a_line(quantity=2), a_line())

    assert order.status is S.PENDING
    [placed] = order.uncommitted_events
    assert isinstance(placed, OrderPlaced)
    assert (placed.customer_phone, placed.total, len(placed.lines)) == (PHONE, Decimal("36.00"), 2)


def test_an_order_without_lines_cannot_be_confirmed() -> None:
    given(lambda: Order.place("o-1", PHONE, "Giulia", "Via Roma 12", [])).when(confirm).then_raises(
        OrderHasNoLines, match="no lines"
    )


def test_removing_a_line_the_order_does_not_have_is_refused() -> None:
    given(new_order).when(lambda order: order.remove_line(2)).then_raises(
        LineNotFound, match="no line 2"
    )


def test_adding_a_line_past_twenty_pizzas_is_refused() -> None:
    given(new_order(a_line(10), a_line(10))).when(
        lambda order: order.add_line(a_line())
    ).then_raises(OrderTooLarge, match="21 pizzas")


def test_an_order_cannot_be_placed_with_more_than_twenty_pizzas() -> None:
    with pytest.raises(OrderTooLarge, match="at most 20"):
        new_order(a_line(10), a_line(10), a_line(1))


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("x" * 201, id="201"),
    ],
)
def test_cancelling_needs_a_reason_of_1_to_200_characters(reason: str) -> None:
    given(order_in(S.CONFIRMED)).when(lambda order: order.cancel(reason, by="Mario")).then_raises(
        InvalidOrderDetail, match="cancel reason must be 1 to 200 characters"
    )


def test_a_reason_of_200_characters_is_enough_to_cancel() -> None:
    given(order_in(S.CONFIRMED)).when(lambda order: order.cancel("x" * 200, by="Mario")).then(
        OrderCancelled
    )


def test_dispatching_needs_a_driver() -> None:
    given(order_in(S.READY)).when(lambda order: order.dispatch(" ", by="Mario")).then_raises(
        InvalidOrderDetail, match="driver"
    )


def test_a_cancelled_order_remembers_its_reason_and_the_status_it_left() -> None:
    outcome = given(order_in(S.COOKING)).when(cancel)

    outcome.then(
        OrderCancelled(
            customer_phone=PHONE,
            reason="changed my mind",
            previous_status=S.COOKING,
            by="Mario",
        )
    )
    assert outcome.aggregate.cancel_reason == "changed my mind"


def test_delivery_is_by_the_driver_unless_someone_else_is_named() -> None:
    given(order_in(S.OUT_FOR_DELIVERY)).when(deliver).then(
        OrderDelivered(customer_phone=PHONE, by="Paolo")
    )


def test_every_transition_keeps_its_time_and_who_made_it() -> None:
    order = order_in(S.DELIVERED)

    assert [(change.status, change.by) for change in order.history] == [
        (S.PENDING, PHONE),
        (S.CONFIRMED, PHONE),
        (S.COOKING, "Luigi"),
        (S.READY, "Luigi"),
        (S.OUT_FOR_DELIVERY, "Mario"),
        (S.DELIVERED, "Paolo"),
    ]
    times = [change.at for change in order.history]
    assert all(
        time.tzinfo is not None and time.utcoffset() == UTC.utcoffset(None) for time in times
    )
    assert times == sorted(times)
    assert [event.occurred_at for event in order.uncommitted_events] == times
    assert order.time_of(S.READY) == times[3]
    assert order.time_of(S.CANCELLED) is None
