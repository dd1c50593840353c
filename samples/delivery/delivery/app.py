"""The composition root: how the delivery service is assembled into a facta application.

- persistence: facta's SQLAlchemy back-end on ``settings.database_url`` (SQLite by
  default), the delivery board beside facta's tables;
- background services, started in this order: ``DeliveryTables`` (creates the missing
  tables), the ``OutboxRelay`` (re-runs the board's projection if it ever failed) and,
  unless told not to consume, an ``AmqpConsumer`` on ``settings.queue``, bound to
  ``settings.exchange`` for the two CloudEvent types the service accepts.

::

    app = create_app(DeliveryServiceSettings.from_env())
    async with app:          # tables, relay, consumer
        ...                  # app.mediator.query(OpenDeliveries())
"""

from __future__ import annotations

import injector
from sqlalchemy.ext.asyncio import AsyncEngine

from delivery.board import create_tables
from delivery.settings import DeliveryServiceSettings
from facta import Application, ApplicationBuilder, OutboxRelay
from facta.application import Instrumentation
from facta.integration.amqp import AmqpConsumer
from facta.persistence.sqlalchemy import SqlAlchemyPersistence

__all__ = [
    "PACKAGES",
    "DeliveryTables",
    "consumer_of",
    "create_app",
    "delivery_builder",
]

PACKAGES = ("delivery.domain", "delivery.handlers", "delivery.board", "delivery.queries")
"""The modules whose handlers, projections and events make up the service."""


class DeliveryTables:
    """A background service that creates the missing tables when the application starts.

    It is added before the services that use the database (the relay, the consumer).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def start(self) -> None:
        """Create facta's tables and the delivery board where they are missing."""
        await create_tables(self._engine)

    async def stop(self) -> None:
        """Nothing to do: the persistence back-end closes the engine."""


def delivery_builder(
    settings: DeliveryServiceSettings | None = None,
    *,
    consume: bool = True,
    instrumentation: Instrumentation | None = None,
) -> ApplicationBuilder:
    """The delivery service's builder; ``settings`` default to the environment's.

    With ``consume=False`` no RabbitMQ consumer is started: CloudEvents can still be fed
    in with ``app.ingestor.ingest(...)`` (tests, a script), and the queries work. With
    ``instrumentation`` (``facta.hosting.telemetry.OpenTelemetry``) the service records
    spans and metrics; each CloudEvent received continues the pizzeria's trace.
    """
    if settings is None:
        settings = DeliveryServiceSettings.from_env()
    chosen = settings

    def bind_settings(binder: injector.Binder) -> None:
        binder.bind(DeliveryServiceSettings, to=chosen)

    builder = (
        ApplicationBuilder()
        .scan(*PACKAGES)
        .use_persistence(SqlAlchemyPersistence(settings.database_url))
        .add_module(bind_settings)
        .add_service(DeliveryTables)
        .add_service(OutboxRelay)
    )
    if instrumentation is not None:
        builder.instrument(instrumentation)
    if consume:
        builder.add_service(
            lambda app: AmqpConsumer(
                app, chosen.broker_url, queue=chosen.queue, exchange=chosen.exchange
            )
        )
    return builder


def create_app(
    settings: DeliveryServiceSettings | None = None,
    *,
    consume: bool = True,
    instrumentation: Instrumentation | None = None,
) -> Application:
    """A new delivery service (see ``delivery_builder``); start it with ``async with``."""
    return delivery_builder(settings, consume=consume, instrumentation=instrumentation).build()


def consumer_of(app: Application) -> AmqpConsumer | None:
    """The application's RabbitMQ consumer, or None if it does not consume."""
    return next((service for service in app.services if isinstance(service, AmqpConsumer)), None)
