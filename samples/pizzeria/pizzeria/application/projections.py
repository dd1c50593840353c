"""The projections that keep the views, one implementation for every back-end.

Each projection writes its views through ``uow.views(...)``: the writes commit in the
transaction of the command (inline) or with the projection's receipt (asynchronous), or
not at all. Applying each event once, and each aggregate's events in version order, is
facta's job: a projection just turns an event into the next version of its views.

- ``MenuProjection``, ``CustomerProjection`` and ``OrderSummaries`` are inline: each is
  fed by one aggregate's events and read by the answer of the command that wrote them
  (``POST /orders`` answers with the order's summary), so they commit with the command.
- ``KitchenBoardProjection`` is asynchronous: it is fed by the events of several
  aggregates (the orders and the kitchen, whose slots are mostly freed by reactions in
  units of work of their own), and only the board's screens read it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from facta import Lifecycle, Projection, UnitOfWork
from pizzeria.application.views import (
    CustomerSummary,
    KitchenSlots,
    KitchenTicket,
    MenuItem,
    OrderSummary,
)
from pizzeria.domain.customer import CustomerRegistered
from pizzeria.domain.kitchen import KitchenSlotsChanged
from pizzeria.domain.menu import PizzaAdded, PizzaPriceChanged, PizzaRetired, Size
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
    "OrderSummaries",
]

S = TypeVar("S", bound=OrderSummary)

OFF_THE_BOARD = frozenset({OrderStatus.READY, OrderStatus.CANCELLED})
"""An order in one of these leaves the kitchen's board."""


class MenuProjection(Projection):
    """Keeps the menu: pizzas added, repriced and retired.

    Inline: ``POST /menu`` and ``PUT /menu/{name}/price`` answer with the pizza as the
    menu now shows it, committed with the change.
    """

    lifecycle = Lifecycle.INLINE
    views = (MenuItem,)

    def __init__(self, uow: UnitOfWork) -> None:
        self._menu = uow.views(MenuItem)

    async def added(self, event: PizzaAdded) -> None:
        self._menu.put(
            MenuItem(
                id=event.name,
                base_price=event.base_price,
                toppings=event.toppings,
                prices=_prices(event.base_price),
            )
        )

    async def repriced(self, event: PizzaPriceChanged) -> None:
        item = await self._menu.require(event.name)
        self._menu.put(
            item.model_copy(
                update={"base_price": event.new_price, "prices": _prices(event.new_price)}
            )
        )

    async def retired(self, event: PizzaRetired) -> None:
        item = await self._menu.require(event.name)
        self._menu.put(item.model_copy(update={"retired": True}))


class CustomerProjection(Projection):
    """Keeps the registered customers.

    Inline: a customer registered with their first order is there with it.
    """

    lifecycle = Lifecycle.INLINE
    views = (CustomerSummary,)

    def __init__(self, uow: UnitOfWork) -> None:
        self._customers = uow.views(CustomerSummary)

    async def registered(self, event: CustomerRegistered) -> None:
        self._customers.put(
            CustomerSummary(
                id=event.phone,
                name=event.name,
                email=event.email,
                address=event.address,
                registered_at=event.occurred_at,
            )
        )


# --8<-- [start:order_summaries]
class OrderSummaries(Projection):
    """Keeps one summary per order, from its placement to its last transition.

    Inline: the summary commits with the order itself, so a command's answer (``POST
    /orders/{id}/cook`` answers with the order) reads its own write, and the history
    lists every transition that committed, in the order they committed.
    """

    lifecycle = Lifecycle.INLINE
    views = (OrderSummary,)

    def __init__(self, uow: UnitOfWork) -> None:
        self._summaries = uow.views(OrderSummary)

    async def placed(self, event: OrderPlaced) -> None:
        self._summaries.put(_placed(OrderSummary, event))

    async def changed(self, event: OrderEvent) -> None:
        summary = await self._summaries.require(event.aggregate_id)
        self._summaries.put(_next(summary, event))


# --8<-- [end:order_summaries]


# --8<-- [start:kitchen_board]
class KitchenBoardProjection(Projection):
    """Keeps the kitchen's board: its slots, and a ticket per order until it leaves the
    kitchen (ready or cancelled).

    Asynchronous: it is fed by the events of two aggregates, the orders and the kitchen
    (whose slots are freed by reactions to the orders' events, committed after them), and
    no command's answer reads it. facta applies each aggregate's events in order, so a
    ticket never goes back to an older status however the commands race.
    """

    views = (KitchenSlots, KitchenTicket)

    def __init__(self, uow: UnitOfWork) -> None:
        self._slots = uow.views(KitchenSlots)
        self._tickets = uow.views(KitchenTicket)

    async def slots_changed(self, event: KitchenSlotsChanged) -> None:
        slots = await self._slots.get(event.aggregate_id)
        if slots is None:
            slots = KitchenSlots(id=event.aggregate_id, capacity=event.capacity)
        self._slots.put(
            slots.model_copy(update={"capacity": event.capacity, "cooking": event.cooking})
        )

    async def placed(self, event: OrderPlaced) -> None:
        self._tickets.put(_placed(KitchenTicket, event))

    async def changed(self, event: OrderEvent) -> None:
        ticket = await self._tickets.get(event.aggregate_id)
        if ticket is None:
            return  # the order left the board (ready or cancelled): nothing more to show
        ticket = _next(ticket, event)
        if ticket.status in OFF_THE_BOARD:
            self._tickets.delete(ticket.id)
        else:
            self._tickets.put(ticket)


# --8<-- [end:kitchen_board]


def _prices(base_price: Decimal) -> dict[Size, Decimal]:
    return {size: menu_price(base_price, size) for size in Size}


def _placed(view_type: type[S], event: OrderPlaced) -> S:
    return view_type(
        id=event.aggregate_id,
        status=OrderStatus.PENDING,
        customer_phone=event.customer_phone,
        customer_name=event.customer_name,
        address=event.address,
        lines=event.lines,
        total=event.total,
        placed_at=event.occurred_at,
        updated_at=event.occurred_at,
        history=(StatusChange(status=OrderStatus.PENDING, at=event.occurred_at, by=event.by),),
    )


def _next(summary: S, event: OrderEvent) -> S:
    """The summary after ``event``: what every order event changes in it."""
    changes: dict[str, Any] = {"updated_at": event.occurred_at}
    if isinstance(event, OrderLineAdded):
        changes.update(lines=(*summary.lines, event.line), total=event.total)
    elif isinstance(event, OrderLineRemoved):
        lines = list(summary.lines)
        del lines[event.line_no - 1]
        changes.update(lines=tuple(lines), total=event.total)
    elif isinstance(event, OrderStatusChanged):
        change = StatusChange(status=event.new_status, at=event.occurred_at, by=event.by)
        changes.update(status=event.new_status, history=(*summary.history, change))
        if isinstance(event, OrderDispatched):
            changes["driver"] = event.driver
        if isinstance(event, OrderCancelled):
            changes["cancel_reason"] = event.reason
    return summary.model_copy(update=changes)
