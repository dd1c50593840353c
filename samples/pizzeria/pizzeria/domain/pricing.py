"""Pricing: what a line of an order costs.

Line price = quantity x (base price x size factor + 1.50 x extra toppings), rounded
half-up to cents once, for the whole line; an order's total is the sum of its lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pizzeria.domain.menu import Size
from pizzeria.domain.money import to_cents

__all__ = ["EXTRA_TOPPING_PRICE", "line_price", "menu_price", "order_total"]

EXTRA_TOPPING_PRICE = Decimal("1.50")
"""What each extra topping adds to one pizza, whatever its size."""


def line_price(base_price: Decimal, size: Size, extras: int, quantity: int) -> Decimal:
    """The price of ``quantity`` pizzas of one kind, size and number of extras, in cents."""
    unit = base_price * size.factor + EXTRA_TOPPING_PRICE * extras
    return to_cents(unit * quantity)


def menu_price(base_price: Decimal, size: Size) -> Decimal:
    """The price of one pizza of ``size`` without extras, as the menu shows it."""
    return line_price(base_price, size, extras=0, quantity=1)


def order_total(line_prices: Iterable[Decimal]) -> Decimal:
    """The total of an order: the sum of its (already rounded) line prices."""
    return sum(line_prices, start=Decimal("0.00"))
