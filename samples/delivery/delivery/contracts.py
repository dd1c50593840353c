"""The delivery service's copies of the two pizzeria contracts it reads.

A consumer owns the model it reads with: these classes name only the fields the
delivery service needs, and ignore the rest (``IntegrationEvent`` models ignore unknown
fields), so the pizzeria may add fields without breaking this service, and this service
never imports the pizzeria's code. Amounts and sizes are read leniently (any decimal,
any size name) for the same reason; the pizzeria's own contract
(``pizzeria.integration.orders``) is the documented, strict side.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from facta import IntegrationEvent

__all__ = ["MoneyV1", "OrderDeliveredV1", "OrderLineV1", "OrderPlacedV1"]


class MoneyV1(BaseModel):
    """An amount (a decimal string on the wire, such as ``"12.50"``) and its currency."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)


class OrderLineV1(BaseModel):
    """What the driver carries for one line: some pizzas of one kind and size."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pizza: str = Field(min_length=1)
    size: str = Field(min_length=1)
    quantity: int = Field(ge=1)


# --8<-- [start:order_placed_v1]
class OrderPlacedV1(IntegrationEvent):
    """``com.mariospizzeria.order.placed.v1``, as the delivery service reads it."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.placed.v1"

    order_id: str = Field(min_length=1, max_length=64)
    customer_name: str
    customer_phone: str
    delivery_address: str
    lines: tuple[OrderLineV1, ...] = Field(min_length=1)
    total: MoneyV1
    placed_at: AwareDatetime


# --8<-- [end:order_placed_v1]


class OrderDeliveredV1(IntegrationEvent):
    """``com.mariospizzeria.order.delivered.v1``, as the delivery service reads it."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.order.delivered.v1"

    order_id: str = Field(min_length=1, max_length=64)
    delivered_by: str
    delivered_at: AwareDatetime
