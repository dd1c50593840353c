"""Customers: ``Customer`` aggregates keyed by their normalized phone number.

Using the phone as the id makes it unique without a look-up: a second registration of
the same phone fails when it is stored.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from facta.domain import AggregateRoot, DomainEvent

__all__ = [
    "Address",
    "Customer",
    "CustomerName",
    "CustomerRegistered",
    "Email",
    "PhoneNumber",
    "normalize_phone",
]

_SEPARATORS = re.compile(r"[\s().-]")
_PHONE = re.compile(r"^\+?[0-9]{8,16}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def normalize_phone(value: str) -> str:
    """The phone in its one stored form, ``+`` and 8 to 16 digits.

    Spaces, dots, dashes and parentheses are dropped and a missing ``+`` is added, so
    ``+39 06-1234 5678`` and ``390612345678`` are the same customer. Raises
    ``ValueError`` for anything else.
    """
    compact = _SEPARATORS.sub("", value)
    if not _PHONE.match(compact):
        raise ValueError("a phone number has 8 to 16 digits, with an optional leading +")
    return compact if compact.startswith("+") else f"+{compact}"


def _check_email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


PhoneNumber = Annotated[str, AfterValidator(normalize_phone)]
"""An E.164-like phone number, normalized by ``normalize_phone``."""

Email = Annotated[str, BeforeValidator(_strip), AfterValidator(_check_email)]
"""An email address (``name@example.com``); its domain is kept in lowercase."""

CustomerName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
"""A customer's name, 1 to 100 characters."""

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=200)]
"""A delivery address, 5 to 200 characters."""


class CustomerRegistered(DomainEvent):
    """A customer became known to the pizzeria, usually by placing a first order."""

    phone: str
    name: str
    email: str | None
    address: str


class Customer(AggregateRoot):
    """Someone the pizzeria delivers to, identified by their phone number."""

    id: PhoneNumber
    name: CustomerName
    email: Email | None = None
    address: Address

    @property
    def phone(self) -> str:
        """The normalized phone number, which is also the id."""
        return self.id

    @classmethod
    def register(cls, phone: str, name: str, address: str, email: str | None = None) -> Customer:
        """A new customer; the values are validated (``pydantic.ValidationError`` if not)."""
        customer = cls(id=phone, name=name, address=address, email=email)
        customer.record(
            CustomerRegistered(
                phone=customer.id,
                name=customer.name,
                email=customer.email,
                address=customer.address,
            )
        )
        return customer
