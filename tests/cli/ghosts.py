"""An application with the event-driven style's two traps, for ``facta describe --check``.

``ParcelLost`` has a handler but nothing records it any more (a ghost handler);
``ParcelWeighed`` is recorded by ``Parcel.weigh`` but nothing reacts to it (unused).
"""

from __future__ import annotations

from facta import (
    AggregateRoot,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DomainEvent,
    DomainEventHandler,
    UnitOfWork,
)


class ParcelShipped(DomainEvent):
    destination: str


class ParcelWeighed(DomainEvent):
    grams: int


class ParcelLost(DomainEvent):
    pass


class Parcel(AggregateRoot):
    destination: str

    @classmethod
    def ship(cls, parcel_id: str) -> Parcel:
        parcel = cls(id=parcel_id, destination="Lyon")
        parcel.record(ParcelShipped(destination="Lyon"))
        return parcel

    def weigh(self, grams: int) -> None:
        self.record(ParcelWeighed(grams=grams))


class Ship(Command[None]):
    parcel_id: str


class ShipHandler(CommandHandler[Ship, None]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.parcels = uow.repository(Parcel)

    async def handle(self, command: Ship) -> None:
        self.parcels.add(Parcel.ship(command.parcel_id))


class Tracker(DomainEventHandler[ParcelShipped]):
    async def handle(self, event: ParcelShipped) -> None:
        return None


class Insurer(DomainEventHandler[ParcelLost]):
    async def handle(self, event: ParcelLost) -> None:
        return None


def create_app() -> ApplicationBuilder:
    """The parcels application, everything in this module registered."""
    return ApplicationBuilder().scan(__name__)
