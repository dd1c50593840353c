"""The query handlers: they answer from the read models and never load aggregates.

They depend on the readers (``MenuReader``, ``OrderReader``), which on a database read
through the engine: a query takes part in no unit of work.
"""

from __future__ import annotations

from facta import NotFound, QueryHandler
from pizzeria.application.queries import (
    GetCustomerOrders,
    GetKitchen,
    GetMenu,
    GetOrder,
    GetPizza,
    ListOrders,
)
from pizzeria.application.read_models import MenuReader, OrderReader
from pizzeria.application.views import (
    CustomerOrders,
    KitchenView,
    MenuItem,
    OrderPage,
    OrderSummary,
)

__all__ = [
    "GetCustomerOrdersHandler",
    "GetKitchenHandler",
    "GetMenuHandler",
    "GetOrderHandler",
    "GetPizzaHandler",
    "ListOrdersHandler",
]

CUSTOMER_ORDERS_LIMIT = 100


class GetMenuHandler(QueryHandler[GetMenu, tuple[MenuItem, ...]]):
    """The pizzas on sale."""

    def __init__(self, menu: MenuReader) -> None:
        self._menu = menu

    async def handle(self, query: GetMenu) -> tuple[MenuItem, ...]:
        return tuple(await self._menu.menu())


class GetPizzaHandler(QueryHandler[GetPizza, MenuItem]):
    """One pizza by name."""

    def __init__(self, menu: MenuReader) -> None:
        self._menu = menu

    async def handle(self, query: GetPizza) -> MenuItem:
        item = await self._menu.pizza(query.name)
        if item is None:
            raise NotFound("Pizza", query.name)
        return item


class GetOrderHandler(QueryHandler[GetOrder, OrderSummary]):
    """One order by id."""

    def __init__(self, read_models: OrderReader) -> None:
        self._read_models = read_models

    async def handle(self, query: GetOrder) -> OrderSummary:
        summary = await self._read_models.order(query.order_id)
        if summary is None:
            raise NotFound("Order", query.order_id)
        return summary


class ListOrdersHandler(QueryHandler[ListOrders, OrderPage]):
    """A page of orders, newest first."""

    def __init__(self, read_models: OrderReader) -> None:
        self._read_models = read_models

    async def handle(self, query: ListOrders) -> OrderPage:
        items, total = await self._read_models.orders(
            status=query.status,
            phone=query.phone,
            offset=(query.page - 1) * query.page_size,
            limit=query.page_size,
        )
        return OrderPage(
            items=tuple(items), page=query.page, page_size=query.page_size, total=total
        )


class GetKitchenHandler(QueryHandler[GetKitchen, KitchenView]):
    """The kitchen board with the orders cooking and the queue waiting."""

    def __init__(self, read_models: OrderReader) -> None:
        self._read_models = read_models

    async def handle(self, query: GetKitchen) -> KitchenView:
        board = await self._read_models.kitchen()
        cooking = [await self._read_models.order(order_id) for order_id in board.cooking]
        return KitchenView(
            capacity=board.capacity,
            free_slots=board.capacity - len(board.cooking),
            cooking=tuple(summary for summary in cooking if summary is not None),
            queue=tuple(await self._read_models.queue()),
        )


class GetCustomerOrdersHandler(QueryHandler[GetCustomerOrders, CustomerOrders]):
    """A registered customer's orders, newest first (the latest 100)."""

    def __init__(self, read_models: OrderReader) -> None:
        self._read_models = read_models

    async def handle(self, query: GetCustomerOrders) -> CustomerOrders:
        customer = await self._read_models.customer(query.phone)
        if customer is None:
            raise NotFound("Customer", query.phone)
        orders, _ = await self._read_models.orders(phone=query.phone, limit=CUSTOMER_ORDERS_LIMIT)
        return CustomerOrders(customer=customer, orders=tuple(orders))
