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
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from pydantic import Field

from facta.domain import AggregateRoot
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

E = TypeVar("E", bound=OrderStatusChanged)

MAX_REASON = 200
"""The longest cancel reason."""
MAX_DRIVER = 100
"""The longest driver's name."""


class Order(AggregateRoot):
    """A customer's order: its lines, total, delivery address, status and history."""

    customer_phone: PhoneNumber
    customer_name: CustomerName
    address: Address
    lines: list[OrderLine] = Field(default_factory=list)
    total: Decimal = Decimal("0.00")
    status: OrderStatus = OrderStatus.PENDING
    driver: str | None = None
    cancel_reason: str | None = None
    history: list[StatusChange] = Field(default_factory=list)

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
        """A new pending order with ``lines``; ``by`` defaults to the customer's phone."""
        order = cls(
            id=order_id, customer_phone=customer_phone, customer_name=customer_name, address=address
        )
        order._check_size(lines)
        order.lines = list(lines)
        order.total = order_total(line.price for line in lines)
        who = by or order.customer_phone
        placed = OrderPlaced(
            customer_phone=order.customer_phone,
            customer_name=order.customer_name,
            address=order.address,
            lines=tuple(lines),
            total=order.total,
            by=who,
        )
        # the history keeps the event's own time, as every later transition does (_move)
        order.history.append(
            StatusChange(status=OrderStatus.PENDING, at=placed.occurred_at, by=who)
        )
        order.record(placed)
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
        self._check_size([*self.lines, line])
        self.lines.append(line)
        self.total = order_total(item.price for item in self.lines)
        return self.record(
            OrderLineAdded(
                customer_phone=self.customer_phone,
                line_no=len(self.lines),
                line=line,
                total=self.total,
            )
        )

    def remove_line(self, line_no: int) -> OrderLineRemoved:
        """Remove line ``line_no`` (counted from 1) from a pending order."""
        self._guard(OrderTransition.REMOVE_LINE)
        if not 1 <= line_no <= len(self.lines):
            raise LineNotFound(self.id, line_no, len(self.lines))
        line = self.lines.pop(line_no - 1)
        self.total = order_total(item.price for item in self.lines)
        return self.record(
            OrderLineRemoved(
                customer_phone=self.customer_phone, line_no=line_no, line=line, total=self.total
            )
        )

    def confirm(self, by: str) -> OrderConfirmed:
        """Confirm a pending order; it needs at least one line."""
        self._guard(OrderTransition.CONFIRM)
        if not self.lines:
            raise OrderHasNoLines(self.id)
        event = OrderConfirmed(
            customer_phone=self.customer_phone, pizzas=self.pizzas, total=self.total, by=by
        )
        return self._move(event)

    def start_cooking(self, by: str) -> OrderCookingStarted:
        """The kitchen starts cooking a confirmed order."""
        self._guard(OrderTransition.START_COOKING)
        event = OrderCookingStarted(customer_phone=self.customer_phone, by=by)
        return self._move(event)

    def mark_ready(self, by: str) -> OrderReady:
        """The order being cooked is ready."""
        self._guard(OrderTransition.MARK_READY)
        return self._move(OrderReady(customer_phone=self.customer_phone, by=by))

    def dispatch(self, driver: str, by: str) -> OrderDispatched:
        """Hand a ready order to ``driver``."""
        self._guard(OrderTransition.DISPATCH)
        driver = self._detail(driver, "driver", MAX_DRIVER)
        event = OrderDispatched(customer_phone=self.customer_phone, driver=driver, by=by)
        self.driver = driver
        return self._move(event)

    def deliver(self, by: str | None = None) -> OrderDelivered:
        """The order reached the customer; ``by`` defaults to its driver."""
        self._guard(OrderTransition.DELIVER)
        who = by or self.driver or "driver"
        event = OrderDelivered(customer_phone=self.customer_phone, by=who)
        return self._move(event)

    def cancel(self, reason: str, by: str) -> OrderCancelled:
        """Cancel an order that is not ready yet, giving a reason (1 to 200 characters)."""
        self._guard(OrderTransition.CANCEL)
        reason = self._detail(reason, "cancel reason", MAX_REASON)
        event = OrderCancelled(
            customer_phone=self.customer_phone, reason=reason, previous_status=self.status, by=by
        )
        self.cancel_reason = reason
        return self._move(event)

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

    def _move(self, event: E) -> E:
        self.status = event.new_status
        self.history.append(
            StatusChange(status=event.new_status, at=event.occurred_at, by=event.by)
        )
        return self.record(event)
