"""The menu: ``Pizza`` aggregates keyed by their name, sizes and the extra toppings.

A manager adds pizzas, changes their base price and retires them. A retired pizza cannot
be ordered; orders placed before keep the price they were placed at, because each order
line copies the base price (see ``pizzeria.domain.order``).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, TypeAdapter

from facta.domain import AggregateRoot, DomainEvent
from pizzeria.domain.errors import PizzaNotAvailable
from pizzeria.domain.money import Price, to_cents

__all__ = [
    "Ingredient",
    "MenuEvent",
    "MenuPrice",
    "Pizza",
    "PizzaAdded",
    "PizzaName",
    "PizzaPriceChanged",
    "PizzaRetired",
    "Size",
    "Topping",
]

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

PizzaName = Annotated[str, StringConstraints(min_length=2, max_length=40, pattern=_SLUG)]
"""A pizza's name: a lowercase slug of 2 to 40 characters, such as ``quattro-formaggi``."""

Ingredient = Annotated[str, StringConstraints(min_length=2, max_length=40, pattern=_SLUG)]
"""An ingredient a pizza comes with (``tomato``, ``gorgonzola``), as a lowercase slug."""

MenuPrice = Annotated[Price, AfterValidator(to_cents)]
"""A base price as the menu shows it: positive, in whole cents, always with two places."""


_MENU_PRICE: TypeAdapter[Decimal] = TypeAdapter(MenuPrice)


class Size(enum.StrEnum):
    """A pizza's size; it multiplies the base price (the medium price)."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def factor(self) -> Decimal:
        """What the base price is multiplied by for this size."""
        return _SIZE_FACTORS[self]


_SIZE_FACTORS = {
    Size.SMALL: Decimal("0.8"),
    Size.MEDIUM: Decimal("1.0"),
    Size.LARGE: Decimal("1.3"),
}


class Topping(enum.StrEnum):
    """The extra toppings a customer may add to any pizza, at 1.50 each."""

    MUSHROOMS = "mushrooms"
    OLIVES = "olives"
    ONIONS = "onions"
    PEPPERS = "peppers"
    HAM = "ham"
    PEPPERONI = "pepperoni"
    PINEAPPLE = "pineapple"
    EXTRA_MOZZARELLA = "extra-mozzarella"
    ANCHOVIES = "anchovies"
    JALAPENOS = "jalapenos"


class MenuEvent(DomainEvent):
    """Something that happened to a pizza of the menu."""

    name: str


class PizzaAdded(MenuEvent):
    """A pizza was put on the menu."""

    base_price: Decimal
    toppings: tuple[str, ...]


class PizzaPriceChanged(MenuEvent):
    """A pizza's base price changed; orders placed before keep their price."""

    old_price: Decimal
    new_price: Decimal


class PizzaRetired(MenuEvent):
    """A pizza was taken off the menu for good; it can no longer be ordered."""

    base_price: Decimal


class Pizza(AggregateRoot):
    """A pizza of the menu, identified by its name."""

    id: PizzaName
    base_price: MenuPrice
    toppings: tuple[Ingredient, ...] = Field(max_length=12)
    retired: bool = False

    @property
    def name(self) -> str:
        """The pizza's name, which is also its id."""
        return self.id

    @classmethod
    def add(cls, name: str, base_price: Decimal, toppings: tuple[str, ...]) -> Pizza:
        """A new pizza on the menu at ``base_price`` (the medium price)."""
        pizza = cls(id=name, base_price=base_price, toppings=toppings)
        pizza.record(PizzaAdded(name=pizza.id, base_price=pizza.base_price, toppings=toppings))
        return pizza

    def change_price(self, new_price: Decimal) -> PizzaPriceChanged | None:
        """Set a new base price; the same price again changes nothing and records nothing."""
        self.ensure_available()
        price = _MENU_PRICE.validate_python(new_price)
        old_price = self.base_price
        if price == old_price:
            return None
        self.base_price = price
        return self.record(
            PizzaPriceChanged(name=self.id, old_price=old_price, new_price=self.base_price)
        )

    def retire(self) -> PizzaRetired:
        """Take the pizza off the menu; refused if it already is."""
        self.ensure_available()
        self.retired = True
        return self.record(PizzaRetired(name=self.id, base_price=self.base_price))

    def ensure_available(self) -> None:
        """Raise ``PizzaNotAvailable`` if the pizza was retired."""
        if self.retired:
            raise PizzaNotAvailable(self.id, "it was retired from the menu")
