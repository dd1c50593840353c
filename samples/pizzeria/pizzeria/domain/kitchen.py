"""The kitchen: one ``Kitchen`` aggregate per pizzeria, with a number of cooking slots.

Starting to cook an order takes a slot and is refused when none is free. The kitchen
frees a slot when it learns that the order is ready or was cancelled while cooking: it
reacts to the order's events, the order never calls it.
"""

from __future__ import annotations

from pydantic import Field

from facta.domain import AggregateRoot, DomainEvent
from pizzeria.domain.errors import KitchenFull

__all__ = [
    "DEFAULT_CAPACITY",
    "KITCHEN_ID",
    "Kitchen",
    "KitchenSlotFreed",
    "KitchenSlotTaken",
    "KitchenSlotsChanged",
]

KITCHEN_ID = "kitchen"
"""The id of the pizzeria's one kitchen."""

DEFAULT_CAPACITY = 3
"""How many orders the kitchen cooks at once unless told otherwise."""


class KitchenSlotsChanged(DomainEvent):
    """An order took or left a cooking slot; ``cooking`` lists the orders cooking now."""

    order_id: str
    capacity: int
    cooking: tuple[str, ...]


class KitchenSlotTaken(KitchenSlotsChanged):
    """An order took a cooking slot."""


class KitchenSlotFreed(KitchenSlotsChanged):
    """An order left its cooking slot: it is ready, or it was cancelled while cooking."""


class Kitchen(AggregateRoot):
    """The kitchen's cooking slots: its capacity and the orders cooking, oldest first."""

    id: str = KITCHEN_ID
    capacity: int = Field(default=DEFAULT_CAPACITY, ge=1)
    cooking: list[str] = Field(default_factory=list)

    @property
    def free_slots(self) -> int:
        """How many more orders can start cooking now."""
        return self.capacity - len(self.cooking)

    def take_slot(self, order_id: str) -> KitchenSlotTaken | None:
        """Give ``order_id`` a cooking slot; raise ``KitchenFull`` if none is free.

        An order that already has a slot keeps it: nothing changes, nothing is recorded.
        """
        if order_id in self.cooking:
            return None
        if self.free_slots <= 0:
            raise KitchenFull(order_id, self.capacity, self.cooking)
        self.cooking.append(order_id)
        return self.record(
            KitchenSlotTaken(order_id=order_id, capacity=self.capacity, cooking=tuple(self.cooking))
        )

    def free_slot(self, order_id: str) -> KitchenSlotFreed | None:
        """Free the slot of ``order_id``; an order without a slot changes nothing.

        Freeing is idempotent, so an event delivered twice frees one slot only once.
        """
        if order_id not in self.cooking:
            return None
        self.cooking.remove(order_id)
        return self.record(
            KitchenSlotFreed(order_id=order_id, capacity=self.capacity, cooking=tuple(self.cooking))
        )
