"""An order's history is kept for ever, on every back-end: its events are its state, and the
event store shows the order as it was at any moment (time travel), as ``facta events
show Order ID --at TIME`` does from the command line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from facta import Application, EventStore, Outbox, utc_now
from facta.hosting.rebuild import ProjectionRebuilder
from pizzeria.application.commands import CancelOrder, StartCooking
from pizzeria.application.queries import GetOrder, ListOrders
from pizzeria.domain.order import (
    Order,
    OrderCancelled,
    OrderConfirmed,
    OrderCookingStarted,
    OrderPlaced,
    OrderStatus,
)

pytestmark = pytest.mark.backends()

# --8<-- [start:time_travel]
Place = Callable[..., Awaitable[str]]
S = OrderStatus
MOMENT = 0.01
"""A pause between two steps, longer than the coarsest clock a back-end stores (1 ms)."""


async def _a_moment_later() -> datetime:
    """A time after what was committed so far and before what is committed next."""
    await asyncio.sleep(MOMENT)
    moment = utc_now()
    await asyncio.sleep(MOMENT)
    return moment


@pytest.fixture
async def cooked_then_cancelled(
    pizzeria: Application, place: Place
) -> tuple[str, datetime, datetime]:
    """An order placed, cooked, then cancelled; with a time while it was confirmed and a
    time while it was cooking."""
    order_id = await place()
    confirmed = await _a_moment_later()
    await pizzeria.mediator.send(StartCooking(order_id=order_id, by="Luigi"))
    cooking = await _a_moment_later()
    await pizzeria.mediator.send(CancelOrder(order_id=order_id, reason="plans changed"))
    return order_id, confirmed, cooking


async def test_the_order_is_its_stream_of_events(
    pizzeria: Application, cooked_then_cancelled: tuple[str, datetime, datetime]
) -> None:
    order_id, _, _ = cooked_then_cancelled

    events = await pizzeria.get(EventStore).read_stream(Order, order_id)  # type: ignore[type-abstract]

    assert [type(event) for event in events] == [
        OrderPlaced,
        OrderConfirmed,
        OrderCookingStarted,
        OrderCancelled,
    ]
    assert [event.aggregate_version for event in events] == [1, 2, 3, 4]


async def test_time_travel_shows_the_order_as_it_was_between_two_steps(
    pizzeria: Application, cooked_then_cancelled: tuple[str, datetime, datetime]
) -> None:
    order_id, confirmed, cooking = cooked_then_cancelled
    store: EventStore = pizzeria.get(EventStore)  # type: ignore[type-abstract]

    then = await store.load(Order, order_id, at=cooking)

    assert then is not None
    assert (then.status, then.version, then.cancel_reason) == (S.COOKING, 3, None)
    assert [change.by for change in then.history] == ["+390815550101"] * 2 + ["Luigi"]
    earlier = await store.load(Order, order_id, at=confirmed)
    assert earlier is not None and earlier.status is S.CONFIRMED


# --8<-- [end:time_travel]


async def test_the_order_as_it_is_now_matches_what_the_read_side_shows(
    pizzeria: Application, cooked_then_cancelled: tuple[str, datetime, datetime]
) -> None:
    order_id, _, _ = cooked_then_cancelled

    now = await pizzeria.get(EventStore).load(Order, order_id)  # type: ignore[type-abstract]
    summary = await pizzeria.mediator.query(GetOrder(order_id=order_id))

    assert now is not None
    assert (now.status, now.cancel_reason) == (S.CANCELLED, "plans changed")
    assert [(change.status, change.at) for change in now.history] == [
        (change.status, change.at) for change in summary.history
    ]


async def test_before_it_was_placed_the_order_did_not_exist(
    pizzeria: Application, place: Place
) -> None:
    before = utc_now()
    await asyncio.sleep(MOMENT)
    order_id = await place()

    store: EventStore = pizzeria.get(EventStore)  # type: ignore[type-abstract]

    assert await store.load(Order, order_id, at=before) is None


async def test_the_order_summaries_are_rebuilt_from_the_orders_streams_after_a_prune(
    pizzeria: Application, cooked_then_cancelled: tuple[str, datetime, datetime], place: Place
) -> None:
    await place()
    before = await pizzeria.mediator.query(ListOrders())
    outbox: Outbox = pizzeria.get(Outbox)  # type: ignore[type-abstract]
    assert await outbox.prune(utc_now() + timedelta(hours=1)) > 0
    rebuilder = ProjectionRebuilder(pizzeria)

    report = await rebuilder.rebuild("OrderSummaries")

    assert rebuilder.reads_streams(rebuilder.find("OrderSummaries"))
    assert report.events == 6  # placed, confirmed, cooking, cancelled; placed, confirmed
    assert await pizzeria.mediator.query(ListOrders()) == before
