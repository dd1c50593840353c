"""The pizzeria's business errors: each one a rule that refused an operation.

```
facta.DomainError
├── InvalidOrderTransition   the order's status does not allow the transition
├── InvalidOrderDetail       a transition's detail (cancel reason, driver) is unusable
├── OrderHasNoLines          an order cannot be confirmed without a line
├── OrderTooLarge            more pizzas than one order may hold
├── LineNotFound             an order has no line with that number
├── KitchenFull              every cooking slot is taken
├── PizzaNotAvailable        the pizza is retired (or not on the menu)
└── PizzaAlreadyOnMenu       a pizza with that name exists
```

Every error keeps what it is about as attributes, so an API can answer without parsing
the text, and has a stable ``code`` (a slug) and ``title``: the HTTP API's problem type
is built from the code, so renaming a class changes nothing a client sees.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence

from facta.errors import DomainError

__all__ = [
    "InvalidOrderDetail",
    "InvalidOrderTransition",
    "KitchenFull",
    "LineNotFound",
    "OrderHasNoLines",
    "OrderTooLarge",
    "PizzaAlreadyOnMenu",
    "PizzaNotAvailable",
]


class InvalidOrderTransition(DomainError):
    """The order's current status does not allow the attempted transition."""

    code: typing.ClassVar[str] = "invalid-order-transition"
    title: typing.ClassVar[str] = "The order's status does not allow this"

    def __init__(self, order_id: str, status: str, transition: str, allowed_from: str) -> None:
        self.order_id = order_id
        self.status = status
        self.transition = transition
        super().__init__(
            f"cannot {transition} order {order_id}: it is {status} "
            f"({transition} is allowed only when {allowed_from})"
        )


class InvalidOrderDetail(DomainError):
    """A detail a transition needs is missing or too long (a cancel reason, a driver)."""

    code: typing.ClassVar[str] = "invalid-order-detail"
    title: typing.ClassVar[str] = "A detail of the transition is unusable"

    def __init__(self, order_id: str, detail: str, limit: int) -> None:
        self.order_id = order_id
        self.detail = detail
        super().__init__(f"order {order_id}: the {detail} must be 1 to {limit} characters")


class OrderHasNoLines(DomainError):
    """An order without lines cannot be confirmed."""

    code: typing.ClassVar[str] = "order-has-no-lines"
    title: typing.ClassVar[str] = "The order has no lines"

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"cannot confirm order {order_id}: it has no lines")


class OrderTooLarge(DomainError):
    """The order would hold more pizzas than the limit."""

    code: typing.ClassVar[str] = "order-too-large"
    title: typing.ClassVar[str] = "Too many pizzas for one order"

    def __init__(self, order_id: str, pizzas: int, limit: int) -> None:
        self.order_id = order_id
        self.pizzas = pizzas
        self.limit = limit
        super().__init__(
            f"order {order_id} would hold {pizzas} pizzas; at most {limit} fit in one order"
        )


class LineNotFound(DomainError):
    """The order has no line with the given number."""

    code: typing.ClassVar[str] = "line-not-found"
    title: typing.ClassVar[str] = "The order has no such line"

    def __init__(self, order_id: str, line_no: int, lines: int) -> None:
        self.order_id = order_id
        self.line_no = line_no
        super().__init__(f"order {order_id} has no line {line_no} (it has {lines})")


class KitchenFull(DomainError):
    """Every cooking slot is taken; the order must wait for one to be freed."""

    code: typing.ClassVar[str] = "kitchen-full"
    title: typing.ClassVar[str] = "The kitchen is full"

    def __init__(self, order_id: str, capacity: int, cooking: Sequence[str]) -> None:
        self.order_id = order_id
        self.capacity = capacity
        self.cooking = tuple(cooking)
        super().__init__(
            f"the kitchen is full ({len(self.cooking)} of {capacity} slots cooking): "
            f"order {order_id} must wait until an order is ready or cancelled"
        )


class PizzaNotAvailable(DomainError):
    """The pizza cannot be ordered (or changed): it is retired or not on the menu."""

    code: typing.ClassVar[str] = "pizza-not-available"
    title: typing.ClassVar[str] = "The pizza is not on sale"

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"pizza {name!r} is not available: {reason}")


class PizzaAlreadyOnMenu(DomainError):
    """A pizza with that name is already on the menu (names are never reused)."""

    code: typing.ClassVar[str] = "pizza-already-on-menu"
    title: typing.ClassVar[str] = "The pizza is already on the menu"

    def __init__(self, name: str, retired: bool) -> None:
        self.name = name
        self.retired = retired
        state = "retired" if retired else "on sale"
        super().__init__(f"pizza {name!r} already exists on the menu ({state})")
