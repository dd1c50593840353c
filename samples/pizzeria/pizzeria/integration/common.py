"""The types every published contract shares: money, UTC timestamps and the sources.

They are the wire format, kept apart from the domain's own types on purpose: a domain
type may change its shape, a published field may not.

- ``Money``: ``{"amount": "12.50", "currency": "EUR"}``; the amount is a decimal
  *string* with exactly two places (never a JSON number, which loses cents in many
  languages), rounded half-up to cents.
- ``UtcTimestamp``: an RFC 3339 date-time in UTC, such as ``2025-05-01T18:30:00.125000Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

__all__ = [
    "CURRENCY",
    "CUSTOMERS_SOURCE",
    "MENU_SOURCE",
    "ORDERS_SOURCE",
    "Amount",
    "Money",
    "UtcTimestamp",
]

ORDERS_SOURCE = "/mariospizzeria/orders"
"""The CloudEvent ``source`` of the order events."""
CUSTOMERS_SOURCE = "/mariospizzeria/customers"
"""The CloudEvent ``source`` of the customer events."""
MENU_SOURCE = "/mariospizzeria/menu"
"""The CloudEvent ``source`` of the menu events."""

CURRENCY = "EUR"
"""The currency of every price the pizzeria publishes (ISO 4217)."""

_CENT = Decimal("0.01")


def _to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Amount = Annotated[
    Decimal,
    AfterValidator(_to_cents),
    PlainSerializer(lambda amount: f"{amount:f}", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+\.[0-9]{2}$",
            "description": "A decimal amount with two places, as a string.",
            "examples": ["12.50"],
        }
    ),
]
"""A decimal amount in cents, published as a string with two places (``"12.50"``)."""

UtcTimestamp = Annotated[
    AwareDatetime,
    AfterValidator(_in_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "An RFC 3339 date-time in UTC.",
            "examples": ["2025-05-01T18:30:00.125000Z"],
        }
    ),
]
"""A moment in time, timezone-aware, published in UTC."""


class Money(BaseModel):
    """An amount of money and its currency."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    amount: Amount = Field(description="The amount, rounded half-up to cents.")
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="The ISO 4217 currency code.", examples=[CURRENCY]
    )

    @classmethod
    def of(cls, amount: Decimal, currency: str = CURRENCY) -> Money:
        """``amount`` in ``currency`` (euros unless told otherwise)."""
        return cls(amount=amount, currency=currency)
