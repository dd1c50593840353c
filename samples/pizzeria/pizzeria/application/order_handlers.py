"""The commands that move an order along, except starting to cook (see ``kitchen_handlers``)."""

from __future__ import annotations

import os
import time
import uuid

from facta import CommandHandler, Repository, UnitOfWork
from pizzeria.application.commands import (
    CancelOrder,
    DeliverOrder,
    DispatchOrder,
    LineRequest,
    MarkReady,
    PlaceOrder,
)
from pizzeria.domain.customer import Customer
from pizzeria.domain.errors import PizzaNotAvailable
from pizzeria.domain.menu import Pizza
from pizzeria.domain.order import Order, OrderLine

__all__ = [
    "CancelOrderHandler",
    "DeliverOrderHandler",
    "DispatchOrderHandler",
    "MarkReadyHandler",
    "PlaceOrderHandler",
    "time_ordered_id",
]


# --8<-- [start:place_order_handler]
class PlaceOrderHandler(CommandHandler[PlaceOrder, str]):
    """Creates the order with its lines and confirms it, in one unit of work.

    A phone the pizzeria does not know registers the customer in the same unit of work:
    the customer and the order are committed together, or neither is.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._customers = uow.repository(Customer)
        self._pizzas = uow.repository(Pizza)
        self._orders = uow.repository(Order)

    async def handle(self, command: PlaceOrder) -> str:
        if await self._customers.find(command.phone) is None:
            self._customers.add(
                Customer.register(command.phone, command.name, command.address, command.email)
            )
        lines = [await self._line(request) for request in command.lines]
        order = Order.place(time_ordered_id(), command.phone, command.name, command.address, lines)
        order.confirm(by=command.phone)
        self._orders.add(order)
        return order.id

    async def _line(self, request: LineRequest) -> OrderLine:
        pizza = await self._pizzas.find(request.pizza)
        if pizza is None:
            raise PizzaNotAvailable(request.pizza, "it is not on the menu")
        return OrderLine.for_pizza(pizza, request.size, request.extras, request.quantity)


# --8<-- [end:place_order_handler]


# --8<-- [start:transitions]
class _OrderCommandHandler:
    """Shared by the handlers that load one order and call one of its transitions."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._orders: Repository[Order] = uow.repository(Order)


class MarkReadyHandler(_OrderCommandHandler, CommandHandler[MarkReady, None]):
    """Marks a cooking order ready; the kitchen frees its slot when it hears of it."""

    async def handle(self, command: MarkReady) -> None:
        (await self._orders.get(command.order_id)).mark_ready(by=command.by)


class DispatchOrderHandler(_OrderCommandHandler, CommandHandler[DispatchOrder, None]):
    """Hands a ready order to a driver."""

    async def handle(self, command: DispatchOrder) -> None:
        (await self._orders.get(command.order_id)).dispatch(command.driver, by=command.by)


class DeliverOrderHandler(_OrderCommandHandler, CommandHandler[DeliverOrder, None]):
    """Records that an order reached its customer."""

    async def handle(self, command: DeliverOrder) -> None:
        (await self._orders.get(command.order_id)).deliver(by=command.by)


class CancelOrderHandler(_OrderCommandHandler, CommandHandler[CancelOrder, None]):
    """Cancels an order that is not ready yet; a cooking order's slot is freed by the kitchen."""

    async def handle(self, command: CancelOrder) -> None:
        (await self._orders.get(command.order_id)).cancel(command.reason, by=command.by)


# --8<-- [end:transitions]


def time_ordered_id() -> str:
    """A new order id that sorts in the order the ids were made: a UUID version 7 (RFC
    9562) with its 12 extra bits of clock precision (about 0.25 microseconds).

    The order lists sort newest first by the time of placement, which is kept to the
    millisecond; orders placed in the same millisecond then list by id, so by arrival.
    """
    nanoseconds = time.time_ns()
    milliseconds, rest = divmod(nanoseconds, 1_000_000)
    fraction = rest * 4096 // 1_000_000
    random = int.from_bytes(os.urandom(8)) & (2**62 - 1)
    value = milliseconds << 80 | 0x7 << 76 | fraction << 64 | 0b10 << 62 | random
    return str(uuid.UUID(int=value))
