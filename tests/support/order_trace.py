"""One placed order, traced from ``POST /orders`` to the delivery service's handler.

The pizzeria's web service (as ``pizzeria.web`` composes it, on SQLite, publishing to
RabbitMQ) and the delivery service (as ``delivery.app`` composes it, consuming from
RabbitMQ) each record their spans in an in-memory SDK of their own. ``place_one_order``
places Giulia's order over HTTP and returns once the delivery service planned it, with
both services' recorders. ``scripts/order_trace.py`` renders the trace for the docs; the
tests assert its structure.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from delivery.app import consumer_of, create_app
from delivery.queries import GetDelivery
from delivery.settings import DeliveryServiceSettings
from pizzeria.settings import PizzeriaSettings
from pizzeria.web.app import create_web_app
from support.telemetry import Recorder

ORDER = {
    "phone": "+39 081 555 0101",
    "name": "Giulia Verdi",
    "address": "Via Roma 12, Napoli",
    "lines": [{"pizza": "margherita", "size": "large", "quantity": 2}],
}
TIMEOUT = 20.0


@dataclass(frozen=True)
class TracedOrder:
    """What ``place_one_order`` recorded: each service's spans, and the order's id."""

    pizzeria: Recorder
    delivery: Recorder
    order_id: str


async def place_one_order(broker_url: str, exchange: str, queue: str, folder: Path) -> TracedOrder:
    """Place one order at the pizzeria and wait until the delivery service planned it."""
    shop, courier = Recorder("pizzeria"), Recorder("delivery")
    settings = PizzeriaSettings(
        database_url=f"sqlite:///{folder / 'pizzeria.db'}", broker_url=broker_url, exchange=exchange
    )
    api = create_web_app(settings, instrumentation=shop.instrumentation("pizzeria"))
    delivery = create_app(
        DeliveryServiceSettings(
            database_url=f"sqlite:///{folder / 'delivery.db'}",
            broker_url=broker_url,
            exchange=exchange,
            queue=queue,
        ),
        instrumentation=courier.instrumentation("delivery"),
    )
    async with delivery:
        consumer = consumer_of(delivery)
        assert consumer is not None and await consumer.wait_connected(10)
        async with api.router.lifespan_context(api):
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(transport=transport, base_url="http://pizzeria") as client:
                answer = await client.post("/orders", json=ORDER)
                assert answer.status_code == 201, answer.text
                order_id = str(answer.json()["id"])
                deadline = time.monotonic() + TIMEOUT
                while await delivery.mediator.query(GetDelivery(order_id=order_id)) is None:
                    assert time.monotonic() < deadline, "the delivery service never planned it"
                    await asyncio.sleep(0.05)
    return TracedOrder(shop, courier, order_id)
