"""What the read side keeps and answers with.

The views (``facta.View``) are the documents the projections keep
(``pizzeria.application.projections``) and the query handlers read through
``uow.views(...)``, on every back-end alike. Each one declares the fields the queries
filter and sort on in ``indexes``; the back-end indexes them.

The answers (``OrderPage``, ``CustomerOrders``, ``KitchenView``) are what some queries
return: several views put together, never stored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from facta import View
from pizzeria.domain.menu import Size
from pizzeria.domain.order import OrderLine, OrderStatus, StatusChange

__all__ = [
    "CustomerOrders",
    "CustomerSummary",
    "KitchenSlots",
    "KitchenTicket",
    "KitchenView",
    "MenuItem",
    "OrderPage",
    "OrderSummary",
]


class MenuItem(View):
    """A pizza as the menu shows it, with its price for each size; ``id`` is its name."""

    indexes = ("retired",)

    base_price: Decimal
    toppings: tuple[str, ...]
    prices: dict[Size, Decimal]
    retired: bool = False

    @property
    def name(self) -> str:
        """The pizza's name (its id)."""
        return self.id


# --8<-- [start:order_summary]
class OrderSummary(View):
    """One order as the read side knows it; ``id`` is the order's id.

    The lists filter on ``status`` and ``customer_phone`` and sort on ``placed_at``.
    """

    indexes = ("status", "customer_phone", "placed_at")

    status: OrderStatus
    customer_phone: str
    customer_name: str
    address: str
    lines: tuple[OrderLine, ...]
    total: Decimal
    placed_at: datetime
    updated_at: datetime
    history: tuple[StatusChange, ...]
    driver: str | None = None
    cancel_reason: str | None = None


# --8<-- [end:order_summary]


class KitchenTicket(OrderSummary):
    """An order on the kitchen's board (pending, confirmed or cooking), as the board
    projection keeps it apart from the order lists; it leaves the board when the order
    is ready or cancelled."""


class KitchenSlots(View):
    """The kitchen's cooking slots as its events report them; ``id`` is the kitchen's."""

    capacity: int
    cooking: tuple[str, ...] = ()


class CustomerSummary(View):
    """A registered customer; ``id`` is the normalized phone number."""

    name: str
    email: str | None
    address: str
    registered_at: datetime

    @property
    def phone(self) -> str:
        """The customer's phone number (its id)."""
        return self.id


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderPage(_Answer):
    """One page of orders, newest first, and how many orders match in all."""

    items: tuple[OrderSummary, ...]
    page: int
    page_size: int
    total: int


class CustomerOrders(_Answer):
    """A customer and their orders, newest first."""

    customer: CustomerSummary
    orders: tuple[OrderSummary, ...]


class KitchenView(_Answer):
    """The kitchen for the staff: free slots, the orders cooking and the queue to cook."""

    capacity: int
    free_slots: int
    cooking: tuple[KitchenTicket, ...]
    queue: tuple[KitchenTicket, ...]
