"""The web API's request and response bodies, with the limits of ``PIZZERIA.md``.

Requests reuse the domain's types (``PizzaName``, ``MenuPrice``, ``Quantity``...), so
FastAPI refuses bad input with a 422 before any command is built, and its OpenAPI
document shows every limit. Unknown fields are refused. Responses are built from the
read side's views; money is a string with two decimals (``"14.50"``), times are UTC.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from facta import Timestamp
from pizzeria.application.views import (
    CustomerOrders,
    CustomerSummary,
    KitchenView,
    MenuItem,
    OrderPage,
    OrderSummary,
)
from pizzeria.domain.customer import Address, CustomerName, Email, normalize_phone
from pizzeria.domain.menu import Ingredient, MenuPrice, PizzaName, Size, Topping
from pizzeria.domain.order import MAX_DRIVER, MAX_REASON, OrderStatus
from pizzeria.domain.order_line import MAX_EXTRAS, MAX_PIZZAS_PER_ORDER, Quantity

__all__ = [
    "CancelRequest",
    "CustomerOrdersResponse",
    "CustomerResponse",
    "DispatchRequest",
    "KitchenResponse",
    "LineResponse",
    "MenuItemResponse",
    "NewPizzaRequest",
    "OrderLineRequest",
    "OrderPageResponse",
    "OrderResponse",
    "Phone",
    "PlaceOrderRequest",
    "PriceRequest",
    "StatusChangeResponse",
]

Phone = Annotated[
    str,
    StringConstraints(max_length=32, pattern=r"^\+?(?:[ ().-]*[0-9]){8,16}[ ().-]*$"),
    AfterValidator(normalize_phone),
    Field(
        description="8 to 16 digits with an optional leading +; spaces, dots, dashes and "
        "parentheses are ignored (kept as + and digits).",
        examples=["+39 081 555 0101"],
    ),
]
"""A phone number as a request gives it; normalized like the domain's ``PhoneNumber``."""


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class NewPizzaRequest(_Request):
    """A pizza to put on the menu."""

    name: PizzaName = Field(examples=["diavola"])
    base_price: MenuPrice = Field(description="The medium price.", examples=["13.00"])
    toppings: tuple[Ingredient, ...] = Field(default=(), max_length=12, examples=[["tomato"]])


class PriceRequest(_Request):
    """A pizza's new base (medium) price."""

    base_price: MenuPrice = Field(examples=["12.50"])


class OrderLineRequest(_Request):
    """One line of a new order: a pizza, its size, extra toppings and how many."""

    pizza: PizzaName = Field(examples=["margherita"])
    size: Size = Size.MEDIUM
    extras: tuple[Topping, ...] = Field(
        default=(), max_length=MAX_EXTRAS, description="At most 5, at 1.50 each."
    )
    quantity: Quantity = 1


class PlaceOrderRequest(_Request):
    """An order: who it is for, where it goes, and its lines (1 to 20 pizzas in all)."""

    phone: Phone
    name: CustomerName = Field(examples=["Giulia Verdi"])
    address: Address = Field(examples=["Via Roma 12, Napoli"])
    email: Annotated[Email, Field(max_length=254)] | None = None
    lines: tuple[OrderLineRequest, ...] = Field(
        max_length=MAX_PIZZAS_PER_ORDER, json_schema_extra={"minItems": 1}
    )

    @field_validator("lines")
    @classmethod
    def _one_to_twenty_pizzas(
        cls, lines: tuple[OrderLineRequest, ...]
    ) -> tuple[OrderLineRequest, ...]:
        # not min_length: with it, a bad line is also reported as "no lines"
        if not lines:
            raise ValueError("an order needs at least one line")
        pizzas = sum(line.quantity for line in lines)
        if pizzas > MAX_PIZZAS_PER_ORDER:
            raise ValueError(
                f"an order holds at most {MAX_PIZZAS_PER_ORDER} pizzas, this one has {pizzas}"
            )
        return lines


class DispatchRequest(_Request):
    """Who drives the order to the customer."""

    driver: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DRIVER)
    ] = Field(examples=["Paolo"])


class CancelRequest(_Request):
    """Why the order is cancelled."""

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON)
    ] = Field(examples=["the customer changed their mind"])


class MenuItemResponse(_Response):
    """A pizza on sale, with its price for each size (no extras)."""

    name: str
    base_price: Decimal
    toppings: tuple[str, ...]
    prices: dict[Size, Decimal]

    @classmethod
    def of(cls, item: MenuItem) -> MenuItemResponse:
        """The answer for one pizza of the menu."""
        return cls(
            name=item.name, base_price=item.base_price, toppings=item.toppings, prices=item.prices
        )


class LineResponse(_Response):
    """A line of an order, priced when it was ordered."""

    pizza: str
    size: Size
    extras: tuple[Topping, ...]
    quantity: int
    base_price: Decimal
    price: Decimal


class StatusChangeResponse(_Response):
    """One step of an order's life: the status reached, when, and who made it."""

    status: OrderStatus
    at: Timestamp
    by: str


class OrderResponse(_Response):
    """An order as the read side knows it."""

    id: str
    status: OrderStatus
    customer_phone: str
    customer_name: str
    address: str
    lines: tuple[LineResponse, ...]
    total: Decimal
    placed_at: Timestamp
    updated_at: Timestamp
    driver: str | None
    cancel_reason: str | None
    history: tuple[StatusChangeResponse, ...]

    @classmethod
    def of(cls, summary: OrderSummary) -> OrderResponse:
        """The answer for one order summary."""
        return cls.model_validate(summary.model_dump())


class OrderPageResponse(_Response):
    """A page of orders, newest first, and how many match in all."""

    items: tuple[OrderResponse, ...]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, page: OrderPage) -> OrderPageResponse:
        """The answer for a page of orders."""
        return cls(
            items=tuple(OrderResponse.of(item) for item in page.items),
            page=page.page,
            size=page.page_size,
            total=page.total,
            pages=-(-page.total // page.page_size),
        )


class KitchenResponse(_Response):
    """The kitchen: its capacity, free slots, the orders cooking and those waiting."""

    capacity: int
    free_slots: int
    cooking: tuple[OrderResponse, ...]
    queue: tuple[OrderResponse, ...] = Field(description="Confirmed orders, oldest first.")

    @classmethod
    def of(cls, kitchen: KitchenView) -> KitchenResponse:
        """The answer for the kitchen."""
        return cls(
            capacity=kitchen.capacity,
            free_slots=kitchen.free_slots,
            cooking=tuple(OrderResponse.of(order) for order in kitchen.cooking),
            queue=tuple(OrderResponse.of(order) for order in kitchen.queue),
        )


class CustomerResponse(_Response):
    """A registered customer."""

    phone: str
    name: str
    email: str | None
    address: str
    registered_at: Timestamp

    @classmethod
    def of(cls, customer: CustomerSummary) -> CustomerResponse:
        """The answer for one customer."""
        return cls.model_validate({"phone": customer.phone, **customer.model_dump(exclude={"id"})})


class CustomerOrdersResponse(_Response):
    """A customer and their latest orders, newest first."""

    customer: CustomerResponse
    orders: tuple[OrderResponse, ...]

    @classmethod
    def of(cls, found: CustomerOrders) -> CustomerOrdersResponse:
        """The answer for a customer's orders."""
        return cls(
            customer=CustomerResponse.of(found.customer),
            orders=tuple(OrderResponse.of(order) for order in found.orders),
        )
