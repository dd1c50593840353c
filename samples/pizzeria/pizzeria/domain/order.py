"""Orders: the ``Order`` aggregate, which enforces the state machine below.

```
pending --confirm--> confirmed --start_cooking--> cooking --mark_ready--> ready
ready --dispatch(driver)--> out_for_delivery --deliver--> delivered
pending|confirmed|cooking --cancel(reason)--> cancelled
```

Lines are added and removed only while pending. Any transition the current status does
not allow raises ``InvalidOrderTransition`` before anything changes, so a refused
transition changes nothing and records nothing. Every transition is kept in ``history``
with its time and who made it.

The order is *event-sourced*: its events are its state. A business method checks the
rules and records an event; the event's ``apply_...`` method is the only place where the
order's fields change, and loading an order replays its events. Its history of
transitions is a business need (when was it cooking, who cancelled it, what did it cost
then), so the whole history is kept, and ``facta events show Order ID --at TIME`` shows
the order as it was at any moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from facta.domain import EventSourcedAggregate, ValueObject
from pizzeria.domain.customer import Address, CustomerName, PhoneNumber
from pizzeria.domain.errors import (
    InvalidOrderDetail,
    InvalidOrderTransition,
    LineNotFound,
    OrderHasNoLines,
    OrderTooLarge,
)
from pizzeria.domain.order_events import (
    OrderCancelled,
    OrderConfirmed,
    OrderCookingStarted,
    OrderDelivered,
    OrderDispatched,
    OrderEvent,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderReady,
    OrderStatusChanged,
)
from pizzeria.domain.order_line import (
    MAX_EXTRAS,
    MAX_PIZZAS_PER_ORDER,
    MAX_QUANTITY,
    Extras,
    OrderLine,
    Quantity,
)
from pizzeria.domain.order_status import ALLOWED_FROM, OrderStatus, OrderTransition, StatusChange
from pizzeria.domain.pricing import order_total

__all__ = [
    "ALLOWED_FROM",
    "MAX_EXTRAS",
    "MAX_PIZZAS_PER_ORDER",
    "MAX_QUANTITY",
    "Extras",
    "Order",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderCookingStarted",
    "OrderDelivered",
    "OrderDispatched",
    "OrderEvent",
    "OrderLine",
    "OrderLineAdded",
    "OrderLineRemoved",
    "OrderPlaced",
    "OrderReady",
    "OrderStatus",
    "OrderStatusChanged",
    "OrderTransition",
    "Quantity",
    "StatusChange",
]

MAX_REASON = 200
"""The longest cancel reason."""
MAX_DRIVER = 100
"""The longest driver's name."""


# --8<-- [start:order]
class Order(EventSourcedAggregate):
    """A customer's order: its lines, total, delivery address, status and history.

    Every field starts empty and is set only by the apply methods, from the order's
    events. No snapshots: an order lives for an hour and records about ten events, which
    replay faster than a snapshot would be read (``snapshot_every`` would set them).
    """

    snapshot_every: ClassVar[int | None] = None

    customer_phone: str = ""
    customer_name: str = ""
    address: str = ""
    lines: tuple[OrderLine, ...] = ()
    total: Decimal = Decimal("0.00")
    status: OrderStatus = OrderStatus.PENDING
    driver: str | None = None
    cancel_reason: str | None = None
    history: tuple[StatusChange, ...] = ()

    @classmethod
    def place(
        cls,
        order_id: str,
        customer_phone: str,
        customer_name: str,
        address: str,
        lines: Sequence[OrderLine],
        by: str | None = None,
    ) -> Order:
        """A new pending order with ``lines``; ``by`` defaults to the customer's phone.

        The phone, name and address are validated (``pydantic.ValidationError`` if not).
        """
        customer = _Recipient(
            customer_phone=customer_phone, customer_name=customer_name, address=address
        )
        order = cls(id=order_id)
        order._check_size(lines)
        order.record(
            OrderPlaced(
                customer_phone=customer.customer_phone,
                customer_name=customer.customer_name,
                address=customer.address,
                lines=tuple(lines),
                total=order_total(line.price for line in lines),
                by=by or customer.customer_phone,
            )
        )
        return order

    @property
    def pizzas(self) -> int:
        """How many pizzas the order holds, over all its lines."""
        return sum(line.quantity for line in self.lines)

    def time_of(self, status: OrderStatus) -> datetime | None:
        """When the order reached ``status``, or None if it never did."""
        return next((change.at for change in self.history if change.status is status), None)

    def add_line(self, line: OrderLine) -> OrderLineAdded:
        """Add a line to a pending order."""
        self._guard(OrderTransition.ADD_LINE)
        lines = (*self.lines, line)
        self._check_size(lines)
        return self.record(
            OrderLineAdded(
                customer_phone=self.customer_phone,
                line_no=len(lines),
                line=line,
                total=order_total(item.price for item in lines),
            )
        )

    def remove_line(self, line_no: int) -> OrderLineRemoved:
        """Remove line ``line_no`` (counted from 1) from a pending order."""
        self._guard(OrderTransition.REMOVE_LINE)
        if not 1 <= line_no <= len(self.lines):
            raise LineNotFound(self.id, line_no, len(self.lines))
        rest = _without(self.lines, line_no)
        return self.record(
            OrderLineRemoved(
                customer_phone=self.customer_phone,
                line_no=line_no,
                line=self.lines[line_no - 1],
                total=order_total(item.price for item in rest),
            )
        )

    def confirm(self, by: str) -> OrderConfirmed:
        """Confirm a pending order; it needs at least one line."""
        self._guard(OrderTransition.CONFIRM)
        if not self.lines:
            raise OrderHasNoLines(self.id)
        return self.record(
            OrderConfirmed(
                customer_phone=self.customer_phone, pizzas=self.pizzas, total=self.total, by=by
            )
        )

    def start_cooking(self, by: str) -> OrderCookingStarted:
        """The kitchen starts cooking a confirmed order."""
        self._guard(OrderTransition.START_COOKING)
        return self.record(OrderCookingStarted(customer_phone=self.customer_phone, by=by))

    def mark_ready(self, by: str) -> OrderReady:
        """The order being cooked is ready."""
        self._guard(OrderTransition.MARK_READY)
        return self.record(OrderReady(customer_phone=self.customer_phone, by=by))

    def dispatch(self, driver: str, by: str) -> OrderDispatched:
        """Hand a ready order to ``driver``."""
        self._guard(OrderTransition.DISPATCH)
        driver = self._detail(driver, "driver", MAX_DRIVER)
        return self.record(
            OrderDispatched(customer_phone=self.customer_phone, driver=driver, by=by)
        )

    def deliver(self, by: str | None = None) -> OrderDelivered:
        """The order reached the customer; ``by`` defaults to its driver."""
        self._guard(OrderTransition.DELIVER)
        who = by or self.driver or "driver"
        return self.record(OrderDelivered(customer_phone=self.customer_phone, by=who))

    def cancel(self, reason: str, by: str) -> OrderCancelled:
        """Cancel an order that is not ready yet, giving a reason (1 to 200 characters)."""
        self._guard(OrderTransition.CANCEL)
        reason = self._detail(reason, "cancel reason", MAX_REASON)
        return self.record(
            OrderCancelled(
                customer_phone=self.customer_phone,
                reason=reason,
                previous_status=self.status,
                by=by,
            )
        )

    # The apply methods: the only place where the order's fields change. An event is a
    # fact, so they never refuse: the business methods above checked the rules before
    # recording it.

    def apply_placed(self, event: OrderPlaced) -> None:
        """The order exists: its customer, lines and total, pending."""
        self.customer_phone = event.customer_phone
        self.customer_name = event.customer_name
        self.address = event.address
        self.lines = event.lines
        self.total = event.total
        self.history = (
            StatusChange(status=OrderStatus.PENDING, at=event.occurred_at, by=event.by),
        )

    def apply_line_added(self, event: OrderLineAdded) -> None:
        """One more line, and the new total."""
        self.lines = (*self.lines, event.line)
        self.total = event.total

    def apply_line_removed(self, event: OrderLineRemoved) -> None:
        """One line fewer, and the new total."""
        self.lines = _without(self.lines, event.line_no)
        self.total = event.total

    def apply_confirmed(self, event: OrderConfirmed) -> None:
        """Confirmed: it waits for the kitchen."""
        self._moved(event)

    def apply_cooking_started(self, event: OrderCookingStarted) -> None:
        """In the oven."""
        self._moved(event)

    def apply_ready(self, event: OrderReady) -> None:
        """Out of the oven, waiting for a driver."""
        self._moved(event)

    def apply_dispatched(self, event: OrderDispatched) -> None:
        """On its way, with its driver."""
        self.driver = event.driver
        self._moved(event)

    def apply_delivered(self, event: OrderDelivered) -> None:
        """At the customer's door."""
        self._moved(event)

    def apply_cancelled(self, event: OrderCancelled) -> None:
        """Cancelled, with its reason."""
        self.cancel_reason = event.reason
        self._moved(event)

    def _moved(self, event: OrderStatusChanged) -> None:
        """The order reached the event's status: keep it, with when and by whom."""
        self.status = event.new_status
        change = StatusChange(status=event.new_status, at=event.occurred_at, by=event.by)
        self.history = (*self.history, change)

    def _guard(self, transition: OrderTransition) -> None:
        allowed = ALLOWED_FROM[transition]
        if self.status not in allowed:
            raise InvalidOrderTransition(
                self.id,
                self.status,
                transition,
                " or ".join(status for status in OrderStatus if status in allowed),
            )

    def _detail(self, value: str, detail: str, limit: int) -> str:
        value = value.strip()
        if not 1 <= len(value) <= limit:
            raise InvalidOrderDetail(self.id, detail, limit)
        return value

    def _check_size(self, lines: Sequence[OrderLine]) -> None:
        pizzas = sum(line.quantity for line in lines)
        if pizzas > MAX_PIZZAS_PER_ORDER:
            raise OrderTooLarge(self.id, pizzas, MAX_PIZZAS_PER_ORDER)


# --8<-- [end:order]


# --8<-- [start:order_helpers]
class _Recipient(ValueObject):
    """Who an order is for, validated (and the phone normalized) before it is placed."""

    customer_phone: PhoneNumber
    customer_name: CustomerName
    address: Address


def _without(lines: tuple[OrderLine, ...], line_no: int) -> tuple[OrderLine, ...]:
    """``lines`` without line ``line_no`` (counted from 1)."""
    return (*lines[: line_no - 1], *lines[line_no:])


# --8<-- [end:order_helpers]
