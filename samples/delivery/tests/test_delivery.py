"""The delivery service in one process: CloudEvents go straight to its ingestor.

What is checked here holds whichever way the events arrive (RabbitMQ, HTTP): an order
placed plans a delivery, an order delivered closes it, each CloudEvent has its effect
once, and what does not fit the service's contracts is refused without writing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from delivery.board import DeliveryView
from delivery.domain import (
    Delivery,
    DeliveryAlreadyCompleted,
    DeliveryNotPlanned,
    DeliveryStatus,
    Parcel,
)
from delivery.queries import GetDelivery, OpenDeliveries
from facta import (
    Application,
    EventHandlingError,
    InvalidEventData,
    UnitOfWork,
    UnknownEventType,
)
from facta.integration.cloudevents import CloudEvent

Build = Callable[..., CloudEvent]
PLANNED = "delivery.handlers.PlanDelivery"
CLOSED = "delivery.handlers.CloseDelivery"


async def stored(app: Application, order_id: str) -> Delivery | None:
    """The ``Delivery`` aggregate as committed, or None."""
    async with app.operation("a test looks"):
        return await app.get(UnitOfWork).repository(Delivery).find(order_id)  # type: ignore[type-abstract]


async def test_an_order_placed_plans_its_delivery(
    delivery: Application, order_placed: Build
) -> None:
    result = await delivery.ingestor.ingest(order_placed("o-1"))

    assert result.handled == (PLANNED,)
    view = await delivery.mediator.query(GetDelivery(order_id="o-1"))
    assert view is not None
    assert view.status is DeliveryStatus.PLANNED
    assert (view.customer_name, view.phone, view.address) == (
        "Giulia Verdi",
        "+390815550101",
        "Via Roma 12, Napoli",
    )
    assert view.parcels == (
        Parcel(pizza="margherita", size="large", quantity=2),
        Parcel(pizza="pepperoni", size="small", quantity=1),
    )
    assert (view.pizzas, view.amount_due, view.currency) == (3, Decimal("49.70"), "EUR")
    assert view.ordered_at == datetime(2025, 5, 1, 18, 30, tzinfo=UTC)
    assert (view.delivered_at, view.delivered_by) == (None, None)
    assert await delivery.mediator.query(OpenDeliveries()) == [view]


async def test_an_order_delivered_closes_its_delivery(
    delivery: Application, order_placed: Build, order_delivered: Build
) -> None:
    await delivery.ingestor.ingest(order_placed("o-1"))
    await delivery.ingestor.ingest(order_placed("o-2", placed_at="2025-05-01T18:10:00Z"))

    result = await delivery.ingestor.ingest(order_delivered("o-1", by="Luigi"))

    assert result.handled == (CLOSED,)
    view = await delivery.mediator.query(GetDelivery(order_id="o-1"))
    assert view is not None and view.status is DeliveryStatus.DELIVERED
    assert (view.delivered_by, view.delivered_at) == (
        "Luigi",
        datetime(2025, 5, 1, 19, 5, tzinfo=UTC),
    )
    assert [open.order_id for open in await delivery.mediator.query(OpenDeliveries())] == ["o-2"]


async def test_the_open_deliveries_are_listed_oldest_order_first(
    delivery: Application, order_placed: Build
) -> None:
    for order_id, placed_at in [("late", "19:00"), ("early", "17:45"), ("middle", "18:15")]:
        await delivery.ingestor.ingest(
            order_placed(order_id, placed_at=f"2025-05-01T{placed_at}:00+00:00")
        )

    views: list[DeliveryView] = await delivery.mediator.query(OpenDeliveries())
    assert [view.order_id for view in views] == ["early", "middle", "late"]


async def test_the_same_cloudevent_twice_has_its_effect_once(
    delivery: Application, order_placed: Build, order_delivered: Build
) -> None:
    placed, delivered = order_placed("o-1"), order_delivered("o-1")
    for event in (placed, placed, delivered, delivered):
        await delivery.ingestor.ingest(event)

    again = await delivery.ingestor.ingest(placed)
    assert (again.handled, again.duplicates) == ((), (PLANNED,))
    aggregate = await stored(delivery, "o-1")
    assert aggregate is not None
    assert (aggregate.version, aggregate.status) == (2, DeliveryStatus.DELIVERED)


async def test_an_order_placed_again_under_a_new_event_id_plans_nothing_new(
    delivery: Application, order_placed: Build
) -> None:
    await delivery.ingestor.ingest(order_placed("o-1"))
    result = await delivery.ingestor.ingest(order_placed("o-1", customer_name="Someone Else"))

    assert result.handled == (PLANNED,)  # it ran, and found the delivery planned
    aggregate = await stored(delivery, "o-1")
    assert aggregate is not None
    assert (aggregate.version, aggregate.customer_name) == (1, "Giulia Verdi")


async def test_a_delivered_order_that_overtakes_its_placed_order_is_retried_until_it_fits(
    delivery: Application, order_placed: Build, order_delivered: Build
) -> None:
    delivered = order_delivered("o-1")

    with pytest.raises(EventHandlingError) as refused:
        await delivery.ingestor.ingest(delivered)
    assert isinstance(refused.value.failures[0].error, DeliveryNotPlanned)
    assert await stored(delivery, "o-1") is None

    await delivery.ingestor.ingest(order_placed("o-1"))
    result = await delivery.ingestor.ingest(delivered)  # the consumer's retry

    assert result.handled == (CLOSED,)
    view = await delivery.mediator.query(GetDelivery(order_id="o-1"))
    assert view is not None and view.status is DeliveryStatus.DELIVERED


async def test_data_that_does_not_fit_the_contract_is_refused_and_writes_nothing(
    delivery: Application, order_placed: Build
) -> None:
    broken = order_placed("o-1", lines=[], total={"amount": "lots", "currency": "EUR"})

    with pytest.raises(InvalidEventData) as refused:
        await delivery.ingestor.ingest(broken)

    assert {error.location for error in refused.value.errors} == {("lines",), ("total", "amount")}
    assert await stored(delivery, "o-1") is None
    assert await delivery.mediator.query(OpenDeliveries()) == []


async def test_it_reads_only_the_fields_it_needs(
    delivery: Application, order_placed: Build
) -> None:
    lean = order_placed("o-1", pizzas=None, a_field_of_a_later_release={"any": "thing"})
    data = lean.get_data()
    assert isinstance(data, dict)
    for line in data["lines"]:
        del line["extras"], line["price"]
    del data["pizzas"]

    assert (await delivery.ingestor.ingest(lean)).handled == (PLANNED,)


async def test_it_accepts_exactly_the_two_order_events(
    delivery: Application, order_placed: Build
) -> None:
    assert delivery.ingestor.accepted_types == (
        "com.mariospizzeria.order.delivered.v1",
        "com.mariospizzeria.order.placed.v1",
    )
    event = order_placed("o-1")
    attributes = {**event.get_attributes(), "type": "com.mariospizzeria.order.cancelled.v1"}
    with pytest.raises(UnknownEventType):
        await delivery.ingestor.ingest(CloudEvent(attributes, event.get_data()))


def test_a_delivery_is_delivered_once() -> None:
    at = datetime(2025, 5, 1, 19, 5, tzinfo=UTC)
    delivery = Delivery.plan(
        order_id="o-1",
        customer_name="Giulia Verdi",
        phone="+390815550101",
        address="Via Roma 12, Napoli",
        parcels=[Parcel(pizza="margherita", size="medium", quantity=1)],
        amount_due=Decimal("12.00"),
        currency="EUR",
        ordered_at=at,
    )
    delivery.complete(by="Luigi", at=at)

    with pytest.raises(DeliveryAlreadyCompleted, match="already delivered by Luigi"):
        delivery.complete(by="Marco", at=at)
    assert [type(event).__name__ for event in delivery.uncommitted_events] == [
        "DeliveryPlanned",
        "DeliveryCompleted",
    ]
