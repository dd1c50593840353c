"""The delivery service's settings, from ``DELIVERY_*`` environment variables.

| variable | field | default |
|---|---|---|
| ``DELIVERY_DATABASE_URL`` | ``database_url`` | ``sqlite:///delivery.db`` (in the current folder) |
| ``DELIVERY_BROKER_URL`` | ``broker_url`` | ``amqp://guest:guest@127.0.0.1:5672/`` |
| ``DELIVERY_EXCHANGE`` | ``exchange`` | ``facta.events`` (where the pizzeria publishes) |
| ``DELIVERY_QUEUE`` | ``queue`` | ``delivery.events`` (dead letters: ``delivery.events.dead``) |
| ``DELIVERY_OTLP_ENDPOINT`` | ``otlp_endpoint`` | none: no traces or metrics exported |
| ``DELIVERY_SERVICE_NAME`` | ``service_name`` | ``delivery`` (the telemetry's ``service.name``) |

The database is any SQLAlchemy URL facta supports: ``sqlite:///delivery.db`` or
``postgresql://user:password@host/delivery``.
"""

from __future__ import annotations

import re

from pydantic import Field

from facta.hosting.settings import Settings
from facta.integration.amqp import DEFAULT_EXCHANGE

__all__ = ["DeliveryServiceSettings", "masked"]

_PASSWORD = re.compile(r"^(?P<head>[a-z0-9+.-]+://[^:/@]*):[^@]*@", re.IGNORECASE)


class DeliveryServiceSettings(Settings):
    """Where the delivery service keeps its data and where it consumes from."""

    env_prefix = "DELIVERY_"

    database_url: str = Field(default="sqlite:///delivery.db", min_length=1)
    broker_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/", min_length=1)
    exchange: str = Field(default=DEFAULT_EXCHANGE, min_length=1, max_length=255)
    queue: str = Field(default="delivery.events", min_length=1, max_length=200)
    otlp_endpoint: str | None = None
    service_name: str = Field(default="delivery", min_length=1)

    @property
    def dead_letter_queue(self) -> str:
        """Where the messages the service refuses go: ``<queue>.dead``."""
        return f"{self.queue}.dead"


def masked(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``, fit to print."""
    return _PASSWORD.sub(r"\g<head>:***@", url)
