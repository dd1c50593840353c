"""Fixtures of the delivery service's tests: the service on a SQLite file of the test's
own, and CloudEvents shaped as the pizzeria publishes them (``order_placed``,
``order_delivered``: functions that build one, ``Placed`` and ``Delivered`` their types)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from delivery.app import create_app
from delivery.settings import DeliveryServiceSettings
from facta import Application
from facta.integration.cloudevents import CloudEvent

ORDERS = "/mariospizzeria/orders"
PLACED = "com.mariospizzeria.order.placed.v1"
DELIVERED = "com.mariospizzeria.order.delivered.v1"

Placed = Callable[..., CloudEvent]
Delivered = Callable[..., CloudEvent]


@pytest.fixture
def settings(tmp_path: Path) -> DeliveryServiceSettings:
    """The service's settings: a SQLite file in the test's folder, default names."""
    return DeliveryServiceSettings(database_url=f"sqlite:///{tmp_path / 'delivery.db'}")


@pytest.fixture
async def delivery(settings: DeliveryServiceSettings) -> AsyncIterator[Application]:
    """The delivery service, started, without a RabbitMQ consumer: events are ingested."""
    app = create_app(settings, consume=False)
    async with app:
        yield app


def build_order_placed(
    order_id: str = "o-1", *, event_id: str | None = None, **changes: Any
) -> CloudEvent:
    """An ``order.placed.v1`` as the pizzeria publishes it (every field of its contract,
    most of which the delivery service does not read); ``changes`` replace data fields."""
    data: dict[str, Any] = {
        "order_id": order_id,
        "customer_phone": "+390815550101",
        "customer_name": "Giulia Verdi",
        "delivery_address": "Via Roma 12, Napoli",
        "lines": [
            {
                "pizza": "margherita",
                "size": "large",
                "extras": ["olives", "ham"],
                "quantity": 2,
                "price": {"amount": "38.50", "currency": "EUR"},
            },
            {
                "pizza": "pepperoni",
                "size": "small",
                "extras": [],
                "quantity": 1,
                "price": {"amount": "11.20", "currency": "EUR"},
            },
        ],
        "pizzas": 3,
        "total": {"amount": "49.70", "currency": "EUR"},
        "placed_at": "2025-05-01T18:30:00Z",
        **changes,
    }
    return _cloudevent(PLACED, order_id, data, event_id)


def build_order_delivered(
    order_id: str = "o-1", *, by: str = "Luigi", event_id: str | None = None
) -> CloudEvent:
    """An ``order.delivered.v1`` as the pizzeria publishes it."""
    data = {
        "order_id": order_id,
        "customer_phone": "+390815550101",
        "delivered_by": by,
        "delivered_at": "2025-05-01T19:05:00Z",
    }
    return _cloudevent(DELIVERED, order_id, data, event_id)


@pytest.fixture
def order_placed() -> Placed:
    """Builds an ``order.placed.v1`` (see ``build_order_placed``)."""
    return build_order_placed


@pytest.fixture
def order_delivered() -> Delivered:
    """Builds an ``order.delivered.v1`` (see ``build_order_delivered``)."""
    return build_order_delivered


def _cloudevent(
    cloudevent_type: str, subject: str, data: dict[str, Any], event_id: str | None
) -> CloudEvent:
    attributes = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": ORDERS,
        "type": cloudevent_type,
        "subject": subject,
        "time": datetime.now(UTC),
        "datacontenttype": "application/json",
    }
    return CloudEvent(attributes, data)
