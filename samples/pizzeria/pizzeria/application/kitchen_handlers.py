"""The kitchen: starting to cook takes a slot; ready and cancelled orders free theirs.

Starting to cook changes the order and the kitchen in one unit of work, so both change
or neither does. Freeing is a reaction: the kitchen hears ``OrderReady`` and
``OrderCancelled`` after they are committed, and frees the slot in a unit of work of its own.
"""

from __future__ import annotations

from facta import CommandHandler, DomainEventHandler, Repository, UnitOfWork
from pizzeria.application.commands import StartCooking
from pizzeria.domain.kitchen import KITCHEN_ID, Kitchen
from pizzeria.domain.order import Order, OrderCancelled, OrderReady, OrderStatus

__all__ = ["FreeSlotOnCancel", "FreeSlotOnReady", "StartCookingHandler"]


class StartCookingHandler(CommandHandler[StartCooking, None]):
    """Starts cooking an order: the order moves to cooking and the kitchen takes a slot.

    ``KitchenFull`` (or a wrong status) refuses both: nothing is committed.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._orders = uow.repository(Order)
        self._kitchens = uow.repository(Kitchen)

    async def handle(self, command: StartCooking) -> None:
        order = await self._orders.get(command.order_id)
        kitchen = await self._kitchens.find(KITCHEN_ID)
        if kitchen is None:
            kitchen = Kitchen()
            self._kitchens.add(kitchen)
        order.start_cooking(by=command.by)
        kitchen.take_slot(order.id)


async def _free_slot(kitchens: Repository[Kitchen], order_id: str) -> None:
    kitchen = await kitchens.find(KITCHEN_ID)
    if kitchen is not None:
        kitchen.free_slot(order_id)


class FreeSlotOnReady(DomainEventHandler[OrderReady]):
    """Frees the kitchen slot of an order that is ready."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._kitchens = uow.repository(Kitchen)

    async def handle(self, event: OrderReady) -> None:
        await _free_slot(self._kitchens, event.aggregate_id)


class FreeSlotOnCancel(DomainEventHandler[OrderCancelled]):
    """Frees the kitchen slot of an order cancelled while it was cooking."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._kitchens = uow.repository(Kitchen)

    async def handle(self, event: OrderCancelled) -> None:
        if event.previous_status is OrderStatus.COOKING:
            await _free_slot(self._kitchens, event.aggregate_id)
