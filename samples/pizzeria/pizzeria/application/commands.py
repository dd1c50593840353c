"""The commands the pizzeria accepts, validated as they are built.

Each field carries the limits of ``PIZZERIA.md``, so bad input is refused before any
handler runs (``facta.parse_message`` reports every invalid field at once).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from facta import Command, ConflictRetry
from pizzeria.domain.customer import Address, CustomerName, Email, PhoneNumber
from pizzeria.domain.menu import Ingredient, MenuPrice, PizzaName, Size
from pizzeria.domain.order import MAX_PIZZAS_PER_ORDER, Extras, Quantity

__all__ = [
    "AddPizza",
    "CancelOrder",
    "ChangePizzaPrice",
    "DeliverOrder",
    "DispatchOrder",
    "LineRequest",
    "MarkReady",
    "PlaceOrder",
    "RetirePizza",
    "StartCooking",
]

OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""The id of an order, as ``PlaceOrder`` returned it."""

Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
"""Who carries out a transition (a cook, the counter, a driver), kept in the order's history."""


class AddPizza(Command[None]):
    """Put a new pizza on the menu (manager)."""

    name: PizzaName
    base_price: MenuPrice
    toppings: tuple[Ingredient, ...] = Field(default=(), max_length=12)


class ChangePizzaPrice(Command[None]):
    """Change a pizza's base price (manager); orders already placed keep their price."""

    name: PizzaName
    base_price: MenuPrice


class RetirePizza(Command[None]):
    """Take a pizza off the menu for good (manager)."""

    name: PizzaName


class LineRequest(BaseModel):
    """One line of a new order: which pizza, its size, extras and how many."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pizza: PizzaName
    size: Size = Size.MEDIUM
    extras: Extras = ()
    quantity: Quantity = 1

    def __str__(self) -> str:
        extras = "".join(f" +{extra}" for extra in self.extras)
        return f"{self.quantity}x {self.size} {self.pizza}{extras}"


class PlaceOrder(Command[str]):
    """Place and confirm an order; answers the new order's id.

    A phone the pizzeria does not know yet registers the customer with the order. Two
    first orders from one phone at once race to register it: the loser runs again (and
    finds the customer registered), so both orders are placed.
    """

    retry_on_conflict: ClassVar[ConflictRetry] = ConflictRetry(attempts=5)

    phone: PhoneNumber
    name: CustomerName
    address: Address
    email: Email | None = None
    lines: tuple[LineRequest, ...]

    @field_validator("lines")
    @classmethod
    def _one_to_twenty_pizzas(cls, lines: tuple[LineRequest, ...]) -> tuple[LineRequest, ...]:
        # checked here rather than with min_length so that one bad line is reported alone
        if not lines:
            raise ValueError("an order needs at least one line")
        pizzas = sum(line.quantity for line in lines)
        if pizzas > MAX_PIZZAS_PER_ORDER:
            raise ValueError(
                f"an order holds at most {MAX_PIZZAS_PER_ORDER} pizzas, this one has {pizzas}"
            )
        return lines


class StartCooking(Command[None]):
    """Start cooking a confirmed order; refused when the kitchen is full."""

    order_id: OrderId
    by: Actor = "kitchen"


class MarkReady(Command[None]):
    """The order being cooked is ready; its kitchen slot is freed."""

    order_id: OrderId
    by: Actor = "kitchen"


class DispatchOrder(Command[None]):
    """Hand a ready order to a driver."""

    order_id: OrderId
    driver: Actor
    by: Actor = "counter"


class DeliverOrder(Command[None]):
    """The order reached the customer; ``by`` defaults to the order's driver."""

    order_id: OrderId
    by: Actor | None = None


class CancelOrder(Command[None]):
    """Cancel an order that is not ready yet, with a reason."""

    order_id: OrderId
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    by: Actor = "counter"
