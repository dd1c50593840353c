"""Money: ``Decimal`` amounts, rounded half-up to cents."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field

__all__ = ["CENT", "Price", "to_cents"]

CENT = Decimal("0.01")
"""The smallest amount the pizzeria charges."""

Price = Annotated[Decimal, Field(gt=0, max_digits=7, decimal_places=2)]
"""A positive price in whole cents, such as a pizza's base price."""


def to_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to cents: 15.665 becomes 15.67, 15.664 becomes 15.66."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
