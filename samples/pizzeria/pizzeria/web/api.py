"""The HTTP API of ``PIZZERIA.md``: the menu, orders, the kitchen and customers.

Writes send a command through the mediator; every answer is read back through a query
from the views. A command's answer reads a view kept inline (the order's summary, the
menu): it committed with the command, so the answer is the write itself. Errors
are ``application/problem+json`` (facta's handlers): 404 for what does not exist, 409
for a transition the order's status or the kitchen refuses, 422 for bad input, with the
invalid fields. A pizza that cannot be ordered (unknown or retired) is bad input of the
order (422 at ``lines/<n>/pizza``); a retired pizza is gone from ``/menu/{name}`` (404).
Who may call what: ``pizzeria.web.auth``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.exceptions import RequestValidationError

from facta import Mediator
from facta.hosting.web.application import MediatorDep
from facta.hosting.web.problems import problem_responses
from pizzeria.application.commands import (
    AddPizza,
    CancelOrder,
    ChangePizzaPrice,
    DeliverOrder,
    DispatchOrder,
    LineRequest,
    MarkReady,
    PlaceOrder,
    RetirePizza,
    StartCooking,
)
from pizzeria.application.queries import (
    MAX_PAGE_SIZE,
    GetCustomerOrders,
    GetKitchen,
    GetMenu,
    GetOrder,
    GetPizza,
    ListOrders,
)
from pizzeria.domain.errors import PizzaNotAvailable
from pizzeria.domain.menu import PizzaName
from pizzeria.domain.order import OrderStatus
from pizzeria.web.auth import OPTIONAL_BEARER, Caller, ManagerDep, StaffDep
from pizzeria.web.schemas import (
    CancelRequest,
    CustomerOrdersResponse,
    DispatchRequest,
    KitchenResponse,
    MenuItemResponse,
    NewPizzaRequest,
    OrderPageResponse,
    OrderResponse,
    Phone,
    PlaceOrderRequest,
    PriceRequest,
)

__all__ = ["MAX_PAGE", "router"]

MAX_PAGE = 10_000
"""The highest page number ``GET /orders`` serves."""

router = APIRouter()

PizzaPath = Annotated[PizzaName, Path(description="The pizza's name, a lowercase slug.")]
OrderIdPath = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The order id."),
]
PhonePath = Annotated[Phone, Path()]

MANAGER = problem_responses(401, 403, 404, 422)
STAFF = problem_responses(401, 403, 404, 409, 422)


def _gone(error: PizzaNotAvailable) -> HTTPException:
    """A retired pizza is no longer on the menu: 404, saying so."""
    return HTTPException(404, str(error))


@router.get("/menu", tags=["menu"], summary="The pizzas on sale")
async def get_menu(mediator: MediatorDep) -> list[MenuItemResponse]:
    """The pizzas on sale, by name, with their price for each size."""
    return [MenuItemResponse.of(item) for item in await mediator.query(GetMenu())]


@router.post(
    "/menu",
    status_code=201,
    tags=["menu"],
    summary="Add a pizza (manager)",
    responses=problem_responses(401, 403, 409, 422),
)
async def add_pizza(
    body: NewPizzaRequest, mediator: MediatorDep, _: ManagerDep
) -> MenuItemResponse:
    """Put a new pizza on the menu; 409 if the name was ever used (names are never reused)."""
    await mediator.send(
        AddPizza(name=body.name, base_price=body.base_price, toppings=body.toppings)
    )
    return MenuItemResponse.of(await mediator.query(GetPizza(name=body.name)))


@router.put(
    "/menu/{name}/price",
    tags=["menu"],
    summary="Change a pizza's base price (manager)",
    responses=MANAGER,
)
async def change_price(
    name: PizzaPath, body: PriceRequest, mediator: MediatorDep, _: ManagerDep
) -> MenuItemResponse:
    """Set the base (medium) price; orders already placed keep theirs."""
    try:
        await mediator.send(ChangePizzaPrice(name=name, base_price=body.base_price))
    except PizzaNotAvailable as error:
        raise _gone(error) from error
    return MenuItemResponse.of(await mediator.query(GetPizza(name=name)))


@router.delete(
    "/menu/{name}",
    status_code=204,
    tags=["menu"],
    summary="Retire a pizza (manager)",
    responses=MANAGER,
)
async def retire_pizza(name: PizzaPath, mediator: MediatorDep, _: ManagerDep) -> Response:
    """Take a pizza off the menu for good; it can no longer be ordered."""
    try:
        await mediator.send(RetirePizza(name=name))
    except PizzaNotAvailable as error:
        raise _gone(error) from error
    return Response(status_code=204)


# --8<-- [start:place_order]
@router.post(
    "/orders",
    status_code=201,
    tags=["orders"],
    summary="Place an order",
    responses=problem_responses(409, 422),
)
async def place_order(
    body: PlaceOrderRequest, mediator: MediatorDep, response: Response
) -> OrderResponse:
    """Place and confirm an order; a new phone registers the customer with it.

    A pizza that is not on sale is refused as bad input of its line (422).
    """
    command = PlaceOrder(
        phone=body.phone,
        name=body.name,
        address=body.address,
        email=body.email,
        lines=tuple(LineRequest(**line.model_dump()) for line in body.lines),
    )
    try:
        order_id = await mediator.send(command)
    except PizzaNotAvailable as error:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "lines", index, "pizza"),
                    "msg": str(error),
                    "type": "pizza_not_available",
                }
                for index, line in enumerate(body.lines)
                if line.pizza == error.name
            ]
        ) from error
    response.headers["Location"] = f"/orders/{order_id}"
    return OrderResponse.of(await mediator.query(GetOrder(order_id=order_id)))


# --8<-- [end:place_order]


@router.get(
    "/orders",
    tags=["orders"],
    summary="Orders, newest first, a page at a time",
    responses=problem_responses(422),
)
async def list_orders(
    mediator: MediatorDep,
    status: Annotated[OrderStatus | None, Query(description="Only orders in this status.")] = None,
    phone: Annotated[Phone | None, Query(description="Only this customer's orders.")] = None,
    page: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"The page, from 1 to {MAX_PAGE}.")
    ] = 1,
    size: Annotated[
        int,
        Query(ge=1, le=MAX_PAGE_SIZE, description=f"Orders per page, 1 to {MAX_PAGE_SIZE}."),
    ] = 20,
) -> OrderPageResponse:
    """The matching orders, newest first; ``total`` and ``pages`` say how many there are."""
    found = await mediator.query(ListOrders(status=status, phone=phone, page=page, page_size=size))
    return OrderPageResponse.of(found)


@router.get(
    "/orders/{order_id}", tags=["orders"], summary="One order", responses=problem_responses(404)
)
async def get_order(order_id: OrderIdPath, mediator: MediatorDep) -> OrderResponse:
    """One order, with its lines and its history."""
    return await _order(mediator, order_id)


async def _order(mediator: Mediator, order_id: str) -> OrderResponse:
    return OrderResponse.of(await mediator.query(GetOrder(order_id=order_id)))


# --8<-- [start:cook]
@router.post("/orders/{order_id}/cook", tags=["kitchen"], summary="Start cooking", responses=STAFF)
async def cook(order_id: OrderIdPath, mediator: MediatorDep, _: StaffDep) -> OrderResponse:
    """Start cooking a confirmed order: it takes a kitchen slot; 409 if the kitchen is full."""
    await mediator.send(StartCooking(order_id=order_id))
    return await _order(mediator, order_id)


# --8<-- [end:cook]


@router.post("/orders/{order_id}/ready", tags=["kitchen"], summary="Mark ready", responses=STAFF)
async def ready(order_id: OrderIdPath, mediator: MediatorDep, _: StaffDep) -> OrderResponse:
    """The order being cooked is ready; its kitchen slot is freed."""
    await mediator.send(MarkReady(order_id=order_id))
    return await _order(mediator, order_id)


@router.post(
    "/orders/{order_id}/dispatch", tags=["delivery"], summary="Hand to a driver", responses=STAFF
)
async def dispatch(
    order_id: OrderIdPath, body: DispatchRequest, mediator: MediatorDep, _: StaffDep
) -> OrderResponse:
    """Hand a ready order to a driver."""
    await mediator.send(DispatchOrder(order_id=order_id, driver=body.driver))
    return await _order(mediator, order_id)


@router.post("/orders/{order_id}/deliver", tags=["delivery"], summary="Delivered", responses=STAFF)
async def deliver(order_id: OrderIdPath, mediator: MediatorDep, _: StaffDep) -> OrderResponse:
    """The order reached its customer (recorded as done by its driver)."""
    await mediator.send(DeliverOrder(order_id=order_id))
    return await _order(mediator, order_id)


@router.post(
    "/orders/{order_id}/cancel",
    tags=["orders"],
    summary="Cancel an order",
    responses=problem_responses(401, 404, 409, 422),
    openapi_extra=OPTIONAL_BEARER,
)
async def cancel(
    order_id: OrderIdPath, body: CancelRequest, mediator: MediatorDep, role: Caller
) -> OrderResponse:
    """Cancel an order that is not ready yet, with a reason.

    Public: the order's id is what a customer needs. With a staff or manager token the
    history records the counter as cancelling it, otherwise the customer.
    """
    by = "customer" if role is None else "counter"
    await mediator.send(CancelOrder(order_id=order_id, reason=body.reason, by=by))
    return await _order(mediator, order_id)


@router.get("/kitchen", tags=["kitchen"], summary="The kitchen")
async def kitchen(mediator: MediatorDep) -> KitchenResponse:
    """Capacity, free slots, the orders cooking and the queue of confirmed orders."""
    return KitchenResponse.of(await mediator.query(GetKitchen()))


@router.get(
    "/customers/{phone}/orders",
    tags=["customers"],
    summary="A customer's orders",
    responses=problem_responses(404, 422),
)
async def customer_orders(phone: PhonePath, mediator: MediatorDep) -> CustomerOrdersResponse:
    """A registered customer and their latest 100 orders, newest first."""
    return CustomerOrdersResponse.of(await mediator.query(GetCustomerOrders(phone=phone)))
