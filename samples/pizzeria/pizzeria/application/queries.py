"""The questions the pizzeria answers, from its read models."""

from __future__ import annotations

from pydantic import Field

from facta import Query
from pizzeria.application.views import (
    CustomerOrders,
    KitchenView,
    MenuItem,
    OrderPage,
    OrderSummary,
)
from pizzeria.domain.customer import PhoneNumber
from pizzeria.domain.menu import PizzaName
from pizzeria.domain.order import OrderStatus

__all__ = ["GetCustomerOrders", "GetKitchen", "GetMenu", "GetOrder", "GetPizza", "ListOrders"]

MAX_PAGE_SIZE = 100


class GetMenu(Query[tuple[MenuItem, ...]]):
    """The pizzas on sale, by name, with their price for each size."""


class GetPizza(Query[MenuItem]):
    """One pizza of the menu, on sale or retired; ``facta.NotFound`` if it never was."""

    name: PizzaName


class GetOrder(Query[OrderSummary]):
    """One order; ``facta.NotFound`` if there is none with that id."""

    order_id: str = Field(min_length=1, max_length=64)


class ListOrders(Query[OrderPage]):
    """Orders, newest first, optionally of one status or one customer, a page at a time."""

    status: OrderStatus | None = None
    phone: PhoneNumber | None = None
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)


class GetKitchen(Query[KitchenView]):
    """The kitchen: capacity, free slots, orders cooking, and the queue of confirmed orders."""


class GetCustomerOrders(Query[CustomerOrders]):
    """A customer's orders, newest first; ``facta.NotFound`` for an unknown phone."""

    phone: PhoneNumber
