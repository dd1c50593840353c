"""The customer contract: a customer became known to the pizzeria.

``com.mariospizzeria.customer.registered.v1``, with source ``/mariospizzeria/customers``
and the customer id (their phone number, the pizzeria's key for a customer) as the
CloudEvent ``subject``. It is published when a phone the pizzeria did not know places
its first order, just before that order's ``order.placed``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from facta import EventContract, IntegrationEvent
from pizzeria.domain.customer import CustomerRegistered
from pizzeria.integration.common import CUSTOMERS_SOURCE, UtcTimestamp

__all__ = ["CustomerRegisteredV1", "CustomerRegisteredV1Contract"]


class CustomerRegisteredV1(IntegrationEvent):
    """A customer became known to the pizzeria, usually by placing a first order."""

    cloudevent_type: ClassVar[str] = "com.mariospizzeria.customer.registered.v1"

    customer_id: str = Field(description="The customer's id (today their phone number).")
    phone: str = Field(description="The customer's phone number: a + and 8 to 16 digits.")
    name: str = Field(description="The customer's name.")
    email: str | None = Field(default=None, description="The customer's email, if given.")
    delivery_address: str = Field(description="Where the customer's orders go by default.")
    registered_at: UtcTimestamp = Field(description="When the customer was registered.")


class CustomerRegisteredV1Contract(EventContract[CustomerRegistered, CustomerRegisteredV1]):
    """Publishes ``CustomerRegistered`` as ``com.mariospizzeria.customer.registered.v1``."""

    source = CUSTOMERS_SOURCE

    def map(self, event: CustomerRegistered) -> CustomerRegisteredV1:
        return CustomerRegisteredV1(
            customer_id=event.aggregate_id,
            phone=event.phone,
            name=event.name,
            email=event.email,
            delivery_address=event.address,
            registered_at=event.occurred_at,
        )
