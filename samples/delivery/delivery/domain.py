"""Deliveries: the ``Delivery`` aggregate, its events and the rules it keeps.

```
(order placed) --plan--> planned --complete(by, at)--> delivered
```

A delivery is keyed by the id of the order it brings, so an order has at most one.
It keeps what the driver needs: who and where, the pizzas, what to collect, and once
it is delivered, when and by whom.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, Field

from facta import AggregateRoot, DomainError, DomainEvent, ValueObject, utc_now

__all__ = [
    "Delivery",
    "DeliveryAlreadyCompleted",
    "DeliveryCompleted",
    "DeliveryEvent",
    "DeliveryNotPlanned",
    "DeliveryPlanned",
    "DeliveryStatus",
    "Parcel",
]


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is in its (short) life."""

    PLANNED = "planned"
    DELIVERED = "delivered"


class Parcel(ValueObject):
    """Some pizzas of one kind and size, to carry to the customer."""

    pizza: str
    size: str
    quantity: int = Field(ge=1)

    def __str__(self) -> str:
        return f"{self.quantity}x {self.size} {self.pizza}"


class DeliveryAlreadyCompleted(DomainError):
    """The delivery was delivered already; it cannot be delivered again."""

    def __init__(self, order_id: str, by: str) -> None:
        self.order_id = order_id
        super().__init__(f"the delivery of order {order_id} was already delivered by {by}")


class DeliveryNotPlanned(DomainError):
    """No delivery is planned for the order (its ``order.placed`` has not arrived yet)."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(
            f"no delivery is planned for order {order_id}: its order.placed has not been "
            f"received yet (the message is retried)"
        )


class DeliveryEvent(DomainEvent):
    """Something that happened to a delivery."""


class DeliveryPlanned(DeliveryEvent):
    """A delivery was planned for a newly placed order."""

    customer_name: str
    phone: str
    address: str
    parcels: tuple[Parcel, ...]
    amount_due: Decimal
    currency: str


class DeliveryCompleted(DeliveryEvent):
    """The pizzas reached the customer."""

    delivered_by: str
    delivered_at: AwareDatetime


class Delivery(AggregateRoot):
    """The delivery of one order: to whom, where, what, and whether it is done."""

    customer_name: str
    phone: str
    address: str
    parcels: tuple[Parcel, ...] = Field(min_length=1)
    amount_due: Decimal
    currency: str
    status: DeliveryStatus = DeliveryStatus.PLANNED
    ordered_at: AwareDatetime
    planned_at: AwareDatetime
    delivered_at: AwareDatetime | None = None
    delivered_by: str | None = None

    @property
    def order_id(self) -> str:
        """The order this delivery brings, which is also its id."""
        return self.id

    @property
    def pizzas(self) -> int:
        """How many pizzas the driver carries."""
        return sum(parcel.quantity for parcel in self.parcels)

    @classmethod
    def plan(
        cls,
        order_id: str,
        customer_name: str,
        phone: str,
        address: str,
        parcels: Sequence[Parcel],
        amount_due: Decimal,
        currency: str,
        ordered_at: datetime,
    ) -> Delivery:
        """A planned delivery of order ``order_id``."""
        delivery = cls(
            id=order_id,
            customer_name=customer_name,
            phone=phone,
            address=address,
            parcels=tuple(parcels),
            amount_due=amount_due,
            currency=currency,
            ordered_at=ordered_at,
            planned_at=utc_now(),
        )
        delivery.record(
            DeliveryPlanned(
                customer_name=customer_name,
                phone=phone,
                address=address,
                parcels=delivery.parcels,
                amount_due=amount_due,
                currency=currency,
            )
        )
        return delivery

    def complete(self, by: str, at: datetime) -> DeliveryCompleted:
        """The pizzas were handed over ``at`` a time, ``by`` someone; refused if already."""
        if self.status is DeliveryStatus.DELIVERED:
            raise DeliveryAlreadyCompleted(self.id, self.delivered_by or "someone")
        self.status = DeliveryStatus.DELIVERED
        self.delivered_by = by
        self.delivered_at = at
        return self.record(DeliveryCompleted(delivered_by=by, delivered_at=at))
