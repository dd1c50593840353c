"""The query handlers: they answer from the views and never load aggregates.

Each reads the views it needs through its operation's unit of work (``uow.views(...)``),
which sees what committed, on every back-end alike; a query commits nothing.
"""

from __future__ import annotations

from facta import NotFound, QueryHandler, UnitOfWork
from pizzeria.application.queries import (
    GetCustomerOrders,
    GetKitchen,
    GetMenu,
    GetOrder,
    GetPizza,
    ListOrders,
)
from pizzeria.application.views import (
    CustomerOrders,
    CustomerSummary,
    KitchenSlots,
    KitchenTicket,
    KitchenView,
    MenuItem,
    OrderPage,
    OrderSummary,
)
from pizzeria.domain.kitchen import DEFAULT_CAPACITY, KITCHEN_ID
from pizzeria.domain.order import OrderStatus

__all__ = [
    "GetCustomerOrdersHandler",
    "GetKitchenHandler",
    "GetMenuHandler",
    "GetOrderHandler",
    "GetPizzaHandler",
    "ListOrdersHandler",
]

CUSTOMER_ORDERS_LIMIT = 100
NEWEST_FIRST = ("-placed_at", "-id")
"""Orders placed in the same millisecond list by id, which sorts by arrival
(``time_ordered_id``)."""


class GetMenuHandler(QueryHandler[GetMenu, tuple[MenuItem, ...]]):
    """The pizzas on sale, by name."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._menu = uow.views(MenuItem)

    async def handle(self, query: GetMenu) -> tuple[MenuItem, ...]:
        return tuple(await self._menu.find({"retired": False}, order_by="id"))


class GetPizzaHandler(QueryHandler[GetPizza, MenuItem]):
    """One pizza by name."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._menu = uow.views(MenuItem)

    async def handle(self, query: GetPizza) -> MenuItem:
        item = await self._menu.get(query.name)
        if item is None:
            raise NotFound("Pizza", query.name)
        return item


# --8<-- [start:get_order]
class GetOrderHandler(QueryHandler[GetOrder, OrderSummary]):
    """One order by id."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._summaries = uow.views(OrderSummary)

    async def handle(self, query: GetOrder) -> OrderSummary:
        summary = await self._summaries.get(query.order_id)
        if summary is None:
            raise NotFound("Order", query.order_id)
        return summary


# --8<-- [end:get_order]


# --8<-- [start:list_orders]
class ListOrdersHandler(QueryHandler[ListOrders, OrderPage]):
    """A page of orders, newest first, of one status and one customer if asked."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._summaries = uow.views(OrderSummary)

    async def handle(self, query: ListOrders) -> OrderPage:
        where = {"status": query.status, "customer_phone": query.phone}
        found = await self._summaries.page(
            {field: value for field, value in where.items() if value is not None},
            order_by=NEWEST_FIRST,
            offset=(query.page - 1) * query.page_size,
            limit=query.page_size,
        )
        return OrderPage(
            items=tuple(found.items), page=query.page, page_size=query.page_size, total=found.total
        )


# --8<-- [end:list_orders]


class GetKitchenHandler(QueryHandler[GetKitchen, KitchenView]):
    """The kitchen's board: its slots, the orders cooking and the queue, oldest first."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._slots = uow.views(KitchenSlots)
        self._tickets = uow.views(KitchenTicket)

    async def handle(self, query: GetKitchen) -> KitchenView:
        slots = await self._slots.get(KITCHEN_ID)
        if slots is None:  # the kitchen never cooked
            slots = KitchenSlots(id=KITCHEN_ID, capacity=DEFAULT_CAPACITY)
        cooking = await self._tickets.find({"status": OrderStatus.COOKING})
        in_slots = {order_id: slot for slot, order_id in enumerate(slots.cooking)}
        cooking.sort(key=lambda ticket: in_slots.get(ticket.id, len(in_slots)))
        queue = await self._tickets.find({"status": OrderStatus.CONFIRMED}, order_by="placed_at")
        return KitchenView(
            capacity=slots.capacity,
            free_slots=slots.capacity - len(slots.cooking),
            cooking=tuple(cooking),
            queue=tuple(queue),
        )


class GetCustomerOrdersHandler(QueryHandler[GetCustomerOrders, CustomerOrders]):
    """A registered customer's orders, newest first (the latest 100)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._customers = uow.views(CustomerSummary)
        self._summaries = uow.views(OrderSummary)

    async def handle(self, query: GetCustomerOrders) -> CustomerOrders:
        customer = await self._customers.get(query.phone)
        if customer is None:
            raise NotFound("Customer", query.phone)
        orders = await self._summaries.find(
            {"customer_phone": query.phone}, order_by=NEWEST_FIRST, limit=CUSTOMER_ORDERS_LIMIT
        )
        return CustomerOrders(customer=customer, orders=tuple(orders))
