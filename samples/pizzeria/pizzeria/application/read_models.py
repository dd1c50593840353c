"""The read models: the stores the query side reads, kept up to date by event handlers.

Each store has two narrow, async contracts, so that a database can stand behind them:

- what the query handlers read: ``MenuReader`` and ``OrderReader``;
- what the projections (``pizzeria.application.projections``) keep: ``MenuReadModel``
  and ``OrderReadModels``. A projection reads the current view and saves the next one;
  on a database both happen in the event handler's unit of work, so the rows commit with
  the handler's receipt, or not at all.

``InMemoryMenuReadModel`` and ``InMemoryOrderReadModels`` keep them in dictionaries, and
``InMemoryReadModels`` binds one of each per application; ``pizzeria.sql`` has the SQL ones.
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
    "MenuReader",
    "OrderReadModels",
    "OrderReader",
]


@runtime_checkable
class MenuReader(Protocol):
    """The menu as customers see it: what ``GetMenu`` and ``GetPizza`` read."""

    async def menu(self) -> list[MenuItem]:
        """The pizzas on sale, by name."""

    async def pizza(self, name: str) -> MenuItem | None:
        """One pizza, on sale or retired, or None if it was never on the menu."""


@runtime_checkable
class MenuReadModel(Protocol):
    """The menu as ``MenuProjection`` keeps it."""

    async def pizza(self, name: str) -> MenuItem | None:
        """One pizza, on sale or retired, or None if it was never on the menu."""

    async def save_pizza(self, item: MenuItem) -> None:
        """Insert or replace a pizza; a stored item of the same or a later version stays."""


@runtime_checkable
class OrderReader(Protocol):
    """Order summaries, the kitchen board and the customers, as the query side reads them."""

    async def order(self, order_id: str) -> OrderSummary | None:
        """One order, or None."""

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

    async def customer(self, phone: str) -> CustomerSummary | None:
        """A registered customer by normalized phone, or None."""


@runtime_checkable
class OrderReadModels(Protocol):
    """Order summaries, the kitchen board and the customers, as the projections keep them."""

    async def order(self, order_id: str) -> OrderSummary | None:
        """One order, or None."""

    async def save_order(self, summary: OrderSummary) -> None:
        """Insert or replace an order's summary; one of the same or a later version stays."""

    async def kitchen(self) -> KitchenBoard:
        """The kitchen's capacity and the orders cooking."""

    async def save_kitchen(self, board: KitchenBoard) -> None:
        """Replace the kitchen board; a stored one of the same or a later version stays."""

    async def save_customer(self, customer: CustomerSummary) -> None:
        """Insert or replace a customer."""


class InMemoryMenuReadModel:
    """``MenuReader`` and ``MenuReadModel`` in a dictionary."""

    def __init__(self) -> None:
        self._pizzas: dict[str, MenuItem] = {}

    async def pizza(self, name: str) -> MenuItem | None:
        return self._pizzas.get(name)

    async def save_pizza(self, item: MenuItem) -> None:
        stored = self._pizzas.get(item.name)
        if stored is None or stored.version < item.version:
            self._pizzas[item.name] = item

    async def menu(self) -> list[MenuItem]:
        return sorted(
            (item for item in self._pizzas.values() if not item.retired),
            key=lambda item: item.name,
        )


class InMemoryOrderReadModels:
    """``OrderReader`` and ``OrderReadModels`` in dictionaries; ties in time keep the order
    of arrival.

    Unlike the SQL read models they are not transactional: a projection that fails after
    saving leaves its save behind (the in-memory back-end is for tests and tutorials).
    """

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
        if entry is None:
            self._orders[summary.order_id] = (next(self._arrival), summary)
        elif entry[1].version < summary.version:
            self._orders[summary.order_id] = (entry[0], summary)

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
        if self._kitchen.version < board.version:
            self._kitchen = board

    async def customer(self, phone: str) -> CustomerSummary | None:
        return self._customers.get(phone)

    async def save_customer(self, customer: CustomerSummary) -> None:
        self._customers[customer.phone] = customer


class InMemoryReadModels(injector.Module):
    """Binds in-memory read models, new ones for each application that installs it.

    One instance of each store serves both its contracts: what the projections save is
    what the queries read.
    """

    def configure(self, binder: injector.Binder) -> None:
        menu = InMemoryMenuReadModel()
        orders = InMemoryOrderReadModels()
        binder.bind(MenuReader, to=menu)  # type: ignore[type-abstract]
        binder.bind(MenuReadModel, to=menu)  # type: ignore[type-abstract]
        binder.bind(OrderReader, to=orders)  # type: ignore[type-abstract]
        binder.bind(OrderReadModels, to=orders)  # type: ignore[type-abstract]
