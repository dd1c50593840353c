"""A small shop for the integration tests: an order that publishes versioned CloudEvents,
and a loyalty side that consumes them (v2, with an upcaster from v1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field

from facta import (
    AggregateRoot,
    Command,
    CommandHandler,
    DomainEvent,
    Envelope,
    EventContract,
    IntegrationEvent,
    IntegrationEventHandler,
    UnitOfWork,
    Upcaster,
)


class OrderPlaced(DomainEvent):
    customer: str
    total_cents: int


class OrderNoted(DomainEvent):
    """An internal event: no contract, never published."""

    note: str


class Order(AggregateRoot):
    customer: str
    total_cents: int

    @classmethod
    def place(cls, order_id: str, customer: str, total_cents: int) -> Order:
        order = cls(id=order_id, customer=customer, total_cents=total_cents)
        order.record(OrderPlaced(customer=customer, total_cents=total_cents))
        return order


class PlaceOrder(Command[str]):
    order_id: str
    customer: str
    total_cents: int


class PlaceOrderHandler(CommandHandler[PlaceOrder, str]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.orders = uow.repository(Order)

    async def handle(self, command: PlaceOrder) -> str:
        order = Order.place(command.order_id, command.customer, command.total_cents)
        order.record(OrderNoted(note="internal"))
        self.orders.add(order)
        return order.id


class OrderPlacedV1(IntegrationEvent):
    """v1: the total in cents."""

    cloudevent_type: ClassVar[str] = "com.example.shop.order.placed.v1"
    order_id: str
    customer: str
    total_cents: int


class OrderPlacedV2(IntegrationEvent):
    """v2: the total as a decimal amount with its currency."""

    cloudevent_type: ClassVar[str] = "com.example.shop.order.placed.v2"
    order_id: str
    customer: str
    total: Decimal
    currency: str


class OrderPlacedV1Contract(EventContract[OrderPlaced, OrderPlacedV1]):
    source = "/shop/orders"

    def map(self, event: OrderPlaced) -> OrderPlacedV1:
        return OrderPlacedV1(
            order_id=event.aggregate_id, customer=event.customer, total_cents=event.total_cents
        )


class OrderPlacedV2Contract(EventContract[OrderPlaced, OrderPlacedV2]):
    source = "/shop/orders"

    def map(self, event: OrderPlaced) -> OrderPlacedV2:
        return OrderPlacedV2(
            order_id=event.aggregate_id,
            customer=event.customer,
            total=Decimal(event.total_cents) / 100,
            currency="EUR",
        )


class OrderPlacedV1ToV2(Upcaster):
    source_type = OrderPlacedV1.cloudevent_type
    target = OrderPlacedV2

    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        cents = data.pop("total_cents")
        return {**data, "total": str(Decimal(cents) / 100), "currency": "EUR"}


class Points(AggregateRoot):
    """The loyalty points a customer earned, one entry per order."""

    customer: str
    orders: list[str] = Field(default_factory=list)
    points: int = 0


class AwardPoints(IntegrationEventHandler[OrderPlacedV2]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.points = uow.repository(Points)

    async def handle(self, data: OrderPlacedV2, envelope: Envelope) -> None:
        account = await self.points.find(data.customer)
        if account is None:
            account = Points(id=data.customer, customer=data.customer)
            self.points.add(account)
        account.orders = [*account.orders, data.order_id]
        account.points += int(data.total)


SHOP = (PlaceOrderHandler, OrderPlacedV1Contract, OrderPlacedV2Contract)
LOYALTY = (AwardPoints, OrderPlacedV1ToV2)
