"""The projections, on every back-end: an inline one commits with its command or nothing
does; the asynchronous kitchen board applies each event once and each aggregate's events
in order, whatever fails and however the events are delivered again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from facta import (
    AggregateRoot,
    AlreadyDelivered,
    Application,
    Outbox,
    OutboxRelay,
    RetryPolicy,
)
from facta.hosting.rebuild import ProjectionRebuilder
from facta.persistence import DeliverySettings, DeliveryStatus
from pizzeria.app import close_database, pizzeria_builder, prepare_database, seed_menu
from pizzeria.application.commands import (
    CancelOrder,
    ChangePizzaPrice,
    MarkReady,
    PlaceOrder,
    RetirePizza,
    StartCooking,
)
from pizzeria.application.projections import KitchenBoardProjection, OrderSummaries
from pizzeria.application.queries import (
    GetCustomerOrders,
    GetKitchen,
    GetMenu,
    GetOrder,
    GetPizza,
    ListOrders,
)
from pizzeria.domain.customer import Customer
from pizzeria.domain.kitchen import KITCHEN_ID, KitchenSlotsChanged, KitchenSlotTaken
from pizzeria.domain.order import OrderConfirmed, OrderEvent, OrderStatus

pytestmark = pytest.mark.backends()

OrderCommand = Callable[..., PlaceOrder]
Stored = Callable[[type[AggregateRoot], str], Awaitable[AggregateRoot | None]]
GIULIA = "+390815550101"
BOARD = "pizzeria.application.projections.KitchenBoardProjection"
RETRY_AT_ONCE = DeliverySettings(grace=timedelta(0), retry=RetryPolicy(first_delay=timedelta(0)))


@pytest.fixture
async def relayed(database_url: str | None) -> AsyncIterator[Application]:
    """The pizzeria with its menu, whose relay may retry a failed handler at once."""
    app = pizzeria_builder(database_url).delivery(RETRY_AT_ONCE).build()
    await prepare_database(app)
    try:
        await seed_menu(app)
        yield app
    finally:
        await close_database(app)


async def relay_everything(app: Application) -> None:
    """Run the relay until nothing is left to deliver."""
    relay = OutboxRelay(app.get(Outbox), app.mediator, RETRY_AT_ONCE)  # type: ignore[type-abstract]
    while await relay.drain():
        pass


async def board_receipts(app: Application) -> list[str]:
    """The event types the kitchen board has a receipt (a done delivery) of."""
    done = await app.get(Outbox).deliveries(DeliveryStatus.DONE)  # type: ignore[type-abstract]
    return sorted(record.event_type for record in done if record.handler == BOARD)


async def test_a_command_whose_inline_projection_fails_commits_nothing(
    pizzeria: Application,
    place_order: OrderCommand,
    stored: Stored,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fail(self: OrderSummaries, event: OrderEvent) -> None:
        raise RuntimeError("the summary could not be written")

    monkeypatch.setattr(OrderSummaries, "changed", fail)

    with pytest.raises(RuntimeError, match="could not be written"):
        await pizzeria.mediator.send(place_order())

    assert await stored(Customer, GIULIA) is None
    assert (await pizzeria.mediator.query(ListOrders())).total == 0


# --8<-- [start:board_fails_after_writing]
async def test_the_board_failing_after_writing_leaves_nothing_and_the_relay_applies_it_once(
    relayed: Application, place_order: OrderCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = await relayed.mediator.send(place_order())
    applied: list[KitchenSlotsChanged] = []
    slots_changed = KitchenBoardProjection.slots_changed

    async def write_then_fail(self: KitchenBoardProjection, event: KitchenSlotsChanged) -> None:
        await slots_changed(self, event)
        raise RuntimeError("the board failed after writing")

    monkeypatch.setattr(KitchenBoardProjection, "slots_changed", write_then_fail)
    await relayed.mediator.send(StartCooking(order_id=order_id))

    assert (await relayed.mediator.query(GetKitchen())).free_slots == 3
    assert "KitchenSlotTaken" not in await board_receipts(relayed)

    async def write_and_count(self: KitchenBoardProjection, event: KitchenSlotsChanged) -> None:
        applied.append(event)
        await slots_changed(self, event)

    monkeypatch.setattr(KitchenBoardProjection, "slots_changed", write_and_count)
    await relay_everything(relayed)
    await relay_everything(relayed)

    kitchen = await relayed.mediator.query(GetKitchen())
    assert (kitchen.free_slots, [order.id for order in kitchen.cooking]) == (2, [order_id])
    assert [type(event) for event in applied] == [KitchenSlotTaken]
    assert (await board_receipts(relayed)).count("KitchenSlotTaken") == 1


# --8<-- [end:board_fails_after_writing]


async def test_an_event_delivered_again_to_the_board_is_refused_with_its_writes(
    relayed: Application, place_order: OrderCommand
) -> None:
    order_id = await relayed.mediator.send(place_order())
    await relayed.mediator.send(StartCooking(order_id=order_id))
    [taken] = [
        record
        for record in await relayed.get(Outbox).deliveries(DeliveryStatus.DONE)  # type: ignore[type-abstract]
        if record.handler == BOARD and record.event_type == "KitchenSlotTaken"
    ]
    again = KitchenSlotTaken(
        event_id=taken.event_id,
        aggregate_id=KITCHEN_ID,
        aggregate_version=1,
        order_id="someone-else",
        capacity=3,
        cooking=("someone-else",),
    )

    report = await relayed.mediator.dispatch(again, only=[BOARD], durable=True)

    [failure] = report.failures
    assert isinstance(failure.error, AlreadyDelivered)
    kitchen = await relayed.mediator.query(GetKitchen())
    assert [order.id for order in kitchen.cooking] == [order_id]


async def test_an_event_that_reaches_the_board_before_its_predecessor_waits_for_it(
    relayed: Application, place_order: OrderCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = KitchenBoardProjection.changed

    async def fail_on_confirmed(self: KitchenBoardProjection, event: OrderEvent) -> None:
        if isinstance(event, OrderConfirmed):
            raise RuntimeError("the board missed the confirmation")
        await changed(self, event)

    monkeypatch.setattr(KitchenBoardProjection, "changed", fail_on_confirmed)
    order_id = await relayed.mediator.send(place_order())
    monkeypatch.setattr(KitchenBoardProjection, "changed", changed)

    await relayed.mediator.send(StartCooking(order_id=order_id))  # must wait for the confirmation

    kitchen = await relayed.mediator.query(GetKitchen())
    assert (kitchen.cooking, kitchen.queue) == ((), ())  # the ticket is still pending
    await relay_everything(relayed)
    [ticket] = (await relayed.mediator.query(GetKitchen())).cooking
    assert [change.status for change in ticket.history] == [
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        OrderStatus.COOKING,
    ]


async def test_text_a_customer_types_reads_back_as_typed(
    pizzeria: Application, place_order: OrderCommand
) -> None:
    order_id = await pizzeria.mediator.send(
        place_order(name="$where: '1'", address='{"$ne": null}; DROP TABLE x')
    )

    summary = await pizzeria.mediator.query(GetOrder(order_id=order_id))

    assert (summary.customer_name, summary.address) == (
        "$where: '1'",
        '{"$ne": null}; DROP TABLE x',
    )


async def test_the_views_are_prepared_again_without_harm(pizzeria: Application) -> None:
    await prepare_database(pizzeria)

    assert len(await pizzeria.mediator.query(GetMenu())) == 5


async def answers(app: Application) -> list[str]:
    """What the read side answers, as JSON."""
    found = [
        await app.mediator.query(ListOrders()),
        await app.mediator.query(GetKitchen()),
        await app.mediator.query(GetCustomerOrders(phone=GIULIA)),
        await app.mediator.query(GetPizza(name="hawaiian")),
    ]
    return [answer.model_dump_json() for answer in found] + [
        item.model_dump_json() for item in await app.mediator.query(GetMenu())
    ]


async def test_every_projection_rebuilt_from_the_events_answers_the_same(
    pizzeria: Application, place_order: OrderCommand
) -> None:
    orders = [await pizzeria.mediator.send(place_order(phone=GIULIA)) for _ in range(4)]
    for command in (
        StartCooking(order_id=orders[0]),
        StartCooking(order_id=orders[1]),
        MarkReady(order_id=orders[0]),
        CancelOrder(order_id=orders[2], reason="changed their mind"),
        ChangePizzaPrice(name="margherita", base_price=Decimal("12.50")),
        RetirePizza(name="hawaiian"),
    ):
        await pizzeria.mediator.send(command)
    before = await answers(pizzeria)

    rebuilder = ProjectionRebuilder(pizzeria)
    for info in pizzeria.mediator.registry.projections:
        await rebuilder.rebuild(info.name, drain=timedelta(0))

    assert await answers(pizzeria) == before
