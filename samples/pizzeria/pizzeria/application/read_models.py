"""The read models: the stores the query side reads, kept up to date by event handlers.

``MenuReadModel`` and ``OrderReadModels`` are the contracts, narrow and async so that a
database can stand behind them; ``InMemoryMenuReadModel`` and ``InMemoryOrderReadModels``
keep them in dictionaries. ``InMemoryReadModels`` binds one of each per application.
"""

from __future__ import annotations

import itertools
from typing import Protocol, runtime_checkable

import injector

from pizzeria.application.views import CustomerSummary, KitchenBoard, MenuItem, OrderSummary
from pizzeria.domain.kitchen import DEFAULT_CAPACITY
from pizzeria.domain.order import OrderStatus

__all__ = [
    "InMemoryMenuReadModel",
    "InMemoryOrderReadModels",
    "InMemoryReadModels",
    "MenuReadModel",
    "OrderReadModels",
]


@runtime_checkable
class MenuReadModel(Protocol):
    """The menu as customers see it."""

    async def pizza(self, name: str) -> MenuItem | None:
        """One pizza, on sale or retired, or None if it was never on the menu."""

    async def save_pizza(self, item: MenuItem) -> None:
        """Insert or replace a pizza."""

    async def menu(self) -> list[MenuItem]:
        """The pizzas on sale, by name."""


@runtime_checkable
class OrderReadModels(Protocol):
    """Order summaries, the kitchen board and the customers, for the query side."""

    async def order(self, order_id: str) -> OrderSummary | None:
        """One order, or None."""

    async def save_order(self, summary: OrderSummary) -> None:
        """Insert or replace an order's summary."""

    async def orders(
        self,
        *,
        status: OrderStatus | None = None,
        phone: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[list[OrderSummary], int]:
        """A slice of the matching orders, newest first, and how many match in all."""

    async def queue(self) -> list[OrderSummary]:
        """The confirmed orders waiting for the kitchen, oldest first."""

    async def kitchen(self) -> KitchenBoard:
        """The kitchen's capacity and the orders cooking."""

    async def save_kitchen(self, board: KitchenBoard) -> None:
        """Replace the kitchen board."""

    async def customer(self, phone: str) -> CustomerSummary | None:
        """A registered customer by normalized phone, or None."""

    async def save_customer(self, customer: CustomerSummary) -> None:
        """Insert or replace a customer."""


class InMemoryMenuReadModel:
    """``MenuReadModel`` in a dictionary."""

    def __init__(self) -> None:
        self._pizzas: dict[str, MenuItem] = {}

    async def pizza(self, name: str) -> MenuItem | None:
        return self._pizzas.get(name)

    async def save_pizza(self, item: MenuItem) -> None:
        self._pizzas[item.name] = item

    async def menu(self) -> list[MenuItem]:
        return sorted(
            (item for item in self._pizzas.values() if not item.retired),
            key=lambda item: item.name,
        )


class InMemoryOrderReadModels:
    """``OrderReadModels`` in dictionaries; ties in time keep the order of arrival."""

    def __init__(self, kitchen_capacity: int = DEFAULT_CAPACITY) -> None:
        self._orders: dict[str, tuple[int, OrderSummary]] = {}
        self._arrival = itertools.count()
        self._kitchen = KitchenBoard(capacity=kitchen_capacity)
        self._customers: dict[str, CustomerSummary] = {}

    async def order(self, order_id: str) -> OrderSummary | None:
        entry = self._orders.get(order_id)
        return None if entry is None else entry[1]

    async def save_order(self, summary: OrderSummary) -> None:
        entry = self._orders.get(summary.order_id)
        arrival = next(self._arrival) if entry is None else entry[0]
        self._orders[summary.order_id] = (arrival, summary)

    async def orders(
        self,
        *,
        status: OrderStatus | None = None,
        phone: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[list[OrderSummary], int]:
        matching = [
            (summary.placed_at, arrival, summary)
            for arrival, summary in self._orders.values()
            if (status is None or summary.status is status)
            and (phone is None or summary.customer_phone == phone)
        ]
        matching.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
        return [entry[2] for entry in matching[offset : offset + limit]], len(matching)

    async def queue(self) -> list[OrderSummary]:
        waiting = [
            entry for entry in self._orders.values() if entry[1].status is OrderStatus.CONFIRMED
        ]
        waiting.sort(key=lambda entry: (entry[1].placed_at, entry[0]))
        return [summary for _, summary in waiting]

    async def kitchen(self) -> KitchenBoard:
        return self._kitchen

    async def save_kitchen(self, board: KitchenBoard) -> None:
        self._kitchen = board

    async def customer(self, phone: str) -> CustomerSummary | None:
        return self._customers.get(phone)

    async def save_customer(self, customer: CustomerSummary) -> None:
        self._customers[customer.phone] = customer


class InMemoryReadModels(injector.Module):
    """Binds in-memory read models, new ones for each application that installs it."""

    def configure(self, binder: injector.Binder) -> None:
        binder.bind(MenuReadModel, to=InMemoryMenuReadModel())  # type: ignore[type-abstract]
        binder.bind(OrderReadModels, to=InMemoryOrderReadModels())  # type: ignore[type-abstract]
