"""The menu contracts: pizzas put on sale, repriced and retired.

Published with source ``/mariospizzeria/menu`` and the pizza's name (its id, a
lowercase slug such as ``quattro-formaggi``) as the CloudEvent ``subject``:

- ``com.mariospizzeria.menu.pizza-added.v1``: a pizza was put on the menu;
- ``com.mariospizzeria.menu.pizza-price-changed.v1``: its base price changed (orders
  already placed keep theirs);
- ``com.mariospizzeria.menu.pizza-retired.v1``: it was taken off the menu for good.

A base price is the price of a medium pizza without extras; sizes multiply it (small
0.8, large 1.3) and each extra topping adds 1.50 (see ``PIZZERIA.md``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from facta import EventContract, IntegrationEvent
from pizzeria.domain.menu import PizzaAdded, PizzaPriceChanged, PizzaRetired
from pizzeria.integration.common import MENU_SOURCE, Money, UtcTimestamp

__all__ = [
    "PizzaAddedV1",
    "PizzaAddedV1Contract",
    "PizzaPriceChangedV1",
    "PizzaPriceChangedV1Contract",
    "PizzaRetiredV1",
    "PizzaRetiredV1Contract",
]

_PIZZA = "The pizza's name, its id on the menu: a lowercase slug, also the CloudEvent subject."


class PizzaAddedV1(IntegrationEvent):
    """A pizza was put on the menu."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.menu.pizza-added.v1"

    pizza: str = Field(description=_PIZZA)
    base_price: Money = Field(description="The price of a medium pizza without extras.")
    toppings: tuple[str, ...] = Field(description="The toppings the pizza comes with.")
    added_at: UtcTimestamp = Field(description="When it was put on the menu.")


class PizzaPriceChangedV1(IntegrationEvent):
    """A pizza's base price changed; orders placed before keep the price they were placed at."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.menu.pizza-price-changed.v1"

    pizza: str = Field(description=_PIZZA)
    old_price: Money = Field(description="The base price until now.")
    new_price: Money = Field(description="The base price from now on.")
    changed_at: UtcTimestamp = Field(description="When the price changed.")


class PizzaRetiredV1(IntegrationEvent):
    """A pizza was taken off the menu for good; it can no longer be ordered."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.menu.pizza-retired.v1"

    pizza: str = Field(description=_PIZZA)
    last_price: Money = Field(description="The base price it had when it was retired.")
    retired_at: UtcTimestamp = Field(description="When it was retired.")


class PizzaAddedV1Contract(EventContract[PizzaAdded, PizzaAddedV1]):
    """Publishes ``PizzaAdded`` as ``com.mariospizzeria.menu.pizza-added.v1``."""

    source = MENU_SOURCE

    def map(self, event: PizzaAdded) -> PizzaAddedV1:
        return PizzaAddedV1(
            pizza=event.name,
            base_price=Money.of(event.base_price),
            toppings=event.toppings,
            added_at=event.occurred_at,
        )


class PizzaPriceChangedV1Contract(EventContract[PizzaPriceChanged, PizzaPriceChangedV1]):
    """Publishes ``PizzaPriceChanged`` as ``com.mariospizzeria.menu.pizza-price-changed.v1``."""

    source = MENU_SOURCE

    def map(self, event: PizzaPriceChanged) -> PizzaPriceChangedV1:
        return PizzaPriceChangedV1(
            pizza=event.name,
            old_price=Money.of(event.old_price),
            new_price=Money.of(event.new_price),
            changed_at=event.occurred_at,
        )


class PizzaRetiredV1Contract(EventContract[PizzaRetired, PizzaRetiredV1]):
    """Publishes ``PizzaRetired`` as ``com.mariospizzeria.menu.pizza-retired.v1``."""

    source = MENU_SOURCE

    def map(self, event: PizzaRetired) -> PizzaRetiredV1:
        return PizzaRetiredV1(
            pizza=event.name,
            last_price=Money.of(event.base_price),
            retired_at=event.occurred_at,
        )
