"""Order lines: some pizzas of one kind, size and extras, priced when they are ordered.

A line copies the pizza's base price, so a later price change leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator

from facta.domain import ValueObject
from pizzeria.domain.menu import MenuPrice, Pizza, PizzaName, Size, Topping
from pizzeria.domain.pricing import line_price

__all__ = ["MAX_EXTRAS", "MAX_PIZZAS_PER_ORDER", "MAX_QUANTITY", "Extras", "OrderLine", "Quantity"]

MAX_EXTRAS = 5
"""Extra toppings one pizza may have."""
MAX_QUANTITY = 10
"""Pizzas one line may hold."""
MAX_PIZZAS_PER_ORDER = 20
"""Pizzas one order may hold, over all its lines."""

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
"""How many pizzas of one kind a line holds: 1 to 10."""

Extras = Annotated[tuple[Topping, ...], Field(max_length=MAX_EXTRAS)]
"""The extra toppings of a pizza: at most 5, from ``Topping``."""


class OrderLine(ValueObject):
    """Some pizzas of one kind, size and extras, at the base price of when they were ordered."""

    pizza: PizzaName
    size: Size = Size.MEDIUM
    extras: Extras = ()
    quantity: Quantity = 1
    base_price: MenuPrice
    price: Decimal

    @classmethod
    def for_pizza(
        cls,
        pizza: Pizza,
        size: Size = Size.MEDIUM,
        extras: Iterable[Topping] = (),
        quantity: int = 1,
    ) -> OrderLine:
        """A line of ``pizza`` priced from its current base price; refused if it is retired."""
        pizza.ensure_available()
        extras = tuple(extras)
        return cls(
            pizza=pizza.name,
            size=size,
            extras=extras,
            quantity=quantity,
            base_price=pizza.base_price,
            price=line_price(pizza.base_price, size, len(extras), quantity),
        )

    def __str__(self) -> str:
        extras = "".join(f" +{extra}" for extra in self.extras)
        return f"{self.quantity}x {self.size} {self.pizza}{extras} = {self.price}"

    @model_validator(mode="after")
    def _priced_by_the_rules(self) -> Self:
        expected = line_price(self.base_price, self.size, len(self.extras), self.quantity)
        if self.price != expected:
            raise ValueError(f"a line priced {self.price} should cost {expected}")
        return self
