"""The event handlers that keep the read models up to date.

Each one applies committed events to its read model. Every view remembers the version
of the last event of its aggregate it applied, so an event delivered again (or late)
changes nothing.

On a database, what a projection reads and saves goes through its event handler's unit
of work: the rows commit in one transaction with the handler's receipt. A projection that
fails leaves no row behind (the relay runs it again later), and one that succeeded is
never applied twice.
"""

from __future__ import annotations

from typing import Any

from facta import DomainEventHandler
from pizzeria.application.read_models import MenuReadModel, OrderReadModels
from pizzeria.application.views import CustomerSummary, KitchenBoard, MenuItem, OrderSummary
from pizzeria.domain.customer import CustomerRegistered
from pizzeria.domain.kitchen import KitchenSlotsChanged
from pizzeria.domain.menu import MenuEvent, PizzaAdded, PizzaPriceChanged, PizzaRetired, Size
from pizzeria.domain.order import (
    OrderCancelled,
    OrderDispatched,
    OrderEvent,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    StatusChange,
)
from pizzeria.domain.pricing import menu_price

__all__ = [
    "CustomerProjection",
    "KitchenBoardProjection",
    "MenuProjection",
    "OrderSummaryProjection",
]


class MenuProjection(DomainEventHandler[MenuEvent]):
    """Keeps the menu: pizzas added, repriced and retired."""

    def __init__(self, menu: MenuReadModel) -> None:
        self._menu = menu

    async def handle(self, event: MenuEvent) -> None:
        item = await self._menu.pizza(event.name)
        if isinstance(event, PizzaAdded):
            if item is None:
                await self._menu.save_pizza(
                    MenuItem(
                        name=event.name,
                        base_price=event.base_price,
                        toppings=event.toppings,
                        prices={size: menu_price(event.base_price, size) for size in Size},
                        version=event.aggregate_version,
                    )
                )
            return
        if item is None:
            raise LookupError(f"{event.event_type} for {event.name!r}, which the menu never had")
        if event.aggregate_version <= item.version:
            return
        update: dict[str, Any] = {"version": event.aggregate_version}
        if isinstance(event, PizzaPriceChanged):
            update["base_price"] = event.new_price
            update["prices"] = {size: menu_price(event.new_price, size) for size in Size}
        elif isinstance(event, PizzaRetired):
            update["retired"] = True
        await self._menu.save_pizza(item.model_copy(update=update))


class CustomerProjection(DomainEventHandler[CustomerRegistered]):
    """Keeps the registered customers."""

    def __init__(self, read_models: OrderReadModels) -> None:
        self._read_models = read_models

    async def handle(self, event: CustomerRegistered) -> None:
        await self._read_models.save_customer(
            CustomerSummary(
                phone=event.phone,
                name=event.name,
                email=event.email,
                address=event.address,
                registered_at=event.occurred_at,
            )
        )


class KitchenBoardProjection(DomainEventHandler[KitchenSlotsChanged]):
    """Keeps the kitchen board: its capacity and the orders cooking."""

    def __init__(self, read_models: OrderReadModels) -> None:
        self._read_models = read_models

    async def handle(self, event: KitchenSlotsChanged) -> None:
        board = await self._read_models.kitchen()
        if event.aggregate_version <= board.version:
            return
        await self._read_models.save_kitchen(
            KitchenBoard(
                capacity=event.capacity, cooking=event.cooking, version=event.aggregate_version
            )
        )


class OrderSummaryProjection(DomainEventHandler[OrderEvent]):
    """Keeps one summary per order, from its placement to its last transition."""

    def __init__(self, read_models: OrderReadModels) -> None:
        self._read_models = read_models

    async def handle(self, event: OrderEvent) -> None:
        summary = await self._read_models.order(event.aggregate_id)
        if isinstance(event, OrderPlaced):
            if summary is None:
                await self._read_models.save_order(_placed(event))
            return
        if summary is None:
            raise LookupError(
                f"{event.event_type} for order {event.aggregate_id}, which has no summary"
            )
        if event.aggregate_version <= summary.version:
            return
        update: dict[str, Any] = {
            "version": event.aggregate_version,
            "updated_at": event.occurred_at,
            **_changes(event, summary),
        }
        await self._read_models.save_order(summary.model_copy(update=update))


def _placed(event: OrderPlaced) -> OrderSummary:
    return OrderSummary(
        order_id=event.aggregate_id,
        status=OrderStatus.PENDING,
        customer_phone=event.customer_phone,
        customer_name=event.customer_name,
        address=event.address,
        lines=event.lines,
        total=event.total,
        placed_at=event.occurred_at,
        updated_at=event.occurred_at,
        history=(StatusChange(status=OrderStatus.PENDING, at=event.occurred_at, by=event.by),),
        version=event.aggregate_version,
    )


def _changes(event: OrderEvent, summary: OrderSummary) -> dict[str, Any]:
    if isinstance(event, OrderLineAdded):
        return {"lines": (*summary.lines, event.line), "total": event.total}
    if isinstance(event, OrderLineRemoved):
        lines = list(summary.lines)
        del lines[event.line_no - 1]
        return {"lines": tuple(lines), "total": event.total}
    if not isinstance(event, OrderStatusChanged):
        return {}
    change = StatusChange(status=event.new_status, at=event.occurred_at, by=event.by)
    changes: dict[str, Any] = {
        "status": event.new_status,
        "history": (*summary.history, change),
    }
    if isinstance(event, OrderDispatched):
        changes["driver"] = event.driver
    if isinstance(event, OrderCancelled):
        changes["cancel_reason"] = event.reason
    return changes
