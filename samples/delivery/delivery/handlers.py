"""The integration event handlers: the pizzeria's order events, turned into deliveries.

Each runs in its own unit of work with an inbox, so a CloudEvent received twice (same
``source`` and ``id``) has its effect once. They are also idempotent by state: an order
placed again under another event id plans nothing new, a delivery delivered twice is
delivered once. What they do is logged on the ``delivery`` logger, which
``python -m delivery`` prints.

An ``order.delivered`` that overtakes its ``order.placed`` (a redelivery can reorder
messages) raises ``DeliveryNotPlanned``: the consumer retries it with backoff, by which
time the delivery is planned.
"""

from __future__ import annotations

import logging

from delivery.contracts import OrderDeliveredV1, OrderPlacedV1
from delivery.domain import Delivery, DeliveryNotPlanned, DeliveryStatus, Parcel
from facta import Envelope, IntegrationEventHandler, Repository, UnitOfWork

__all__ = ["CloseDelivery", "PlanDelivery"]

_log = logging.getLogger("delivery")


class _DeliveryHandler:
    """Shared by the handlers: the deliveries of the operation's unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._deliveries: Repository[Delivery] = uow.repository(Delivery)


# --8<-- [start:plan_delivery]
class PlanDelivery(_DeliveryHandler, IntegrationEventHandler[OrderPlacedV1]):
    """An order was placed: plan its delivery."""

    async def handle(self, data: OrderPlacedV1, envelope: Envelope) -> None:
        if await self._deliveries.find(data.order_id) is not None:
            _log.info(
                "order %s: its delivery is planned already (event %s)", data.order_id, envelope.id
            )
            return
        delivery = Delivery.plan(
            order_id=data.order_id,
            customer_name=data.customer_name,
            phone=data.customer_phone,
            address=data.delivery_address,
            parcels=[
                Parcel(pizza=line.pizza, size=line.size, quantity=line.quantity)
                for line in data.lines
            ],
            amount_due=data.total.amount,
            currency=data.total.currency,
            ordered_at=data.placed_at,
        )
        self._deliveries.add(delivery)
        _log.info(
            "order %s placed: delivery planned, %s for %s at %s (collect %s %s)",
            data.order_id,
            ", ".join(str(parcel) for parcel in delivery.parcels),
            delivery.customer_name,
            delivery.address,
            delivery.amount_due,
            delivery.currency,
        )


# --8<-- [end:plan_delivery]


class CloseDelivery(_DeliveryHandler, IntegrationEventHandler[OrderDeliveredV1]):
    """An order reached its customer: its delivery is delivered."""

    async def handle(self, data: OrderDeliveredV1, envelope: Envelope) -> None:
        delivery = await self._deliveries.find(data.order_id)
        if delivery is None:
            raise DeliveryNotPlanned(data.order_id)
        if delivery.status is DeliveryStatus.DELIVERED:
            _log.info("order %s: delivered already (event %s)", data.order_id, envelope.id)
            return
        delivery.complete(by=data.delivered_by, at=data.delivered_at)
        _log.info("order %s delivered by %s: delivery closed", data.order_id, data.delivered_by)
