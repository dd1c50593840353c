"""What the pizzeria publishes to other services: its integration contracts.

Domain events are the pizzeria's own business and change with its domain. The classes
here are the *published* side: one ``IntegrationEvent`` per versioned CloudEvent type of
``PIZZERIA.md``, each a documented, stable model (money as decimal strings with their
currency, times in UTC, ids as text), and one ``EventContract`` per type that maps the
domain event to it. Scan this package to publish them::

    pizzeria_builder(url).scan("pizzeria.integration").publish_cloudevents(publisher)

| domain event | CloudEvent type (``com.mariospizzeria.`` + ...) | source |
|---|---|---|
| ``OrderPlaced`` | ``order.placed.v1`` | ``/mariospizzeria/orders`` |
| ``OrderCookingStarted`` | ``order.cooking-started.v1`` | ``/mariospizzeria/orders`` |
| ``OrderReady`` | ``order.ready.v1`` | ``/mariospizzeria/orders`` |
| ``OrderDispatched`` | ``order.dispatched.v1`` | ``/mariospizzeria/orders`` |
| ``OrderDelivered`` | ``order.delivered.v1`` | ``/mariospizzeria/orders`` |
| ``OrderCancelled`` | ``order.cancelled.v1`` | ``/mariospizzeria/orders`` |
| ``CustomerRegistered`` | ``customer.registered.v1`` | ``/mariospizzeria/customers`` |
| ``PizzaAdded`` | ``menu.pizza-added.v1`` | ``/mariospizzeria/menu`` |
| ``PizzaPriceChanged`` | ``menu.pizza-price-changed.v1`` | ``/mariospizzeria/menu`` |
| ``PizzaRetired`` | ``menu.pizza-retired.v1`` | ``/mariospizzeria/menu`` |

Each CloudEvent's ``subject`` is the aggregate's id (the order id, the customer's phone,
the pizza's name), its ``id`` the domain event's id (kept across re-sends: de-duplicate
on ``source`` + ``id``) and its ``time`` when the event occurred.

The events internal to the pizzeria (an order confirmed, a line added or removed, a
kitchen slot taken or freed) have no contract and are never published.

A contract is only ever extended with optional fields (consumers ignore fields they do
not know); any other change is a new version (``OrderPlacedV2``), published beside the
old one. ``samples/pizzeria/tests/contract_schemas.json`` holds the published JSON
schemas, so a change that would break consumers fails a test.
"""

from pizzeria.integration.common import (
    CURRENCY,
    CUSTOMERS_SOURCE,
    MENU_SOURCE,
    ORDERS_SOURCE,
    Money,
    UtcTimestamp,
)
from pizzeria.integration.customers import CustomerRegisteredV1, CustomerRegisteredV1Contract
from pizzeria.integration.menu import (
    PizzaAddedV1,
    PizzaAddedV1Contract,
    PizzaPriceChangedV1,
    PizzaPriceChangedV1Contract,
    PizzaRetiredV1,
    PizzaRetiredV1Contract,
)
from pizzeria.integration.orders import (
    CancellableStatusV1,
    OrderCancelledV1,
    OrderCancelledV1Contract,
    OrderCookingStartedV1,
    OrderCookingStartedV1Contract,
    OrderDeliveredV1,
    OrderDeliveredV1Contract,
    OrderDispatchedV1,
    OrderDispatchedV1Contract,
    OrderLineV1,
    OrderPlacedV1,
    OrderPlacedV1Contract,
    OrderReadyV1,
    OrderReadyV1Contract,
    SizeV1,
)

__all__ = [
    "CONTRACTS",
    "CURRENCY",
    "CUSTOMERS_SOURCE",
    "INTEGRATION_EVENTS",
    "MENU_SOURCE",
    "ORDERS_SOURCE",
    "CancellableStatusV1",
    "CustomerRegisteredV1",
    "CustomerRegisteredV1Contract",
    "Money",
    "OrderCancelledV1",
    "OrderCancelledV1Contract",
    "OrderCookingStartedV1",
    "OrderCookingStartedV1Contract",
    "OrderDeliveredV1",
    "OrderDeliveredV1Contract",
    "OrderDispatchedV1",
    "OrderDispatchedV1Contract",
    "OrderLineV1",
    "OrderPlacedV1",
    "OrderPlacedV1Contract",
    "OrderReadyV1",
    "OrderReadyV1Contract",
    "PizzaAddedV1",
    "PizzaAddedV1Contract",
    "PizzaPriceChangedV1",
    "PizzaPriceChangedV1Contract",
    "PizzaRetiredV1",
    "PizzaRetiredV1Contract",
    "SizeV1",
    "UtcTimestamp",
]

CONTRACTS = (
    OrderPlacedV1Contract,
    OrderCookingStartedV1Contract,
    OrderReadyV1Contract,
    OrderDispatchedV1Contract,
    OrderDeliveredV1Contract,
    OrderCancelledV1Contract,
    CustomerRegisteredV1Contract,
    PizzaAddedV1Contract,
    PizzaPriceChangedV1Contract,
    PizzaRetiredV1Contract,
)
"""Every contract the pizzeria publishes, in the order of ``PIZZERIA.md``."""

INTEGRATION_EVENTS = (
    OrderPlacedV1,
    OrderCookingStartedV1,
    OrderReadyV1,
    OrderDispatchedV1,
    OrderDeliveredV1,
    OrderCancelledV1,
    CustomerRegisteredV1,
    PizzaAddedV1,
    PizzaPriceChangedV1,
    PizzaRetiredV1,
)
"""The data of every published CloudEvent type, in the same order as ``CONTRACTS``."""
