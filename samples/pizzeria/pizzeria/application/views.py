"""What the read side answers with: immutable views kept by the read models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from pizzeria.domain.menu import Size
from pizzeria.domain.order import OrderLine, OrderStatus, StatusChange

__all__ = [
    "CustomerOrders",
    "CustomerSummary",
    "KitchenBoard",
    "KitchenView",
    "MenuItem",
    "OrderPage",
    "OrderSummary",
]


class View(BaseModel):
    """The base of the views: frozen, and strict about their fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class MenuItem(View):
    """A pizza as the menu shows it, with its price for each size, up to event ``version``."""

    name: str
    base_price: Decimal
    toppings: tuple[str, ...]
    prices: dict[Size, Decimal]
    retired: bool = False
    version: int


class OrderSummary(View):
    """One order as the read side knows it, up to the event of ``version``."""

    order_id: str
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
    version: int


class OrderPage(View):
    """One page of orders, newest first, and how many orders match in all."""

    items: tuple[OrderSummary, ...]
    page: int
    page_size: int
    total: int


class CustomerSummary(View):
    """A registered customer."""

    phone: str
    name: str
    email: str | None
    address: str
    registered_at: datetime


class CustomerOrders(View):
    """A customer and their orders, newest first."""

    customer: CustomerSummary
    orders: tuple[OrderSummary, ...]


class KitchenBoard(View):
    """The kitchen's slots as its events report them: capacity and the orders cooking.

    ``version`` is the kitchen's version of the last event applied (0 before any).
    """

    capacity: int
    cooking: tuple[str, ...] = ()
    version: int = 0


class KitchenView(View):
    """The kitchen for the staff: free slots, the orders cooking and the queue to cook."""

    capacity: int
    free_slots: int
    cooking: tuple[OrderSummary, ...]
    queue: tuple[OrderSummary, ...]
