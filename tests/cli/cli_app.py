"""A small application for the ``facta`` command's tests: parcels and two handlers of
``ParcelShipped``, one of which (the tracker) fails while ``CLI_APP_TRACKER_DOWN=1``.

Its database URL comes from ``CLI_APP_DATABASE_URL``, so a test and the ``facta``
processes it starts work on one SQLite file. Retries are immediate and two failures
dead-letter a delivery, so every outbox state is a few commands away.
"""

from __future__ import annotations

import os
from datetime import timedelta

from facta import (
    AggregateRoot,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DeliverySettings,
    DomainEvent,
    DomainEventHandler,
    RetryPolicy,
    UnitOfWork,
)

DATABASE_URL = "CLI_APP_DATABASE_URL"
TRACKER_DOWN = "CLI_APP_TRACKER_DOWN"

SETTINGS = DeliverySettings(
    retry=RetryPolicy(max_attempts=2, first_delay=timedelta(0), jitter=0),
    grace=timedelta(0),
    batch_size=2,
    poll_interval=timedelta(milliseconds=50),
)


class ParcelShipped(DomainEvent):
    destination: str


class Parcel(AggregateRoot):
    destination: str

    @classmethod
    def ship(cls, parcel_id: str, destination: str) -> Parcel:
        parcel = cls(id=parcel_id, destination=destination)
        parcel.record(ParcelShipped(destination=destination))
        return parcel


class Ship(Command[None]):
    parcel_id: str
    destination: str = "Lyon"


class ShipHandler(CommandHandler[Ship, None]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.parcels = uow.repository(Parcel)

    async def handle(self, command: Ship) -> None:
        self.parcels.add(Parcel.ship(command.parcel_id, command.destination))


class Notifier(DomainEventHandler[ParcelShipped]):
    async def handle(self, event: ParcelShipped) -> None:
        return None


class Tracker(DomainEventHandler[ParcelShipped]):
    async def handle(self, event: ParcelShipped) -> None:
        if os.environ.get(TRACKER_DOWN) == "1":
            raise ConnectionError(
                f"tracking service is down\n(while tracking {event.aggregate_id})"
            )


def builder() -> ApplicationBuilder:
    """The application, unbuilt: ``facta`` builds what a factory returns."""
    from facta.persistence.sqlalchemy import SqlAlchemyPersistence

    return (
        ApplicationBuilder()
        .add_handler(ShipHandler, Notifier, Tracker)
        .use_persistence(SqlAlchemyPersistence(os.environ[DATABASE_URL]))
        .delivery(SETTINGS)
    )


def create_app() -> ApplicationBuilder:
    """The factory that ``--app cli.cli_app:create_app`` names."""
    return builder()


async def create_app_async() -> ApplicationBuilder:
    """The same, as an async factory."""
    return builder()


def needs_arguments(url: str) -> ApplicationBuilder:
    """Not a factory ``facta`` can call: it takes an argument."""
    return builder()


def returns_nothing() -> None:
    """A factory that forgot to return its application."""


def raises() -> ApplicationBuilder:
    """A factory whose own code fails."""
    raise RuntimeError("the configuration file is missing")


NOT_CALLABLE = 42
