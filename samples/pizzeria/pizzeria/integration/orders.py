"""The order contracts: an order's life as other services see it.

Each type is published once per transition, with source ``/mariospizzeria/orders`` and
the order id as the CloudEvent ``subject``:

- ``com.mariospizzeria.order.placed.v1``: a customer placed an order (it is confirmed
  in the same step): who, where to, what, and what it costs;
- ``com.mariospizzeria.order.cooking-started.v1``, ``...ready.v1``: the kitchen's
  progress;
- ``com.mariospizzeria.order.dispatched.v1``: the order left with a driver;
- ``com.mariospizzeria.order.delivered.v1``: it reached the customer;
- ``com.mariospizzeria.order.cancelled.v1``: it was cancelled before it was ready.

Every order contract names the order and its customer's phone, so a consumer (a
notifier, a delivery service) need not ask the pizzeria for them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from facta import EventContract, IntegrationEvent
from pizzeria.domain.menu import Size
from pizzeria.domain.order_events import (
    OrderCancelled,
    OrderCookingStarted,
    OrderDelivered,
    OrderDispatched,
    OrderPlaced,
    OrderReady,
)
from pizzeria.domain.order_line import OrderLine
from pizzeria.domain.order_status import OrderStatus
from pizzeria.integration.common import ORDERS_SOURCE, Money, UtcTimestamp

__all__ = [
    "CancellableStatusV1",
    "OrderCancelledV1",
    "OrderCancelledV1Contract",
    "OrderCookingStartedV1",
    "OrderCookingStartedV1Contract",
    "OrderDeliveredV1",
    "OrderDeliveredV1Contract",
    "OrderDispatchedV1",
    "OrderDispatchedV1Contract",
    "OrderLineV1",
    "OrderPlacedV1",
    "OrderPlacedV1Contract",
    "OrderReadyV1",
    "OrderReadyV1Contract",
    "SizeV1",
]

SizeV1 = Literal["small", "medium", "large"]
"""A pizza's size, as the v1 contracts name it."""
CancellableStatusV1 = Literal["pending", "confirmed", "cooking"]
"""The statuses an order can be cancelled from, as the v1 contracts name them."""

# Explicit, so that a new size or status in the domain fails loudly here instead of
# silently widening a published contract: it needs a new version.
_SIZES: dict[Size, SizeV1] = {Size.SMALL: "small", Size.MEDIUM: "medium", Size.LARGE: "large"}
_CANCELLABLE: dict[OrderStatus, CancellableStatusV1] = {
    OrderStatus.PENDING: "pending",
    OrderStatus.CONFIRMED: "confirmed",
    OrderStatus.COOKING: "cooking",
}

_ORDER_ID = "The order's id, also the CloudEvent subject."
_PHONE = "The customer's phone number: a + and 8 to 16 digits."


class OrderLineV1(BaseModel):
    """One line of an order: some pizzas of one kind, size and extras, and their price."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pizza: str = Field(description="The pizza's name on the menu, a lowercase slug.")
    size: SizeV1 = Field(description="The size of each pizza.")
    extras: tuple[str, ...] = Field(description="The extra toppings of each pizza (0 to 5).")
    quantity: int = Field(ge=1, description="How many pizzas of this kind the line holds.")
    price: Money = Field(description="What the whole line costs.")


# --8<-- [start:order_placed_v1]
class OrderPlacedV1(IntegrationEvent):
    """A customer placed an order; it is confirmed and waits for the kitchen."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.placed.v1"

    order_id: str = Field(description=_ORDER_ID)
    customer_phone: str = Field(description=_PHONE)
    customer_name: str = Field(description="The customer's name.")
    delivery_address: str = Field(description="Where the order is to be delivered.")
    lines: tuple[OrderLineV1, ...] = Field(min_length=1, description="What was ordered.")
    pizzas: int = Field(ge=1, description="How many pizzas the order holds, over all lines.")
    total: Money = Field(description="What the order costs: the sum of its lines.")
    placed_at: UtcTimestamp = Field(description="When the order was placed.")


# --8<-- [end:order_placed_v1]


class OrderCookingStartedV1(IntegrationEvent):
    """The kitchen started cooking the order."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.cooking-started.v1"

    order_id: str = Field(description=_ORDER_ID)
    customer_phone: str = Field(description=_PHONE)
    started_at: UtcTimestamp = Field(description="When cooking started.")
    started_by: str = Field(description="Who started it (a cook, or 'kitchen').")


class OrderReadyV1(IntegrationEvent):
    """The order came out of the oven and waits for a driver."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.ready.v1"

    order_id: str = Field(description=_ORDER_ID)
    customer_phone: str = Field(description=_PHONE)
    ready_at: UtcTimestamp = Field(description="When the order was ready.")


class OrderDispatchedV1(IntegrationEvent):
    """The order left the pizzeria with a driver."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.dispatched.v1"

    order_id: str = Field(description=_ORDER_ID)
    customer_phone: str = Field(description=_PHONE)
    driver: str = Field(description="The driver who took the order.")
    dispatched_at: UtcTimestamp = Field(description="When the driver left with it.")


class OrderDeliveredV1(IntegrationEvent):
    """The order reached the customer."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.delivered.v1"

    order_id: str = Field(description=_ORDER_ID)
    customer_phone: str = Field(description=_PHONE)
    delivered_by: str = Field(description="Who handed it over (usually the driver).")
    delivered_at: UtcTimestamp = Field(description="When it was handed over.")


class OrderCancelledV1(IntegrationEvent):
    """The order was cancelled before it was ready; it will not be delivered."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.cancelled.v1"

    order_id: str = Field(description=_ORDER_ID)
    customer_phone: str = Field(description=_PHONE)
    reason: str = Field(description="Why it was cancelled (1 to 200 characters).")
    previous_status: CancellableStatusV1 = Field(
        description="Where the order was when it was cancelled."
    )
    cancelled_by: str = Field(description="Who cancelled it (the counter, a customer).")
    cancelled_at: UtcTimestamp = Field(description="When it was cancelled.")


def _line(line: OrderLine) -> OrderLineV1:
    return OrderLineV1(
        pizza=line.pizza,
        size=_SIZES[line.size],
        extras=tuple(extra.value for extra in line.extras),
        quantity=line.quantity,
        price=Money.of(line.price),
    )


# --8<-- [start:order_placed_contract]
class OrderPlacedV1Contract(EventContract[OrderPlaced, OrderPlacedV1]):
    """Publishes ``OrderPlaced`` as ``com.mariospizzeria.order.placed.v1``."""

    source = ORDERS_SOURCE

    def map(self, event: OrderPlaced) -> OrderPlacedV1:
        return OrderPlacedV1(
            order_id=event.aggregate_id,
            customer_phone=event.customer_phone,
            customer_name=event.customer_name,
            delivery_address=event.address,
            lines=tuple(_line(line) for line in event.lines),
            pizzas=sum(line.quantity for line in event.lines),
            total=Money.of(event.total),
            placed_at=event.occurred_at,
        )


# --8<-- [end:order_placed_contract]


class OrderCookingStartedV1Contract(EventContract[OrderCookingStarted, OrderCookingStartedV1]):
    """Publishes ``OrderCookingStarted`` as ``com.mariospizzeria.order.cooking-started.v1``."""

    source = ORDERS_SOURCE

    def map(self, event: OrderCookingStarted) -> OrderCookingStartedV1:
        return OrderCookingStartedV1(
            order_id=event.aggregate_id,
            customer_phone=event.customer_phone,
            started_at=event.occurred_at,
            started_by=event.by,
        )


class OrderReadyV1Contract(EventContract[OrderReady, OrderReadyV1]):
    """Publishes ``OrderReady`` as ``com.mariospizzeria.order.ready.v1``."""

    source = ORDERS_SOURCE

    def map(self, event: OrderReady) -> OrderReadyV1:
        return OrderReadyV1(
            order_id=event.aggregate_id,
            customer_phone=event.customer_phone,
            ready_at=event.occurred_at,
        )


class OrderDispatchedV1Contract(EventContract[OrderDispatched, OrderDispatchedV1]):
    """Publishes ``OrderDispatched`` as ``com.mariospizzeria.order.dispatched.v1``."""

    source = ORDERS_SOURCE

    def map(self, event: OrderDispatched) -> OrderDispatchedV1:
        return OrderDispatchedV1(
            order_id=event.aggregate_id,
            customer_phone=event.customer_phone,
            driver=event.driver,
            dispatched_at=event.occurred_at,
        )


class OrderDeliveredV1Contract(EventContract[OrderDelivered, OrderDeliveredV1]):
    """Publishes ``OrderDelivered`` as ``com.mariospizzeria.order.delivered.v1``."""

    source = ORDERS_SOURCE

    def map(self, event: OrderDelivered) -> OrderDeliveredV1:
        return OrderDeliveredV1(
            order_id=event.aggregate_id,
            customer_phone=event.customer_phone,
            delivered_by=event.by,
            delivered_at=event.occurred_at,
        )


class OrderCancelledV1Contract(EventContract[OrderCancelled, OrderCancelledV1]):
    """Publishes ``OrderCancelled`` as ``com.mariospizzeria.order.cancelled.v1``."""

    source = ORDERS_SOURCE

    def map(self, event: OrderCancelled) -> OrderCancelledV1:
        return OrderCancelledV1(
            order_id=event.aggregate_id,
            customer_phone=event.customer_phone,
            reason=event.reason,
            previous_status=_CANCELLABLE[event.previous_status],
            cancelled_by=event.by,
            cancelled_at=event.occurred_at,
        )
