"""The events an order records: placed, lines changed, and each status it reaches.

Every order event names its customer's phone, so that a consumer (a notifier, a
customer view) need not look the order up. The events of a status change also say who
made it, and their class says which status the order reached (``new_status``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from facta.domain import DomainEvent
from pizzeria.domain.order_line import OrderLine
from pizzeria.domain.order_status import OrderStatus

__all__ = [
    "OrderCancelled",
    "OrderConfirmed",
    "OrderCookingStarted",
    "OrderDelivered",
    "OrderDispatched",
    "OrderEvent",
    "OrderLineAdded",
    "OrderLineRemoved",
    "OrderPlaced",
    "OrderReady",
    "OrderStatusChanged",
]


class OrderEvent(DomainEvent):
    """Something that happened to an order; every order event names its customer."""

    customer_phone: str


class OrderPlaced(OrderEvent):
    """A customer placed an order with its lines (it is pending until confirmed)."""

    customer_name: str
    address: str
    lines: tuple[OrderLine, ...]
    total: Decimal
    by: str


class OrderLineAdded(OrderEvent):
    """A line was added to a pending order."""

    line_no: int
    line: OrderLine
    total: Decimal


class OrderLineRemoved(OrderEvent):
    """A line was removed from a pending order."""

    line_no: int
    line: OrderLine
    total: Decimal


class OrderStatusChanged(OrderEvent):
    """The order moved to ``new_status``; ``by`` says who moved it."""

    new_status: ClassVar[OrderStatus]
    by: str


class OrderConfirmed(OrderStatusChanged):
    """The order was confirmed: it waits in the kitchen's queue."""

    new_status: ClassVar[OrderStatus] = OrderStatus.CONFIRMED
    pizzas: int
    total: Decimal


class OrderCookingStarted(OrderStatusChanged):
    """The kitchen started cooking the order."""

    new_status: ClassVar[OrderStatus] = OrderStatus.COOKING


class OrderReady(OrderStatusChanged):
    """The order came out of the oven and waits for a driver."""

    new_status: ClassVar[OrderStatus] = OrderStatus.READY


class OrderDispatched(OrderStatusChanged):
    """The order left with a driver."""

    new_status: ClassVar[OrderStatus] = OrderStatus.OUT_FOR_DELIVERY
    driver: str


class OrderDelivered(OrderStatusChanged):
    """The order reached the customer."""

    new_status: ClassVar[OrderStatus] = OrderStatus.DELIVERED


class OrderCancelled(OrderStatusChanged):
    """The order was cancelled; ``previous_status`` tells whether it was cooking."""

    new_status: ClassVar[OrderStatus] = OrderStatus.CANCELLED
    reason: str
    previous_status: OrderStatus
