"""An order's statuses, the transitions between them, and the record of each transition.

```
pending --confirm--> confirmed --start_cooking--> cooking --mark_ready--> ready
ready --dispatch(driver)--> out_for_delivery --deliver--> delivered
pending|confirmed|cooking --cancel(reason)--> cancelled
```

Lines can be added and removed only while pending: adding and removing lines count as
transitions that keep the status.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from pydantic import AwareDatetime

from facta.domain import ValueObject

__all__ = ["ALLOWED_FROM", "OrderStatus", "OrderTransition", "StatusChange"]


class OrderStatus(enum.StrEnum):
    """Where an order is in its life."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    COOKING = "cooking"
    READY = "ready"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class OrderTransition(enum.StrEnum):
    """What can be done to an order; each is allowed from some statuses only."""

    ADD_LINE = "add_line"
    REMOVE_LINE = "remove_line"
    CONFIRM = "confirm"
    START_COOKING = "start_cooking"
    MARK_READY = "mark_ready"
    DISPATCH = "dispatch"
    DELIVER = "deliver"
    CANCEL = "cancel"


ALLOWED_FROM: Mapping[OrderTransition, frozenset[OrderStatus]] = {
    OrderTransition.ADD_LINE: frozenset({OrderStatus.PENDING}),
    OrderTransition.REMOVE_LINE: frozenset({OrderStatus.PENDING}),
    OrderTransition.CONFIRM: frozenset({OrderStatus.PENDING}),
    OrderTransition.START_COOKING: frozenset({OrderStatus.CONFIRMED}),
    OrderTransition.MARK_READY: frozenset({OrderStatus.COOKING}),
    OrderTransition.DISPATCH: frozenset({OrderStatus.READY}),
    OrderTransition.DELIVER: frozenset({OrderStatus.OUT_FOR_DELIVERY}),
    OrderTransition.CANCEL: frozenset(
        {OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.COOKING}
    ),
}
"""The statuses from which each transition is allowed; every other pair is refused."""


class StatusChange(ValueObject):
    """One transition of an order: the status it reached, when, and who made it."""

    status: OrderStatus
    at: AwareDatetime
    by: str
